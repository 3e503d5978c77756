//! No patient data in the logs: a server run that receives answers, notes and tokens, with the
//! logs captured, must not repeat any of them (docs/LOGGING.md).

use crate::common;

use chrono::Utc;
use common::{seed, start_with_env};
use serde_json::json;
use std::io::Read;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_of_a_server_run_hold_no_patient_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("aftercare.db").display());
    let tokens = seed(&url).await;
    let fhir = refusing_fhir_server();
    let mut server = start_with_env(
        dir.path(),
        None,
        Some("debug,hyper=info,h2=info"),
        &[
            ("AFTERCARE_CDS_FHIR_SERVERS", fhir.as_str()),
            // The call below is about what the logs keep, not about tokens.
            ("AFTERCARE_CDS_UNAUTHENTICATED", "true"),
        ],
    );
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
    // A CDS call that makes the server fetch from the EHR's FHIR server with its access token.
    let res = client
        .post(format!(
            "{}/cds-services/aftercare-patient-view",
            server.base
        ))
        .json(
            &json!({"hook": "patient-view", "hookInstance": "h1", "fhirServer": fhir,
            "fhirAuthorization": {"access_token": "MARKER-ehr-token-okapi", "token_type": "Bearer"},
            "context": {"patientId": "MARKERpatientLynx"}}),
        )
        .send()
        .await
        .expect("cds");
    assert_eq!(res.status().as_u16(), 412);

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
    assert!(
        logs.contains("CDS prefetch fetch failed"),
        "the CDS call did not fetch: {logs:.400}"
    );
    for secret in [
        note,
        token.as_str(),
        "MARKER-wrong-token-ibex",
        "MARKER-ehr-token-okapi",
        "MARKERpatientLynx",
        "worsening",
        "stroke_signs",
        "pain_score",
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
}

/// A FHIR server on 127.0.0.1 that answers every request 401; its base URL.
fn refusing_fhir_server() -> String {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}/fhir", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 8192];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    base
}
