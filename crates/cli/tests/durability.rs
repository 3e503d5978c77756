//! A 2xx to a write means the write is durable: a burst of diary writes, the server killed with
//! SIGKILL in the middle of it, a restart, and every acknowledged write is still there. Runs on
//! SQLite always and on PostgreSQL when `AFTERCARE_TEST_PG` is set.

use aftercare_store::{NewClinic, NewPatient};
use chrono::{Duration, Utc};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

const PATIENTS: usize = 20;
const DAYS: i64 = 30;

struct Server {
    child: Child,
    base: String,
}

fn start(data_dir: &std::path::Path, database_url: Option<&str>) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aftercare"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match database_url {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let mut child = cmd.spawn().expect("the server starts");
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

async fn seed(url: &str) -> Vec<String> {
    let store = aftercare_store::connect(url).await.expect("store");
    store.migrate().await.expect("migrate");
    let now = Utc::now();
    let clinic = store
        .create_clinic(
            NewClinic {
                slug: "durability".into(),
                name: "Durability".into(),
                opening_hours: json!(null),
            },
            now,
        )
        .await
        .expect("clinic");
    let mut tokens = Vec::new();
    for i in 0..PATIENTS {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let date = (now - Duration::days(DAYS + 5)).date_naive();
        store
            .create_patient(
                NewPatient {
                    clinic_id: clinic.id.clone(),
                    display_name: format!("P{i}"),
                    enrolment_code: token[..10].to_uppercase(),
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
        tokens.push(token);
    }
    tokens
}

async fn kill_mid_burst_and_find_every_acknowledged_write(database_url: Option<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", dir.path().join("aftercare.db").display()));
    let tokens = seed(&url).await;
    let mut server = start(dir.path(), database_url.as_deref());
    let client = reqwest::Client::new();
    let acked: Arc<Mutex<Vec<(String, String, i64)>>> = Arc::default();
    let today = Utc::now().date_naive();

    let mut writers = Vec::new();
    for (w, token) in tokens.iter().enumerate() {
        let (client, base, token, acked) = (
            client.clone(),
            server.base.clone(),
            token.clone(),
            acked.clone(),
        );
        writers.push(tokio::spawn(async move {
            for d in 0..DAYS {
                let day = today - Duration::days(d);
                let pain = ((w as i64 + d) % 10) + 1;
                let res = client
                    .put(format!("{base}/api/v1/diary/{day}"))
                    .bearer_auth(&token)
                    .json(&json!({"pain": pain, "facts": {"pain_course": "improving"}}))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        acked
                            .lock()
                            .expect("lock")
                            .push((token.clone(), day.to_string(), pain))
                    }
                    _ => return,
                }
            }
        }));
    }
    // Kill once a good part of the burst is acknowledged, while the rest is in flight.
    let target = PATIENTS * DAYS as usize / 3;
    for _ in 0..600 {
        if acked.lock().expect("lock").len() >= target {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= target,
        "the burst was too slow to test anything: {}",
        acked.len()
    );
    assert!(
        acked.len() < PATIENTS * DAYS as usize,
        "the kill came after the burst ended"
    );

    let mut server = start(dir.path(), database_url.as_deref());
    for (token, day, pain) in &acked {
        let res = client
            .get(format!("{}/api/v1/diary/{day}", server.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        assert_eq!(
            res.status().as_u16(),
            200,
            "acknowledged write for {day} is lost"
        );
        let body: serde_json::Value = res.json().await.expect("json");
        assert_eq!(
            body["entry"]["pain"], *pain,
            "acknowledged write for {day} changed"
        );
    }
    server.child.kill().expect("stop");
    let _ = server.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_burst_loses_no_acknowledged_diary_write_on_sqlite() {
    kill_mid_burst_and_find_every_acknowledged_write(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_burst_loses_no_acknowledged_diary_write_on_postgres() {
    let Ok(admin) = std::env::var("AFTERCARE_TEST_PG") else {
        eprintln!("skipped: PostgreSQL tests need AFTERCARE_TEST_PG");
        return;
    };
    use sqlx::Connection;
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
        eprintln!("skipped: PostgreSQL at AFTERCARE_TEST_PG is not reachable");
        return;
    };
    let name = format!("aftercare_kill_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create db");
    let (head, tail) = admin
        .split_once('?')
        .map(|(h, t)| (h.to_string(), format!("?{t}")))
        .unwrap_or((admin.clone(), String::new()));
    let base = head
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(head);
    kill_mid_burst_and_find_every_acknowledged_write(Some(format!("{base}/{name}{tail}"))).await;
}
