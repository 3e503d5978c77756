//! Alerts that reach a person, against real receivers on 127.0.0.1: an SMTP server (aiosmtpd)
//! and a webhook receiver that checks each Standard Webhooks signature with its own code
//! (`tests/receivers/receiver.py`). The server runs as the real binary where a kill or a second
//! server is part of the story; re-alerts and retries run the application layer in this process
//! with a clock the test moves, never by sleeping.

use crate::common::{self, seed, start_with_env};
use aftercare_app::text::{AppointmentText, MessageBody};

use aftercare_app::alerts::NewTarget;
use aftercare_app::{Actor, App, ManualClock};
use aftercare_core::{Content, Level};
use aftercare_notify::{Config, Couriers};
use aftercare_store::{Channel, DeliveryStatus, Patient, Purpose};
use chrono::{Duration, Utc};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// The receivers, for as long as this lives.
struct Receivers {
    child: Child,
    smtp: u16,
    http: String,
    client: reqwest::Client,
}

impl Drop for Receivers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receivers {
    /// Starts them with the test tools' Python; `None` (said) when it is not installed, unless
    /// the test script required it.
    fn start() -> Option<Receivers> {
        let Some(python) = std::env::var_os("AFTERCARE_FHIR_PYTHON") else {
            if std::env::var_os("AFTERCARE_REQUIRE_RECEIVERS").is_some() {
                panic!("AFTERCARE_REQUIRE_RECEIVERS is set but AFTERCARE_FHIR_PYTHON is not");
            }
            eprintln!(
                "skipped: the alert receivers need AFTERCARE_FHIR_PYTHON (scripts/fhir-venv.sh)"
            );
            return None;
        };
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/receivers/receiver.py"
        );
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the receivers start");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the receivers' ports");
        let ports: Value = serde_json::from_str(&line).expect("a JSON line of ports");
        Some(Receivers {
            child,
            smtp: ports["smtp"].as_u64().expect("smtp port") as u16,
            http: format!("http://127.0.0.1:{}", ports["http"]),
            client: reqwest::Client::new(),
        })
    }

    fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp)
    }

    fn hook_url(&self, name: &str) -> String {
        format!("{}/hook/{name}", self.http)
    }

    async fn set_secret(&self, name: &str, secret: &str) {
        let res = self
            .client
            .put(format!("{}/secrets/{name}", self.http))
            .body(secret.to_string())
            .send()
            .await
            .expect("secret registered");
        assert!(res.status().is_success());
    }

    async fn fail_next(&self, name: &str, times: u32) {
        self.client
            .post(format!("{}/fail/{name}?times={times}", self.http))
            .send()
            .await
            .expect("told to fail");
    }

    async fn mail_to(&self, address: &str) -> Vec<Value> {
        let all: Vec<Value> = self
            .client
            .get(format!("{}/mail", self.http))
            .send()
            .await
            .expect("mail")
            .json()
            .await
            .expect("JSON");
        all.into_iter()
            .filter(|m| {
                m["to"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|t| t == address))
            })
            .collect()
    }

    async fn hooks(&self, name: &str) -> Vec<Value> {
        self.client
            .get(format!("{}/hook/{name}", self.http))
            .send()
            .await
            .expect("hooks")
            .json()
            .await
            .expect("JSON")
    }

    /// Waits (polling the receivers, up to `seconds`) until `name` got `n` deliveries and
    /// `address` `n` emails.
    async fn wait_for(&self, name: &str, address: &str, n: usize, seconds: u64) {
        for _ in 0..seconds * 10 {
            if self.hooks(name).await.len() >= n && self.mail_to(address).await.len() >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "after {seconds} s: {} webhook deliveries and {} emails, expected {n}",
            self.hooks(name).await.len(),
            self.mail_to(address).await.len()
        );
    }
}

/// A complete case that is an emergency: vignette V16, answered at once.
fn emergency_case() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vignettes/V16.json"
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("V16")).expect("JSON");
    assert_eq!(v["expect"]["level"], "emergency");
    v["case"].clone()
}

