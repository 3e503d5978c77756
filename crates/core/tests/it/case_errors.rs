//! Bad input is a typed error that names the field.

use aftercare_core::{Case, CaseError, Content};
use serde_json::json;

fn parse(v: serde_json::Value) -> Result<Case, CaseError> {
    let content = Content::bundled().expect("valid");
    Case::from_json(&content, &v)
}

#[test]
fn a_pain_score_of_eleven_is_out_of_range() {
    let e = parse(json!({"back_pain": true, "pain_score": 11})).unwrap_err();
    assert!(matches!(e, CaseError::OutOfRange { .. }), "{e}");
    assert_eq!(e.field(), Some("pain_score"));
}

#[test]
fn negative_hours_are_out_of_range() {
    let e = parse(json!({"procedure": "spinal", "hours_since_procedure": -1})).unwrap_err();
    assert_eq!(e.field(), Some("hours_since_procedure"));
}

#[test]
fn an_unknown_key_is_named() {
    let e = parse(json!({"feverish": true})).unwrap_err();
    assert_eq!(
        e,
        CaseError::UnknownFact {
            field: "feverish".into()
        }
    );
}

#[test]
fn a_wrong_type_is_named() {
    let e = parse(json!({"fever": "yes"})).unwrap_err();
    assert_eq!(e.field(), Some("fever"));
    let e = parse(json!({"back_pain": true, "pain_score": 4.5})).unwrap_err();
    assert_eq!(e.field(), Some("pain_score"));
    let e = parse(json!({"leg_weakness": "both"})).unwrap_err();
    assert!(matches!(e, CaseError::NotAllowed { .. }));
}

#[test]
fn days_since_delivery_without_a_delivery_is_inconsistent() {
    let e = parse(json!({"delivered": false, "days_since_delivery": 3})).unwrap_err();
    assert!(matches!(e, CaseError::Inconsistent { .. }), "{e}");
    assert_eq!(e.field(), Some("days_since_delivery"));
}

#[test]
fn a_case_must_be_an_object() {
    assert_eq!(parse(json!([1, 2])).unwrap_err(), CaseError::NotAnObject);
}

#[test]
fn an_optional_measurement_may_be_absent_or_given() {
    assert!(parse(json!({"bp_systolic": 120, "bp_diastolic": 80})).is_ok());
    assert!(parse(json!({})).is_ok());
    assert_eq!(
        parse(json!({"bp_systolic": 20})).unwrap_err().field(),
        Some("bp_systolic")
    );
}

#[test]
fn a_no_to_a_question_that_does_not_apply_is_accepted_but_a_yes_is_not() {
    assert!(parse(json!({"headache": false, "headache_postural": false})).is_ok());
    let e = parse(json!({"headache": false, "headache_postural": true})).unwrap_err();
    assert_eq!(e.field(), Some("headache_postural"));
    let e = parse(json!({"procedure": "none", "hours_since_procedure": 5})).unwrap_err();
    assert_eq!(e.field(), Some("hours_since_procedure"));
}

