//! Persistence for Aftercare.
//!
//! Two databases: [`SqliteStore`] (the default, a single file, for one server) and [`PgStore`]
//! (for clinics running several servers). The server holds an `Arc<dyn Store>` from
//! [`connect`] and never sees SQL. The SQL is written once, by aggregate (`aggregates/`), over
//! the small [`Conn`] trait each database implements (`sql.rs`); both are checked by one
//! behaviour suite (`tests/behaviour.rs`). [`Store`] gathers every aggregate's reads, [`Tx`]
//! every aggregate's writes.
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

use serde::Serialize;

mod aggregates;
mod autocommit;
mod error;
mod group_commit;
mod kinds;
mod postgres;
mod records;
pub mod sql;
mod sqlite;

pub use aggregates::announcements::{AnnouncementRead, AnnouncementTx};
pub use aggregates::appointments::{
    Appointment, AppointmentChange, AppointmentRead, AppointmentTx, NewAppointment,
};
pub use aggregates::audit::{AuditRead, AuditTx};
pub use aggregates::cds::{CdsRead, CdsTx};
pub use aggregates::checkins::{CheckinRead, CheckinTx};
pub use aggregates::clinics::{ClinicRead, ClinicTx};
pub use aggregates::contacts::{ContactRead, ContactTx};
pub use aggregates::diary::{DiaryRead, DiaryTx};
pub use aggregates::escalations::{EscalationRead, EscalationTx};
pub use aggregates::housekeeping::HousekeepingTx;
pub use aggregates::messages::{MessageRead, MessageTx};
pub use aggregates::outbox::{
    AlertTarget, AlertingCounts, Delivery, DueAlert, NewAlertTarget, NewOutboxMessage,
    OutboxMessage, OutboxRead, OutboxTx, PatientEmail, ReminderCandidate,
};
pub use aggregates::patients::{like_pattern, PatientRead, PatientTx};
pub use aggregates::second_factor::{SecondFactorRead, SecondFactorTx};
pub use aggregates::staff::{StaffRead, StaffTx};
pub use aggregates::throttle::{ThrottleTx, ThrottleWindow};
pub use autocommit::Autocommit;
pub use error::{Result, StoreError, UNIQUE_RULES};
pub use kinds::{
    Action, ActorKind, AppointmentStatus, Channel, CheckinStatus, DeliveryStatus, EscalationSource,
    Purpose, Role, Side,
};
pub use postgres::{PgStore, CHAT_CHANNEL};
pub use records::*;
pub use sql::new_id;
use sql::Conn;
pub use sqlite::SqliteStore;

/// The board queries, exposed so tests can check their plans use the index.
#[doc(hidden)]
pub use aggregates::patients::{BOARD_AFTER_SQL, BOARD_SQL};

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

/// The writes available inside a unit of work, on its open transaction: every aggregate's
/// writes. Every write Aftercare makes is one of these; none commits by itself.
pub trait Tx:
    ClinicTx
    + StaffTx
    + SecondFactorTx
    + PatientTx
    + CheckinTx
    + DiaryTx
    + EscalationTx
    + MessageTx
    + ContactTx
    + AnnouncementTx
    + AuditTx
    + CdsTx
    + HousekeepingTx
    + OutboxTx
    + AppointmentTx
    + ThrottleTx
    + Send
{
}

impl<C: Conn> Tx for C {}

/// A database Aftercare reads from: where a read gets its connection. Every aggregate's reads
/// are implemented for any `Engine`.
#[async_trait]
pub trait Engine: Send + Sync {
    type Conn: Conn;
    /// A connection lent for reads (returned to its pool when dropped).
    type Reader: std::ops::DerefMut<Target = Self::Conn> + Send;
    async fn reader(&self) -> Result<Self::Reader>;
}

/// Everything Aftercare reads, and the one way it writes: [`Store::run`] (typed:
/// [`Store::transaction`]). `get_*` return `Ok(None)` when absent; changes to a missing row
/// return [`StoreError::NotFound`].
#[async_trait]
pub trait Store:
    ClinicRead
    + StaffRead
    + SecondFactorRead
    + PatientRead
    + CheckinRead
    + DiaryRead
    + EscalationRead
    + MessageRead
    + ContactRead
    + AnnouncementRead
    + AuditRead
    + CdsRead
    + OutboxRead
    + AppointmentRead
    + Send
    + Sync
{
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
