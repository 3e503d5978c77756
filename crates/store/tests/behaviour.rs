//! One behaviour suite for every `Store` implementation.
//!
//! Each test is a plain async function taking the store (as the server holds
//! it, `Arc<dyn Store>`) and a `Raw` handle for the few checks that must go
//! around the store (refused UPDATEs, query plans, durability seen from a
//! fresh connection). The `behaviour!` macro runs each one against a fresh
//! SQLite file and a fresh PostgreSQL database.
//!
//! PostgreSQL: set `AFTERCARE_TEST_PG` to an admin URL, e.g.
//! `postgres:///postgres?host=/var/run/postgresql`; without it (or without
//! a server) the PostgreSQL half prints "skipped: …" and passes, or fails when
//! `AFTERCARE_REQUIRE_PG` is set (the test script and CI).

#![allow(clippy::unwrap_used)]

use std::str::FromStr;
use std::sync::Arc;

use aftercare_store::*;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Executor, Row, SqliteConnection};

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// Direct database access for checks the store API must not offer.
enum Raw {
    Sqlite(std::path::PathBuf),
    Postgres(PgPool),
}

impl Raw {
    /// Runs a statement outside the store; returns the database's error text.
    async fn execute(&self, sql: &str) -> Result<u64, String> {
        match self {
            Raw::Sqlite(path) => {
                let mut c = sqlite_conn(path).await;
                c.execute(sql)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(|e| e.to_string())
            }
            Raw::Postgres(pool) => pool
                .execute(sql)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string()),
        }
    }

    /// One integer from a fresh connection (sees only committed data).
    async fn count(&self, sql: &str) -> i64 {
        match self {
            Raw::Sqlite(path) => {
                let mut c = sqlite_conn(path).await;
                sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
            }
            Raw::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        }
    }

    /// The plan of the board query (from its start, or after a cursor), one line per row.
    async fn board_plan(&self, clinic_id: &str, after: bool) -> Vec<String> {
        let sql = if after { BOARD_AFTER_SQL } else { BOARD_SQL };
        let cursor = (
            4_i32,
            None::<chrono::DateTime<chrono::Utc>>,
            "p0".to_string(),
        );
        match self {
            Raw::Sqlite(path) => {
                let mut c = sqlite_conn(path).await;
                let sql = format!("EXPLAIN QUERY PLAN {sql}");
                let q = sqlx::query(&sql)
                    .bind(clinic_id)
                    .bind(None::<Urgency>)
                    .bind(None::<String>)
                    .bind(50_i64)
                    .bind(0_i64)
                    .bind(None::<String>);
                let q = if after {
                    q.bind(cursor.0).bind(cursor.1).bind(cursor.2)
                } else {
                    q
                };
                let rows = q.fetch_all(&mut c).await.unwrap();
                rows.iter().map(|r| r.get::<String, _>("detail")).collect()
            }
            Raw::Postgres(pool) => {
                let mut c = pool.acquire().await.unwrap();
                // Tiny tables make a sequential scan plus sort cheapest; forbid
                // both so the plan shows whether the index can serve the order.
                c.execute("SET enable_seqscan = off; SET enable_sort = off")
                    .await
                    .unwrap();
                let sql = format!("EXPLAIN {sql}");
                let q = sqlx::query(&sql)
                    .bind(clinic_id)
                    .bind(None::<Urgency>)
                    .bind(None::<String>)
                    .bind(50_i64)
                    .bind(0_i64)
                    .bind(None::<String>);
                let q = if after {
                    q.bind(cursor.0).bind(cursor.1).bind(cursor.2)
                } else {
                    q
                };
                let rows = q.fetch_all(&mut *c).await.unwrap();
                c.execute("RESET ALL").await.unwrap();
                rows.iter().map(|r| r.get::<String, _>(0)).collect()
            }
        }
    }
}

async fn sqlite_conn(path: &std::path::Path) -> SqliteConnection {
    let url = format!("sqlite:{}", path.display());
    SqliteConnection::connect(&url).await.unwrap()
}

/// A fresh, migrated SQLite store in a temp dir (kept alive by the guard).
async fn sqlite_store() -> (tempfile::TempDir, Arc<dyn Store>, Raw) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("aftercare.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
    store.migrate().await.unwrap();
    (dir, store, Raw::Sqlite(path))
}

/// A fresh, migrated database on the PostgreSQL server, dropped afterwards.
struct PgDb {
    admin: PgConnectOptions,
    name: String,
    pool: PgPool,
}

impl PgDb {
    async fn create() -> Option<PgDb> {
        let Ok(url) = std::env::var("AFTERCARE_TEST_PG") else {
            skip_postgres("PostgreSQL tests need AFTERCARE_TEST_PG (not set)");
            return None;
        };
        let admin = match PgConnectOptions::from_str(&url) {
            Ok(o) => o,
            Err(e) => {
                skip_postgres(&format!(
                    "PostgreSQL tests need AFTERCARE_TEST_PG (bad URL: {e})"
                ));
                return None;
            }
        };
        let mut conn = match sqlx::PgConnection::connect_with(&admin).await {
            Ok(c) => c,
            Err(e) => {
                skip_postgres(&format!(
                    "PostgreSQL tests need AFTERCARE_TEST_PG (cannot connect: {e})"
                ));
                return None;
            }
        };
        let name = format!("aftercare_test_{}", uuid_like());
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        conn.close().await.unwrap();
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(admin.clone().database(&name))
            .await
            .unwrap();
        Some(PgDb { admin, name, pool })
    }

    async fn drop_db(self) {
        self.pool.close().await;
        let mut conn = sqlx::PgConnection::connect_with(&self.admin).await.unwrap();
        conn.execute(format!("DROP DATABASE {} WITH (FORCE)", self.name).as_str())
            .await
            .unwrap();
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

macro_rules! behaviour {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (_dir, store, raw) = super::sqlite_store().await;
                    super::$name(store, raw).await;
                }
            )*
        }
        mod postgres {
            use aftercare_store::{PgStore, Store};
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::PgDb::create().await else { return };
                    let store: std::sync::Arc<dyn Store> =
                        std::sync::Arc::new(PgStore::from_pool(db.pool.clone()));
                    store.migrate().await.unwrap();
                    super::$name(store, super::Raw::Postgres(db.pool.clone())).await;
                    db.drop_db().await;
                }
            )*
        }
    };
}

/// A level's urgency as the application stores it (the core's order: 0 the least urgent), or
/// `NO_LEVEL` for the board's "none".
fn urgency(level: &str) -> Urgency {
    ["self_care", "soon", "urgent", "emergency"]
        .iter()
        .position(|l| *l == level)
        .map_or(NO_LEVEL, |i| i as Urgency)
}

behaviour!(
    health_and_migrations,
    clinics,
    staff_accounts_and_lockout,
    staff_sessions,
    patients_and_unique_codes,
    board_ordering_filters_and_counts,
    board_query_uses_index,
    checkin_sessions_and_immutable_checkins,
    diary_edits_keep_versions,
    escalations_raise_and_acknowledge,
    diary_entry_raises_its_escalation_in_one_transaction,
    a_checkin_its_session_audit_rows_and_escalation_commit_together,
    a_failure_between_the_statements_of_a_checkin_stores_none_of_it,
    chat_messages_and_unread_counts,
    contact_requests,
    announcements,
    audit_log_is_append_only,
    cds_feedback_and_jwt_replay,
    concurrent_diary_writes_are_durable_and_versioned,
    failed_write_does_not_spoil_its_batch,
    a_unit_of_work_commits_all_of_its_writes_or_none,
    an_escalation_is_committed_with_its_first_alert_due,
    outbox_messages_are_leased_retried_and_finished,
    her_queued_emails_end_with_her_consent_and_stay_out_of_the_delivery_log,
    appointments_change_only_from_the_status_read_and_are_reminded_once,
    two_units_that_lock_rows_in_opposite_orders_both_commit,
    a_throttle_counts_every_window_or_none_and_slides,
    many_attempts_at_once_take_no_more_than_the_limit,
    a_refused_value_is_an_error_not_an_outage,
    backup,
);

/// A statement the database refuses for its data is an error to fix, not an outage to wait
/// out: PostgreSQL's SQLSTATE 22021 (a NUL in text) once read as SQLite's BUSY, which made it
/// a 503 with Retry-After.
async fn a_refused_value_is_an_error_not_an_outage(_store: Arc<dyn Store>, raw: Raw) {
    let Raw::Postgres(pool) = raw else { return };
    let err = sqlx::query("SELECT $1::text")
        .bind("a\u{0}b")
        .execute(&pool)
        .await
        .expect_err("PostgreSQL refuses a NUL in text");
    let err = StoreError::from(err);
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
}

fn throttle_window(bucket: &str, key: &str, max: i64) -> ThrottleWindow {
    ThrottleWindow {
        bucket: bucket.into(),
        key: key.into(),
        max,
        seconds: 600,
    }
}

async fn take(store: &Arc<dyn Store>, windows: Vec<ThrottleWindow>, now: i64) -> bool {
    transaction(&**store, move |tx| {
        let windows = windows.clone();
        Box::pin(async move { tx.take_attempt(windows, now).await })
    })
    .await
    .unwrap()
}

/// A limit counts an attempt in all its windows or in none: a full one refuses and the others
/// keep their count; a given-back attempt frees its slot; the previous window still weighs
/// on the next one by how much of it overlaps, so a guesser gains nothing at the boundary.
async fn a_throttle_counts_every_window_or_none_and_slides(store: Arc<dyn Store>, _raw: Raw) {
    let t0: i64 = 1_800_000_000; // a multiple of 600: the start of a window
    let small = || throttle_window("code.address", "198.51.100.7", 2);
    let wide = || throttle_window("code.overall", "*", 100);
    assert!(take(&store, vec![small(), wide()], t0).await);
    assert!(take(&store, vec![small(), wide()], t0 + 1).await);
    assert!(!take(&store, vec![small(), wide()], t0 + 2).await, "full");
    // The refused attempt counted nowhere: the wide window has room for 98 more.
    for i in 0..98 {
        assert!(take(&store, vec![wide()], t0 + 3).await, "{i}");
    }
    assert!(!take(&store, vec![wide()], t0 + 3).await);
    // A given-back attempt frees its slot.
    let back = vec![small()];
    transaction(&*store, move |tx| {
        let back = back.clone();
        Box::pin(async move { tx.give_back_attempt(back, t0 + 4).await })
    })
    .await
    .unwrap();
    assert!(take(&store, vec![small()], t0 + 5).await);
    assert!(!take(&store, vec![small()], t0 + 6).await);
    // Just after the boundary the two of the last window still count almost fully...
    assert!(!take(&store, vec![small()], t0 + 601).await);
    // ...and half way through the next one, half of them.
    assert!(take(&store, vec![small()], t0 + 900).await);
    assert!(!take(&store, vec![small()], t0 + 901).await);
    // Other keys never shared any of it.
    assert!(
        take(
            &store,
            vec![throttle_window("code.address", "203.0.113.9", 2)],
            t0 + 6
        )
        .await
    );
}

/// Many attempts at the same moment (as from several servers on one PostgreSQL database) take
/// exactly the limit's slots, never one more.
async fn many_attempts_at_once_take_no_more_than_the_limit(store: Arc<dyn Store>, _raw: Raw) {
    let now = 1_800_000_300;
    let attempts = (0..24).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            take(&store, vec![throttle_window("login.pair", "ada", 5)], now).await
        })
    });
    let mut taken = 0;
    for attempt in attempts {
        if attempt.await.unwrap() {
            taken += 1;
        }
    }
    assert_eq!(taken, 5);
}