/// Adds the clinic's alert targets with `aftercare admin configure`, as an operator would:
/// an email address and a webhook whose printed secret goes to the receiver.
fn configure(url: &str, data_dir: &std::path::Path, receivers: &Receivers, name: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .args([
            "admin",
            "configure",
            "--clinic",
            "durability",
            "--alert-level",
            "urgent",
        ])
        .args(["--alert-email", &format!("{name}@clinic.test")])
        .args(["--alert-webhook", &receivers.hook_url(name)])
        .args(["--phone", "+34 910 000 000", "--time-zone", "Europe/Madrid"])
        .arg("--data-dir")
        .arg(data_dir)
        .env("DATABASE_URL", url)
        .output()
        .expect("configure runs");
    assert!(
        out.status.success(),
        "configure failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("configure prints JSON")
}

async fn register_secret(receivers: &Receivers, printed: &Value, name: &str) {
    let secret = printed["alert_targets_added"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["channel"] == "webhook")
        .and_then(|t| t["secret"].as_str())
        .expect("the webhook's secret is printed once");
    assert!(secret.starts_with("whsec_"));
    receivers.set_secret(name, secret).await;
}

async fn post_emergency(client: &reqwest::Client, base: &str, token: &str) -> Value {
    let res = client
        .post(format!("{base}/api/v1/checkins"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "answers": emergency_case() }))
        .send()
        .await
        .expect("check-in sent");
    assert!(res.status().is_success(), "{}", res.status());
    let body: Value = res.json().await.expect("JSON");
    assert_eq!(body["status"], "final", "{body}");
    assert_eq!(body["decision"]["level"], "emergency");
    body
}

/// The server with its SMTP relay and a delivery round every second.
fn env_for(receivers: &Receivers, interval: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AFTERCARE_SMTP_URL", receivers.smtp_url()),
        (
            "AFTERCARE_MAIL_FROM",
            "Aftercare <alerts@clinic.test>".into(),
        ),
        ("AFTERCARE_DELIVERY_INTERVAL_SECS", interval.into()),
    ]
}

