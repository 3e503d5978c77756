//! The FHIR mapping as an EHR sees it: every vignette survives the trip through a
//! QuestionnaireResponse with the same decision, the output matches the checked-in golden files,
//! and an independent validator (Python `fhir.resources`) accepts every resource we write.
//!
//! Golden files: insta snapshots in `tests/golden/` (`cargo insta review`, or
//! `INSTA_UPDATE=always cargo test -p aftercare-fhir` and read the diff).
//! Validator: set `AFTERCARE_FHIR_PYTHON` to a Python with `requirements-fhir.txt` installed.

use aftercare_core::{triage, Case, Content, DecisionView};
use aftercare_fhir::assessment::{self, Assessment, Context};
use aftercare_fhir::bundle::{
    self, AppointmentInfo, CheckinInfo, DiaryInfo, MessageInfo, PatientInfo, PatientRecord,
};
use aftercare_fhir::import::{self, ResponseMeta};
use aftercare_fhir::{cds, definitions, outcome, questionnaire, Canonical};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn content() -> Content {
    Content::bundled().expect("bundled content is valid")
}

fn canonical() -> Canonical {
    Canonical::new("https://aftercare.test")
}

fn vignettes() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(root().join("tests/vignettes"))
        .expect("tests/vignettes exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable vignette");
            let v: Value = serde_json::from_str(&text).expect("vignette is JSON");
            (
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                v,
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .expect("time")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

#[test]
fn every_vignette_gets_the_same_decision_through_a_questionnaire_response() {
    let content = content();
    let canonical = canonical();
    let all = vignettes();
    assert!(
        all.len() >= 50,
        "expected the whole vignette set, found {}",
        all.len()
    );
    for (name, v) in &all {
        let answers = v["case"].as_object().cloned().expect("case object");
        let direct = Case::from_map(&content, &answers).unwrap_or_else(|e| panic!("{name}: {e}"));
        let meta = ResponseMeta {
            id: "v",
            subject: None,
            authored: None,
        };
        let qr = import::to_response(&content, &canonical, &answers, &meta);
        let (imported, _) = import::from_response(&content, &canonical, &qr)
            .unwrap_or_else(|e| panic!("{name}: import refused: {e}"));
        let (a, b) = (triage(&content, &direct), triage(&content, &imported));
        assert_eq!(a, b, "{name}: the imported case decides differently");
        assert_eq!(
            imported.to_json(&content),
            direct.to_json(&content),
            "{name}"
        );
    }
}

/// A record with fixed ids and times, built on two vignettes' decisions.
fn record(content: &Content) -> PatientRecord {
    let decided = |file: &str| {
        let (_, v) = vignettes()
            .into_iter()
            .find(|(n, _)| n == file)
            .expect("vignette");
        let answers = v["case"].as_object().cloned().expect("case");
        let case = Case::from_map(content, &answers).expect("valid");
        let view = DecisionView::new(content, &triage(content, &case), content.default_lang());
        (answers, serde_json::to_value(view).expect("view is JSON"))
    };
    let (a1, d1) = decided("V01.json");
    let (a2, d2) = decided("V17.json");
    PatientRecord {
        patient: PatientInfo {
            id: "0b6c1f9e-5d0a-4c55-9b1e-3f1a2b3c4d5e".into(),
            display_name: "Rosa".into(),
            language: "es".into(),
            procedure: "labour_epidural".into(),
            procedure_date: day("2025-03-01"),
            delivery_date: Some(day("2025-03-01")),
        },
        checkins: vec![
            CheckinInfo {
                id: "7d0e8a52-1111-4a4a-8b8b-000000000001".into(),
                answers: a1,
                decision: d1,
                created_at: time("2025-03-02T09:30:00Z"),
            },
            CheckinInfo {
                id: "7d0e8a52-1111-4a4a-8b8b-000000000002".into(),
                answers: a2,
                decision: d2,
                created_at: time("2025-03-03T18:05:00Z"),
            },
        ],
        diary: vec![
            DiaryInfo {
                day: day("2025-03-02"),
                pain: 3,
                recorded_at: time("2025-03-02T20:00:00Z"),
            },
            DiaryInfo {
                day: day("2025-03-03"),
                pain: 0,
                recorded_at: time("2025-03-03T21:00:00Z"),
            },
        ],
        messages: vec![
            MessageInfo {
                id: 1,
                from_patient: true,
                body: "Me duele la espalda al sentarme.".into(),
                sent: time("2025-03-02T10:00:00Z"),
                read_at: Some(time("2025-03-02T10:05:00Z")),
            },
            MessageInfo {
                id: 2,
                from_patient: false,
                body: "Gracias, la llamamos hoy.".into(),
                sent: time("2025-03-02T10:06:00Z"),
                read_at: None,
            },
        ],
        appointments: vec![
            AppointmentInfo {
                id: "a1".into(),
                kind: "physiotherapy".into(),
                who: "Un fisioterapeuta".into(),
                preferred: "Por las mañanas".into(),
                status: "confirmed".into(),
                starts_at: Some(time("2025-03-10T09:00:00Z")),
                minutes: Some(45),
                note: Some("Sala 3".into()),
                created_at: time("2025-03-03T19:00:00Z"),
            },
            AppointmentInfo {
                id: "a2".into(),
                kind: "see_clinician".into(),
                who: "Un médico de la clínica".into(),
                preferred: "Cualquier tarde".into(),
                status: "requested".into(),
                starts_at: None,
                minutes: None,
                note: None,
                created_at: time("2025-03-03T19:05:00Z"),
            },
        ],
    }
}

/// Every resource we write, by name, for the golden files and the validator.
fn all_resources() -> Vec<(String, Value)> {
    let content = content();
    let canonical = canonical();
    let bundle = bundle::patient_bundle(
        &content,
        &canonical,
        &record(&content),
        time("2025-03-04T08:00:00Z"),
    );
    let mut out = vec![
        (
            "questionnaire".to_string(),
            questionnaire::questionnaire(&content, &canonical),
        ),
        ("bundle".to_string(), bundle.clone()),
    ];
    for (i, e) in bundle["entry"].as_array().into_iter().flatten().enumerate() {
        let kind = e["resource"]["resourceType"]
            .as_str()
            .unwrap_or("x")
            .to_string();
        out.push((format!("entry-{i:02}-{kind}"), e["resource"].clone()));
    }
    // An anonymous triage: RiskAssessment and CarePlan without a known patient.
    let case = Case::from_json(&content, &vignettes()[0].1["case"]).expect("case");
    let a = Assessment::of(&content, &triage(&content, &case), content.default_lang());
    let ctx = Context {
        id: "anonymous",
        subject: None,
        at: Some("2025-03-04T08:00:00Z"),
        basis: None,
    };
    out.push((
        "anonymous-risk".into(),
        assessment::risk_assessment(&canonical, &a, &ctx),
    ));
    if let Some(plan) = assessment::care_plan(&canonical, &a, &ctx, None, None) {
        out.push(("anonymous-plan".into(), plan));
    }
    for cs in definitions::code_systems(&content, &canonical) {
        let name = format!("codesystem-{}", definitions::id_of(&cs));
        out.push((name, cs));
    }
    out.push((
        "operation-triage".into(),
        definitions::triage_operation(&canonical),
    ));
    let refused = import::from_response(
        &content,
        &canonical,
        &json!({
            "resourceType": "QuestionnaireResponse", "status": "completed",
            "item": [{ "linkId": "pain_score", "answer": [{ "valueInteger": 12 }] }],
        }),
    )
    .expect_err("refused");
    out.push(("outcome".into(), refused.outcome()));
    out.push((
        "outcome-plain".into(),
        outcome::operation_outcome(outcome::IssueCode::Security, "no", None),
    ));
    out
}

/// Replaces what changes from run to run or with every content edit: the content version,
/// UUIDs and instants.
fn redact(v: &Value, version: &str) -> Value {
    match v {
        Value::String(s) => Value::String(redact_text(s, version)),
        Value::Array(a) => Value::Array(a.iter().map(|x| redact(x, version)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), redact(x, version)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

fn redact_text(s: &str, version: &str) -> String {
    let mut out = s.replace(version, "<content-version>");
    // UUIDs: 8-4-4-4-12 hex digits.
    let is_uuid = |w: &str| {
        w.len() == 36
            && w.char_indices().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
    };
    let mut i = 0;
    while i + 36 <= out.len() {
        if out.is_char_boundary(i) && out.is_char_boundary(i + 36) && is_uuid(&out[i..i + 36]) {
            out.replace_range(i..i + 36, "<uuid>");
            i += 6;
        } else {
            i += 1;
        }
    }
    if DateTime::parse_from_rfc3339(&out).is_ok() {
        return "<instant>".into();
    }
    out
}

/// Snapshots (insta) in `tests/golden/`: review a change with `cargo insta review`, or accept
/// it with `INSTA_UPDATE=always cargo test -p aftercare-fhir`, and read the diff.
#[test]
fn the_output_matches_the_golden_files() {
    let version = content().version;
    insta::with_settings!({ snapshot_path => "golden", prepend_module_to_snapshot => false }, {
        for (name, resource) in all_resources() {
            if name.starts_with("entry-") {
                continue; // inside the bundle's snapshot
            }
            insta::assert_json_snapshot!(name, redact(&resource, &version));
        }
    });
}

#[test]
fn every_resource_we_write_passes_the_independent_validator() {
    let Some(python) = std::env::var_os("AFTERCARE_FHIR_PYTHON") else {
        println!(
            "skipped: set AFTERCARE_FHIR_PYTHON to a Python with requirements-fhir.txt installed"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, resource) in all_resources() {
        let text = serde_json::to_string_pretty(&resource).expect("JSON");
        std::fs::write(dir.path().join(format!("{name}.json")), text).expect("written");
    }
    let out = std::process::Command::new(python)
        .arg(root().join("scripts/validate-fhir.py"))
        .arg(dir.path())
        .output()
        .expect("the validator runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "validator refused:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    node_validators(dir.path());
}

/// The npm validators (`tests/fhir-validators`: @medplum/core and fhirpath.js on every R4
/// invariant) on every file of `dir`, when `AFTERCARE_FHIR_NODE_VALIDATORS` names that folder
/// with its packages installed (`scripts/test` does; without it they are not run here).
fn node_validators(dir: &Path) {
    let Some(folder) = std::env::var_os("AFTERCARE_FHIR_NODE_VALIDATORS") else {
        println!("npm validators not run: set AFTERCARE_FHIR_NODE_VALIDATORS");
        return;
    };
    let out = std::process::Command::new("node")
        .arg(Path::new(&folder).join("validate.mjs"))
        .arg(dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "npm validators refused:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cds_cards_for_every_vignette_follow_the_spec() {
    let content = content();
    for (name, v) in vignettes() {
        let case = Case::from_json(&content, &v["case"]).expect("case");
        let a = Assessment::of(&content, &triage(&content, &case), content.default_lang());
        let card = cds::card(
            &content,
            &a,
            &cds::CardContext::new("u", Some("https://a.test/clinic/patients/p")),
        );
        assert_eq!(cds::first_empty(&card, ""), None, "{name}");
        let summary = card["summary"].as_str().unwrap_or_default();
        assert!(
            summary.chars().count() <= cds::SUMMARY_LIMIT,
            "{name}: {summary}"
        );
        let expected = match v["expect"]["level"].as_str() {
            Some("emergency") => "critical",
            Some("urgent") | Some("soon") => "warning",
            _ => "info",
        };
        assert_eq!(card["indicator"], expected, "{name}");
    }
}

/// Every `linkId` of an item tree, depth first.
fn link_ids(items: &Value, out: &mut Vec<(String, Value)>) {
    for item in items.as_array().into_iter().flatten() {
        let id = item["linkId"].as_str().unwrap_or_default().to_string();
        out.push((id, item.clone()));
        link_ids(&item["item"], out);
    }
}

/// que-2: a renderer that looks an answer up by `linkId` must find one item. The sections
/// `procedure`, `back_pain` and `headache` share their ids with questions, so groups are
/// `section.<id>`.
#[test]
fn every_item_of_the_questionnaire_has_its_own_link_id_and_the_measures_are_coded() {
    let q = questionnaire::questionnaire(&content(), &canonical());
    let mut items = Vec::new();
    link_ids(&q["item"], &mut items);
    let mut seen = std::collections::HashSet::new();
    for (id, _) in &items {
        assert!(seen.insert(id.clone()), "linkId {id} is used twice");
    }
    let item = |id: &str| {
        items
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no item {id}"))
    };
    assert_eq!(item("section.back_pain")["type"], "group");
    assert_eq!(item("back_pain")["type"], "boolean");
    assert_eq!(item("pain_score")["code"][0]["code"], "72514-3");
    for (id, loinc) in [("bp_systolic", "8480-6"), ("bp_diastolic", "8462-4")] {
        let bp = item(id);
        assert_eq!(bp["type"], "quantity", "{id}");
        assert_eq!(bp["code"][0]["system"], "http://loinc.org");
        assert_eq!(bp["code"][0]["code"], loinc);
        let unit = bp["extension"]
            .as_array()
            .and_then(|e| {
                e.iter().find(|x| {
                    x["url"]
                        .as_str()
                        .is_some_and(|u| u.ends_with("questionnaire-unit"))
                })
            })
            .expect("a unit");
        assert_eq!(unit["valueCoding"]["code"], "mm[Hg]");
    }
}

/// An emergency's CarePlan begins with getting help, in the words the patient was given;
/// a self-care plan does not.
#[test]
fn an_emergency_care_plan_leads_with_getting_help() {
    let content = content();
    let canonical = canonical();
    let ctx = Context {
        id: "p",
        subject: None,
        at: None,
        basis: None,
    };
    let mut seen = std::collections::HashSet::new();
    for (name, v) in vignettes() {
        let case = Case::from_json(&content, &v["case"]).expect("case");
        let d = triage(&content, &case);
        let a = Assessment::of(&content, &d, content.default_lang());
        if !a.is_final() {
            continue;
        }
        let plan = assessment::care_plan(&canonical, &a, &ctx, None, None);
        let first = plan.as_ref().map(|p| p["activity"][0]["detail"].clone());
        let first_code = first
            .as_ref()
            .map(|f| f["code"]["coding"][0]["code"].clone());
        if a.level == "self_care" {
            assert_ne!(first_code, Some(json!("self_care")), "{name}");
        } else {
            let first = first.unwrap_or_else(|| panic!("{name}: a plan"));
            assert_eq!(
                first["code"]["coding"][0]["system"],
                json!(canonical.levels()),
                "{name}"
            );
            assert_eq!(first["code"]["coding"][0]["code"], json!(a.level), "{name}");
            assert_eq!(first["description"], json!(a.now), "{name}");
        }
        seen.insert(a.level.clone());
    }
    assert!(seen.contains("emergency") && seen.contains("self_care"));
}