/// Two units of work change the same two patients in opposite orders, meeting in the middle:
/// on PostgreSQL that is a deadlock, and the database cancels one of them. The store runs the
/// cancelled one again, so both commit and neither caller sees an error. (SQLite's one writer
/// runs them one after the other; the meeting times out and changes nothing.)
async fn two_units_that_lock_rows_in_opposite_orders_both_commit(store: Arc<dyn Store>, raw: Raw) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let c = clinic(&store, "north").await;
    let a = patient(&store, &c.id, "ANA-0001").await;
    let b = patient(&store, &c.id, "BEA-0002").await;
    let meeting = Arc::new(tokio::sync::Barrier::new(2));
    let runs = Arc::new(AtomicUsize::new(0));
    let unit = |first: PatientId, second: PatientId, phone: &'static str| {
        let (meeting, runs) = (meeting.clone(), runs.clone());
        let store = store.clone();
        async move {
            transaction(&*store, move |tx| {
                let (first, second) = (first.clone(), second.clone());
                let (meeting, runs) = (meeting.clone(), runs.clone());
                Box::pin(async move {
                    let run = runs.fetch_add(1, Ordering::SeqCst);
                    tx.set_patient_phone(first, Some(phone.into())).await?;
                    if run < 2 {
                        // Both hold their first row here; only then do they ask for the other.
                        let wait = std::time::Duration::from_secs(2);
                        let _ = tokio::time::timeout(wait, meeting.wait()).await;
                    }
                    tx.set_patient_phone(second, Some(phone.into())).await
                })
            })
            .await
        }
    };
    let (one, two) = tokio::join!(
        unit(a.id.clone(), b.id.clone(), "+34 600 000 001"),
        unit(b.id.clone(), a.id.clone(), "+34 600 000 002"),
    );
    one.expect("the first unit commits");
    two.expect("the second unit commits");
    let phones = (
        store.get_patient(&a.id).await.unwrap().unwrap().phone,
        store.get_patient(&b.id).await.unwrap().unwrap().phone,
    );
    assert_eq!(
        phones.0, phones.1,
        "the unit that committed last wrote both rows"
    );
    if matches!(raw, Raw::Postgres(_)) {
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "the cancelled unit ran once more"
        );
    }
}

/// An appointment request moves by compare-and-set on the status its reader saw; a confirmed
/// one is reminded once, again only if its time moves; the clinic's open list leaves out the
/// cancelled.
async fn appointments_change_only_from_the_status_read_and_are_reminded_once(
    store: Arc<dyn Store>,
    _raw: Raw,
) {
    let c = clinic(&store, "north").await;
    let s = staff(&store, &c.id, "ana@example.org").await;
    let p = patient(&store, &c.id, "ANA-0001").await;
    let new = NewAppointment {
        clinic_id: c.id.clone(),
        patient_id: p.id.clone(),
        kind: "physiotherapy".into(),
        preferred: "Mornings, not Fridays".into(),
        checkin_id: None,
    };
    let asked = transaction(&*store, move |tx| {
        tx.create_appointment(new.clone(), at(2, 9, 0))
    })
    .await
    .unwrap();
    assert_eq!(asked.status, AppointmentStatus::Requested);
    assert_eq!(store.workload(&c.id).await.unwrap().open_appointments, 1);

    let confirm = |from, seen, time| AppointmentChange {
        id: asked.id.clone(),
        from,
        seen,
        to: AppointmentStatus::Confirmed,
        starts_at: Some(time),
        minutes: Some(30),
        clinic_note: Some("Room 3".into()),
        handled_by: Some(s.id.clone()),
    };
    let first = confirm(AppointmentStatus::Requested, asked.updated_at, at(5, 10, 0));
    let done = transaction(&*store, move |tx| {
        tx.change_appointment(first.clone(), at(2, 10, 0))
    })
    .await
    .unwrap()
    .expect("confirmed");
    assert_eq!(done.starts_at, Some(at(5, 10, 0)));
    // A second change from the status it no longer has changes nothing; nor one from the
    // right status but an older reading (someone changed it since that page was drawn).
    let stale = confirm(AppointmentStatus::Requested, asked.updated_at, at(6, 10, 0));
    let lost = transaction(&*store, move |tx| {
        tx.change_appointment(stale.clone(), at(2, 10, 1))
    })
    .await
    .unwrap();
    assert!(lost.is_none());
    let old_reading = confirm(AppointmentStatus::Confirmed, asked.updated_at, at(6, 10, 0));
    let lost = transaction(&*store, move |tx| {
        tx.change_appointment(old_reading.clone(), at(2, 10, 2))
    })
    .await
    .unwrap();
    assert!(lost.is_none(), "a change made on an old reading is refused");
    assert_eq!(store.workload(&c.id).await.unwrap().open_appointments, 0);

    // The day before: due once.
    let due = transaction(&*store, |tx| {
        tx.due_appointment_reminders(at(5, 0, 0), at(6, 0, 0), 10)
    })
    .await
    .unwrap();
    assert_eq!(due.len(), 1);
    let id = asked.id.clone();
    assert!(
        !transaction(&*store, move |tx| tx.mark_appointment_reminded(
            id.clone(),
            at(9, 10, 0),
            at(4, 10, 0)
        ))
        .await
        .unwrap(),
        "a reminder read for another time is not marked"
    );
    let id = asked.id.clone();
    assert!(transaction(&*store, move |tx| tx.mark_appointment_reminded(
        id.clone(),
        at(5, 10, 0),
        at(4, 10, 0)
    ))
    .await
    .unwrap());
    let id = asked.id.clone();
    assert!(
        !transaction(&*store, move |tx| tx.mark_appointment_reminded(
            id.clone(),
            at(5, 10, 0),
            at(4, 10, 1)
        ))
        .await
        .unwrap()
    );
    // Moved to another day: reminded again.
    let moved = confirm(AppointmentStatus::Confirmed, done.updated_at, at(7, 10, 0));
    let moved = transaction(&*store, move |tx| {
        tx.change_appointment(moved.clone(), at(4, 11, 0))
    })
    .await
    .unwrap()
    .expect("moved");
    let due = transaction(&*store, |tx| {
        tx.due_appointment_reminders(at(7, 0, 0), at(8, 0, 0), 10)
    })
    .await
    .unwrap();
    assert_eq!(due.len(), 1, "a moved appointment is reminded again");

    // She cancels: out of the open list, never reminded.
    let cancel = AppointmentChange {
        id: asked.id.clone(),
        from: AppointmentStatus::Confirmed,
        seen: moved.updated_at,
        to: AppointmentStatus::Cancelled,
        starts_at: None,
        minutes: None,
        clinic_note: None,
        handled_by: None,
    };
    let cancelled = transaction(&*store, move |tx| {
        tx.change_appointment(cancel.clone(), at(5, 8, 0))
    })
    .await
    .unwrap()
    .expect("cancelled");
    assert_eq!(
        cancelled.clinic_note.as_deref(),
        Some("Room 3"),
        "the note is kept"
    );
    assert!(store
        .list_clinic_appointments(&c.id, true, 50)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .list_clinic_appointments(&c.id, false, 50)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.list_patient_appointments(&p.id).await.unwrap().len(),
        1
    );
    let due = transaction(&*store, |tx| {
        tx.due_appointment_reminders(at(7, 0, 0), at(8, 0, 0), 10)
    })
    .await
    .unwrap();
    assert!(due.is_empty());
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

fn at(day: u32, hour: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, day, hour, min, 0).unwrap()
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, day).unwrap()
}

async fn clinic(store: &Arc<dyn Store>, slug: &str) -> Clinic {
    store
        .create_clinic(
            NewClinic {
                slug: slug.into(),
                name: format!("Clinic {slug}"),
                opening_hours: json!({"mon": ["08:00", "17:00"]}),
            },
            at(1, 8, 0),
        )
        .await
        .unwrap()
}

async fn staff(store: &Arc<dyn Store>, clinic_id: &str, email: &str) -> Staff {
    store
        .create_staff(
            NewStaff {
                clinic_id: clinic_id.into(),
                email: email.into(),
                display_name: format!("Dr {email}"),
                role: Role::Clinician,
                password_hash: "$argon2id$hash".into(),
            },
            at(1, 8, 0),
        )
        .await
        .unwrap()
}

fn new_patient(clinic_id: &str, code: &str) -> NewPatient {
    NewPatient {
        clinic_id: clinic_id.into(),
        display_name: format!("Patient {code}"),
        enrolment_code: code.into(),
        link_token: format!("link-{code}").into(),
        procedure: "labour_epidural".into(),
        procedure_date: date(1),
        delivery_date: Some(date(2)),
        language: "en".into(),
    }
}

async fn patient(store: &Arc<dyn Store>, clinic_id: &str, code: &str) -> Patient {
    store
        .create_patient(new_patient(clinic_id, code), at(1, 9, 0))
        .await
        .unwrap()
}

async fn checkin(
    store: &Arc<dyn Store>,
    patient_id: &str,
    level: &str,
    when: DateTime<Utc>,
) -> Checkin {
    store
        .insert_checkin(
            NewCheckin {
                id: aftercare_store::new_id(),
                patient_id: patient_id.into(),
                session: SessionLink::None,
                answers: json!({"headache": true}),
                decision: json!({"level": level}),
                level: level.into(),
                urgency: urgency(level),
                status: CheckinStatus::Final,
                content_version: "2025.1".into(),
                audit: Vec::new(),
                escalation: None,
            },
            when,
        )
        .await
        .unwrap()
        .checkin
}

async fn escalate(store: &Arc<dyn Store>, patient_id: &str, when: DateTime<Utc>) -> Escalation {
    store
        .raise_escalation(
            NewEscalation {
                patient_id: patient_id.into(),
                level: "urgent".into(),
                urgency: urgency("urgent"),
                reason: "fever_with_back_pain".into(),
                source: EscalationSource::Checkin,
                source_ref: "c1".into(),
            },
            when,
        )
        .await
        .unwrap()
        .expect("a new escalation")
}

fn diary(patient_id: &str, day: NaiveDate, pain: i16) -> NewDiaryEntry {
    NewDiaryEntry {
        patient_id: patient_id.into(),
        day,
        pain,
        facts: json!({"walked": true, "pain": pain}),
        note: Some(format!("pain {pain}")),
        audit: None,
        escalation: None,
    }
}

fn audit(
    clinic_id: &str,
    patient_id: Option<&str>,
    action: &str,
    when: DateTime<Utc>,
) -> NewAuditEntry {
    NewAuditEntry {
        at: when,
        actor_kind: ActorKind::Staff,
        actor_id: Some("s1".into()),
        action: Action::parse(action).expect("an audit action"),
        patient_id: patient_id.map(Into::into),
        clinic_id: Some(clinic_id.into()),
        address: Some("127.0.0.1".into()),
        detail: None,
    }
}

// ---------------------------------------------------------------------------
// Behaviours
// ---------------------------------------------------------------------------

async fn health_and_migrations(store: Arc<dyn Store>, raw: Raw) {
    store.ping().await.unwrap();
    // Migrating again is a no-op, not an error.
    store.migrate().await.unwrap();
    let expected = match raw {
        Raw::Sqlite(_) => Backend::Sqlite,
        Raw::Postgres(_) => Backend::Postgres,
    };
    assert_eq!(store.backend(), expected);
    assert!(raw.count("SELECT COUNT(*) FROM _sqlx_migrations").await >= 1);
}