fn start(
    dir: &std::path::Path,
    pg: Option<&str>,
    env: &[(&'static str, String)],
) -> common::Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    start_with_env(dir, pg, None, &env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_checkin_reaches_the_clinic_by_email_and_signed_webhook_within_a_minute() {
    let Some(receivers) = Receivers::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("aftercare.db").display());
    let tokens = seed(&url).await;
    let printed = configure(&url, dir.path(), &receivers, "ward");
    register_secret(&receivers, &printed, "ward").await;
    let server = start(dir.path(), None, &env_for(&receivers, "1"));
    let client = reqwest::Client::new();
    let checkin = post_emergency(&client, &server.base, &tokens[0]).await;

    receivers.wait_for("ward", "ward@clinic.test", 1, 60).await;
    let hook = &receivers.hooks("ward").await[0];
    assert_eq!(hook["verified"], true, "the signature must check: {hook}");
    let data = &hook["payload"]["data"];
    assert_eq!(hook["payload"]["type"], "escalation.raised");
    assert_eq!(data["level"], "emergency");
    assert!(!data["rules"].as_array().expect("rules").is_empty());
    let link = data["patient_url"].as_str().expect("a link");
    assert!(link.starts_with(&server.base) && link.contains("/clinic/patients/"));
    // The minimum necessary: no answers, no name, no note.
    let text = hook["payload"].to_string();
    assert!(
        !text.contains("P0"),
        "the name is not sent unless the clinic says so"
    );
    assert!(!text.contains("answers"), "{text}");
    let mail = &receivers.mail_to("ward@clinic.test").await[0];
    assert!(
        mail["subject"]
            .as_str()
            .expect("subject")
            .contains("EMERGENCY"),
        "{mail}"
    );
    assert!(
        mail["text"].as_str().expect("text").contains(link),
        "{mail}"
    );
    assert_eq!(checkin["decision"]["level"], "emergency");
    // Monitoring sees an escalation nobody has acknowledged, and no failed alert.
    let metrics = client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains("aftercare_escalations_unacknowledged 1\n"),
        "{metrics}"
    );
    assert!(metrics.contains("aftercare_alerts_failed 0\n"), "{metrics}");
}

async fn sigkill_before_delivery_still_delivers_once(pg: Option<String>) {
    let Some(receivers) = Receivers::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let url = pg
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", dir.path().join("aftercare.db").display()));
    let tokens = seed(&url).await;
    let printed = configure(&url, dir.path(), &receivers, "night");
    register_secret(&receivers, &printed, "night").await;
    // A worker that waits a minute between rounds: the check-in is stored, its alert is not
    // sent yet when the server is killed.
    let mut server = start(dir.path(), pg.as_deref(), &env_for(&receivers, "60"));
    let client = reqwest::Client::new();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    post_emergency(&client, &server.base, &tokens[1]).await;
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    assert!(
        receivers.hooks("night").await.is_empty(),
        "sent before the kill: nothing tested"
    );

    let _server = start(dir.path(), pg.as_deref(), &env_for(&receivers, "1"));
    receivers
        .wait_for("night", "night@clinic.test", 1, 60)
        .await;
    // A few more rounds: still once.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(receivers.hooks("night").await.len(), 1);
    assert_eq!(receivers.mail_to("night@clinic.test").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_between_the_escalation_and_its_delivery_still_delivers_once_on_sqlite() {
    sigkill_before_delivery_still_delivers_once(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_between_the_escalation_and_its_delivery_still_delivers_once_on_postgres() {
    let Some(url) = common::fresh_pg_database("aftercare_alert_kill").await else {
        return;
    };
    sigkill_before_delivery_still_delivers_once(Some(url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_postgres_deliver_each_alert_once() {
    let Some(receivers) = Receivers::start() else {
        return;
    };
    let Some(url) = common::fresh_pg_database("aftercare_alert_two").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = seed(&url).await;
    let printed = configure(&url, dir.path(), &receivers, "pair");
    register_secret(&receivers, &printed, "pair").await;
    let env = env_for(&receivers, "1");
    let a = start(dir.path(), Some(&url), &env);
    let b = start(dir.path(), Some(&url), &env);
    let client = reqwest::Client::new();
    // All at once, half through each server, so both workers find the same alerts due.
    let patients = 16;
    let posts = tokens.iter().take(patients).enumerate().map(|(i, token)| {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let (client, token) = (client.clone(), token.clone());
        tokio::spawn(async move { post_emergency(&client, &base, &token).await })
    });
    for post in posts.collect::<Vec<_>>() {
        post.await.expect("posted");
    }
    receivers
        .wait_for("pair", "pair@clinic.test", patients, 60)
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let hooks = receivers.hooks("pair").await;
    let mut ids: Vec<&str> = hooks.iter().filter_map(|h| h["id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(hooks.len(), patients, "each alert once: {hooks:?}");
    assert_eq!(ids.len(), patients);
    assert!(hooks.iter().all(|h| h["verified"] == true));
    assert_eq!(receivers.mail_to("pair@clinic.test").await.len(), patients);
}

// --- in this process, with a clock the test moves -------------------------------------------

struct InProcess {
    app: App,
    clock: Arc<ManualClock>,
    couriers: Couriers,
    patient: Patient,
    store: Arc<dyn aftercare_store::Store>,
    _dir: tempfile::TempDir,
}

async fn in_process(receivers: &Receivers) -> InProcess {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("aftercare.db").display());
    let tokens = seed(&url).await;
    let store = aftercare_store::connect(&url).await.expect("store");
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let content = Arc::new(Content::bundled().expect("content"));
    let app = App::new(content, store.clone()).with_clock(clock.clone());
    let patient = store
        .get_patient_by_link_token(&tokens[0])
        .await
        .expect("read")
        .expect("seeded");
    let couriers = Couriers::new(&Config {
        smtp_url: Some(receivers.smtp_url()),
        mail_from: "Aftercare <alerts@clinic.test>".into(),
        public_url: "https://aftercare.clinic.test".into(),
    })
    .expect("couriers");
    InProcess {
        app,
        clock,
        couriers,
        patient,
        store,
        _dir: dir,
    }
}

impl InProcess {
    async fn add(
        &self,
        channel: Channel,
        address: String,
        tier: i32,
    ) -> aftercare_store::AlertTarget {
        let target = NewTarget {
            channel,
            address,
            min_level: Level::Urgent,
            tier,
        };
        self.app
            .alerts()
            .add_target(&Actor::system(), &self.patient.clinic_id, target)
            .await
            .expect("target added")
    }

    async fn emergency(&self) -> aftercare_store::Escalation {
        let answers = emergency_case().as_object().expect("answers").clone();
        let checkins = self.app.checkins();
        let (_, decision) = checkins
            .decide(Some(&self.patient), &answers, self.app.now())
            .expect("decided");
        assert_eq!(decision.level, Level::Emergency);
        let lang = self.app.content().default_lang();
        let written = checkins
            .finish(
                &Actor::system(),
                &self.patient,
                None,
                &answers,
                &decision,
                lang,
            )
            .await
            .expect("stored");
        written.escalation.expect("an escalation")
    }

    async fn tick(&self) {
        self.app
            .alerts()
            .tick(&self.couriers)
            .await
            .expect("a round");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_emergency_is_alerted_again_after_the_deadline_to_the_next_contact() {
    let Some(receivers) = Receivers::start() else {
        return;
    };
    let t = in_process(&receivers).await;
    t.add(Channel::Email, "first@clinic.test".into(), 1).await;
    t.add(Channel::Email, "charge@clinic.test".into(), 2).await;
    let escalation = t.emergency().await;
    t.tick().await;
    assert_eq!(receivers.mail_to("first@clinic.test").await.len(), 1);
    assert!(receivers.mail_to("charge@clinic.test").await.is_empty());

    // Inside the clinic's 15 minutes: nothing more.
    t.clock.advance(Duration::minutes(14));
    t.tick().await;
    assert_eq!(receivers.mail_to("first@clinic.test").await.len(), 1);
    assert!(receivers.mail_to("charge@clinic.test").await.is_empty());
    let overdue = t
        .app
        .alerts()
        .overdue_patients(&t.patient.clinic_id)
        .await
        .expect("board");
    assert!(overdue.is_empty());

    // Past it: the next contact, and the board marks her overdue.
    t.clock.advance(Duration::minutes(2));
    t.tick().await;
    let again = receivers.mail_to("charge@clinic.test").await;
    assert_eq!(again.len(), 1);
    assert!(again[0]["subject"]
        .as_str()
        .expect("subject")
        .contains("not yet acknowledged"));
    let overdue = t
        .app
        .alerts()
        .overdue_patients(&t.patient.clinic_id)
        .await
        .expect("board");
    assert_eq!(overdue, std::slice::from_ref(&t.patient.id));

    // Acknowledged: no more, however long nobody looks.
    let staff = aftercare_store::Autocommit::create_staff(
        &*t.store,
        aftercare_store::NewStaff {
            clinic_id: t.patient.clinic_id.clone(),
            email: "nurse@clinic.test".into(),
            display_name: "Nurse".into(),
            role: aftercare_store::Role::Clinician,
            password_hash: "x".into(),
        },
        t.app.now(),
    )
    .await
    .expect("staff");
    t.app
        .escalations()
        .acknowledge(
            &Actor::system(),
            &t.patient.clinic_id,
            &staff.id,
            &escalation.id,
            None,
        )
        .await
        .expect("acknowledged");
    for _ in 0..4 {
        t.clock.advance(Duration::minutes(20));
        t.tick().await;
    }
    assert_eq!(receivers.mail_to("charge@clinic.test").await.len(), 1);
    assert_eq!(receivers.mail_to("first@clinic.test").await.len(), 1);
    let overdue = t
        .app
        .alerts()
        .overdue_patients(&t.patient.clinic_id)
        .await
        .expect("board");
    assert!(overdue.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_is_retried_with_backoff_and_marked_failed_after_its_last_try() {
    let Some(receivers) = Receivers::start() else {
        return;
    };
    let t = in_process(&receivers).await;
    let hook = t
        .add(Channel::Webhook, receivers.hook_url("flaky"), 1)
        .await;
    receivers
        .set_secret("flaky", hook.secret.as_deref().expect("secret"))
        .await;
    receivers.fail_next("flaky", 2).await;
    t.emergency().await;
    t.tick().await;
    assert!(
        receivers.hooks("flaky").await.is_empty(),
        "the first try failed"
    );
    // Not before its backoff: 30 s after the first failure.
    t.clock.advance(Duration::seconds(10));
    t.tick().await;
    assert!(receivers.hooks("flaky").await.is_empty());
    t.clock.advance(Duration::seconds(25));
    t.tick().await;
    assert!(
        receivers.hooks("flaky").await.is_empty(),
        "the second try failed too"
    );
    t.clock.advance(Duration::seconds(61));
    t.tick().await;
    let got = receivers.hooks("flaky").await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["verified"], true);
    let log = t
        .app
        .alerts()
        .deliveries(&Actor::system(), &t.patient.clinic_id, 10)
        .await
        .expect("log");
    assert_eq!(log[0].status, DeliveryStatus::Delivered);
    assert_eq!(log[0].attempts, 3);

    // A receiver that never answers well: failed after the last try, shown in the log.
    receivers.fail_next("flaky", 100).await;
    t.app
        .alerts()
        .send_test(&Actor::system(), &t.patient.clinic_id, &hook.id)
        .await
        .expect("test alert queued");
    for _ in 0..aftercare_app::alerts::MAX_ATTEMPTS {
        t.tick().await;
        t.clock.advance(Duration::hours(1));
    }
    let log = t
        .app
        .alerts()
        .deliveries(&Actor::system(), &t.patient.clinic_id, 100)
        .await
        .expect("log");
    let test = log
        .iter()
        .find(|m| m.purpose == Purpose::Test)
        .expect("the test alert is in the log");
    assert_eq!(test.status, DeliveryStatus::Failed, "{test:?}");
    assert_eq!(test.attempts, aftercare_app::alerts::MAX_ATTEMPTS);
    assert!(test.last_error.as_deref().expect("why").contains("503"));
}

// --- her emails -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn her_reminder_arrives_at_her_hour_once_a_day_and_stops_after_unsubscribe() {
    use aftercare_app::patient_email::EmailSettings;
    use chrono::{TimeZone, Timelike};
    let Some(receivers) = Receivers::start() else {
        return;
    };
    let t = in_process(&receivers).await;
    let clinic = t
        .store
        .get_clinic(&t.patient.clinic_id)
        .await
        .expect("read")
        .expect("clinic");
    let zone = aftercare_app::clinics::Changes {
        time_zone: Some("America/New_York".into()),
        ..Default::default()
    };
    t.app
        .clinics()
        .change(&Actor::system(), &clinic, zone, None)
        .await
        .expect("zone");
    // 07:30 in New York, today.
    let tz: chrono_tz::Tz = "America/New_York".parse().expect("zone");
    let local = Utc::now()
        .with_timezone(&tz)
        .date_naive()
        .and_hms_opt(7, 30, 0)
        .expect("time");
    t.clock.set(
        tz.from_local_datetime(&local)
            .single()
            .expect("unambiguous")
            .with_timezone(&Utc),
    );
    let her = EmailSettings {
        email: "ana@home.test".into(),
        reminder_hour: Some(9),
        consent: true,
    };
    t.app
        .patient_emails()
        .set(&Actor::system(), &t.patient, her)
        .await
        .expect("saved");

    t.tick().await;
    assert!(
        receivers.mail_to("ana@home.test").await.is_empty(),
        "not before 09:00 her time"
    );
    t.clock.advance(Duration::minutes(95));
    t.tick().await;
    let mail = receivers.mail_to("ana@home.test").await;
    assert_eq!(mail.len(), 1, "at 09:05 her time");
    let m = &mail[0];
    let unsubscribe = m["headers"]["list-unsubscribe"]
        .as_str()
        .expect("List-Unsubscribe");
    assert!(unsubscribe.contains("/unsubscribe/"), "{m}");
    assert_eq!(
        m["headers"]["list-unsubscribe-post"],
        "List-Unsubscribe=One-Click"
    );
    assert!(m["text"]
        .as_str()
        .expect("text")
        .contains("https://aftercare.clinic.test/me/diary"));
    // One sentence and a link: nothing of her answers or her name; and the numbers to call.
    assert!(!m.to_string().contains("P0"), "{m}");
    assert!(m["text"].as_str().expect("text").contains("tel:112"), "{m}");

    // Later the same day: no second one; the next day at her hour: one more.
    t.clock.advance(Duration::hours(6));
    t.tick().await;
    assert_eq!(receivers.mail_to("ana@home.test").await.len(), 1);
    t.clock.advance(Duration::hours(18));
    t.tick().await;
    assert_eq!(receivers.mail_to("ana@home.test").await.len(), 2);
    assert_eq!(t.app.now().with_timezone(&tz).hour(), 9);

    // She unsubscribes with the link's secret: nothing more, day after day.
    let token = unsubscribe
        .rsplit('/')
        .next()
        .expect("a secret")
        .trim_end_matches('>');
    assert!(t
        .app
        .patient_emails()
        .unsubscribe(&Actor::system(), token)
        .await
        .expect("done"));
    for _ in 0..3 {
        t.clock.advance(Duration::days(1));
        t.tick().await;
    }
    assert_eq!(receivers.mail_to("ana@home.test").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_stop_when_her_recovery_course_ends_and_a_reply_tells_her_once() {
    use aftercare_app::patient_email::EmailSettings;
    let Some(receivers) = Receivers::start() else {
        return;
    };
    let t = in_process(&receivers).await;
    let her = EmailSettings {
        email: "bea@home.test".into(),
        reminder_hour: Some(0),
        consent: true,
    };
    t.app
        .patient_emails()
        .set(&Actor::system(), &t.patient, her)
        .await
        .expect("saved");
    // Seeded 35 days after her procedure; the course ends at day 42.
    let end = aftercare_app::patient_email::course_end_day(t.app.content());
    let today = (t.app.now().date_naive() - t.patient.procedure_date).num_days();
    assert!(today < end);
    let mut sent = 0;
    for _ in today..end + 5 {
        t.tick().await;
        sent = receivers.mail_to("bea@home.test").await.len();
        t.clock.advance(Duration::days(1));
    }
    assert_eq!(
        sent as i64,
        end - today + 1,
        "one a day up to the end of the course, then none"
    );

    // The clinic writes twice before she reads: one email says so.
    let before = receivers.mail_to("bea@home.test").await.len();
    let staff = Actor::system();
    for body in [
        "Hello Bea, how is the pain today?",
        "And did the heat help?",
    ] {
        t.app
            .chat()
            .post(
                &staff,
                &t.patient,
                aftercare_store::Side::Staff,
                MessageBody::new("body", body).expect("a message"),
            )
            .await
            .expect("posted");
    }
    t.tick().await;
    let mail = receivers.mail_to("bea@home.test").await;
    assert_eq!(mail.len(), before + 1);
    let reply = mail.last().expect("the reply email");
    assert!(reply["text"].as_str().expect("text").contains("/me/chat"));
    assert!(
        reply["text"].as_str().expect("text").contains("tel:112"),
        "{reply}"
    );
    assert!(
        !reply.to_string().contains("heat help"),
        "the message itself is not emailed"
    );
}

/// Her appointment: she asks, the clinic confirms a time and she gets an email saying so (a
/// link and the time, nothing clinical); the day before, one reminder; a second round sends
/// no second one; after she cancels, nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appointment_she_asked_for_is_confirmed_by_email_and_reminded_the_day_before_once() {
    let Some(receivers) = Receivers::start() else {
        return;
    };
    let t = in_process(&receivers).await;
    let her = aftercare_app::patient_email::EmailSettings {
        email: "cleo@home.test".into(),
        reminder_hour: None,
        consent: true,
    };
    t.app
        .patient_emails()
        .set(&Actor::system(), &t.patient, her)
        .await
        .expect("saved");
    let asked = t
        .app
        .appointments()
        .request(
            &Actor::system(),
            &t.patient,
            aftercare_app::appointments::Request {
                kind: "physiotherapy".into(),
                preferred: AppointmentText::new("preferred", "Mornings").expect("short"),
                checkin_id: None,
            },
        )
        .await
        .expect("asked");
    let at = t.app.now() + Duration::days(3);
    let answer = aftercare_app::appointments::Answer {
        starts_at: at,
        minutes: 30,
        note: AppointmentText::optional("note", Some("Room 3")).expect("short"),
        confirm: true,
        seen: Some(asked.updated_at),
    };
    t.app
        .appointments()
        .answer(&Actor::system(), &t.patient.clinic_id, &asked.id, answer)
        .await
        .expect("confirmed");
    t.tick().await;
    let mail = receivers.mail_to("cleo@home.test").await;
    assert_eq!(mail.len(), 1, "told once that it is booked: {mail:?}");
    let text = mail[0]["text"].as_str().expect("text");
    assert!(
        text.contains("/me/appointments") && text.contains("tel:"),
        "{text}"
    );
    assert!(!text.contains("physio"), "not what she is seen for: {text}");

    // Two days on: the day before. One reminder, however many rounds.
    t.clock.advance(Duration::days(2) + Duration::hours(1));
    t.tick().await;
    t.tick().await;
    let mail = receivers.mail_to("cleo@home.test").await;
    assert_eq!(mail.len(), 2, "{mail:?}");
    assert!(mail[1]["subject"]
        .as_str()
        .expect("subject")
        .contains("tomorrow"));

    // She cancels; nothing else is sent.
    let current = t
        .app
        .appointments()
        .hers_by_id(&t.patient, &asked.id)
        .await
        .expect("hers");
    t.app
        .appointments()
        .cancel(
            &Actor::system(),
            aftercare_app::appointments::CancelledBy::Patient,
            current,
            None,
        )
        .await
        .expect("cancelled");
    t.tick().await;
    assert_eq!(receivers.mail_to("cleo@home.test").await.len(), 2);
}
