//! Every clinical vignette is a test: the level must match, and the expected actions must be among
//! the decision's actions. An emergency answered below emergency is the worst failure there is,
//! and is reported first, by id and title.

use aftercare_core::{triage, Case, Content, DecisionView, Level, Status};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn vignette_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vignettes")
}

fn vignettes() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(vignette_dir())
        .expect("tests/vignettes exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable vignette");
            let name = p
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            (name, serde_json::from_str(&text).expect("vignette is JSON"))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_vignette_gets_its_expected_level_and_actions() {
    let content = Content::bundled().expect("bundled content is valid");
    let all = vignettes();
    assert!(
        all.len() >= 50,
        "expected the whole vignette set, found {}",
        all.len()
    );
    let mut missed_emergencies = Vec::new();
    let mut failures = Vec::new();
    for (_, v) in &all {
        let id = v["id"].as_str().expect("id");
        let title = v["title"].as_str().expect("title");
        let case = Case::from_json(&content, &v["case"])
            .unwrap_or_else(|e| panic!("{id} ({title}): case rejected: {e}"));
        let decision = triage(&content, &case);
        let view = DecisionView::new(&content, &decision, content.default_lang());
        let want = Level::parse(v["expect"]["level"].as_str().expect("level")).expect("a level");
        if want == Level::Emergency && decision.level != Level::Emergency {
            missed_emergencies.push(format!("{id} ({title}): answered {}", decision.level));
        }
        if decision.level != want {
            failures.push(format!(
                "{id} ({title}): expected {want}, got {}",
                decision.level
            ));
        }
        if decision.status != Status::Final {
            failures.push(format!(
                "{id}: a complete case must be final, asks {:?}",
                view.ask
            ));
        }
        for action in v["expect"]["actions_include"].as_array().expect("actions") {
            let action = action.as_str().expect("action id");
            if !view.actions.contains(&action) {
                failures.push(format!(
                    "{id} ({title}): missing action {action}, got {:?}",
                    view.actions
                ));
            }
        }
    }
    assert!(
        missed_emergencies.is_empty(),
        "EMERGENCY UNDER-TRIAGED:\n{}",
        missed_emergencies.join("\n")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_vignette_copy_matches_the_clinical_spec_where_it_is_present() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/clinical/vignettes");
    let Ok(entries) = std::fs::read_dir(&spec) else {
        eprintln!("skipped: {} is not present on this machine", spec.display());
        return;
    };
    let mut spec_names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    spec_names.sort();
    let ours: Vec<(String, Value)> = vignettes();
    let our_names: Vec<&String> = ours.iter().map(|(n, _)| n).collect();
    assert_eq!(
        our_names,
        spec_names.iter().collect::<Vec<_>>(),
        "tests/vignettes is out of date"
    );
    for (name, ours) in &ours {
        let text = std::fs::read_to_string(spec.join(name)).expect("readable");
        let theirs: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            ours, &theirs,
            "tests/vignettes/{name} differs from the clinical spec"
        );
    }
}

#[test]
fn v17_without_the_leg_answers_is_incomplete_and_asks_both() {
    let content = Content::bundled().expect("valid");
    let (_, v) = vignettes()
        .into_iter()
        .find(|(n, _)| n == "V17.json")
        .expect("V17");
    let mut case_json = v["case"].clone();
    let obj = case_json.as_object_mut().expect("object");
    obj.remove("leg_weakness");
    obj.remove("leg_numbness");
    let case = Case::from_json(&content, &case_json).expect("still a valid case");
    let decision = triage(&content, &case);
    let view = DecisionView::new(&content, &decision, content.default_lang());
    assert_eq!(view.status, Status::Incomplete);
    assert!(
        view.ask.contains(&"leg_weakness") && view.ask.contains(&"leg_numbness"),
        "{:?}",
        view.ask
    );
}

#[test]
fn an_empty_case_asks_the_life_threatening_questions_first() {
    let content = Content::bundled().expect("valid");
    let decision = triage(&content, &Case::empty(&content));
    let view = DecisionView::new(&content, &decision, content.default_lang());
    assert_eq!(view.status, Status::Incomplete);
    assert_eq!(view.ask.first(), Some(&"stroke_signs"), "{:?}", view.ask);
    // Every question asked must apply now: none about a headache before `headache` is known.
    assert!(
        !view.ask.contains(&"headache_thunderclap"),
        "{:?}",
        view.ask
    );
    assert!(view.ask.contains(&"headache"));
}

#[test]
fn decisions_record_the_content_version_and_cite_sources() {
    let content = Content::bundled().expect("valid");
    let (_, v) = vignettes()
        .into_iter()
        .find(|(n, _)| n == "V20.json")
        .expect("V20");
    let case = Case::from_json(&content, &v["case"]).expect("valid");
    let decision = triage(&content, &case);
    let view = DecisionView::new(&content, &decision, content.lang("es").expect("es"));
    assert_eq!(view.content_version, content.version);
    assert_eq!(view.content_version.len(), 16);
    assert!(view
        .reasons
        .iter()
        .any(|r| r.rule == "EM-CAUDA" && r.source.contains("cauda")));
    assert!(view
        .reasons
        .iter()
        .all(|r| !r.explanation.is_empty() && !r.source.is_empty()));
}

#[test]
fn an_escalation_reason_reads_back_in_words_for_the_clinic() {
    use aftercare_core::EscalationReason;
    let content = Content::bundled().expect("valid");
    let reason = EscalationReason::LevelRose(vec!["EM-CAUDA".into()]);
    assert_eq!(
        EscalationReason::parse(&reason.code()),
        Some(reason.clone())
    );
    let words = reason.describe(&content, content.default_lang());
    assert!(
        words.starts_with("EM-CAUDA: ") && words.len() > 20,
        "{words}"
    );
    let course = EscalationReason::parse("course:improving_by_six_weeks").expect("known form");
    assert!(!course
        .describe(&content, content.default_lang())
        .contains("course:"));
    assert_eq!(EscalationReason::parse("something-else"), None);
}
