//! Live chat across servers: two `aftercare serve` processes on one PostgreSQL database; a
//! clinician's page follows a patient's thread on the second server (server-sent events) while
//! the patient writes through the first, and the message arrives live (PostgreSQL
//! LISTEN/NOTIFY). Runs when `AFTERCARE_TEST_PG` names a reachable PostgreSQL server.

use crate::common;

use aftercare_store::Autocommit as _;
use aftercare_store::{NewClinic, NewPatient};
use chrono::Utc;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_posted_on_one_server_appears_live_on_a_page_connected_to_another() {
    let Some(url) = common::fresh_pg_database("aftercare_chat").await else {
        return;
    };
    // Seed: a clinic, a clinician, a patient.
    let store = aftercare_store::connect(&url).await.expect("store");
    store.migrate().await.expect("migrate");
    let now = Utc::now();
    let clinic = store
        .create_clinic(
            NewClinic {
                slug: "two".into(),
                name: "Two servers".into(),
                opening_hours: json!({}),
            },
            now,
        )
        .await
        .expect("clinic");
    let password = "correct horse battery staple";
    let app = aftercare_app::App::new(
        std::sync::Arc::new(aftercare_core::Content::bundled().expect("content")),
        store.clone(),
    );
    let account = aftercare_app::staff::NewAccount {
        clinic_id: &clinic.id,
        email: "nurse@two.example",
        display_name: aftercare_app::text::Name::new("display_name", "Nurse").expect("short"),
        role: "clinician",
        password,
    };
    let nurse = app
        .staff()
        .create(&aftercare_app::Actor::system(), account)
        .await
        .expect("staff");
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let date = now.date_naive();
    let patient = store
        .create_patient(
            NewPatient {
                clinic_id: clinic.id.clone(),
                display_name: "P".into(),
                enrolment_code: "TWOSRVRS".into(),
                link_token: token.clone().into(),
                procedure: "labour_epidural".into(),
                procedure_date: date,
                delivery_date: Some(date),
                language: "en".into(),
            },
            now,
        )
        .await
        .expect("patient");

    let dir = tempfile::tempdir().expect("temp dir");
    let a = common::start(dir.path(), Some(&url));
    let b = common::start(dir.path(), Some(&url));
    let client = reqwest::Client::new();

    // The clinician signs in on server B and opens the thread's event stream there.
    let login = client
        .post(format!("{}/api/v1/clinic/session", b.base))
        .json(&json!({"email": nurse.email, "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status().as_u16(), 200);
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("aftercare_staff="))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    let mut stream = client
        .get(format!(
            "{}/clinic/patients/{}/chat/events",
            b.base, patient.id
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status().as_u16(), 200);
    // Wait until B's stream has read the (empty) backlog: from here on only a notification
    // can bring the message.
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(": live") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("the stream goes live")
            .expect("chunk")
            .expect("open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }

    // The patient writes through server A.
    let sent = client
        .post(format!("{}/api/v1/messages", a.base))
        .bearer_auth(&token)
        .json(&json!({"body": "written on server A"}))
        .send()
        .await
        .expect("post");
    assert_eq!(sent.status().as_u16(), 201);

    while !seen.contains("written on server A") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("the message did not reach server B's stream: {seen:?}"))
            .expect("chunk")
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: message"));
}
