//! Shared by the CLI's integration tests: run the real `aftercare` binary and seed a database.

#![allow(dead_code)]

use aftercare_store::Autocommit as _;
use aftercare_store::{NewClinic, NewPatient};
use chrono::{Duration, Utc};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub const PATIENTS: usize = 20;
pub const DAYS: i64 = 30;

pub struct Server {
    pub child: Child,
    pub base: String,
    /// Standard error, when captured.
    pub stderr: Option<std::process::ChildStderr>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh, empty PostgreSQL database on the server named by `AFTERCARE_TEST_PG`, or `None`
/// (with the reason printed) when there is none to reach.
pub async fn fresh_pg_database(prefix: &str) -> Option<String> {
    use sqlx::Connection;
    let Ok(admin_url) = std::env::var("AFTERCARE_TEST_PG") else {
        aftercare_store::skip_postgres(
            "PostgreSQL tests need AFTERCARE_TEST_PG (e.g. postgres:///postgres?host=/var/run/postgresql)",
        );
        return None;
    };
    let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(c) => c,
        Err(e) => {
            aftercare_store::skip_postgres(&format!(
                "PostgreSQL at AFTERCARE_TEST_PG is not reachable: {e}"
            ));
            return None;
        }
    };
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let (head, tail) = match admin_url.split_once('?') {
        Some((h, t)) => (h.to_string(), format!("?{t}")),
        None => (admin_url.clone(), String::new()),
    };
    let base = head
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(head);
    Some(format!("{base}/{name}{tail}"))
}

/// Starts `aftercare serve` on a free port; `log_level` captures standard error when given.
pub fn start(data_dir: &std::path::Path, database_url: Option<&str>) -> Server {
    start_with_logs(data_dir, database_url, None)
}

pub fn start_with_logs(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    log_level: Option<&str>,
) -> Server {
    start_with_env(data_dir, database_url, log_level, &[])
}

/// [`start_with_logs`] with more environment variables for the server.
pub fn start_with_env(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    log_level: Option<&str>,
    env: &[(&str, &str)],
) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aftercare"));
    cmd.envs(env.iter().copied());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", log_level.unwrap_or("warn"))
        .stdout(Stdio::piped())
        .stderr(if log_level.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
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
    let stderr = child.stderr.take();
    Server {
        child,
        base,
        stderr,
    }
}

/// A clinic and `PATIENTS` patients (a labour epidural `DAYS + 5` days ago); their link tokens.
pub async fn seed(url: &str) -> Vec<String> {
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
        tokens.push(token);
    }
    tokens
}
