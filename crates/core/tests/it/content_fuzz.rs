//! Broken content gives messages, never a panic: the bundled content files, mutated at random
//! (a line deleted or repeated, characters swapped, a value changed to another type, another
//! id or an extreme number, the file cut short), always load as `Ok` or as `Err` with problems
//! that name a file we gave and say something. The loader runs at start-up and in
//! `aftercare content check`, where a clinician editing TOML must get a list, not a crash.

use aftercare_core::content::Source;
use aftercare_core::Content;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    RepeatLine(usize),
    SwapChars(usize),
    InsertChar(usize, char),
    /// Replace what follows the `=` of a `key = value` line.
    ChangeValue(usize, &'static str),
    Truncate(usize),
}

/// Values of every type, ids that exist elsewhere in the content or nowhere, extremes.
const VALUES: &[&str] = &[
    "\"\"",
    "\"no_such_id\"",
    "\"headache\"",
    "\"emergency\"",
    "\"leg_weakness\"",
    "0",
    "-1",
    "1e308",
    "-9223372036854775808",
    "9223372036854775807",
    "nan",
    "inf",
    "3.5",
    "true",
    "false",
    "[]",
    "[1, \"a\", true]",
    "{}",
    "{ fact = \"headache\" }",
    "{ all = [] }",
    "{ any = [] }",
    "{ not = { not = { fact = \"headache\" } } }",
    "{ fact = \"pain_score\", gte = 11 }",
    "{ fact = \"procedure\", is = \"nope\" }",
    "\"\u{202e}\u{0}\"",
    "1979-05-27",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        3 => at.prop_map(Mutation::DeleteLine),
        1 => at.prop_map(Mutation::RepeatLine),
        2 => at.prop_map(Mutation::SwapChars),
        1 => (at, prop_oneof![Just('"'), Just('['), Just('='), Just('\n'), any::<char>()])
            .prop_map(|(i, c)| Mutation::InsertChar(i, c)),
        4 => (at, prop::sample::select(VALUES)).prop_map(|(i, v)| Mutation::ChangeValue(i, v)),
        1 => at.prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let chars: Vec<char> = text.chars().collect();
    let line_at = |i: usize| i % lines.len().max(1);
    match m {
        Mutation::DeleteLine(i) => {
            let mut l = lines.clone();
            if !l.is_empty() {
                l.remove(line_at(*i));
            }
            l.join("\n")
        }
        Mutation::RepeatLine(i) => {
            let mut l = lines.clone();
            if !l.is_empty() {
                let at = line_at(*i);
                l.insert(at, lines[at]);
            }
            l.join("\n")
        }
        Mutation::SwapChars(i) => {
            let mut c = chars.clone();
            if c.len() >= 2 {
                let at = i % (c.len() - 1);
                c.swap(at, at + 1);
            }
            c.into_iter().collect()
        }
        Mutation::InsertChar(i, ch) => {
            let mut c = chars.clone();
            c.insert(i % (c.len() + 1), *ch);
            c.into_iter().collect()
        }
        Mutation::ChangeValue(i, value) => {
            // The i-th `key = value` line (counting only such lines), value replaced.
            let assignments: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| !l.trim_start().starts_with('#') && l.contains(" = "))
                .map(|(n, _)| n)
                .collect();
            let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            if let Some(&n) = assignments.get(i % assignments.len().max(1)) {
                if let Some((key, _)) = lines[n].split_once(" = ") {
                    l[n] = format!("{key} = {value}");
                }
            }
            l.join("\n")
        }
        Mutation::Truncate(i) => chars[..i % (chars.len() + 1)].iter().collect(),
    }
}

proptest! {
    // 192 cases unless `PROPTEST_CASES` asks for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(192),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_content_loads_or_explains_itself_and_never_panics(
        edits in prop::collection::vec((any::<usize>(), mutation()), 1..4)
    ) {
        let mut sources: Vec<Source> = Content::bundled_sources();
        let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
        for (file, m) in &edits {
            let n = file % sources.len();
            sources[n].text = apply(&sources[n].text, m);
        }
        match Content::from_sources(sources) {
            Ok(content) => prop_assert!(!content.version.is_empty()),
            Err(errors) => {
                prop_assert!(!errors.0.is_empty(), "an error with no problems in it");
                for e in &errors.0 {
                    prop_assert!(!e.message.trim().is_empty(), "a problem with no message: {e:?}");
                    prop_assert!(
                        names.contains(&e.file) || e.file.starts_with("text/"),
                        "a problem about a file we did not give: {e:?}"
                    );
                }
            }
        }
    }
}
