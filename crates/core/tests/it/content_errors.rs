//! Broken content is refused with messages a clinician can act on: each problem names its file,
//! its line and the id it is about, and every problem is reported in one run.
//!
//! Each test takes the bundled content, breaks one file with a string replacement, and checks the
//! loader's report.

use aftercare_core::content::Source;
use aftercare_core::{Content, ContentError};

/// The bundled content with `from` replaced by `to` (once) in `file`.
fn broken(file: &str, from: &str, to: &str) -> Vec<Source> {
    let mut sources = Content::bundled_sources();
    edit(&mut sources, file, from, to);
    sources
}

fn edit(sources: &mut [Source], file: &str, from: &str, to: &str) {
    let source = sources
        .iter_mut()
        .find(|s| s.name == file)
        .unwrap_or_else(|| panic!("no content file {file}"));
    assert!(
        source.text.contains(from),
        "{file} does not contain {from:?}: the test needs updating"
    );
    source.text = source.text.replacen(from, to, 1);
}

fn errors(sources: Vec<Source>) -> Vec<ContentError> {
    match Content::from_sources(sources) {
        Ok(_) => panic!("the broken content was accepted"),
        Err(e) => e.0,
    }
}

/// The 1-based line of the first line of `file` that contains `needle`, after the edit.
fn line_of(sources: &[Source], file: &str, needle: &str) -> usize {
    let text = &sources
        .iter()
        .find(|s| s.name == file)
        .expect("file exists")
        .text;
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{file} has no line with {needle:?}"))
        + 1
}

/// The one error about `id` in `file` whose message contains `message`.
fn find<'a>(
    errors: &'a [ContentError],
    file: &str,
    id: Option<&str>,
    message: &str,
) -> &'a ContentError {
    let found: Vec<&ContentError> = errors
        .iter()
        .filter(|e| e.file == file && e.id.as_deref() == id && e.message.contains(message))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one error in {file} about {id:?} saying {message:?}, got:\n{}",
        show(errors)
    );
    found[0]
}

/// A rule whose condition does not compile is left out of the content, so its texts are then
/// reported as texts "for an unknown rule id" (once per language). Anything else beyond the
/// `expected` errors is a surprise.
fn assert_only_follow_ups(
    errors: &[ContentError],
    expected: &[&ContentError],
    broken_rules: &[&str],
) {
    for e in errors {
        let expected_one = expected.contains(&e);
        let follow_up = e.file.starts_with("text/")
            && e.message == "text for an unknown rule id"
            && broken_rules
                .iter()
                .any(|r| e.id.as_deref() == Some(&format!("rule.{r}")));
        assert!(
            expected_one || follow_up,
            "unexpected error {e}\nall:\n{}",
            show(errors)
        );
    }
}

