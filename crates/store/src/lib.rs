//! Persistence for Aftercare.
//!
//! One [`Store`] trait, two implementations: [`SqliteStore`] (the default,
//! a single file, for one server) and [`PgStore`] (for clinics running
//! several servers). The server holds an `Arc<dyn Store>` from [`connect`]
//! and never sees SQL. Both implementations share their SQL (see
//! `shared.rs`) and are checked by one behaviour suite (`tests/behaviour.rs`).
//!
//! The store does not know the clinical engine: answers, decisions and
//! facts are opaque JSON, levels are strings. It never reads the clock:
//! every time is passed in by the caller, so tests and audits are exact.
//!
//! A write returns only after its transaction committed (on SQLite with
//! `synchronous=FULL`, through group commit), so a 2xx means durable.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;

// `shared` first: its macros are used by the two backends below.
#[macro_use]
mod shared;
#[macro_use]
mod outbox;
#[macro_use]
mod appointments;
mod autocommit;
mod error;
mod group_commit;
mod kinds;
mod postgres;
mod records;
mod sqlite;

pub use appointments::{
    Appointment, AppointmentChange, AppointmentRead, AppointmentTx, NewAppointment,
};
pub use autocommit::Autocommit;
pub use error::{Result, StoreError, UNIQUE_RULES};
pub use kinds::{
    Action, ActorKind, AppointmentStatus, Channel, CheckinStatus, DeliveryStatus, EscalationSource,
    Purpose, Role, Side,
};
pub use outbox::{
    AlertTarget, AlertingCounts, Delivery, DueAlert, NewAlertTarget, NewOutboxMessage,
    OutboxMessage, OutboxRead, OutboxTx, PatientEmail, ReminderCandidate,
};
pub use postgres::{PgStore, CHAT_CHANNEL};
pub use records::*;
pub use shared::new_id;
pub use sqlite::SqliteStore;

/// The board queries, exposed so tests can check their plans use the index.
#[doc(hidden)]
pub const BOARD_SQL: &str = board_sql!("");
#[doc(hidden)]
pub const BOARD_AFTER_SQL: &str = board_sql!(board_after!());

/// For the test suites of every crate: a PostgreSQL test that cannot run says why and passes,
/// unless `AFTERCARE_REQUIRE_PG` is set (the test script sets it once PostgreSQL is up, and CI
/// always), where a database that cannot be reached must fail the suite, not skip it quietly.
#[doc(hidden)]
pub fn skip_postgres(why: &str) {
    if std::env::var_os("AFTERCARE_REQUIRE_PG").is_some() {
        panic!("PostgreSQL is required (AFTERCARE_REQUIRE_PG is set), but {why}");
    }
    eprintln!("skipped: {why}");
}

/// Which database a store runs on, for the few callers that care
/// (e.g. the web crate uses PostgreSQL LISTEN/NOTIFY for live chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Opens a store from a URL: `sqlite:path/to/file.db` (also `sqlite://…`)
/// or `postgres://…` / `postgresql://…`. Does not migrate: call
/// [`Store::migrate`] at start-up.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Err(StoreError::Other(format!(
            "unsupported database URL scheme (expected sqlite: or postgres://): {url}"
        )))
    }
}

/// A unit of work: the writes of one command, committed together or not at all. Built by the
/// application layer as a function of an open transaction, and run by [`Store::transaction`]:
///
/// ```ignore
/// let message = store
///     .transaction(move |tx| {
///         let (new, audit) = (new.clone(), audit.clone());
///         Box::pin(async move {
///             let message = tx.post_message(new, now).await?;
///             tx.append_audit(audit).await?;
///             Ok(message)
///         })
///     })
///     .await?;
/// ```
///
/// The function may run more than once (SQLite runs a batch again when one of its units fails),
/// so it clones what it moves into its future, and only the run that commits is answered.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A unit of work with its result type erased, as [`Store::run`] takes it.
pub type Work = Box<
    dyn for<'t> Fn(&'t mut dyn Tx) -> BoxFuture<'t, Result<Box<dyn std::any::Any + Send>>> + Send,
>;

/// How long a sent CDS card is remembered for its feedback.
pub const CDS_CARD_DAYS: i64 = 365;

/// The writes available inside a unit of work, on its open transaction. Every write Aftercare
/// makes is one of these; none commits by itself.
#[async_trait]
pub trait Tx: OutboxTx + AppointmentTx + Send {
    /// Deletes expired staff and patient sessions, replay-cache entries and CDS cards older than
    /// [`CDS_CARD_DAYS`]; returns how many rows went.
    async fn purge_expired(&mut self, now: DateTime<Utc>) -> Result<u64>;

