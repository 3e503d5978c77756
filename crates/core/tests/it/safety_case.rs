//! The clinical safety case (`docs/clinical-safety/`) names, for each control of each hazard,
//! the tests that verify it. A control whose test was renamed or deleted no longer has the
//! evidence the safety officer signed off, so a citation of a test that does not exist fails
//! here.
//!
//! A citation is written `` `path/to/file::test_name` ``: a Rust test is `fn test_name(` in that
//! file; a browser test is `test('test name'` in a `.mjs` file.

use std::path::Path;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Every `path::name` in backticks whose path is a file of the repository.
fn citations(text: &str) -> Vec<(String, String)> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|span| {
            let (path, name) = span.split_once("::")?;
            let is_test_file = path.ends_with(".rs") || path.ends_with(".mjs");
            (is_test_file && !name.is_empty()).then(|| (path.to_string(), name.to_string()))
        })
        .collect()
}

fn defines(source: &str, path: &str, name: &str) -> bool {
    if path.ends_with(".mjs") {
        ["'", "\"", "`"]
            .iter()
            .any(|q| source.contains(&format!("test({q}{name}{q}")))
    } else {
        source.contains(&format!("fn {name}("))
    }
}

#[test]
fn every_test_the_hazard_log_cites_exists() {
    let log = repo().join("docs/clinical-safety/hazard-log.md");
    let text = std::fs::read_to_string(&log).expect("docs/clinical-safety/hazard-log.md exists");
    let cited = citations(&text);
    assert!(
        cited.len() >= 20,
        "the hazard log cites only {} tests",
        cited.len()
    );
    let missing: Vec<String> = cited
        .iter()
        .filter(|(path, name)| {
            std::fs::read_to_string(repo().join(path))
                .map(|source| !defines(&source, path, name))
                .unwrap_or(true)
        })
        .map(|(path, name)| format!("{path}::{name}"))
        .collect();
    assert!(
        missing.is_empty(),
        "the hazard log cites tests that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_hazard_has_controls_and_a_residual_risk() {
    let text = std::fs::read_to_string(repo().join("docs/clinical-safety/hazard-log.md"))
        .expect("hazard log");
    let hazards: Vec<&str> = text.split("\n## ").skip(1).collect();
    assert!(hazards.len() >= 8, "only {} hazards", hazards.len());
    for h in hazards {
        let title = h.lines().next().unwrap_or_default();
        let lower = h.to_lowercase();
        assert!(lower.contains("control"), "{title}: no controls");
        assert!(lower.contains("residual"), "{title}: no residual risk");
        assert!(
            !citations(h).is_empty() || lower.contains("verified by review"),
            "{title}: no control names its verification"
        );
    }
}

#[test]
fn a_citation_of_a_missing_test_is_caught() {
    // The check itself: a made-up name is not found, a real one is.
    let here = std::fs::read_to_string(repo().join("crates/core/tests/it/safety_case.rs"))
        .expect("this file");
    assert!(defines(
        &here,
        "x.rs",
        "every_test_the_hazard_log_cites_exists"
    ));
    assert!(!defines(&here, "x.rs", "a_test_nobody_wrote"));
    let cited = citations("see `crates/core/tests/it/safety_case.rs::a_test_nobody_wrote` and `x`");
    assert_eq!(cited.len(), 1);
}