#[test]
fn the_streaming_parser_agrees_with_the_tree_parser() {
    let content = Content::bundled().expect("valid");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vignettes");
    let mut cases: Vec<serde_json::Value> = std::fs::read_dir(dir)
        .expect("vignettes")
        .map(|e| {
            let text = std::fs::read_to_string(e.expect("entry").path()).expect("readable");
            serde_json::from_str::<serde_json::Value>(&text).expect("json")["case"].clone()
        })
        .collect();
    cases.extend([
        json!({"back_pain": true, "pain_score": 11}),
        json!({"feverish": true}),
        json!({"fever": "yes"}),
        json!({"delivered": false, "days_since_delivery": 3}),
        json!({"leg_weakness": "both"}),
        json!([1, 2]),
        json!("fever"),
        json!({"fever": null}),
        json!({"fever": {"nested": true}}),
        json!({"pain_score": [1]}),
        json!({"back_pain": true, "pain_score": 10.5}),
        json!({"back_pain": true, "pain_score": -1}),
        json!({"back_pain": true, "pain_score": "6"}),
        json!({"back_pain": true, "pain_score": 18446744073709551615u64}),
        json!({"procedure": 3}),
        json!({"procedure": true}),
        json!({"leg_weakness": null}),
        json!({"fever": 1}),
    ]);
    for case in cases {
        let bytes = serde_json::to_vec(&case).expect("bytes");
        assert_eq!(
            Case::from_json_slice(&content, &bytes),
            Case::from_json(&content, &case),
            "{case}"
        );
    }
    // Keys in any order: the parser's guess of the next fact must not matter.
    let reversed = br#"{"pain_score": 6, "back_pain": true, "hours_since_procedure": 30, "procedure": "labour_epidural"}"#;
    let in_order = br#"{"procedure": "labour_epidural", "hours_since_procedure": 30, "back_pain": true, "pain_score": 6}"#;
    assert_eq!(
        Case::from_json_slice(&content, reversed),
        Case::from_json_slice(&content, in_order)
    );
    assert!(Case::from_json_slice(&content, in_order).is_ok());
    let e = Case::from_json_slice(&content, b"{\"fever\": tru").unwrap_err();
    assert!(matches!(e, CaseError::Malformed(_)), "{e}");
    let e = Case::from_json_slice(&content, br#"{"pain_days": 1e400}"#).unwrap_err();
    assert_eq!(e.field(), Some("pain_days"));
    let e = Case::from_json_slice(&content, b"{} trailing").unwrap_err();
    assert!(matches!(e, CaseError::Malformed(_)), "{e}");
}

#[test]
fn answers_win_over_known_facts_and_every_error_names_an_answer() {
    let content = Content::bundled().expect("content");
    let known = json!({"procedure": "labour_epidural", "hours_since_procedure": 48.0,
        "delivered": true, "days_since_delivery": 2.0});
    let known = known.as_object().expect("object").clone();
    // She says there was no procedure: the recorded hours no longer apply and are left out.
    let answers = json!({"procedure": "none"});
    assert!(
        Case::from_answers_over(&content, known.clone(), answers.as_object().expect("obj")).is_ok()
    );
    // An answer that contradicts another answer is still refused, naming it.
    let answers = json!({"procedure": "none", "hours_since_procedure": 3});
    let e =
        Case::from_answers_over(&content, known, answers.as_object().expect("obj")).unwrap_err();
    assert_eq!(e.field(), Some("hours_since_procedure"));
}

#[test]
fn a_fact_given_twice_is_refused() {
    let content = Content::bundled().expect("valid");
    for body in [
        &br#"{"fever": false, "fever": true}"#[..],
        br#"{"fever": true, "chest_pain": false, "fever": true}"#,
        br#"{"fever": [1], "fever": true}"#,
    ] {
        let e = Case::from_json_slice(&content, body).unwrap_err();
        assert_eq!(e.field(), Some("fever"), "{e}");
    }
    let e = Case::from_json_slice(&content, br#"{"fever": false, "fever": false}"#).unwrap_err();
    assert_eq!(
        e,
        CaseError::Repeated {
            field: "fever".into()
        }
    );
}

mod fast_path {
    //! Bodies of the common shape (a flat object of facts in any order, with any whitespace,
    //! repeated keys, and answers valid or not) and a few beyond it: the bytes parser, which
    //! takes a fast path for that shape, must read exactly what the JSON tree parser reads.

    use aftercare_core::content::FactKind;
    use aftercare_core::{Case, Content};
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn content() -> &'static Content {
        static CONTENT: OnceLock<Content> = OnceLock::new();
        CONTENT.get_or_init(|| Content::bundled().expect("valid"))
    }

    /// One answer's JSON text for fact `idx`, chosen by `pick`: mostly valid, sometimes not.
    fn answer(idx: usize, pick: u32) -> String {
        let fact = &content().facts[idx];
        match (&fact.kind, pick % 8) {
            (_, 7) => [
                "null",
                "\"\"",
                "[1]",
                "{}",
                "1.5",
                "-3",
                "1e2",
                "\"a\\\"b\"",
            ][(pick / 8 % 8) as usize]
                .to_string(),
            (FactKind::Bool, p) => (p % 2 == 0).to_string(),
            (FactKind::Enum { values, .. }, p) if p < 6 => {
                format!("{:?}", values[(pick / 8) as usize % values.len()])
            }
            (FactKind::Enum { .. }, _) => "\"not-a-value\"".to_string(),
            (FactKind::Number { .. }, _) => (pick / 8 % 400).to_string(),
        }
    }

    fn space(pick: u32) -> &'static str {
        ["", " ", "\n  ", "\t", "\r\n"][pick as usize % 5]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn the_fast_path_reads_what_the_full_parser_reads(
            members in proptest::collection::vec((any::<u16>(), any::<u32>(), any::<u32>()), 0..40)
        ) {
            let n = content().facts.len();
            // A repeated key is refused by the bytes parser only (a JSON tree keeps the last);
            // `a_fact_given_twice_is_refused` covers it.
            let mut seen = std::collections::HashSet::new();
            let body = members
                .iter()
                .filter(|(f, _, _)| seen.insert(*f as usize % n))
                .map(|(f, pick, ws)| {
                    let idx = *f as usize % n;
                    format!(
                        "{}{:?}{}:{}{}",
                        space(*ws),
                        content().facts[idx].id,
                        space(ws / 5),
                        space(ws / 25),
                        answer(idx, *pick)
                    )
                })
                .collect::<Vec<_>>()
                .join(",");
            let body = format!("{{{body}}}");
            let bytes = Case::from_json_slice(content(), body.as_bytes());
            let tree: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
            let tree = Case::from_json(content(), &tree);
            // Which of several errors is named first may differ (the tree sorts its keys);
            // whether the body is accepted, and what is read, may not.
            prop_assert_eq!(bytes.is_ok(), tree.is_ok(), "{}", body);
            if let (Ok(a), Ok(b)) = (bytes, tree) {
                prop_assert_eq!(a, b, "{}", body);
            }
        }
    }
}
