//! Texts a patient reads fit any patient and a reading age of about 11: an explanation of a rule
//! is at most two short sentences, an urgent or emergency one never reassures, and the Spanish
//! never assumes the reader is a woman (steroid injections are given to men too).
//!
//! Reading ease is estimated with the usual formulas and a syllable count by vowel groups:
//! Flesch-Kincaid grade for English, Fernández-Huerta ease for Spanish. Both are rough; the
//! limits are set where the clinic's plain-language review put them.

use aftercare_core::{Content, Level};

const MAX_SENTENCES: usize = 2;

fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-' || c == '/'))
        .filter(|w| !w.is_empty())
        .collect()
}

fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in bytes.iter().enumerate() {
        let next_is_space = bytes.get(i + 1).is_none_or(|(_, n)| n.is_whitespace());
        if matches!(c, '.' | '!' | '?') && next_is_space {
            let s = text[start..at + c.len_utf8()].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = at + c.len_utf8();
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

fn vowel_groups(word: &str, vowels: &str) -> usize {
    let mut groups = 0;
    let mut in_group = false;
    for c in word.to_lowercase().chars() {
        let v = vowels.contains(c);
        if v && !in_group {
            groups += 1;
        }
        in_group = v;
    }
    groups.max(1)
}

fn syllables_en(word: &str) -> usize {
    let w: String = word
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase())
        .collect();
    if w.len() <= 3 {
        return 1;
    }
    let trimmed = w
        .strip_suffix("es")
        .or_else(|| w.strip_suffix("ed"))
        .or_else(|| w.strip_suffix('e'))
        .unwrap_or(&w);
    vowel_groups(trimmed, "aeiouy")
}

fn flesch_kincaid_grade(text: &str) -> f64 {
    let w = words(text);
    let s = sentences(text).len().max(1) as f64;
    let syl: usize = w.iter().map(|x| syllables_en(x)).sum();
    let n = w.len().max(1) as f64;
    0.39 * n / s + 11.8 * syl as f64 / n - 15.59
}

fn fernandez_huerta(text: &str) -> f64 {
    let w = words(text);
    let n = w.len().max(1) as f64;
    let syl: usize = w.iter().map(|x| vowel_groups(x, "aeiouáéíóúü")).sum();
    let p = 100.0 * syl as f64 / n;
    let f = 100.0 * sentences(text).len() as f64 / n;
    206.84 - 0.60 * p - 1.02 * f
}

/// Words that say "a woman" of the reader in Spanish, where a neutral form exists.
const FEMININE_ONLY: &[&str] = &[
    "confundida",
    "decaída",
    "mareada",
    "aturdida",
    "sola",
    "segura",
    "sentada",
    "tumbada",
    "cansada",
    "preocupada",
    "ansiosa",
    "erguida",
    "misma",
    "ayudarla",
    "orientarla",
    "contactarla",
    "derivarla",
    "protegerla",
    "examinarla",
    "verla",
    "atenta",
];

/// Reassurance that has no place where the level is urgent or an emergency.
const REASSURING: &[&str] = &[
    "usually not serious",
    "not usually serious",
    "nothing to worry",
    "harmless",
    "no suele ser grave",
    "no es grave",
];

fn content() -> Content {
    Content::bundled().expect("bundled content is valid")
}

#[test]
fn every_rule_is_explained_in_at_most_two_short_easy_sentences() {
    let content = content();
    let mut problems = Vec::new();
    for (code, _) in content.languages() {
        let texts = content.text(content.lang(code).expect("listed"));
        for (rule, text) in content.rules.iter().zip(&texts.rules) {
            let t = text.patient.as_str();
            let ss = sentences(t);
            let longest = ss.iter().map(|s| words(s).len()).max().unwrap_or(0);
            let (max_words, hard) = match code {
                "es" => (22, fernandez_huerta(t) < 62.0),
                _ => (20, flesch_kincaid_grade(t) > 7.0),
            };
            if ss.len() > MAX_SENTENCES || longest > max_words || hard {
                problems.push(format!(
                    "{code} {}: {} sentences, the longest {longest} words, {}",
                    rule.id,
                    ss.len(),
                    match code {
                        "es" => format!("ease {:.0}", fernandez_huerta(t)),
                        _ => format!("grade {:.1}", flesch_kincaid_grade(t)),
                    }
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_urgent_or_emergency_explanation_reassures() {
    let content = content();
    for (code, _) in content.languages() {
        let texts = content.text(content.lang(code).expect("listed"));
        for (rule, text) in content.rules.iter().zip(&texts.rules) {
            if rule.level < Level::Urgent {
                continue;
            }
            let t = text.patient.as_str().to_lowercase();
            for phrase in REASSURING {
                assert!(!t.contains(phrase), "{code} {} says {phrase:?}", rule.id);
            }
        }
    }
}

#[test]
fn the_spanish_texts_fit_any_patient() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../content");
    let mut files = vec![format!("{dir}/text/es.toml")];
    for entry in std::fs::read_dir(format!("{dir}/education/es")).expect("education/es") {
        files.push(entry.expect("entry").path().display().to_string());
    }
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        for (n, line) in text.lines().enumerate() {
            // The clinician's own texts may speak of "la paciente" in an obstetric rule; the
            // reader is addressed in every other line.
            if line.starts_with("clinician = ") {
                continue;
            }
            let ws = words(line);
            for (i, w) in ws.iter().enumerate() {
                // "una sola inyección" counts injections, not the reader.
                let counting = i > 0 && ws[i - 1].eq_ignore_ascii_case("una");
                if FEMININE_ONLY.contains(&w.to_lowercase().as_str()) && !counting {
                    found.push(format!("{file}:{}: {w}", n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "feminine-only forms:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_measures_tell_plain_from_hard_text() {
    // The estimates themselves: a plain sentence passes, a dense clinical one does not.
    let plain = "Your back hurts more each day. It needs a check today.";
    let dense = "Progressively deteriorating lumbar symptomatology necessitates contemporaneous neurological evaluation.";
    assert!(flesch_kincaid_grade(plain) < 7.0);
    assert!(flesch_kincaid_grade(dense) > 7.0);
    assert!(fernandez_huerta("Le duele más cada día. Hay que verlo hoy.") > 62.0);
    assert!(fernandez_huerta("La sintomatología lumbar progresivamente deteriorada requiere evaluación neurológica inmediata.") < 62.0);
    assert_eq!(sentences("One. Two? Three").len(), 3);
}