async fn clinics(store: Arc<dyn Store>, _raw: Raw) {
    let a = clinic(&store, "north").await;
    let b = clinic(&store, "south").await;
    assert_eq!(a.slug, "north");
    assert_eq!(a.opening_hours, json!({"mon": ["08:00", "17:00"]}));
    assert_eq!(a.created_at, at(1, 8, 0));
    assert_eq!(store.get_clinic(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.get_clinic_by_slug("south").await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(store.get_clinic("nope").await.unwrap(), None);
    assert_eq!(store.list_clinics().await.unwrap(), vec![a.clone(), b]);

    let dup = store
        .create_clinic(
            NewClinic {
                slug: "north".into(),
                name: "Other".into(),
                opening_hours: json!({}),
            },
            at(1, 8, 0),
        )
        .await;
    assert_eq!(
        dup,
        Err(StoreError::Conflict("clinic slug already in use".into()))
    );

    let updated = store
        .update_clinic_settings(
            &a.id,
            ClinicSettings {
                name: "North Clinic".into(),
                opening_hours: json!({"tue": ["09:00", "12:00"]}),
                phone: Some("+34 912 345 678".into()),
                out_of_hours_phone: Some("+34 912 000 111".into()),
                crisis_line: None,
                emergency_number: Some("112".into()),
                time_zone: Some("Europe/Madrid".into()),
                open_from: Some(8),
                open_until: Some(18),
                open_weekdays: 0b001_1111,
                realert_emergency_minutes: 10,
                realert_urgent_minutes: 90,
                alert_names: true,
                clinician_second_factor: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "North Clinic");
    assert_eq!(updated.phone.as_deref(), Some("+34 912 345 678"));
    assert_eq!(
        updated.out_of_hours_phone.as_deref(),
        Some("+34 912 000 111")
    );
    assert_eq!(updated.crisis_line, None);
    assert_eq!(updated.time_zone.as_deref(), Some("Europe/Madrid"));
    assert_eq!((updated.open_from, updated.open_until), (Some(8), Some(18)));
    assert_eq!(updated.realert_emergency_minutes, 10);
    assert!(updated.alert_names);
    assert_eq!(
        store.get_clinic(&a.id).await.unwrap(),
        Some(updated.clone())
    );
    let missing = store
        .update_clinic_settings(
            "nope",
            ClinicSettings {
                name: "x".into(),
                ..ClinicSettings::of(&updated)
            },
        )
        .await;
    assert_eq!(missing, Err(StoreError::NotFound));
}

async fn staff_accounts_and_lockout(store: Arc<dyn Store>, _raw: Raw) {
    let c = clinic(&store, "north").await;
    let s = staff(&store, &c.id, "Ana.Lopez@Example.org").await;
    assert_eq!(s.email, "ana.lopez@example.org");
    assert_eq!(s.failed_logins, 0);
    assert_eq!(s.locked_until, None);
    let found = store
        .get_staff_by_email("ANA.LOPEZ@example.org")
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&s));
    assert_eq!(store.get_staff(&s.id).await.unwrap(), Some(s.clone()));

    let dup = store
        .create_staff(
            NewStaff {
                clinic_id: c.id.clone(),
                email: "ana.lopez@EXAMPLE.org".into(),
                display_name: "Dup".into(),
                role: Role::Admin,
                password_hash: "h".into(),
            },
            at(1, 8, 0),
        )
        .await;
    assert_eq!(
        dup,
        Err(StoreError::Conflict("staff email already in use".into()))
    );
    let orphan = store
        .create_staff(
            NewStaff {
                clinic_id: "no-such-clinic".into(),
                email: "x@example.org".into(),
                display_name: "X".into(),
                role: Role::Admin,
                password_hash: "h".into(),
            },
            at(1, 8, 0),
        )
        .await;
    assert_eq!(orphan, Err(StoreError::NotFound));

    let b = staff(&store, &c.id, "bea@example.org").await;
    let listed: Vec<String> = store
        .list_staff(&c.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, vec![s.id.clone(), b.id.clone()]);

    assert_eq!(store.record_login_failure(&s.id).await.unwrap(), 1);
    assert_eq!(store.record_login_failure(&s.id).await.unwrap(), 2);
    store
        .set_locked_until(&s.id, Some(at(1, 9, 15)))
        .await
        .unwrap();
    let locked = store.get_staff(&s.id).await.unwrap().unwrap();
    assert_eq!(locked.failed_logins, 2);
    assert_eq!(locked.locked_until, Some(at(1, 9, 15)));
    store.reset_login_failures(&s.id).await.unwrap();
    let reset = store.get_staff(&s.id).await.unwrap().unwrap();
    assert_eq!((reset.failed_logins, reset.locked_until), (0, None));

    store
        .set_password_hash(&s.id, "$argon2id$new")
        .await
        .unwrap();
    assert_eq!(
        store.get_staff(&s.id).await.unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
    assert_eq!(
        store.record_login_failure("nope").await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.reset_login_failures("nope").await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.set_locked_until("nope", None).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.set_password_hash("nope", "h").await,
        Err(StoreError::NotFound)
    );
    // The hash never leaves in JSON.
    let json = serde_json::to_value(&reset).unwrap();
    assert!(json.get("password_hash").is_none());
}

async fn staff_sessions(store: Arc<dyn Store>, raw: Raw) {
    let c = clinic(&store, "north").await;
    let s = staff(&store, &c.id, "ana@example.org").await;
    let new = |token: &str, expires| NewSession {
        token_hash: token.into(),
        staff_id: s.id.clone(),
        csrf_token: format!("csrf-{token}"),
        expires_at: expires,
    };
    let one = store
        .create_session(new("t1", at(2, 8, 0)), at(1, 8, 0))
        .await
        .unwrap();
    store
        .create_session(new("t2", at(2, 8, 0)), at(1, 8, 0))
        .await
        .unwrap();
    store
        .create_session(new("old", at(1, 9, 0)), at(1, 8, 0))
        .await
        .unwrap();
    assert_eq!(
        store
            .create_session(new("t1", at(2, 8, 0)), at(1, 8, 0))
            .await,
        Err(StoreError::Conflict("session token already in use".into()))
    );

    let (session, who) = store
        .get_session("t1", at(1, 12, 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session, one);
    assert_eq!(session.csrf_token, "csrf-t1");
    assert_eq!(who.id, s.id);
    // Expired sessions are not returned.
    assert_eq!(store.get_session("old", at(1, 9, 0)).await.unwrap(), None);
    assert_eq!(
        store.get_session("unknown", at(1, 8, 0)).await.unwrap(),
        None
    );

    store.delete_session("t1").await.unwrap();
    assert_eq!(store.get_session("t1", at(1, 12, 0)).await.unwrap(), None);
    assert_eq!(store.delete_sessions_for_staff(&s.id).await.unwrap(), 2);
    assert_eq!(store.get_session("t2", at(1, 12, 0)).await.unwrap(), None);

    store
        .create_session(new("t3", at(1, 10, 0)), at(1, 8, 0))
        .await
        .unwrap();
    store
        .create_session(new("t4", at(3, 10, 0)), at(1, 8, 0))
        .await
        .unwrap();
    assert_eq!(store.purge_expired(at(2, 0, 0)).await.unwrap(), 1);
    assert_eq!(raw.count("SELECT COUNT(*) FROM staff_sessions").await, 1);
}

async fn patients_and_unique_codes(store: Arc<dyn Store>, _raw: Raw) {
    let c = clinic(&store, "north").await;
    let p = patient(&store, &c.id, "ABC123").await;
    assert_eq!(p.procedure_date, date(1));
    assert_eq!(p.delivery_date, Some(date(2)));
    assert_eq!(p.last_level, None);
    assert_eq!(p.last_checkin_at, None);
    assert_eq!((p.open_escalations, p.unread_messages), (0, 0));
    assert_eq!(store.get_patient(&p.id).await.unwrap(), Some(p.clone()));
    assert_eq!(
        store.get_patient_by_code("ABC123").await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        store
            .get_patient_by_link_token("link-ABC123")
            .await
            .unwrap(),
        Some(p.clone())
    );
    assert_eq!(store.get_patient_by_code("nope").await.unwrap(), None);

    let mut same_code = new_patient(&c.id, "ABC123");
    same_code.link_token = "link-other".into();
    let same_code = store.create_patient(same_code, at(1, 9, 0)).await;
    assert_eq!(
        same_code,
        Err(StoreError::Conflict("enrolment code already in use".into()))
    );
    let mut same_link = new_patient(&c.id, "XYZ");
    same_link.link_token = "link-ABC123".into();
    assert_eq!(
        store.create_patient(same_link, at(1, 9, 0)).await,
        Err(StoreError::Conflict("link token already in use".into()))
    );
    let mut no_delivery = new_patient(&c.id, "D1");
    no_delivery.delivery_date = None;
    let d = store
        .create_patient(no_delivery, at(1, 9, 0))
        .await
        .unwrap();
    assert_eq!(d.delivery_date, None);
    assert_eq!(
        store
            .create_patient(new_patient("no-clinic", "Q"), at(1, 9, 0))
            .await,
        Err(StoreError::NotFound)
    );
    // A code works once, and only if issued after the given moment.
    let redeem = |code: &'static str, issued_after, now| {
        let store = store.clone();
        async move {
            store
                .transaction(move |tx| tx.redeem_enrolment_code(code.into(), issued_after, now))
                .await
                .unwrap()
        }
    };
    let long_ago = d.created_at - chrono::Duration::days(1);
    assert_eq!(
        redeem("D1", d.created_at + chrono::Duration::days(1), at(9, 9, 0)).await,
        None,
        "expired"
    );
    assert_eq!(
        redeem("D1", long_ago, at(9, 9, 0)).await.map(|x| x.id),
        Some(d.id.clone())
    );
    assert_eq!(
        redeem("D1", long_ago, at(9, 9, 1)).await,
        None,
        "used once already"
    );
    let pid = d.id.clone();
    store
        .transaction(move |tx| {
            tx.replace_enrolment_code(pid.clone(), "NEW456".into(), at(9, 10, 0))
        })
        .await
        .unwrap();
    assert_eq!(
        redeem("D1", long_ago, at(9, 10, 1)).await,
        None,
        "the old code is gone"
    );
    assert_eq!(
        redeem("NEW456", at(9, 9, 30), at(9, 10, 1))
            .await
            .map(|x| x.id),
        Some(d.id.clone()),
        "a new code counts from when it was issued"
    );
}

async fn board_ordering_filters_and_counts(store: Arc<dyn Store>, _raw: Raw) {
    let c = clinic(&store, "north").await;
    let other = clinic(&store, "south").await;
    let s = staff(&store, &c.id, "ana@example.org").await;

    let never = patient(&store, &c.id, "never").await;
    let self_care = patient(&store, &c.id, "selfcare").await;
    let soon_new = patient(&store, &c.id, "soon-new").await;
    let soon_old = patient(&store, &c.id, "soon-old").await;
    let emergency = patient(&store, &c.id, "emergency").await;
    let escalated = patient(&store, &c.id, "escalated").await;
    let acked = patient(&store, &c.id, "acked").await;
    patient(&store, &other.id, "elsewhere").await;

    checkin(&store, &self_care.id, "self_care", at(3, 8, 0)).await;
    checkin(&store, &soon_new.id, "soon", at(3, 12, 0)).await;
    checkin(&store, &soon_old.id, "soon", at(3, 9, 0)).await;
    checkin(&store, &emergency.id, "emergency", at(3, 10, 0)).await;
    checkin(&store, &escalated.id, "self_care", at(3, 11, 0)).await;
    checkin(&store, &acked.id, "urgent", at(3, 11, 0)).await;
    escalate(&store, &escalated.id, at(3, 11, 0)).await;
    let e = escalate(&store, &acked.id, at(3, 11, 0)).await;
    store
        .acknowledge_escalation(&e.id, &s.id, None, at(3, 11, 30))
        .await
        .unwrap();
    for body in ["help", "still there?"] {
        store
            .post_message(
                NewMessage {
                    patient_id: soon_old.id.clone(),
                    sender: Side::Patient,
                    staff_id: None,
                    body: body.into(),
                },
                at(3, 13, 0),
            )
            .await
            .unwrap();
    }

    let board = store
        .list_board(&c.id, BoardFilter::default())
        .await
        .unwrap();
    let order: Vec<&str> = board.iter().map(|p| p.enrolment_code.as_str()).collect();
    assert_eq!(
        order,
        vec![
            "escalated",
            "emergency",
            "acked",
            "soon-old",
            "soon-new",
            "selfcare",
            "never"
        ]
    );
    assert_eq!(board[0].open_escalations, 1);
    assert_eq!(board[2].open_escalations, 0);
    assert_eq!(board[3].unread_messages, 2);
    assert_eq!(board[4].unread_messages, 0);
    assert_eq!(board[1].last_level.as_deref(), Some("emergency"));
    assert_eq!(board[1].last_checkin_at, Some(at(3, 10, 0)));

    let soon = store
        .list_board(
            &c.id,
            BoardFilter {
                urgency: Some(urgency("soon")),
                ..BoardFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        soon.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec![soon_old.id.as_str(), soon_new.id.as_str()]
    );
    let none = store
        .list_board(
            &c.id,
            BoardFilter {
                urgency: Some(urgency("none")),
                ..BoardFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(none.len(), 1);
    assert_eq!(none[0].id, never.id);
    // What waits for the clinic's clinicians, for the menu and the live board.
    let work = store.workload(&c.id).await.unwrap();
    assert_eq!(
        (
            work.patients,
            work.open_escalations,
            work.awaiting_reply,
            work.unread_messages
        ),
        (7, 1, 1, 2)
    );
    assert!(work.latest_checkin.is_some());
    assert_eq!(store.workload(&other.id).await.unwrap().open_escalations, 0);
    // The level filter reads the level the board shows: her open urgent episode, not the
    // self-care answer she gave last.
    let urgent = store
        .list_board(
            &c.id,
            BoardFilter {
                urgency: Some(urgency("urgent")),
                ..BoardFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        urgent.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec![escalated.id.as_str(), acked.id.as_str()]
    );
    let self_care_only = store
        .list_board(
            &c.id,
            BoardFilter {
                urgency: Some(urgency("self_care")),
                ..BoardFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(self_care_only.len(), 1);
    assert_eq!(self_care_only[0].id, self_care.id);
    // Search by part of her name, any case; LIKE's wildcards are plain characters.
    let named = store
        .list_board(
            &c.id,
            BoardFilter {
                name: Some("  SOON-".into()),
                ..BoardFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        named.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec![soon_old.id.as_str(), soon_new.id.as_str()]
    );
    for wildcard in ["%", "_"] {
        let none = store
            .list_board(
                &c.id,
                BoardFilter {
                    name: Some(wildcard.into()),
                    ..BoardFilter::default()
                },
            )
            .await
            .unwrap();
        assert!(none.is_empty(), "{wildcard} is not a wildcard");
    }
    let by_procedure = store
        .list_board(
            &c.id,
            BoardFilter {
                procedure: Some("spinal".into()),
                ..BoardFilter::default()
            },
        )
        .await
        .unwrap();
    assert!(by_procedure.is_empty());
    let page = store
        .list_board(
            &c.id,
            BoardFilter {
                limit: 2,
                offset: 2,
                ..BoardFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.iter()
            .map(|p| p.enrolment_code.as_str())
            .collect::<Vec<_>>(),
        vec!["acked", "soon-old"]
    );

    // Keyset paging walks the same board, two at a time, each page starting after the last
    // patient of the one before (through the cursor's text form, as a link carries it).
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_board(
                &c.id,
                BoardFilter {
                    limit: 2,
                    after: after.clone(),
                    ..BoardFilter::default()
                },
            )
            .await
            .unwrap();
        walked.extend(page.iter().map(|p| p.enrolment_code.clone()));
        let Some(last) = page.last() else { break };
        let text = BoardCursor::after(last).to_string();
        after = Some(text.parse::<BoardCursor>().expect("a cursor reads back"));
        assert_eq!(after.as_ref(), Some(&BoardCursor::after(last)));
    }
    assert_eq!(
        walked,
        order.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    );
    for bad in ["", "x", "1", "1.n", "1.n.", "a.n.p1", "1.soon.p1"] {
        assert!(bad.parse::<BoardCursor>().is_err(), "{bad:?}");
    }
}

async fn board_query_uses_index(store: Arc<dyn Store>, raw: Raw) {
    let c = clinic(&store, "north").await;
    patient(&store, &c.id, "p1").await;
    for after in [false, true] {
        let plan = raw.board_plan(&c.id, after).await.join("\n");
        assert!(
            plan.contains("patients_board"),
            "plan does not use the index:\n{plan}"
        );
        assert!(
            !plan.contains("TEMP B-TREE"),
            "plan sorts instead of using the index:\n{plan}"
        );
        assert!(
            !plan.contains("Sort"),
            "plan sorts instead of using the index:\n{plan}"
        );
        if after {
            // The cursor is part of the index search, not a filter on every row from the
            // start: PostgreSQL seeks to the exact row; SQLite to the cursor's rank, then
            // reads on within the index.
            let seek = plan.contains("ROW(board_rank") || plan.contains("board_rank>?");
            assert!(seek, "the cursor is not an index seek:\n{plan}");
        }
    }
}

async fn checkin_sessions_and_immutable_checkins(store: Arc<dyn Store>, raw: Raw) {
    let c = clinic(&store, "north").await;
    let p = patient(&store, &c.id, "p1").await;

    let anonymous = store
        .create_checkin_session(None, json!({}), at(2, 8, 0))
        .await
        .unwrap();
    assert_eq!(anonymous.patient_id, None);
    let session = store
        .create_checkin_session(Some(&p.id), json!({"q1": "yes"}), at(2, 8, 0))
        .await
        .unwrap();
    assert_eq!(session.completed_checkin_id, None);
    let updated = store
        .update_checkin_answers(&session.id, json!({"q1": "yes", "q2": 38.5}), at(2, 8, 5))
        .await
        .unwrap();
    assert_eq!(updated.answers, json!({"q1": "yes", "q2": 38.5}));
    assert_eq!(updated.updated_at, at(2, 8, 5));
    assert_eq!(updated.created_at, at(2, 8, 0));
    assert_eq!(
        store.get_checkin_session(&session.id).await.unwrap(),
        Some(updated)
    );

    let first = store
        .insert_checkin(
            NewCheckin {
                id: aftercare_store::new_id(),
                patient_id: p.id.clone(),
                session: SessionLink::Complete(session.id.clone()),
                answers: json!({"q1": "yes", "q2": 38.5}),
                decision: json!({"level": "urgent", "reasons": ["fever"]}),
                level: "urgent".into(),
                urgency: urgency("urgent"),
                status: CheckinStatus::Final,
                content_version: "2025.1".into(),
                audit: Vec::new(),
                escalation: None,
            },
            at(2, 8, 10),
        )
        .await
        .unwrap()
        .checkin;
    let done = store
        .get_checkin_session(&session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        done.completed_checkin_id.as_deref(),
        Some(first.id.as_str())
    );
    assert_eq!(
        store
            .update_checkin_answers(&session.id, json!({}), at(2, 9, 0))
            .await,
        Err(StoreError::Conflict(
            "check-in session already completed".into()
        ))
    );
    assert_eq!(
        store
            .update_checkin_answers("nope", json!({}), at(2, 9, 0))
            .await,
        Err(StoreError::NotFound)
    );
    let after = store.get_patient(&p.id).await.unwrap().unwrap();
    assert_eq!(after.last_level.as_deref(), Some("urgent"));
    assert_eq!(after.last_checkin_at, Some(at(2, 8, 10)));

    // Completing the same session twice fails and stores nothing.
    let again = store
        .insert_checkin(
            NewCheckin {
                id: aftercare_store::new_id(),
                patient_id: p.id.clone(),
                session: SessionLink::Complete(session.id.clone()),
                answers: json!({}),
                decision: json!({}),
                level: "soon".into(),
                urgency: urgency("soon"),
                status: CheckinStatus::Final,
                content_version: "2025.1".into(),
                audit: Vec::new(),
                escalation: None,
            },
            at(2, 8, 20),
        )
        .await;
    assert_eq!(
        again,
        Err(StoreError::Conflict(
            "check-in session already completed".into()
        ))
    );
    assert_eq!(store.list_checkins(&p.id).await.unwrap().len(), 1);
    assert_eq!(
        store
            .get_patient(&p.id)
            .await
            .unwrap()
            .unwrap()
            .last_level
            .as_deref(),
        Some("urgent")
    );

    let second = checkin(&store, &p.id, "self_care", at(3, 8, 0)).await;
    assert_eq!(
        store.get_checkin(&first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.list_checkins(&p.id).await.unwrap(),
        vec![second.clone(), first.clone()]
    );
    assert_eq!(
        store
            .get_patient(&p.id)
            .await
            .unwrap()
            .unwrap()
            .last_level
            .as_deref(),
        Some("self_care")
    );
    let ghost = store
        .insert_checkin(
            NewCheckin {
                id: aftercare_store::new_id(),
                patient_id: "nope".into(),
                session: SessionLink::None,
                answers: json!({}),
                decision: json!({}),
                level: "soon".into(),
                urgency: urgency("soon"),
                status: CheckinStatus::Final,
                content_version: "2025.1".into(),
                audit: Vec::new(),
                escalation: None,
            },
            at(2, 8, 20),
        )
        .await;
    assert_eq!(ghost, Err(StoreError::NotFound));

    // The database itself refuses to rewrite a check-in.
    let refused = raw
        .execute(&format!(
            "UPDATE checkins SET level = 'soon' WHERE id = '{}'",
            first.id
        ))
        .await;
    assert!(refused.is_err(), "check-in was rewritten");
    assert_eq!(store.get_checkin(&first.id).await.unwrap(), Some(first));
}

async fn diary_edits_keep_versions(store: Arc<dyn Store>, raw: Raw) {
    let c = clinic(&store, "north").await;
    let p = patient(&store, &c.id, "p1").await;
    let q = patient(&store, &c.id, "p2").await;

    let v1 = store
        .upsert_diary_entry(diary(&p.id, date(3), 4), at(3, 20, 0))
        .await
        .unwrap()
        .entry;
    assert_eq!((v1.version, v1.pain, v1.day), (1, 4, date(3)));
    assert_eq!(v1.facts, json!({"walked": true, "pain": 4}));
    assert_eq!(v1.note.as_deref(), Some("pain 4"));
    let v2 = store
        .upsert_diary_entry(diary(&p.id, date(3), 7), at(3, 21, 0))
        .await
        .unwrap()
        .entry;
    assert_eq!((v2.version, v2.pain, v2.recorded_at), (2, 7, at(3, 21, 0)));
    store
        .upsert_diary_entry(diary(&p.id, date(1), 2), at(1, 20, 0))
        .await
        .unwrap();
    store
        .upsert_diary_entry(diary(&p.id, date(5), 1), at(5, 20, 0))
        .await
        .unwrap();
    // Another patient's same day is independent.
    let other = store
        .upsert_diary_entry(diary(&q.id, date(3), 9), at(3, 20, 0))
        .await
        .unwrap()
        .entry;
    assert_eq!(other.version, 1);

    assert_eq!(
        store.get_diary_entry(&p.id, date(3)).await.unwrap(),
        Some(v2.clone())
    );
    assert_eq!(store.get_diary_entry(&p.id, date(4)).await.unwrap(), None);
    assert_eq!(
        store.diary_history(&p.id, date(3)).await.unwrap(),
        vec![v1.clone(), v2.clone()]
    );
    let listed = store.list_diary(&p.id, date(2), date(5)).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|e| (e.day, e.version))
            .collect::<Vec<_>>(),
        vec![(date(3), 2), (date(5), 1)]
    );
    assert_eq!(listed[0], v2);
    // The start of the series: the current version of the earliest day in range.
    assert_eq!(
        store
            .first_diary_entry(&p.id, date(2), date(5))
            .await
            .unwrap(),
        Some(v2.clone())
    );
    assert_eq!(
        store
            .first_diary_entry(&p.id, date(4), date(9))
            .await
            .unwrap()
            .map(|e| (e.day, e.version)),
        Some((date(5), 1))
    );
    assert_eq!(
        store
            .first_diary_entry(&p.id, date(6), date(9))
            .await
            .unwrap(),
        None
    );

    // Pain outside 0-10 is refused and stores nothing.
    let bad = store
        .upsert_diary_entry(diary(&p.id, date(3), 11), at(3, 22, 0))
        .await;
    assert!(matches!(bad, Err(StoreError::Other(_))), "{bad:?}");
    assert_eq!(store.diary_history(&p.id, date(3)).await.unwrap().len(), 2);
    assert_eq!(
        store
            .upsert_diary_entry(diary("nope", date(3), 1), at(3, 22, 0))
            .await,
        Err(StoreError::NotFound)
    );
    // Earlier versions cannot be rewritten behind the store's back either.
    let refused = raw
        .execute(&format!(
            "UPDATE diary_entries SET pain = 0 WHERE patient_id = '{}'",
            p.id
        ))
        .await;
    assert!(refused.is_err(), "diary version was rewritten");
}

async fn escalations_raise_and_acknowledge(store: Arc<dyn Store>, raw: Raw) {
    let c = clinic(&store, "north").await;
    let s = staff(&store, &c.id, "ana@example.org").await;
    let p = patient(&store, &c.id, "p1").await;

    let first = escalate(&store, &p.id, at(3, 8, 0)).await;
    let second = store
        .raise_escalation(
            NewEscalation {
                patient_id: p.id.clone(),
                level: "emergency".into(),
                urgency: urgency("emergency"),
                reason: "weakness_legs".into(),
                source: EscalationSource::Diary,
                source_ref: "2025-03-03".into(),
            },
            at(3, 9, 0),
        )
        .await
        .unwrap()
        .expect("another reason is another escalation");
    assert_eq!(second.acknowledged_at, None);
    // The same reason again while it is open raises nothing new.
    let again = NewEscalation {
        patient_id: p.id.clone(),
        level: "urgent".into(),
        urgency: urgency("urgent"),
        reason: "fever_with_back_pain".into(),
        source: EscalationSource::Diary,
        source_ref: "2025-03-04".into(),
    };
    assert_eq!(
        store
            .raise_escalation(again.clone(), at(3, 9, 30))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get_patient(&p.id)
            .await
            .unwrap()
            .unwrap()
            .open_escalations,
        2
    );
    assert_eq!(
        store.list_escalations(&p.id, true).await.unwrap(),
        vec![second.clone(), first.clone()]
    );

    let acked = store
        .acknowledge_escalation(&first.id, &s.id, Some("called patient"), at(3, 10, 0))
        .await
        .unwrap();
    assert_eq!(acked.acknowledged_by.as_deref(), Some(s.id.as_str()));
    assert_eq!(acked.acknowledged_at, Some(at(3, 10, 0)));
    assert_eq!(acked.ack_note.as_deref(), Some("called patient"));
    assert_eq!(
        store.get_escalation(&first.id).await.unwrap(),
        Some(acked.clone())
    );
    assert_eq!(
        store
            .get_patient(&p.id)
            .await
            .unwrap()
            .unwrap()
            .open_escalations,
        1
    );
    assert_eq!(
        store.list_escalations(&p.id, true).await.unwrap(),
        vec![second.clone()]
    );
    assert_eq!(
        store.list_escalations(&p.id, false).await.unwrap(),
        vec![second.clone(), acked.clone()]
    );
    // Once acknowledged, the same reason can alert the clinic again.
    let reraised = store
        .raise_escalation(again, at(3, 12, 0))
        .await
        .unwrap()
        .expect("raised again after acknowledgement");
    assert_eq!(reraised.reason, "fever_with_back_pain");
    assert_eq!(
        store
            .get_patient(&p.id)
            .await
            .unwrap()
            .unwrap()
            .open_escalations,
        2
    );

    assert_eq!(
        store
            .acknowledge_escalation(&first.id, &s.id, None, at(3, 11, 0))
            .await,
        Err(StoreError::Conflict(
            "escalation already acknowledged".into()
        ))
    );
    assert_eq!(
        store
            .acknowledge_escalation("nope", &s.id, None, at(3, 11, 0))
            .await,
        Err(StoreError::NotFound)
    );
    // The store's types cannot name another source; the database refuses one all the same.
    let bad_source = raw
        .execute(&format!(
            "INSERT INTO escalations (id, patient_id, level, reason, source, source_ref, raised_at) \
             VALUES ('e-bad', '{}', 'urgent', 'x', 'email', 'x', '2025-03-03T09:00:00+00:00')",
            p.id
        ))
        .await;
    assert!(bad_source.is_err(), "an unknown source was stored");
    assert_eq!(
        store
            .get_patient(&p.id)
            .await
            .unwrap()
            .unwrap()
            .open_escalations,
        2
    );
}

async fn diary_entry_raises_its_escalation_in_one_transaction(store: Arc<dyn Store>, _raw: Raw) {
    let c = clinic(&store, "north").await;
    let p = patient(&store, &c.id, "p1").await;
    let day = |d: u32, pain: i16| NewDiaryEntry {
        audit: Some(audit(&c.id, Some(&p.id), "diary.write", at(d, 20, 0))),
        escalation: Some(NewEscalation {
            patient_id: p.id.clone(),
            level: "soon".into(),
            urgency: urgency("soon"),
            reason: "off_course:improving_by_six_weeks".into(),
            source: EscalationSource::Diary,
            source_ref: format!("{}/{}", p.id, date(d)),
        }),
        ..diary(&p.id, date(d), pain)
    };
    let first = store
        .upsert_diary_entry(day(3, 6), at(3, 20, 0))
        .await
        .unwrap();
    let raised = first.escalation.expect("the first entry raises it");
    assert_eq!(raised.source_ref, format!("{}/{}", p.id, date(3)));
    assert_eq!(first.entry.pain, 6);
    // The next day with the same reason still open: stored, but no second alert.
    let second = store
        .upsert_diary_entry(day(4, 6), at(4, 20, 0))
        .await
        .unwrap();
    assert_eq!((second.entry.day, second.escalation), (date(4), None));
    assert_eq!(
        store.list_escalations(&p.id, true).await.unwrap(),
        vec![raised]
    );
    let patient = store.get_patient(&p.id).await.unwrap().unwrap();
    assert_eq!(patient.open_escalations, 1);
    let audited = patient_audit(&store, &c.id, &p.id).await;
    assert_eq!(audited.len(), 2, "one audit row per entry");
    // A failed entry takes its audit row and its escalation with it.
    let bad = store
        .upsert_diary_entry(
            NewDiaryEntry {
                escalation: Some(NewEscalation {
                    reason: "another".into(),
                    ..day(5, 1).escalation.unwrap()
                }),
                ..day(5, 11)
            },
            at(5, 20, 0),
        )
        .await;
    assert!(bad.is_err(), "{bad:?}");
    assert_eq!(store.list_escalations(&p.id, true).await.unwrap().len(), 1);
    assert_eq!(patient_audit(&store, &c.id, &p.id).await.len(), 2);
}

/// The audit rows about one patient of a clinic.
async fn patient_audit(
    store: &Arc<dyn Store>,
    clinic_id: &str,
    patient_id: &str,
) -> Vec<AuditEntry> {
    store
        .list_audit(
            clinic_id,
            AuditQuery {
                patient_id: Some(patient_id.into()),
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap()
}

async fn chat_messages_and_unread_counts(store: Arc<dyn Store>, _raw: Raw) {
    let c = clinic(&store, "north").await;
    let s = staff(&store, &c.id, "ana@example.org").await;
    let p = patient(&store, &c.id, "p1").await;
    let q = patient(&store, &c.id, "p2").await;
    let say = |patient_id: &str, sender: Side, body: &str| NewMessage {
        patient_id: patient_id.into(),
        sender,
        staff_id: (sender == Side::Staff).then(|| s.id.clone()),
        body: body.into(),
    };

    let m1 = store
        .post_message(say(&p.id, Side::Patient, "hello"), at(3, 8, 0))
        .await
        .unwrap();
    let m2 = store
        .post_message(say(&p.id, Side::Patient, "pain"), at(3, 8, 1))
        .await
        .unwrap();
    store
        .post_message(say(&q.id, Side::Patient, "other thread"), at(3, 8, 1))
        .await
        .unwrap();
    let m3 = store
        .post_message(say(&p.id, Side::Staff, "on it"), at(3, 8, 2))
        .await
        .unwrap();
    assert!(m1.id < m2.id && m2.id < m3.id, "ids not monotonic");
    assert_eq!(m3.staff_id.as_deref(), Some(s.id.as_str()));
    assert_eq!(m1.sender, Side::Patient);
    assert_eq!(m1.read_at, None);

    assert_eq!(
        store.unread_counts(&p.id).await.unwrap(),
        UnreadCounts {
            for_staff: 2,
            for_patient: 1
        }
    );
    assert_eq!(
        store
            .get_patient(&p.id)
            .await
            .unwrap()
            .unwrap()
            .unread_messages,
        2
    );
    assert_eq!(
        store.list_messages(&p.id, 0, 100).await.unwrap(),
        vec![m1.clone(), m2.clone(), m3.clone()]
    );
    assert_eq!(
        store.list_messages(&p.id, m1.id, 100).await.unwrap(),
        vec![m2.clone(), m3.clone()]
    );
    assert_eq!(
        store.list_messages(&p.id, 0, 1).await.unwrap(),
        vec![m1.clone()]
    );

    // Staff read up to m1: only the patient's m1 changes.
    assert_eq!(
        store
            .mark_read(&p.id, Side::Staff, m1.id, at(3, 9, 0))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.unread_counts(&p.id).await.unwrap(),
        UnreadCounts {
            for_staff: 1,
            for_patient: 1
        }
    );
    assert_eq!(
        store
            .get_patient(&p.id)
            .await
            .unwrap()
            .unwrap()
            .unread_messages,
        1
    );
    // Reading again changes nothing.
    assert_eq!(
        store
            .mark_read(&p.id, Side::Staff, m1.id, at(3, 9, 5))
            .await
            .unwrap(),
        0
    );
    // The patient reads everything: only staff messages change.
    assert_eq!(
        store
            .mark_read(&p.id, Side::Patient, m3.id, at(3, 9, 10))
            .await
            .unwrap(),
        1
    );
    let thread = store.list_messages(&p.id, 0, 100).await.unwrap();
    assert_eq!(thread[0].read_at, Some(at(3, 9, 0)));
    assert_eq!(thread[1].read_at, None);
    assert_eq!(thread[2].read_at, Some(at(3, 9, 10)));
    assert_eq!(
        store
            .mark_read(&p.id, Side::Staff, m3.id, at(3, 9, 20))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.unread_counts(&p.id).await.unwrap(),
        UnreadCounts {
            for_staff: 0,
            for_patient: 0
        }
    );
    assert_eq!(
        store
            .get_patient(&p.id)
            .await
            .unwrap()
            .unwrap()
            .unread_messages,
        0
    );
    assert_eq!(
        store
            .get_patient(&q.id)
            .await
            .unwrap()
            .unwrap()
            .unread_messages,
        1
    );
    assert_eq!(
        store
            .post_message(say("nope", Side::Patient, "x"), at(3, 8, 0))
            .await,
        Err(StoreError::NotFound)
    );
}

async fn contact_requests(store: Arc<dyn Store>, _raw: Raw) {
    let c = clinic(&store, "north").await;
    let s = staff(&store, &c.id, "ana@example.org").await;
    let new = |name: &str| NewContactRequest {
        clinic_id: c.id.clone(),
        patient_id: None,
        name: name.into(),
        contact: "+1 555 0100".into(),
        message: "Please call me".into(),
        consent: true,
    };
    let a = store
        .create_contact_request(new("Ann"), at(3, 8, 0))
        .await
        .unwrap();
    let b = store
        .create_contact_request(new("Bo"), at(3, 9, 0))
        .await
        .unwrap();
    assert!(a.consent);
    assert_eq!(
        store.list_contact_requests(&c.id, None).await.unwrap(),
        vec![b.clone(), a.clone()]
    );
    let handled = store
        .mark_contact_handled(&a.id, &s.id, Some("called back"), at(3, 10, 0))
        .await
        .unwrap();
    assert_eq!(handled.handled_by.as_deref(), Some(s.id.as_str()));
    assert_eq!(handled.handled_at, Some(at(3, 10, 0)));
    assert_eq!(handled.reply_note.as_deref(), Some("called back"));
    assert_eq!(
        store
            .list_contact_requests(&c.id, Some(false))
            .await
            .unwrap(),
        vec![b]
    );
    assert_eq!(
        store
            .list_contact_requests(&c.id, Some(true))
            .await
            .unwrap(),
        vec![handled]
    );
    assert_eq!(
        store
            .mark_contact_handled(&a.id, &s.id, None, at(3, 11, 0))
            .await,
        Err(StoreError::Conflict(
            "contact request already handled".into()
        ))
    );
    assert_eq!(
        store
            .mark_contact_handled("nope", &s.id, None, at(3, 11, 0))
            .await,
        Err(StoreError::NotFound)
    );
}

async fn announcements(store: Arc<dyn Store>, _raw: Raw) {
    let c = clinic(&store, "north").await;
    let s = staff(&store, &c.id, "ana@example.org").await;
    let new = |text: &str, starts_at, ends_at| NewAnnouncement {
        clinic_id: c.id.clone(),
        text_en: text.into(),
        text_es: format!("es: {text}"),
        starts_at,
        ends_at,
        created_by: s.id.clone(),
    };
    let standing = store
        .create_announcement(new("standing", at(1, 0, 0), None), at(1, 0, 0))
        .await
        .unwrap();
    let holiday = store
        .create_announcement(new("holiday", at(5, 0, 0), Some(at(7, 0, 0))), at(1, 0, 0))
        .await
        .unwrap();
    assert_eq!(
        store.active_announcement(&c.id, at(3, 0, 0)).await.unwrap(),
        Some(standing.clone())
    );
    assert_eq!(
        store.active_announcement(&c.id, at(6, 0, 0)).await.unwrap(),
        Some(holiday.clone())
    );
    // ends_at is exclusive.
    assert_eq!(
        store.active_announcement(&c.id, at(7, 0, 0)).await.unwrap(),
        Some(standing.clone())
    );
    assert_eq!(
        store
            .active_announcement(&c.id, at(1, 0, 0) - Duration::seconds(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.list_announcements(&c.id).await.unwrap(),
        vec![holiday, standing]
    );
}

async fn audit_log_is_append_only(store: Arc<dyn Store>, raw: Raw) {
    let c = clinic(&store, "north").await;
    let a = store
        .append_audit(audit(&c.id, Some("p1"), "diary.read", at(3, 8, 0)))
        .await
        .unwrap();
    let b = store
        .append_audit(audit(&c.id, Some("p2"), "checkin.read", at(3, 9, 0)))
        .await
        .unwrap();
    let other = store
        .append_audit(NewAuditEntry {
            at: at(3, 10, 0),
            actor_kind: ActorKind::Anonymous,
            actor_id: None,
            action: Action::ContactCreate,
            patient_id: None,
            clinic_id: Some(c.id.clone()),
            address: None,
            detail: Some("{\"len\":12}".into()),
        })
        .await
        .unwrap();
    assert!(a.id < b.id && b.id < other.id);
    assert_eq!(a.action, "diary.read");
    assert_eq!(a.address.as_deref(), Some("127.0.0.1"));

    let all = store
        .list_audit(&c.id, AuditQuery::default())
        .await
        .unwrap();
    assert_eq!(all, vec![other.clone(), b.clone(), a.clone()]);
    let for_p1 = store
        .list_audit(
            &c.id,
            AuditQuery {
                patient_id: Some("p1".into()),
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(for_p1, vec![a.clone()]);
    let window = store
        .list_audit(
            &c.id,
            AuditQuery {
                from: Some(at(3, 9, 0)),
                to: Some(at(3, 10, 0)),
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(window, vec![b.clone()]);
    let paged = store
        .list_audit(
            &c.id,
            AuditQuery {
                limit: 1,
                offset: 1,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(paged, vec![b.clone()]);
    assert!(store
        .list_audit("other", AuditQuery::default())
        .await
        .unwrap()
        .is_empty());
    // The store's types cannot name another actor kind; the database refuses one all the same.
    let bad_kind = raw
        .execute(
            "INSERT INTO audit_log (at, actor_kind, action) \
             VALUES ('2025-03-03T08:00:00+00:00', 'robot', 'diary.read')",
        )
        .await;
    assert!(bad_kind.is_err(), "an unknown actor kind was stored");

    let update = raw.execute("UPDATE audit_log SET action = 'nothing'").await;
    assert!(update.is_err(), "audit UPDATE was allowed");
    assert!(update.unwrap_err().contains("append-only") || matches!(raw, Raw::Postgres(_)));
    let delete = raw.execute("DELETE FROM audit_log").await;
    assert!(delete.is_err(), "audit DELETE was allowed");
    if let Raw::Postgres(_) = raw {
        assert!(
            raw.execute("TRUNCATE audit_log").await.is_err(),
            "audit TRUNCATE was allowed"
        );
    }
    assert_eq!(raw.count("SELECT COUNT(*) FROM audit_log").await, 3);
    assert_eq!(
        store
            .list_audit(&c.id, AuditQuery::default())
            .await
            .unwrap(),
        vec![other, b, a]
    );
}

async fn cds_feedback_and_jwt_replay(store: Arc<dyn Store>, raw: Raw) {
    let accepted = store
        .record_cds_feedback(
            NewCdsFeedback {
                service_id: "aftercare-triage".into(),
                card_id: "card-1".into(),
                outcome: "accepted".into(),
                override_reason: None,
                outcome_at: Some(at(3, 7, 55)),
            },
            at(3, 8, 0),
        )
        .await
        .unwrap();
    let overridden = store
        .record_cds_feedback(
            NewCdsFeedback {
                service_id: "aftercare-triage".into(),
                card_id: "card-2".into(),
                outcome: "overridden".into(),
                override_reason: Some(json!({"code": "patient-declined"})),
                outcome_at: None,
            },
            at(3, 9, 0),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .list_cds_feedback("aftercare-triage", 10)
            .await
            .unwrap(),
        vec![overridden.clone(), accepted.clone()]
    );
    assert_eq!(
        overridden.override_reason,
        Some(json!({"code": "patient-declined"}))
    );
    let bad = store
        .record_cds_feedback(
            NewCdsFeedback {
                service_id: "s".into(),
                card_id: "c".into(),
                outcome: "ignored".into(),
                override_reason: None,
                outcome_at: None,
            },
            at(3, 9, 0),
        )
        .await;
    assert!(matches!(bad, Err(StoreError::Other(_))));

    assert_eq!(accepted.outcome_at, Some(at(3, 7, 55)));

    // Cards the service sent are known by service; any other card id is not.
    store
        .transaction(|tx| {
            Box::pin(async move {
                tx.record_cds_card("u-1".into(), "aftercare-triage".into(), at(3, 8, 0))
                    .await
            })
        })
        .await
        .unwrap();
    for (uuid, service, known) in [
        ("u-1", "aftercare-triage", true),
        ("u-1", "other-service", false),
        ("u-2", "aftercare-triage", false),
    ] {
        let found = store
            .transaction(move |tx| {
                Box::pin(async move { tx.cds_card_issued(uuid.into(), service.into()).await })
            })
            .await
            .unwrap();
        assert_eq!(found, known, "{uuid} {service}");
    }

    assert!(store.remember_jti("jti-1", at(3, 8, 5)).await.unwrap());
    assert!(
        !store.remember_jti("jti-1", at(3, 8, 5)).await.unwrap(),
        "replay not detected"
    );
    assert!(store.remember_jti("jti-2", at(3, 9, 5)).await.unwrap());
    assert_eq!(store.purge_expired(at(3, 9, 0)).await.unwrap(), 1);
    assert_eq!(raw.count("SELECT COUNT(*) FROM jwt_replay").await, 1);
    assert!(!store.remember_jti("jti-2", at(3, 9, 5)).await.unwrap());
}

/// 200 concurrent diary writes: 20 patients × 10 edits of the same day.
/// Every write must come back with a distinct version 1..=10 per patient,
/// and every row must be visible from a fresh connection (committed).
async fn concurrent_diary_writes_are_durable_and_versioned(store: Arc<dyn Store>, raw: Raw) {
    let c = clinic(&store, "north").await;
    let mut patients = Vec::new();
    for i in 0..20 {
        patients.push(patient(&store, &c.id, &format!("p{i}")).await.id);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..10 {
        for id in &patients {
            let store = store.clone();
            let id = id.clone();
            tasks.spawn(async move {
                store
                    .upsert_diary_entry(diary(&id, date(3), round), at(3, 20, 0))
                    .await
                    .map(|written| written.entry)
            });
        }
    }
    let mut written = Vec::new();
    while let Some(done) = tasks.join_next().await {
        written.push(done.unwrap().unwrap());
    }
    assert_eq!(written.len(), 200);
    for id in &patients {
        let mut versions: Vec<i32> = written
            .iter()
            .filter(|e| &e.patient_id == id)
            .map(|e| e.version)
            .collect();
        versions.sort_unstable();
        assert_eq!(versions, (1..=10).collect::<Vec<_>>(), "patient {id}");
        let history = store.diary_history(id, date(3)).await.unwrap();
        assert_eq!(history.len(), 10);
        let current = store.get_diary_entry(id, date(3)).await.unwrap().unwrap();
        assert_eq!(current.version, 10);
    }
    assert_eq!(raw.count("SELECT COUNT(*) FROM diary_entries").await, 200);
}

/// A failing write (duplicate slug) in the middle of concurrent writes must
/// fail alone: every other write of its batch commits.
async fn failed_write_does_not_spoil_its_batch(store: Arc<dyn Store>, raw: Raw) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let store = store.clone();
        // Slugs s0..s49 each twice: one of each pair must fail.
        let slug = format!("s{}", i % 50);
        tasks.spawn(async move {
            store
                .create_clinic(
                    NewClinic {
                        slug,
                        name: "c".into(),
                        opening_hours: json!({}),
                    },
                    at(1, 8, 0),
                )
                .await
        });
    }
    let (mut ok, mut conflicts) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((ok, conflicts), (50, 50));
    assert_eq!(raw.count("SELECT COUNT(*) FROM clinics").await, 50);
    assert_eq!(store.list_clinics().await.unwrap().len(), 50);
}

/// Many units at once (so SQLite batches them), each a message, its audit row and an
/// escalation; every third fails after its writes. The failed ones leave nothing, the others
/// all of theirs, whatever batch they shared.
async fn a_unit_of_work_commits_all_of_its_writes_or_none(store: Arc<dyn Store>, raw: Raw) {
    let c = clinic(&store, "north").await;
    let p = patient(&store, &c.id, "p1").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let (store, clinic_id, patient_id) = (store.clone(), c.id.clone(), p.id.clone());
        tasks.spawn(async move {
            store
                .transaction(move |tx| {
                    let message = NewMessage {
                        patient_id: patient_id.clone(),
                        sender: Side::Patient,
                        staff_id: None,
                        body: format!("message {i}"),
                    };
                    let entry = NewAuditEntry {
                        detail: Some(i.to_string()),
                        ..audit(&clinic_id, Some(&patient_id), "message.write", at(2, 9, 0))
                    };
                    let escalation = NewEscalation {
                        patient_id: patient_id.clone(),
                        level: "urgent".into(),
                        urgency: urgency("urgent"),
                        reason: format!("test:{i}"),
                        source: EscalationSource::Checkin,
                        source_ref: i.to_string(),
                    };
                    Box::pin(async move {
                        let m = tx.post_message(message, at(2, 9, 0)).await?;
                        tx.append_audit(entry).await?;
                        tx.raise_escalation(escalation, at(2, 9, 0)).await?;
                        if i % 3 == 0 {
                            return Err(StoreError::Other("refused after its writes".into()));
                        }
                        Ok(m.id)
                    })
                })
                .await
                .map(|_| i)
        });
    }
    let mut committed = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            Ok(i) => committed.push(i),
            Err(StoreError::Other(e)) => assert_eq!(e, "refused after its writes"),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(committed.len(), 40);
    for table in ["messages", "escalations"] {
        assert_eq!(
            raw.count(&format!("SELECT COUNT(*) FROM {table}")).await,
            40
        );
    }
    let audited = raw
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'message.write'")
        .await;
    assert_eq!(audited, 40);
    let board = store.get_patient(&p.id).await.unwrap().unwrap();
    assert_eq!((board.open_escalations, board.unread_messages), (40, 40));
}

async fn backup(store: Arc<dyn Store>, raw: Raw) {
    let c = clinic(&store, "north").await;
    patient(&store, &c.id, "p1").await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backups").join("copy.db");
    match raw {
        Raw::Sqlite(_) => {
            store.backup_to(&target).await.unwrap();
            let copy = SqliteStore::open(&target).await.unwrap();
            assert_eq!(copy.get_clinic(&c.id).await.unwrap(), Some(c));
            assert_eq!(
                copy.get_patient_by_code("p1")
                    .await
                    .unwrap()
                    .unwrap()
                    .clinic_id,
                copy.list_clinics().await.unwrap()[0].id
            );
            // Never overwrites.
            assert!(matches!(
                store.backup_to(&target).await,
                Err(StoreError::Conflict(_))
            ));
        }
        Raw::Postgres(_) => {
            let refused = store.backup_to(&target).await;
            assert!(
                matches!(&refused, Err(StoreError::Other(m)) if m.contains("pg_dump")),
                "{refused:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Backend-specific
// ---------------------------------------------------------------------------

#[tokio::test]
async fn connect_picks_backend_by_url() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("a").join("b.db").display());
    let store = connect(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    assert!(matches!(
        connect("mysql://localhost/x").await,
        Err(StoreError::Other(_))
    ));
    assert!(matches!(
        connect("sqlite::memory:").await,
        Err(StoreError::Other(_))
    ));
}

#[tokio::test]
async fn sqlite_writes_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aftercare.db");
    let (clinic_id, patient_id) = {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
        store.migrate().await.unwrap();
        let c = clinic(&store, "north").await;
        let p = patient(&store, &c.id, "p1").await;
        store
            .upsert_diary_entry(diary(&p.id, date(3), 5), at(3, 8, 0))
            .await
            .unwrap();
        (c.id, p.id)
    };
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(store.get_clinic(&clinic_id).await.unwrap().is_some());
    assert_eq!(
        store
            .get_diary_entry(&patient_id, date(3))
            .await
            .unwrap()
            .unwrap()
            .pain,
        5
    );
}

#[tokio::test]
async fn postgres_post_message_notifies() {
    let Some(db) = PgDb::create().await else {
        return;
    };
    let store = PgStore::from_pool(db.pool.clone());
    store.migrate().await.unwrap();
    let mut listener = sqlx::postgres::PgListener::connect_with(store.pool())
        .await
        .unwrap();
    listener.listen(CHAT_CHANNEL).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let c = clinic(&store, "north").await;
    let p = patient(&store, &c.id, "p1").await;
    let m = store
        .post_message(
            NewMessage {
                patient_id: p.id.clone(),
                sender: Side::Patient,
                staff_id: None,
                body: "hi".into(),
            },
            at(3, 8, 0),
        )
        .await
        .unwrap();
    let note = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(note.payload(), format!("{}:{}", p.id, m.id));
    drop(listener);
    db.drop_db().await;
}

async fn a_checkin_its_session_audit_rows_and_escalation_commit_together(
    store: Arc<dyn Store>,
    _raw: Raw,
) {
    let c = clinic(&store, "north").await;
    let p = patient(&store, &c.id, "p1").await;
    let new = |id: String, session: SessionLink, reason: &str| NewCheckin {
        id: id.clone(),
        patient_id: p.id.clone(),
        session,
        answers: json!({"fever": true}),
        decision: json!({"level": "urgent"}),
        level: "urgent".into(),
        urgency: urgency("urgent"),
        status: CheckinStatus::Final,
        content_version: "2025.1".into(),
        audit: vec![
            audit(&c.id, Some(&p.id), "checkin.start", at(2, 9, 0)),
            NewAuditEntry {
                detail: Some(id.clone()),
                ..audit(&c.id, Some(&p.id), "checkin.final", at(2, 9, 0))
            },
        ],
        escalation: Some(NewEscalation {
            patient_id: p.id.clone(),
            level: "urgent".into(),
            urgency: urgency("urgent"),
            reason: reason.into(),
            source: EscalationSource::Checkin,
            source_ref: id,
        }),
    };
    // The page's way: a session opened and completed by the check-in, in the same commit.
    let id = new_id();
    let written = store
        .insert_checkin(
            new(id.clone(), SessionLink::Open, "level:UR-FEVER"),
            at(2, 9, 0),
        )
        .await
        .unwrap();
    assert_eq!(written.checkin.id, id);
    let session_id = written.session_id.clone().expect("a session was opened");
    let session = store
        .get_checkin_session(&session_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.completed_checkin_id.as_deref(), Some(id.as_str()));
    assert_eq!(session.answers, json!({"fever": true}));
    let escalation = written.escalation.expect("the escalation was raised");
    assert_eq!(escalation.source_ref, id);
    assert_eq!(
        store.list_escalations(&p.id, true).await.unwrap(),
        vec![escalation]
    );
    let rows = patient_audit(&store, &c.id, &p.id).await;
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .any(|r| r.action == "checkin.final" && r.detail.as_deref() == Some(id.as_str())));
    let board = store.get_patient(&p.id).await.unwrap().unwrap();
    assert_eq!(board.last_level.as_deref(), Some("urgent"));
    assert_eq!(board.open_escalations, 1);

    // The same reason still open: the check-in and its audit rows are stored, no second alert.
    let again = store
        .insert_checkin(
            new(new_id(), SessionLink::Open, "level:UR-FEVER"),
            at(2, 9, 5),
        )
        .await
        .unwrap();
    assert_eq!(again.escalation, None);
    assert_eq!(store.list_escalations(&p.id, true).await.unwrap().len(), 1);

    // A statement that fails in the middle (the session is already completed) undoes the whole
    // write: no check-in, no audit row, no alert, whichever statement came before it.
    let before_rows = patient_audit(&store, &c.id, &p.id).await.len();
    let failed = store
        .insert_checkin(
            new(
                new_id(),
                SessionLink::Complete(session_id),
                "level:UR-SITE-INFECTION",
            ),
            at(2, 9, 10),
        )
        .await;
    assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
    assert_eq!(store.list_checkins(&p.id).await.unwrap().len(), 2);
    assert_eq!(patient_audit(&store, &c.id, &p.id).await.len(), before_rows);
    assert_eq!(store.list_escalations(&p.id, true).await.unwrap().len(), 1);
}

async fn a_failure_between_the_statements_of_a_checkin_stores_none_of_it(
    store: Arc<dyn Store>,
    raw: Raw,
) {
    let c = clinic(&store, "north").await;
    let p = patient(&store, &c.id, "p1").await;
    let new = |id: String| NewCheckin {
        id: id.clone(),
        patient_id: p.id.clone(),
        session: SessionLink::Open,
        answers: json!({"calf_swelling": true}),
        decision: json!({"level": "urgent"}),
        level: "urgent".into(),
        urgency: urgency("urgent"),
        status: CheckinStatus::Final,
        content_version: "2025.1".into(),
        audit: vec![NewAuditEntry {
            detail: Some(id.clone()),
            ..audit(&c.id, Some(&p.id), "checkin.final", at(2, 9, 0))
        }],
        escalation: Some(NewEscalation {
            patient_id: p.id.clone(),
            level: "urgent".into(),
            urgency: urgency("urgent"),
            reason: "level:UR-DVT".into(),
            source: EscalationSource::Checkin,
            source_ref: id,
        }),
    };
    // The last statement of the write, the escalation's insert, fails in the database itself,
    // after the session, the check-in, the patient's board columns and the audit row.
    let (install, remove) = match raw {
        Raw::Sqlite(_) => (
            "CREATE TRIGGER injected_fault BEFORE INSERT ON escalations \
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
            "DROP TRIGGER injected_fault",
        ),
        Raw::Postgres(_) => (
            "CREATE FUNCTION injected_fault() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$; \
             CREATE TRIGGER injected_fault BEFORE INSERT ON escalations \
             FOR EACH ROW EXECUTE FUNCTION injected_fault()",
            "DROP TRIGGER injected_fault ON escalations; DROP FUNCTION injected_fault()",
        ),
    };
    raw.execute(install).await.unwrap();
    let failed = store.insert_checkin(new(new_id()), at(2, 9, 0)).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(raw.count("SELECT COUNT(*) FROM checkins").await, 0);
    assert_eq!(raw.count("SELECT COUNT(*) FROM checkin_sessions").await, 0);
    assert_eq!(
        raw.count("SELECT COUNT(*) FROM audit_log WHERE action = 'checkin.final'")
            .await,
        0
    );
    let board = store.get_patient(&p.id).await.unwrap().unwrap();
    assert_eq!(
        board.last_level, None,
        "the board column was rolled back too"
    );

    // The client's retry, once the fault is gone, stores all of it and alerts the clinic: the
    // failed try left no "last level" that would make the retry look like nothing new.
    raw.execute(remove).await.unwrap();
    let id = new_id();
    let written = store
        .insert_checkin(new(id.clone()), at(2, 9, 1))
        .await
        .unwrap();
    assert_eq!(written.escalation.map(|e| e.source_ref), Some(id));
    assert_eq!(raw.count("SELECT COUNT(*) FROM checkins").await, 1);
    assert_eq!(
        raw.count("SELECT COUNT(*) FROM audit_log WHERE action = 'checkin.final'")
            .await,
        1
    );
}

// ---------------------------------------------------------------------------
// Alerts and the outbox
// ---------------------------------------------------------------------------

async fn an_escalation_is_committed_with_its_first_alert_due(store: Arc<dyn Store>, raw: Raw) {
    let c = clinic(&store, "north").await;
    let p = patient(&store, &c.id, "CODE0001").await;
    let e = escalate(&store, &p.id, at(3, 9, 0)).await;
    assert_eq!(e.next_alert_at, Some(at(3, 9, 0)));
    assert_eq!(e.alert_round, 0);

    // Not due before it was raised; due from then on, with the clinic's deadlines.
    let before = transaction(&*store, |tx| tx.due_alerts(at(3, 8, 59), 10))
        .await
        .unwrap();
    assert!(before.is_empty());
    let due = transaction(&*store, |tx| tx.due_alerts(at(3, 9, 0), 10))
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].escalation.id, e.id);
    assert_eq!(due[0].clinic_id, c.id);
    assert_eq!(due[0].realert_emergency_minutes, 15);
    assert_eq!(due[0].realert_urgent_minutes, 120);
    assert!(!due[0].alert_names);

    // Scheduled for later: not due now; acknowledged: never again.
    let id = e.id.clone();
    transaction(&*store, move |tx| {
        tx.schedule_alert(id.clone(), 1, Some(at(3, 11, 0)))
    })
    .await
    .unwrap();
    let due = transaction(&*store, |tx| tx.due_alerts(at(3, 10, 0), 10))
        .await
        .unwrap();
    assert!(due.is_empty());
    let due = transaction(&*store, |tx| tx.due_alerts(at(3, 11, 0), 10))
        .await
        .unwrap();
    assert_eq!(due[0].escalation.alert_round, 1);
    let s = staff(&store, &c.id, "nurse@example.org").await;
    let acked = store
        .acknowledge_escalation(&e.id, &s.id, None, at(3, 10, 30))
        .await
        .unwrap();
    assert_eq!(acked.next_alert_at, None);
    let due = transaction(&*store, |tx| tx.due_alerts(at(4, 0, 0), 10))
        .await
        .unwrap();
    assert!(due.is_empty());
    let n = raw
        .count("SELECT COUNT(*) FROM escalations WHERE next_alert_at IS NOT NULL")
        .await;
    assert_eq!(n, 0);
}

async fn outbox_messages_are_leased_retried_and_finished(store: Arc<dyn Store>, _raw: Raw) {
    let c = clinic(&store, "north").await;
    let new = NewAlertTarget {
        clinic_id: c.id.clone(),
        channel: Channel::Webhook,
        address: "https://hooks.example/a".into(),
        secret: Some("whsec_AAAA".into()),
        min_level: "urgent".into(),
        tier: 1,
    };
    let target = transaction(&*store, move |tx| {
        tx.add_alert_target(new.clone(), at(1, 9, 0))
    })
    .await
    .unwrap();
    assert_eq!(
        store.list_alert_targets(&c.id).await.unwrap(),
        std::slice::from_ref(&target)
    );
    let message = NewOutboxMessage {
        clinic_id: c.id.clone(),
        escalation_id: None,
        patient_id: None,
        target_id: Some(target.id.clone()),
        purpose: Purpose::Test,
        channel: Channel::Webhook,
        address: target.address.clone(),
        payload: json!({"type": "test"}),
    };
    let queued = transaction(&*store, move |tx| tx.enqueue(message.clone(), at(2, 9, 0)))
        .await
        .unwrap();
    assert_eq!(queued.status, DeliveryStatus::Pending);

    // A claim leases it: a second worker finds nothing until the lease ends.
    let lease = at(2, 9, 2);
    let first = transaction(&*store, move |tx| tx.claim_outbox(at(2, 9, 0), lease, 10))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    let second = transaction(&*store, move |tx| tx.claim_outbox(at(2, 9, 1), lease, 10))
        .await
        .unwrap();
    assert!(second.is_empty());
    // The worker died: after the lease, it is taken again.
    let again = transaction(&*store, |tx| tx.claim_outbox(at(2, 9, 3), at(2, 9, 5), 10))
        .await
        .unwrap();
    assert_eq!(again[0].attempts, 2);

    // The first, slow worker finally answers: too late, its lease was taken over.
    let id = queued.id.clone();
    let stale = transaction(&*store, move |tx| {
        tx.finish_delivery(id.clone(), 1, Delivery::Delivered, at(2, 9, 4))
    })
    .await
    .unwrap();
    assert!(!stale, "an outcome of a lost lease is not recorded");
    let id = queued.id.clone();
    let retry = Delivery::Retry {
        at: at(2, 10, 0),
        error: "503".into(),
    };
    let recorded = transaction(&*store, move |tx| {
        tx.finish_delivery(id.clone(), 2, retry.clone(), at(2, 9, 4))
    })
    .await
    .unwrap();
    assert!(recorded);
    let early = transaction(&*store, |tx| {
        tx.claim_outbox(at(2, 9, 59), at(2, 10, 1), 10)
    })
    .await
    .unwrap();
    assert!(early.is_empty());
    let third = transaction(&*store, |tx| {
        tx.claim_outbox(at(2, 10, 0), at(2, 10, 10), 10)
    })
    .await
    .unwrap();
    assert_eq!(third[0].attempts, 3);
    let id = queued.id.clone();
    transaction(&*store, move |tx| {
        tx.finish_delivery(id.clone(), 3, Delivery::Delivered, at(2, 10, 0))
    })
    .await
    .unwrap();
    let log = store.list_outbox(&c.id, 10).await.unwrap();
    assert_eq!(log[0].status, DeliveryStatus::Delivered);
    assert_eq!(log[0].delivered_at, Some(at(2, 10, 0)));
    assert_eq!(log[0].last_error, None);
    let late = transaction(&*store, |tx| tx.claim_outbox(at(9, 0, 0), at(9, 0, 2), 10))
        .await
        .unwrap();
    assert!(late.is_empty(), "a delivered message is never sent again");

    // Removing the target keeps the log (the message forgets its target).
    let (cid, tid) = (c.id.clone(), target.id.clone());
    transaction(&*store, move |tx| {
        tx.remove_alert_target(cid.clone(), tid.clone())
    })
    .await
    .unwrap();
    assert!(store.list_alert_targets(&c.id).await.unwrap().is_empty());
    assert_eq!(
        store.list_outbox(&c.id, 10).await.unwrap()[0].target_id,
        None
    );
}

/// A reminder or reply still queued when she unsubscribes or changes her address is never
/// sent; the clinic's delivery log never lists her emails; a reply's email goes only while she
/// has no unread message from the clinic.
async fn her_queued_emails_end_with_her_consent_and_stay_out_of_the_delivery_log(
    store: Arc<dyn Store>,
    _raw: Raw,
) {
    let c = clinic(&store, "north").await;
    let p = patient(&store, &c.id, "ANA-0001").await;
    let settings = |address: &str| PatientEmail {
        patient_id: p.id.clone(),
        email: address.into(),
        reminder_hour: Some(9),
        time_zone: None,
        unsubscribe_token: "a".repeat(64),
        emails_stopped_at: None,
        last_reminded_on: None,
    };
    let first = settings("ana@home.example");
    let pid = p.id.clone();
    transaction(&*store, move |tx| {
        tx.set_patient_email(pid.clone(), Some(first.clone()))
    })
    .await
    .unwrap();
    let queue = |purpose: Purpose| NewOutboxMessage {
        clinic_id: c.id.clone(),
        escalation_id: None,
        patient_id: Some(p.id.clone()),
        target_id: None,
        purpose,
        channel: Channel::Email,
        address: "ana@home.example".into(),
        payload: json!({"type": purpose.as_str()}),
    };
    let reminder = queue(Purpose::Reminder);
    transaction(&*store, move |tx| tx.enqueue(reminder.clone(), at(2, 9, 0)))
        .await
        .unwrap();
    assert!(
        store.list_outbox(&c.id, 10).await.unwrap().is_empty(),
        "her emails are not in the clinic's delivery log"
    );

    // She changes only her hour: what is queued to her address still goes.
    let same = PatientEmail {
        reminder_hour: Some(20),
        ..settings("ana@home.example")
    };
    let pid = p.id.clone();
    transaction(&*store, move |tx| {
        tx.set_patient_email(pid.clone(), Some(same.clone()))
    })
    .await
    .unwrap();
    let pid = p.id.clone();
    let kept = transaction(&*store, move |tx| {
        tx.mark_reminded(pid.clone(), date(2), "ana@home.example".into())
    })
    .await
    .unwrap();
    assert!(kept, "the reminder to her address is still hers to get");
    let pid = p.id.clone();
    let moved = transaction(&*store, move |tx| {
        tx.mark_reminded(pid.clone(), date(3), "ana@old.example".into())
    })
    .await
    .unwrap();
    assert!(
        !moved,
        "a reminder read for an address she no longer has is not sent"
    );
    let peek = transaction(&*store, |tx| tx.claim_outbox(at(2, 9, 1), at(2, 9, 1), 10))
        .await
        .unwrap();
    assert_eq!(peek.len(), 1, "an hour change cancels nothing");
    // (The peek leased it until 09:01; it is due again from then.)

    // She changes her address: the queued reminder to the old one is not sent.
    let second = settings("ana@new.example");
    let pid = p.id.clone();
    transaction(&*store, move |tx| {
        tx.set_patient_email(pid.clone(), Some(second.clone()))
    })
    .await
    .unwrap();
    let claimed = transaction(&*store, |tx| tx.claim_outbox(at(2, 9, 1), at(2, 9, 3), 10))
        .await
        .unwrap();
    assert!(
        claimed.is_empty(),
        "a changed address cancels what was queued"
    );

    // A reply's email: only while nothing from the clinic is unread.
    let pid = p.id.clone();
    let to = transaction(&*store, move |tx| tx.reply_address(pid.clone()))
        .await
        .unwrap();
    assert_eq!(to.map(|e| e.email).as_deref(), Some("ana@new.example"));
    let message = NewMessage {
        patient_id: p.id.clone(),
        sender: Side::Staff,
        staff_id: None,
        body: "How are you?".into(),
    };
    transaction(&*store, move |tx| {
        tx.post_message(message.clone(), at(2, 10, 0))
    })
    .await
    .unwrap();
    let pid = p.id.clone();
    let to = transaction(&*store, move |tx| tx.reply_address(pid.clone()))
        .await
        .unwrap();
    assert!(to.is_none(), "an unread reply already told her");

    // She unsubscribes: the queued reply is not sent, and no reply is addressed to her.
    let reply = queue(Purpose::Reply);
    transaction(&*store, move |tx| tx.enqueue(reply.clone(), at(2, 10, 0)))
        .await
        .unwrap();
    let stopped = transaction(&*store, |tx| {
        tx.stop_patient_emails("a".repeat(64), at(2, 10, 1))
    })
    .await
    .unwrap();
    assert_eq!(stopped, Some((p.id.clone(), c.id.clone())));
    let claimed = transaction(&*store, |tx| {
        tx.claim_outbox(at(2, 11, 0), at(2, 11, 2), 10)
    })
    .await
    .unwrap();
    assert!(claimed.is_empty(), "unsubscribing cancels what was queued");
}

// ---------------------------------------------------------------------------
// Upgrades: rows written before a migration read right after it
// ---------------------------------------------------------------------------

/// The migration that gave levels their urgency numbers.
const URGENCY_MIGRATION: i64 = 20261203000004;

/// The dialect's migrations older than `version`, as a server of that time applied them.
async fn migrator_before(dialect: &str, version: i64) -> sqlx::migrate::Migrator {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    let mut migrator = sqlx::migrate::Migrator::new(dir).await.unwrap();
    let older: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version < version)
        .cloned()
        .collect();
    migrator.migrations = std::borrow::Cow::Owned(older);
    migrator
}

/// What a server before the urgency migration wrote: levels as names only. Four patients of
/// one clinic: one with an unacknowledged urgent escalation after a self-care check-in, one
/// whose emergency was acknowledged, one at self-care, one who never checked in.
const ROWS_BEFORE_URGENCY: &[&str] = &[
    "INSERT INTO clinics (id, slug, name, opening_hours, created_at) \
     VALUES ('c1', 'north', 'North', '{}', '2026-12-01T08:00:00Z')",
    "INSERT INTO staff (id, clinic_id, email, display_name, role, password_hash, created_at) \
     VALUES ('s1', 'c1', 'ana@example.org', 'Ana', 'clinician', 'x', '2026-12-01T08:00:00Z')",
    "INSERT INTO patients (id, clinic_id, display_name, enrolment_code, link_token, procedure, \
     procedure_date, language, last_level, episode_level, last_checkin_at, open_escalations, \
     created_at) VALUES \
     ('p-open', 'c1', 'A', 'code-open', 'tok-open', 'labour', '2026-11-30', 'en', 'self_care', \
      'urgent', '2026-12-01T09:00:00Z', 1, '2026-12-01T08:00:00Z'), \
     ('p-acked', 'c1', 'B', 'code-acked', 'tok-acked', 'labour', '2026-11-30', 'en', \
      'emergency', 'emergency', '2026-12-01T09:30:00Z', 0, '2026-12-01T08:00:00Z'), \
     ('p-fine', 'c1', 'C', 'code-fine', 'tok-fine', 'labour', '2026-11-30', 'en', 'self_care', \
      NULL, '2026-12-01T10:00:00Z', 0, '2026-12-01T08:00:00Z'), \
     ('p-never', 'c1', 'D', 'code-never', 'tok-never', 'labour', '2026-11-30', 'en', NULL, \
      NULL, NULL, 0, '2026-12-01T08:00:00Z')",
    "INSERT INTO escalations (id, patient_id, level, reason, source, source_ref, raised_at) \
     VALUES ('e-open', 'p-open', 'urgent', 'r', 'checkin', 'k1', '2026-12-01T09:00:00Z')",
    "INSERT INTO escalations (id, patient_id, level, reason, source, source_ref, raised_at, \
     acknowledged_by, acknowledged_at) VALUES ('e-acked', 'p-acked', 'emergency', 'r', \
     'checkin', 'k2', '2026-12-01T09:30:00Z', 's1', '2026-12-01T09:40:00Z')",
];

/// After the upgrade, the board and the escalations read as if the rows had been written by
/// today's server: the numbers filled from the names, the board in the same order.
async fn rows_before_the_urgency_migration_rank_as_before(store: Arc<dyn Store>, raw: Raw) {
    store.migrate().await.unwrap();
    let board = store
        .list_board("c1", BoardFilter::default())
        .await
        .unwrap();
    let order: Vec<&str> = board.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(order, ["p-open", "p-acked", "p-fine", "p-never"]);
    let urgent = store
        .list_board(
            "c1",
            BoardFilter {
                urgency: Some(urgency("urgent")),
                ..BoardFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(urgent.len(), 1, "the urgent episode, found by its number");
    assert_eq!(urgent[0].id, "p-open");
    let none = store
        .list_board(
            "c1",
            BoardFilter {
                urgency: Some(NO_LEVEL),
                ..BoardFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(none.len(), 1);
    assert_eq!(none[0].id, "p-never");
    for (id, expected) in [
        ("e-open", urgency("urgent")),
        ("e-acked", urgency("emergency")),
    ] {
        let n = raw
            .count(&format!(
                "SELECT COUNT(*) FROM escalations WHERE id = '{id}' AND urgency = {expected}"
            ))
            .await;
        assert_eq!(n, 1, "{id}");
    }
    let counted = raw
        .count(
            "SELECT COUNT(*) FROM patients WHERE last_urgency IS NULL AND episode_urgency IS NULL",
        )
        .await;
    assert_eq!(
        counted, 1,
        "only the patient who never checked in has no level"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rows_written_before_the_urgency_migration_rank_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aftercare.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    let old = migrator_before("sqlite", URGENCY_MIGRATION).await;
    old.run(&mut conn).await.unwrap();
    for sql in ROWS_BEFORE_URGENCY {
        conn.execute(*sql).await.unwrap();
    }
    conn.close().await.unwrap();
    // Opened, then migrated, as the server does: its connections have read the old schema.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
    rows_before_the_urgency_migration_rank_as_before(store, Raw::Sqlite(path)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rows_written_before_the_urgency_migration_rank_as_before() {
    let Some(db) = PgDb::create().await else {
        return;
    };
    let old = migrator_before("postgres", URGENCY_MIGRATION).await;
    old.run(&db.pool).await.unwrap();
    for sql in ROWS_BEFORE_URGENCY {
        db.pool.execute(*sql).await.unwrap();
    }
    let store: Arc<dyn Store> = Arc::new(PgStore::from_pool(db.pool.clone()));
    rows_before_the_urgency_migration_rank_as_before(store, Raw::Postgres(db.pool.clone())).await;
    db.drop_db().await;
}
