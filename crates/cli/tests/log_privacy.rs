//! No patient data in the logs: a server run that receives answers, notes and tokens, with the
//! logs captured, must not repeat any of them (docs/LOGGING.md).

mod common;

use chrono::Utc;
use common::{seed, start_with_logs};
use serde_json::json;
use std::io::Read;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_of_a_server_run_hold_no_patient_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("aftercare.db").display());
    let tokens = seed(&url).await;
    let mut server = start_with_logs(dir.path(), None, Some("debug,hyper=info,h2=info"));
    let client = reqwest::Client::new();
    let note = "MARKER-note-zebra-quartz";
    let today = Utc::now().date_naive();
    let token = &tokens[0];
    let res = client
        .put(format!("{}/api/v1/diary/{today}", server.base))
        .bearer_auth(token)
        .json(&json!({"pain": 7, "note": note, "facts": {"pain_course": "worsening"}}))
        .send()
        .await
        .expect("diary");
    assert!(res.status().is_success());
    let res = client
        .post(format!("{}/api/v1/checkins?lang=es", server.base))
        .bearer_auth(token)
        .json(&json!({"answers": {"stroke_signs": false, "chest_pain": false}}))
        .send()
        .await
        .expect("check-in");
    assert!(res.status().is_success());
    let res = client
        .post(format!("{}/api/v1/triage", server.base))
        .json(&json!({"back_pain": true, "pain_score": 11}))
        .send()
        .await
        .expect("triage");
    assert_eq!(res.status().as_u16(), 422);
    // A failed authentication must not echo the token it was given.
    let res = client
        .get(format!("{}/api/v1/recovery", server.base))
        .bearer_auth("MARKER-wrong-token-ibex")
        .send()
        .await
        .expect("recovery");
    assert_eq!(res.status().as_u16(), 401);

    server.child.kill().expect("stop");
    let _ = server.child.wait();
    let mut logs = String::new();
    server
        .stderr
        .take()
        .expect("captured")
        .read_to_string(&mut logs)
        .expect("logs");
    assert!(
        logs.contains("request"),
        "the logs were not captured: {logs:.400}"
    );
    for secret in [
        note,
        token.as_str(),
        "MARKER-wrong-token-ibex",
        "worsening",
        "stroke_signs",
        "pain_score",
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
}
