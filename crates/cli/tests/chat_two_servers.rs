//! Live chat across servers: two `aftercare serve` processes on one PostgreSQL database; a
//! clinician's page follows a patient's thread on the second server (server-sent events) while
//! the patient writes through the first, and the message arrives live (PostgreSQL
//! LISTEN/NOTIFY). Runs when `AFTERCARE_TEST_PG` names a reachable PostgreSQL server.

use aftercare_store::{NewClinic, NewPatient};
use chrono::Utc;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(database_url: &str) -> Server {
    let dir = std::env::temp_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("a first line");
    let base = line
        .trim()
        .strip_prefix("aftercare listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    Server { child, base }
}

async fn fresh_database(admin_url: &str) -> Option<String> {
    use sqlx::Connection;
    let name = format!("aftercare_chat_{}", uuid::Uuid::new_v4().simple());
    let mut conn = match sqlx::PgConnection::connect(admin_url).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipped: PostgreSQL at AFTERCARE_TEST_PG is not reachable: {e}");
            return None;
        }
    };
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let (head, tail) = match admin_url.split_once('?') {
        Some((h, t)) => (h, format!("?{t}")),
        None => (admin_url, String::new()),
    };
    let base = head.rsplit_once('/').map(|(b, _)| b).unwrap_or(head);
    Some(format!("{base}/{name}{tail}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_posted_on_one_server_appears_live_on_a_page_connected_to_another() {
    let Ok(admin_url) = std::env::var("AFTERCARE_TEST_PG") else {
        eprintln!(
            "skipped: needs AFTERCARE_TEST_PG (e.g. postgres:///postgres?host=/var/run/postgresql)"
        );
        return;
    };
    let Some(url) = fresh_database(&admin_url).await else {
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
    let nurse = aftercare_web::staff::settings::create_staff(
        store.as_ref(),
        &clinic.id,
        "nurse@two.example",
        "Nurse",
        "clinician",
        password,
        now,
    )
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
                link_token: token.clone(),
                procedure: "labour_epidural".into(),
                procedure_date: date,
                delivery_date: Some(date),
                language: "en".into(),
            },
            now,
        )
        .await
        .expect("patient");

    let a = start(&url);
    let b = start(&url);
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
