//! PostgreSQL: for clinics running several Aftercare servers on one
//! database. A plain pool; each write is one pool transaction (the server
//! commits many in parallel, no group commit needed).

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres};

use crate::error::{Result, StoreError};
use crate::group_commit::BoxFuture;
use crate::records::*;
use crate::shared::new_id;
use crate::Backend;
use crate::Side;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Channel on which `post_message` notifies `'<patient_id>:<message_id>'`.
pub const CHAT_CHANNEL: &str = "aftercare_chat";

/// The PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub(crate) const BACKEND: Backend = Backend::Postgres;

    /// Connects a pool to `postgres://…` (fails fast if unreachable).
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        Ok(PgStore { pool })
    }

    /// Wraps an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        PgStore { pool }
    }

    /// The pool, for LISTEN on [`CHAT_CHANNEL`] (`sqlx::postgres::PgListener::connect_with`).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn reader(&self) -> Result<PoolConnection<Postgres>> {
        Ok(self.pool.acquire().await?)
    }

    /// Runs a unit of work in a pool transaction.
    async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c mut PgConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let mut tx = self.pool.begin().await?;
        let value = work(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }

    async fn ping_impl(&self) -> Result<()> {
        // A write, not a read: a database that has gone read-only is not ready.
        sqlx::query(
            "INSERT INTO write_probe (id, at) VALUES (1, now()::text) \
             ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// sqlx takes an advisory lock, so servers starting together are safe.
    async fn migrate_impl(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn backup_impl(&self, _path: &Path) -> Result<()> {
        Err(StoreError::Other(
            "backup_to is for SQLite; back up PostgreSQL with pg_dump".into(),
        ))
    }
}

/// Locks the patient's row for the rest of the transaction, so concurrent
/// writes for one patient (diary versions, message ids, counters) are
/// serialised; `NotFound` when there is no such patient.
async fn lock_patient(c: &mut PgConnection, patient_id: &str) -> Result<()> {
    sqlx::query("SELECT 1 FROM patients WHERE id = $1 FOR UPDATE")
        .bind(patient_id)
        .fetch_optional(&mut *c)
        .await?
        .map(drop)
        .ok_or(StoreError::NotFound)
}

/// Delivered on commit only, so listeners never see a message that is not
/// there yet.
async fn notify_chat(c: &mut PgConnection, patient_id: &str, message_id: i64) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHAT_CHANNEL)
        .bind(format!("{patient_id}:{message_id}"))
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// A diary entry, then its audit row.
async fn insert_entry_and_audit(
    c: &mut PgConnection,
    new: &NewDiaryEntry,
    now: DateTime<Utc>,
) -> Result<DiaryEntry> {
    let entry = bind_diary!(sqlx::query_as(insert_diary_sql!()), new, now)
        .fetch_one(&mut *c)
        .await?;
    if let Some(a) = &new.audit {
        bind_audit!(sqlx::query(insert_audit_sql!()), a)
            .execute(&mut *c)
            .await?;
    }
    Ok(entry)
}

impl_store!(PgStore, PgConnection);
impl_appointments!(PgStore, PgConnection, " FOR UPDATE SKIP LOCKED");
impl_outbox!(
    PgStore,
    PgConnection,
    " FOR UPDATE OF e SKIP LOCKED",
    " FOR UPDATE SKIP LOCKED"
);