    // --- clinics ----------------------------------------------------------
    async fn create_clinic(&mut self, new: NewClinic, now: DateTime<Utc>) -> Result<Clinic>;
    async fn update_clinic_settings(
        &mut self,
        id: String,
        settings: ClinicSettings,
    ) -> Result<Clinic>;

    // --- staff ------------------------------------------------------------
    /// The email is stored lowercased.
    async fn create_staff(&mut self, new: NewStaff, now: DateTime<Utc>) -> Result<Staff>;
    /// Adds one failed login; returns the new count.
    async fn record_login_failure(&mut self, staff_id: String) -> Result<i32>;
    /// Clears failed logins and any lock.
    async fn reset_login_failures(&mut self, staff_id: String) -> Result<()>;
    async fn set_locked_until(
        &mut self,
        staff_id: String,
        until: Option<DateTime<Utc>>,
    ) -> Result<()>;
    /// Deactivates (`Some(now)`) or reactivates (`None`) an account; deactivating ends every
    /// session of it in the same commit.
    async fn set_staff_deactivated(
        &mut self,
        staff_id: String,
        at: Option<DateTime<Utc>>,
    ) -> Result<()>;
    /// Sets or clears her telephone number.
    async fn set_patient_phone(&mut self, patient_id: String, phone: Option<String>) -> Result<()>;
    /// Gives her a new personal link token and ends her signed-in sessions: the old link and
    /// every browser signed in with it open nothing from now on.
    async fn replace_link_token(&mut self, patient_id: String, token: String) -> Result<()>;
    /// Gives her a new enrolment code, issued `now` and not used yet.
    async fn replace_enrolment_code(
        &mut self,
        patient_id: String,
        code: String,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Uses an enrolment code: the patient whose code it is, if it was issued after
    /// `issued_after` and not used before; it is marked used (`now`), so it works once.
    async fn redeem_enrolment_code(
        &mut self,
        code: String,
        issued_after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Patient>>;
    async fn set_staff_role(&mut self, staff_id: String, role: Role) -> Result<()>;
    /// Sets the workspace language a member of staff prefers (`None`: her browser's).
    async fn set_staff_language(
        &mut self,
        staff_id: String,
        language: Option<String>,
    ) -> Result<()>;
    /// Stores the digest of a one-time password link (replacing an unused earlier one).
    async fn create_password_reset(
        &mut self,
        token_hash: String,
        staff_id: String,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Uses a one-time password link: its account, or `None` when unknown, used or expired.
    async fn use_password_reset(
        &mut self,
        token_hash: String,
        now: DateTime<Utc>,
    ) -> Result<Option<String>>;
    async fn set_password_hash(&mut self, staff_id: String, password_hash: String) -> Result<()>;

    // --- staff sessions ---------------------------------------------------
    async fn create_session(&mut self, new: NewSession, now: DateTime<Utc>)
        -> Result<StaffSession>;
    async fn delete_session(&mut self, token_hash: String) -> Result<()>;
    /// Logs a staff member out everywhere; returns how many sessions went.
    async fn delete_sessions_for_staff(&mut self, staff_id: String) -> Result<u64>;

    // --- patients ---------------------------------------------------------
    async fn create_patient(&mut self, new: NewPatient, now: DateTime<Utc>) -> Result<Patient>;

    // --- check-in sessions (questionnaire in progress) ----------------------
    async fn create_checkin_session(
        &mut self,
        patient_id: Option<String>,
        answers: Value,
        now: DateTime<Utc>,
    ) -> Result<CheckinSession>;
    /// Replaces the answers; `Conflict` once the session is completed.
    async fn update_checkin_answers(
        &mut self,
        id: String,
        answers: Value,
        now: DateTime<Utc>,
    ) -> Result<CheckinSession>;

    // --- check-ins (never rewritten) ----------------------------------------
    /// Stores the check-in, sets the patient's last level and check-in time, completes or opens
    /// its session, and writes its audit rows and its escalation.
    async fn insert_checkin(&mut self, new: NewCheckin, now: DateTime<Utc>)
        -> Result<CheckinWrite>;

    // --- diary ------------------------------------------------------------
    /// Writes a new version of the patient's entry for the day (1 when new, previous + 1 on
    /// edit; earlier versions are kept), with its audit row and the escalation it raises.
    async fn upsert_diary_entry(
        &mut self,
        new: NewDiaryEntry,
        now: DateTime<Utc>,
    ) -> Result<DiaryWrite>;

    // --- escalations --------------------------------------------------------
    /// Raises an escalation for the clinic; `None` when one with the same reason is still open
    /// for the patient (an alert is raised once, until someone acknowledges it).
    async fn raise_escalation(
        &mut self,
        new: NewEscalation,
        now: DateTime<Utc>,
    ) -> Result<Option<Escalation>>;
    /// `Conflict` when already acknowledged.
    /// Closes the episode of an acknowledged escalation; `Conflict` before it is acknowledged
    /// or when already closed.
    async fn close_escalation(
        &mut self,
        id: String,
        staff_id: String,
        now: DateTime<Utc>,
    ) -> Result<Escalation>;
    async fn acknowledge_escalation(
        &mut self,
        id: String,
        staff_id: String,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Escalation>;

    // --- messages (one thread per patient) ------------------------------------
    /// On PostgreSQL also sends `pg_notify('aftercare_chat', '<patient_id>:<message_id>')`,
    /// delivered when the unit commits.
    async fn post_message(&mut self, new: NewMessage, now: DateTime<Utc>) -> Result<Message>;
    /// Marks the other side's messages up to `up_to_id` as read by `reader`; returns how many
    /// changed.
    async fn mark_read(
        &mut self,
        patient_id: String,
        reader: Side,
        up_to_id: i64,
        now: DateTime<Utc>,
    ) -> Result<u64>;

    // --- contact requests -----------------------------------------------------
    async fn create_contact_request(
        &mut self,
        new: NewContactRequest,
        now: DateTime<Utc>,
    ) -> Result<ContactRequest>;
    /// `Conflict` when already handled.
    async fn mark_contact_handled(
        &mut self,
        id: String,
        staff_id: String,
        reply_note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<ContactRequest>;

    // --- announcements --------------------------------------------------------
    async fn create_announcement(
        &mut self,
        new: NewAnnouncement,
        now: DateTime<Utc>,
    ) -> Result<Announcement>;

    // --- audit log (append-only, enforced by the database) ---------------------
    async fn append_audit(&mut self, entry: NewAuditEntry) -> Result<AuditEntry>;

    // --- CDS Hooks --------------------------------------------------------------
    async fn record_cds_feedback(
        &mut self,
        new: NewCdsFeedback,
        now: DateTime<Utc>,
    ) -> Result<CdsFeedback>;
    /// Records a JWT id; `false` when it was already seen (a replay).
    async fn remember_jti(&mut self, jti: String, expires_at: DateTime<Utc>) -> Result<bool>;
    /// Records a card the service sent, so its feedback can be told from a made-up card id.
    async fn record_cds_card(
        &mut self,
        uuid: String,
        service_id: String,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Whether `service_id` sent the card `uuid`.
    async fn cds_card_issued(&mut self, uuid: String, service_id: String) -> Result<bool>;

    // --- patient sessions ---------------------------------------------------------
    /// A signed-in browser of a patient, by the hash of its token. With `link_token`, only if
    /// that is still her link (a link replaced meanwhile signs no one in); `false` when not.
    async fn create_patient_session(
        &mut self,
        token_hash: String,
        patient_id: String,
        link_token: Option<String>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Ends a session (signing out); `false` when there was none.
    async fn end_patient_session(&mut self, token_hash: String) -> Result<bool>;
}

/// Everything Aftercare reads, and the one way it writes: [`Store::run`] (typed:
/// [`Store::transaction`]). `get_*` return `Ok(None)` when absent; changes to a missing row
/// return [`StoreError::NotFound`].
#[async_trait]
pub trait Store: OutboxRead + AppointmentRead + Send + Sync {
    // --- operations -------------------------------------------------------
    /// Which database this is.
    fn backend(&self) -> Backend;
    /// Readiness: the database answers and takes a write (SQLite: through the writer).
    async fn ping(&self) -> Result<()>;
    /// Applies pending migrations embedded at build time.
    async fn migrate(&self) -> Result<()>;
    /// Consistent copy of the database to a new file while serving
    /// (SQLite `VACUUM INTO`). PostgreSQL refuses: use `pg_dump`.
    async fn backup_to(&self, path: &Path) -> Result<()>;

    /// Runs a unit of work in one transaction and returns its result after the commit (SQLite:
    /// in the next group commit; PostgreSQL: a pool transaction). All of it commits, or none.
    async fn run(&self, work: Work) -> Result<Box<dyn std::any::Any + Send>>;

    // --- clinics ----------------------------------------------------------
    async fn get_clinic(&self, id: &str) -> Result<Option<Clinic>>;
    async fn get_clinic_by_slug(&self, slug: &str) -> Result<Option<Clinic>>;
    async fn list_clinics(&self) -> Result<Vec<Clinic>>;

    // --- staff ------------------------------------------------------------
    async fn get_staff(&self, id: &str) -> Result<Option<Staff>>;
    /// Case-insensitive (the email is lowercased before lookup).
    async fn get_staff_by_email(&self, email: &str) -> Result<Option<Staff>>;
    async fn list_staff(&self, clinic_id: &str) -> Result<Vec<Staff>>;

    // --- staff sessions ---------------------------------------------------
    /// The session and its staff member, or `None` when unknown or expired.
    async fn get_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(StaffSession, Staff)>>;

    // --- patients ---------------------------------------------------------
    async fn get_patient(&self, id: &str) -> Result<Option<Patient>>;
    async fn get_patient_by_code(&self, enrolment_code: &str) -> Result<Option<Patient>>;
    async fn get_patient_by_link_token(&self, link_token: &str) -> Result<Option<Patient>>;
    /// The patient of a session that has not expired at `now`, by its token's hash.
    async fn get_patient_by_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Patient>>;
    /// The clinic's work list: patients with open escalations first, then
    /// by level (emergency, urgent, soon, self_care, none), then the oldest
    /// last check-in first. Served from an index on denormalised columns.
    async fn list_board(&self, clinic_id: &str, filter: BoardFilter) -> Result<Vec<Patient>>;
    /// What is waiting for the clinic (from the board's denormalised columns, one scan).
    async fn workload(&self, clinic_id: &str) -> Result<Workload>;

    // --- check-ins ----------------------------------------------------------
    async fn get_checkin_session(&self, id: &str) -> Result<Option<CheckinSession>>;
    async fn get_checkin(&self, id: &str) -> Result<Option<Checkin>>;
    /// Newest first.
    async fn list_checkins(&self, patient_id: &str) -> Result<Vec<Checkin>>;

    // --- diary ------------------------------------------------------------
    /// Current (latest) version.
    async fn get_diary_entry(&self, patient_id: &str, day: NaiveDate)
        -> Result<Option<DiaryEntry>>;
    /// All versions, oldest first.
    async fn diary_history(&self, patient_id: &str, day: NaiveDate) -> Result<Vec<DiaryEntry>>;
    /// Current versions for `from..=to`, by day.
    async fn list_diary(
        &self,
        patient_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DiaryEntry>>;
    /// Current version of the earliest day in `from..=to` that has an entry: the start of the
    /// series, all the expected course needs besides the day being written.
    async fn first_diary_entry(
        &self,
        patient_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Option<DiaryEntry>>;

    // --- escalations --------------------------------------------------------
    async fn get_escalation(&self, id: &str) -> Result<Option<Escalation>>;
    /// Newest first.
    async fn list_escalations(&self, patient_id: &str, open_only: bool) -> Result<Vec<Escalation>>;

    // --- messages -----------------------------------------------------------
    /// Messages with id > `after_id`, oldest first, at most `limit`.
    async fn list_messages(
        &self,
        patient_id: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Message>>;
    async fn unread_counts(&self, patient_id: &str) -> Result<UnreadCounts>;

    // --- contact requests -----------------------------------------------------
    /// Newest first; `handled` filters when given.
    async fn list_contact_requests(
        &self,
        clinic_id: &str,
        handled: Option<bool>,
    ) -> Result<Vec<ContactRequest>>;
    /// The requests she sent while signed in, newest first.
    async fn list_patient_contact_requests(&self, patient_id: &str) -> Result<Vec<ContactRequest>>;

    // --- announcements --------------------------------------------------------
    /// The most recently started announcement in force at `now`.
    async fn active_announcement(
        &self,
        clinic_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Announcement>>;
    /// Newest start first.
    async fn list_announcements(&self, clinic_id: &str) -> Result<Vec<Announcement>>;

    // --- audit log --------------------------------------------------------------
    /// Newest first.
    async fn list_audit(&self, clinic_id: &str, query: AuditQuery) -> Result<Vec<AuditEntry>>;

    // --- CDS Hooks --------------------------------------------------------------
    /// Newest first.
    async fn list_cds_feedback(&self, service_id: &str, limit: i64) -> Result<Vec<CdsFeedback>>;
}

impl dyn Store {
    /// Runs `work` as one unit of work and returns its result after the commit.
    pub async fn transaction<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'t> Fn(&'t mut dyn Tx) -> BoxFuture<'t, Result<T>> + Send + 'static,
    {
        transaction(self, work).await
    }
}

/// [`Store::run`] with its result type restored; also for a concrete store.
pub async fn transaction<S, T, F>(store: &S, work: F) -> Result<T>
where
    S: Store + ?Sized,
    T: Send + 'static,
    F: for<'t> Fn(&'t mut dyn Tx) -> BoxFuture<'t, Result<T>> + Send + 'static,
{
    let erased: Work = Box::new(move |tx| {
        let done = work(tx);
        Box::pin(async move { Ok(Box::new(done.await?) as Box<dyn std::any::Any + Send>) })
    });
    let value = store.run(erased).await?;
    value
        .downcast::<T>()
        .map(|v| *v)
        .map_err(|_| StoreError::Other("a unit of work answered with another type".into()))
}
