//! PostgreSQL: for clinics running several Aftercare servers on one
//! database. A plain pool; each write is one pool transaction (the server
//! commits many in parallel, no group commit needed).

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres};

use crate::error::{Result, StoreError};
use crate::group_commit::BoxFuture;
use crate::sql::{self, Conn, Record, Statement};
use crate::{Backend, Engine, Store, Work};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// How many times a unit of work runs while PostgreSQL keeps giving it up for another.
const CONTENTION_RUNS: u32 = 5;

/// Channel on which `post_message` notifies `'<patient_id>:<message_id>'`.
pub const CHAT_CHANNEL: &str = "aftercare_chat";

/// The PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
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

    /// Runs a unit of work in a pool transaction. When PostgreSQL gives it up for another
    /// transaction's sake (two units that lock the same rows in opposite orders deadlock, and
    /// one is cancelled), nothing of it was committed: it runs again, after a short pause that
    /// grows and varies so the two do not meet again, up to [`CONTENTION_RUNS`] times.
    async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c mut PgConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let mut run = 1;
        loop {
            let mut tx = self.pool.begin().await?;
            let unit = work(&mut tx);
            let outcome = match unit.await {
                Ok(value) => tx.commit().await.map(|()| value).map_err(StoreError::from),
                // Rolled back now, not after the pause: its locks and its connection go back.
                Err(e) => tx.rollback().await.map_err(StoreError::from).and(Err(e)),
            };
            match outcome {
                Err(StoreError::Contention) if run < CONTENTION_RUNS => {
                    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 20);
                    let pause = 10 * u64::from(run) + jitter;
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    run += 1;
                }
                outcome => return outcome,
            }
        }
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

#[async_trait]
impl Conn for PgConnection {
    async fn execute(&mut self, statement: Statement) -> Result<u64> {
        let query = sql::bind(sqlx::query(&statement.sql), statement.args);
        Ok(query.execute(&mut *self).await?.rows_affected())
    }

    async fn fetch_all<T: Record>(&mut self, statement: Statement) -> Result<Vec<T>> {
        let query = sql::bind(sqlx::query(&statement.sql), statement.args);
        sql::decode(&query.fetch_all(&mut *self).await?)
    }

    async fn fetch_optional<T: Record>(&mut self, statement: Statement) -> Result<Option<T>> {
        let query = sql::bind(sqlx::query(&statement.sql), statement.args);
        match query.fetch_optional(&mut *self).await? {
            Some(row) => Ok(Some(T::from_row(&row)?)),
            None => Ok(None),
        }
    }

    /// `SELECT … FOR UPDATE` on her row, held until the transaction ends.
    async fn lock_patient(&mut self, patient_id: &str) -> Result<()> {
        let lock =
            Statement::new("SELECT 1 FROM patients WHERE id = $1 FOR UPDATE").bind(patient_id);
        self.fetch_optional::<(i32,)>(lock)
            .await?
            .map(drop)
            .ok_or(StoreError::NotFound)
    }

    /// `pg_notify` on [`CHAT_CHANNEL`]: delivered on commit only, so listeners never see a
    /// message that is not there yet.
    async fn notify_chat(&mut self, patient_id: &str, message_id: i64) -> Result<()> {
        let notify = Statement::new("SELECT pg_notify($1, $2)")
            .bind(CHAT_CHANNEL)
            .bind(format!("{patient_id}:{message_id}"));
        self.execute(notify).await.map(drop)
    }

    /// Several servers share the outbox and the reminders: each takes rows no other holds.
    fn skip_locked(&self, of: Option<&str>) -> String {
        match of {
            Some(table) => format!(" FOR UPDATE OF {table} SKIP LOCKED"),
            None => " FOR UPDATE SKIP LOCKED".to_string(),
        }
    }

    /// A prepared statement is one statement.
    fn runs_scripts(&self) -> bool {
        false
    }
}

#[async_trait]
impl Engine for PgStore {
    type Conn = PgConnection;
    type Reader = PoolConnection<Postgres>;

    async fn reader(&self) -> Result<PoolConnection<Postgres>> {
        Ok(self.pool.acquire().await?)
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> Result<()> {
        self.ping_impl().await
    }

    async fn migrate(&self) -> Result<()> {
        self.migrate_impl().await
    }

    async fn backup_to(&self, path: &Path) -> Result<()> {
        self.backup_impl(path).await
    }

    async fn run(&self, work: Work) -> Result<Box<dyn std::any::Any + Send>> {
        self.write(move |c: &mut PgConnection| work(c)).await
    }
}