fn show(errors: &[ContentError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_bundled_content_is_valid() {
    Content::bundled().unwrap_or_else(|e| panic!("{e}"));
}

/// Found by `content_fuzz.rs`: the toml crate gives no message for a key whose value is cut off
/// at the end of the text.
#[test]
fn a_file_cut_short_after_an_equals_sign_is_reported_with_a_message() {
    let mut sources = Content::bundled_sources();
    let en = sources
        .iter_mut()
        .find(|s| s.name == "text/en.toml")
        .expect("en.toml");
    let cut = en.text.find("title = ").expect("a title") + "title = ".len();
    en.text.truncate(cut);
    let errors = errors(sources);
    let e = errors
        .iter()
        .find(|e| e.file == "text/en.toml")
        .unwrap_or_else(|| panic!("no error about en.toml:\n{}", show(&errors)));
    assert!(e.message.contains("value is missing"), "{e}");
    assert!(e.line.is_some(), "{e}");
}

#[test]
fn an_unknown_fact_in_a_rule_is_named_with_its_rule_and_line() {
    let sources = broken(
        "rules.toml",
        r#"when = { fact = "stroke_signs" }"#,
        r#"when = { fact = "stroke_sign" }"#,
    );
    let line = line_of(&sources, "rules.toml", r#"id = "EM-STROKE""#);
    let errors = errors(sources);
    let e = find(
        &errors,
        "rules.toml",
        Some("EM-STROKE"),
        "unknown fact \"stroke_sign\"",
    );
    assert_eq!(e.line, Some(line), "{e}");
    assert_only_follow_ups(&errors, &[e], &["EM-STROKE"]);
}

#[test]
fn an_unknown_key_in_a_rule_is_refused_at_its_line() {
    let sources = broken(
        "rules.toml",
        "id = \"EM-STROKE\"\n",
        "id = \"EM-STROKE\"\nseverity = \"high\"\n",
    );
    let line = line_of(&sources, "rules.toml", "severity = ");
    let errors = errors(sources);
    let e = find(&errors, "rules.toml", None, "severity");
    assert_eq!(e.line, Some(line), "{e}");
    assert!(e.message.contains("unknown field"), "{e}");
}

#[test]
fn a_duplicate_rule_id_is_named_at_its_second_use() {
    let sources = broken("rules.toml", r#"id = "EM-CHEST""#, r#"id = "EM-STROKE""#);
    let first = line_of(&sources, "rules.toml", r#"id = "EM-STROKE""#);
    let errors = errors(sources);
    let e = find(
        &errors,
        "rules.toml",
        Some("EM-STROKE"),
        "duplicate rule id",
    );
    let line = e.line.expect("a line");
    assert!(
        line > first,
        "points at the second use, not line {first}: {e}"
    );
}

#[test]
fn comparing_an_enum_with_a_number_is_refused() {
    let sources = broken(
        "rules.toml",
        r#"{ fact = "leg_weakness", is = "both_legs" }"#,
        r#"{ fact = "leg_weakness", ge = 2 }"#,
    );
    let line = line_of(&sources, "rules.toml", r#"id = "EM-LEGS-WEAK""#);
    let errors = errors(sources);
    let e = find(
        &errors,
        "rules.toml",
        Some("EM-LEGS-WEAK"),
        "leg_weakness is not a number",
    );
    assert_eq!(e.line, Some(line), "{e}");
}

#[test]
fn a_threshold_outside_the_facts_range_is_refused() {
    let sources = broken(
        "rules.toml",
        r#"{ fact = "pain_score", ge = 7 }"#,
        r#"{ fact = "pain_score", ge = 11 }"#,
    );
    let line = line_of(&sources, "rules.toml", r#"id = "SO-SEVERE-PERSISTING""#);
    let errors = errors(sources);
    let e = find(
        &errors,
        "rules.toml",
        Some("SO-SEVERE-PERSISTING"),
        "outside the fact's range",
    );
    assert_eq!(e.line, Some(line), "{e}");
    assert!(e.message.contains("pain_score"), "{e}");
}

#[test]
fn an_undefined_action_in_adds_is_named() {
    let sources = broken(
        "rules.toml",
        r#"adds = ["mental_health"]"#,
        r#"adds = ["mental_healht"]"#,
    );
    let line = line_of(&sources, "rules.toml", r#"id = "EM-SELF-HARM-PLAN""#);
    let errors = errors(sources);
    let e = find(
        &errors,
        "rules.toml",
        Some("EM-SELF-HARM-PLAN"),
        "undefined action \"mental_healht\"",
    );
    assert_eq!(e.line, Some(line), "{e}");
}

#[test]
fn a_missing_translation_of_a_rule_is_named() {
    let sources = Content::bundled_sources();
    let es = &sources
        .iter()
        .find(|s| s.name == "text/es.toml")
        .expect("es")
        .text;
    let start = es.find("[rule.EM-STROKE]\n").expect("the block");
    let end = start + es[start..].find("\n\n").expect("the block's end") + 2;
    let block = es[start..end].to_string();
    let sources = broken("text/es.toml", &block, "");
    let errors = errors(sources);
    let e = find(
        &errors,
        "text/es.toml",
        Some("rule.EM-STROKE"),
        "missing translation",
    );
    // The block is gone, so there is no line of it to point at.
    assert_eq!(e.line, None, "{e}");
    assert_eq!(errors.len(), 1, "{}", show(&errors));
}

#[test]
fn an_empty_translation_is_named_with_its_key() {
    let sources = broken(
        "text/es.toml",
        "[rule.EM-STROKE]\npatient = \"Perder",
        "[rule.EM-STROKE]\npatient = \" \"\nunused = \"Perder",
    );
    let sources = {
        // Drop the helper key again: only the emptiness is under test.
        let mut s = sources;
        let es = s.iter_mut().find(|s| s.name == "text/es.toml").expect("es");
        let start = es.text.find("unused = ").expect("helper");
        let end = start + es.text[start..].find('\n').expect("eol") + 1;
        es.text.replace_range(start..end, "");
        s
    };
    let line = line_of(&sources, "text/es.toml", "[rule.EM-STROKE]");
    let errors = errors(sources);
    let e = find(
        &errors,
        "text/es.toml",
        Some("rule.EM-STROKE"),
        "missing translation: patient",
    );
    assert_eq!(e.line, Some(line), "{e}");
    assert_eq!(errors.len(), 1, "{}", show(&errors));
}

#[test]
fn a_rule_that_can_never_fire_is_refused() {
    let sources = broken(
        "rules.toml",
        r#"when = { fact = "stroke_signs" }"#,
        r#"when = { all = [{ fact = "procedure", is = "none" }, { term = "after_procedure" }] }"#,
    );
    let line = line_of(&sources, "rules.toml", r#"id = "EM-STROKE""#);
    let errors = errors(sources);
    let e = find(&errors, "rules.toml", Some("EM-STROKE"), "can never fire");
    assert_eq!(e.line, Some(line), "{e}");
}

#[test]
fn a_placeholder_that_is_not_a_parameter_is_named() {
    let sources = broken(
        "text/es.toml",
        "como máximo {max_minutes} minutos seguidos; puede",
        "como máximo {max_minutos} minutos seguidos; puede",
    );
    let line = line_of(&sources, "text/es.toml", "[plan.cold_therapy]");
    let errors = errors(sources);
    let e = find(
        &errors,
        "text/es.toml",
        Some("plan.cold_therapy"),
        "{max_minutos}",
    );
    assert_eq!(e.line, Some(line), "{e}");
}

#[test]
fn a_file_that_is_not_toml_is_refused_at_the_broken_line() {
    let sources = broken("rules.toml", r#"id = "EM-CHEST""#, r#"id = "EM-CHEST"#);
    let line = line_of(&sources, "rules.toml", r#"id = "EM-CHEST"#);
    let errors = errors(sources);
    assert_eq!(errors.len(), 1, "{}", show(&errors));
    let e = &errors[0];
    assert_eq!(e.file, "rules.toml");
    assert_eq!(e.id, None);
    assert_eq!(e.line, Some(line), "{e}");
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let mut sources = Content::bundled_sources();
    edit(
        &mut sources,
        "rules.toml",
        r#"when = { fact = "stroke_signs" }"#,
        r#"when = { fact = "stroke_sign" }"#,
    );
    edit(
        &mut sources,
        "rules.toml",
        r#"{ fact = "leg_weakness", is = "both_legs" }"#,
        r#"{ fact = "leg_weakness", ge = 2 }"#,
    );
    edit(
        &mut sources,
        "rules.toml",
        r#"adds = ["mental_health"]"#,
        r#"adds = ["mental_healht"]"#,
    );
    edit(
        &mut sources,
        "text/es.toml",
        "como máximo {max_minutes} minutos seguidos; puede",
        "como máximo {max_minutos} minutos seguidos; puede",
    );
    let errors = errors(sources);
    let problems = [
        find(&errors, "rules.toml", Some("EM-STROKE"), "unknown fact"),
        find(&errors, "rules.toml", Some("EM-LEGS-WEAK"), "not a number"),
        find(
            &errors,
            "rules.toml",
            Some("EM-SELF-HARM-PLAN"),
            "undefined action",
        ),
        find(
            &errors,
            "text/es.toml",
            Some("plan.cold_therapy"),
            "{max_minutos}",
        ),
    ];
    assert_only_follow_ups(&errors, &problems, &["EM-STROKE", "EM-LEGS-WEAK"]);
    let primary = errors.iter().filter(|e| problems.contains(e)).count();
    assert_eq!(primary, 4, "{}", show(&errors));
    assert!(errors.iter().all(|e| e.line.is_some()), "{}", show(&errors));
}

#[test]
fn a_warning_that_states_a_lower_urgency_than_its_rule_is_refused() {
    // Fever with redness at the needle site is an emergency: a warning for it may not say "today".
    let sources = broken(
        "plan.toml",
        r#"rules = ["UR-FEVER", "UR-SITE-INFECTION"]"#,
        r#"rules = ["UR-FEVER", "UR-SITE-INFECTION", "EM-NEURAXIAL-INFECTION"]"#,
    );
    let errors = errors(sources);
    let found: Vec<_> = errors
        .iter()
        .filter(|e| e.file == "plan.toml" && e.message.contains("EM-NEURAXIAL-INFECTION"))
        .collect();
    assert!(
        !found.is_empty() && found[0].message.contains("says urgent"),
        "{}",
        show(&errors)
    );
}

#[test]
fn an_emergency_rule_that_no_warning_describes_is_refused() {
    let sources = broken(
        "plan.toml",
        r#"rules = ["EM-CHEST"]"#,
        r#"rules = ["UR-DVT"]"#,
    );
    let errors = errors(sources);
    find(
        &errors,
        "plan.toml",
        None,
        "no warning describes the signs of EM-CHEST",
    );
}

#[test]
fn a_source_that_cites_no_authority_is_refused() {
    let sources = broken(
        "rules.toml",
        r#"source = "RCOG Green-top Guideline 52, postpartum haemorrhage, 2016""#,
        r#"source = "Postpartum haemorrhage""#,
    );
    let errors = errors(sources);
    find(
        &errors,
        "rules.toml",
        Some("EM-BLEEDING"),
        "must cite a guideline or paper",
    );
}

#[test]
fn a_rule_that_reads_a_question_never_asked_is_refused() {
    // A gate that can never hold makes its question unreachable: the v1 blood pressure numbers
    // were never asked, and every rule that read them waited forever.
    let sources = broken(
        "facts.toml",
        "max = 300\nasked_when = { fact = \"bp_measured\" }",
        "max = 300\nasked_when = { all = [{ fact = \"bp_measured\" }, { fact = \"bp_measured\", is = false }] }",
    );
    let errors = errors(sources);
    assert!(
        errors.iter().any(|e| e.file == "rules.toml"
            && e.message
                .contains("\"bp_systolic\", whose question can never be asked")),
        "{}",
        show(&errors)
    );
}

#[test]
fn an_action_she_can_book_needs_whom_she_would_see_in_every_language() {
    let sources = broken(
        "text/es.toml",
        "[booking.physiotherapy]\nwho = \"Un fisioterapeuta\"\n",
        "",
    );
    let errors = errors(sources);
    find(
        &errors,
        "text/es.toml",
        Some("booking.physiotherapy"),
        "missing translation",
    );
    assert_eq!(errors.len(), 1, "{}", show(&errors));
}

#[test]
fn a_checklist_sign_without_its_label_is_named() {
    let sources = broken("text/en.toml", "sign = \"Shortness of breath\"\n", "");
    let errors = errors(sources);
    find(
        &errors,
        "text/en.toml",
        Some("fact.breathless"),
        "missing translation: sign",
    );
    assert_eq!(errors.len(), 1, "{}", show(&errors));
}

#[test]
fn a_concern_that_names_an_unknown_section_is_refused() {
    let sources = broken(
        "sections.toml",
        "sections = [\"headache\"]",
        "sections = [\"headaches\"]",
    );
    let errors = errors(sources);
    find(
        &errors,
        "sections.toml",
        Some("headache"),
        "unknown section \"headaches\"",
    );
}

#[test]
fn a_concern_may_answer_only_yes_no_facts_that_are_always_asked() {
    let sources = broken(
        "sections.toml",
        "answers = [\"headache\"]",
        "answers = [\"headache_postural\"]",
    );
    let errors = errors(sources);
    find(
        &errors,
        "sections.toml",
        Some("headache"),
        "not a yes/no fact that is always asked",
    );
}
