//! Snapshots (insta, in `tests/it/snapshots/`) of what clients build on: the OpenAPI document
//! and the decision JSON of one case per level, in both languages. A change shows as a diff to
//! review (`cargo insta review`, or `INSTA_UPDATE=always cargo test -p aftercare-web --test it
//! snapshots::`). The content version is redacted, so a content edit shows only where it
//! changes what a patient reads.

use crate::support::{vignette, TestApp};
use serde_json::Value;

/// The content version, wherever it appears, as `<content-version>`.
fn redacted(v: Value, version: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace(version, "<content-version>")),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| redacted(x, version)).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, x)| (k, redacted(x, version)))
                .collect(),
        ),
        other => other,
    }
}

fn version() -> String {
    aftercare_core::Content::bundled().expect("content").version
}

#[tokio::test]
async fn the_openapi_document_matches_its_snapshot() {
    let app = TestApp::sqlite().await;
    let (status, doc) = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    insta::assert_json_snapshot!("openapi", redacted(doc, &version()));
}

#[tokio::test]
async fn the_decision_of_one_case_per_level_matches_its_snapshot() {
    let app = TestApp::sqlite().await;
    let version = version();
    // Self-care, soon, urgent and emergency.
    for id in ["V01", "V04", "V13", "V16"] {
        for lang in ["en", "es"] {
            let (status, decision) = app
                .post_json(&format!("/api/v1/triage?lang={lang}"), None, &vignette(id))
                .await;
            assert_eq!(status, 200, "{id}: {decision}");
            insta::assert_json_snapshot!(
                format!("decision-{id}-{lang}"),
                redacted(decision, &version)
            );
        }
    }
}
