//! The test harness: a real server on a random port, against a fresh database, driven over HTTP
//! as a client would. `TestApp::sqlite()` always runs; `TestApp::postgres()` runs when
//! `AFTERCARE_TEST_PG` names a reachable PostgreSQL server (a fresh database per test) and
//! otherwise says why it is skipped.

#![allow(dead_code)]

pub mod staff;

use aftercare_core::Content;
use aftercare_store::Autocommit as _;
use aftercare_store::{NewClinic, NewPatient, Patient, Store};
use aftercare_web::{AppState, Settings};
use chrono::{Duration, NaiveDate, Utc};
use serde_json::Value;
use std::sync::Arc;

pub struct TestApp {
    pub base: String,
    pub store: Arc<dyn Store>,
    /// The server's application layer, for set-up that must go through its checks.
    pub app: aftercare_app::App,
    /// The SQLite database file (`None` on PostgreSQL), for tests that break it on purpose.
    pub db_path: Option<std::path::PathBuf>,
    pub client: reqwest::Client,
    /// The PostgreSQL database of this app (`None` on SQLite).
    pub database_url: Option<String>,
    /// Unused recovery codes of the staff accounts made with a second factor, by staff id:
    /// [`TestApp::signed_in`] spends one per sign-in, as a member of staff types her code.
    pub recovery_codes: std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        TestApp::sqlite_with(|_| {}).await
    }

    /// A SQLite app with changed settings (the public URL is the test server's own unless
    /// `change` sets another).
    pub async fn sqlite_with(change: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("aftercare.db");
        let url = format!("sqlite:{}", path.display());
        let store = aftercare_store::connect(&url).await.expect("sqlite store");
        let mut app = TestApp::start(store, Some(dir), None, change).await;
        app.db_path = Some(path);
        app
    }

    /// A fresh PostgreSQL database, or `None` (with the reason printed) when none is reachable.
    pub async fn postgres() -> Option<TestApp> {
        let Ok(admin_url) = std::env::var("AFTERCARE_TEST_PG") else {
            aftercare_store::skip_postgres(
            "PostgreSQL tests need AFTERCARE_TEST_PG (e.g. postgres:///postgres?host=/var/run/postgresql)",
        );
            return None;
        };
        let name = format!("aftercare_web_{}", uuid::Uuid::new_v4().simple());
        let url = match create_database(&admin_url, &name).await {
            Ok(url) => url,
            Err(e) => {
                aftercare_store::skip_postgres(&format!(
                    "PostgreSQL at AFTERCARE_TEST_PG is not reachable: {e}"
                ));
                return None;
            }
        };
        let store = aftercare_store::connect(&url)
            .await
            .expect("postgres store");
        Some(TestApp::start(store, None, Some(&url), |_| {}).await)
    }

    /// Another server on this app's PostgreSQL database, as a clinic that runs several
    /// behind a load balancer has (`None` on SQLite, which one server owns).
    pub async fn second_server(&self) -> Option<TestApp> {
        let url = self.database_url.as_deref()?;
        let store = aftercare_store::connect(url).await.expect("postgres store");
        Some(TestApp::start(store, None, Some(url), |_| {}).await)
    }

    async fn start(
        store: Arc<dyn Store>,
        dir: Option<tempfile::TempDir>,
        database_url: Option<&str>,
        change: impl FnOnce(&mut Settings),
    ) -> TestApp {
        store.migrate().await.expect("migrations");
        let content = Content::bundled().expect("content");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut settings = Settings {
            public_url: format!("http://{addr}"),
            ..Settings::default()
        };
        change(&mut settings);
        let state = AppState::new(content, store.clone(), settings);
        if let Some(url) = database_url {
            aftercare_web::start_background(&state, url)
                .await
                .expect("chat listener");
        }
        let app = state.app.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(aftercare_web::serve(listener, state, async {
            let _ = rx.await;
        }));
        TestApp {
            base: format!("http://{addr}"),
            store,
            app,
            db_path: None,
            client: reqwest::Client::new(),
            database_url: database_url.map(str::to_string),
            recovery_codes: Default::default(),
            shutdown: Some(tx),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The `Cookie` header of a browser where `patient` is signed in (a new session, as her
    /// link's button starts one).
    pub async fn patient_cookie(&self, patient: &Patient) -> String {
        let token = self
            .app
            .patients()
            .start_session(patient)
            .await
            .expect("a session");
        format!("aftercare_patient={token}")
    }

    /// A clinic and one enrolled patient: a labour epidural 2 days ago, delivered the same day.
    pub async fn patient(&self) -> Patient {
        self.patient_in(
            &format!("clinic-{}", uuid::Uuid::new_v4().simple()),
            "labour_epidural",
            2,
        )
        .await
    }

    pub async fn patient_in(&self, clinic_slug: &str, procedure: &str, days_ago: i64) -> Patient {
        let now = Utc::now();
        let clinic = match self
            .store
            .get_clinic_by_slug(clinic_slug)
            .await
            .expect("clinic lookup")
        {
            Some(c) => c,
            None => self
                .store
                .create_clinic(
                    NewClinic {
                        slug: clinic_slug.into(),
                        name: "Test clinic".into(),
                        opening_hours: Value::Null,
                    },
                    now,
                )
                .await
                .expect("clinic"),
        };
        let date: NaiveDate = (now - Duration::days(days_ago)).date_naive();
        let token = uuid::Uuid::new_v4().simple().to_string();
        self.store
            .create_patient(
                NewPatient {
                    clinic_id: clinic.id,
                    display_name: "A. Patient".into(),
                    enrolment_code: token[..10].to_uppercase(),
                    link_token: token.clone().into(),
                    procedure: procedure.into(),
                    procedure_date: date,
                    delivery_date: (procedure != "epidural_steroid_injection").then_some(date),
                    language: "en".into(),
                },
                now,
            )
            .await
            .expect("patient")
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.send(self.client.post(self.url(path)).json(body), token)
            .await
    }

    pub async fn patch_json(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.send(self.client.patch(self.url(path)).json(body), token)
            .await
    }

    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.send(self.client.put(self.url(path)).json(body), token)
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.send(self.client.get(self.url(path)), token).await
    }

    async fn send(&self, mut req: reqwest::RequestBuilder, token: Option<&str>) -> (u16, Value) {
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn create_database(admin_url: &str, name: &str) -> Result<String, String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    // Swap the database name in the URL path: postgres:///postgres?host=... -> /<name>?host=...
    let (head, tail) = match admin_url.split_once('?') {
        Some((h, t)) => (h, format!("?{t}")),
        None => (admin_url, String::new()),
    };
    let base = head.rsplit_once('/').map(|(b, _)| b).unwrap_or(head);
    Ok(format!("{base}/{name}{tail}"))
}

/// A vignette's case from tests/vignettes.
pub fn vignette(id: &str) -> Value {
    let path = format!(
        "{}/../../tests/vignettes/{id}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).expect("vignette");
    let v: Value = serde_json::from_str(&text).expect("json");
    v["case"].clone()
}

/// Runs a test body on SQLite and, when available, on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = TestApp::sqlite().await;
                ($body)(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = TestApp::postgres().await {
                    ($body)(app).await;
                }
            }
        }
    };
}
