//! SQLite: the default store, one file, one server.
//!
//! Durability and throughput come from the connection settings (WAL,
//! `synchronous=FULL`, foreign keys, a busy timeout) and from group commit
//! (see `group_commit.rs`): every write goes through the single writer
//! task, reads use a separate pool of `query_only` connections, which WAL
//! lets run alongside the writer.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Sqlite, SqliteConnection};

use crate::error::{Result, StoreError};
use crate::group_commit::{BoxFuture, GroupCommit};
use crate::sql::{self, Conn, Record, Statement};
use crate::{Backend, Engine, Store, Work};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Most writes committed together; bounds one transaction's work (and the
/// latency of the last job in it) under heavy load.
const MAX_BATCH: usize = 256;
const READ_CONNECTIONS: u32 = 8;
/// Each connection's page cache, in KiB (SQLite's own default, stated here because it is most
/// of the server's memory that grows with the database: nine connections fill up to 18 MiB
/// as the pages they touch accumulate, then stay there).
const PAGE_CACHE_KIB: i64 = 2048;

/// The SQLite store. Needs a file: WAL and the separate reader pool do not
/// work with `:memory:`.
pub struct SqliteStore {
    options: SqliteConnectOptions,
    read: SqlitePool,
    writer: GroupCommit,
}

impl SqliteStore {
    /// Opens (creating it and its parent directory if needed) the database
    /// file at `path`.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(SqliteConnectOptions::new().filename(path.as_ref())).await
    }

    /// Opens from a `sqlite:` URL, e.g. `sqlite:data/aftercare.db`.
    pub async fn connect(url: &str) -> Result<Self> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::Other(
                "SQLite store needs a file, not an in-memory database".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad SQLite URL: {e}")))?;
        Self::open_with(options).await
    }

    async fn open_with(options: SqliteConnectOptions) -> Result<Self> {
        let owned = options.get_filename().to_path_buf();
        let path = owned.as_path();
        let name = path.to_string_lossy();
        if name.is_empty() || name.contains(":memory:") || name.contains("sqlx-in-memory") {
            // `SqliteStore::open(":memory:")`: each connection would get its own database.
            return Err(StoreError::Other(
                "SQLite store needs a file, not an in-memory database".into(),
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            private_dir(dir)?;
        }
        refuse_empty(path)?;
        // The database holds health data and link tokens: readable by its owner only. SQLite
        // gives the WAL and shared-memory files the database file's permissions.
        private_file(path)?;
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            let side = std::path::PathBuf::from(side);
            if side.exists() {
                private_file(&side)?;
            }
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .pragma("cache_size", format!("-{PAGE_CACHE_KIB}"))
            .busy_timeout(Duration::from_secs(5));
        let mut write_conn = options.connect().await?;
        quick_check(&mut write_conn, path).await?;
        // No ping before lending a reader: a local file's connection does not go stale, and the
        // ping is one more hop to sqlx's per-connection thread on every read.
        let read = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone().pragma("query_only", "ON"))
            .await?;
        Ok(SqliteStore {
            options,
            read,
            writer: GroupCommit::spawn(write_conn, MAX_BATCH),
        })
    }

    /// Runs a unit of work in the next group commit (see `group_commit.rs`).
    async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.writer.write(work).await
    }

    async fn ping_impl(&self) -> Result<()> {
        if !self.writer.is_running() {
            return Err(StoreError::Unavailable);
        }
        // A write through the writer, not a read: a file that has become read-only, or a full
        // disk, makes the store not ready rather than answer every request with an error.
        self.write(|c: &mut SqliteConnection| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO write_probe (id, at) VALUES (1, datetime('now')) \
                     ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                )
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Migrates on a connection of its own (a one-connection pool, which
    /// sqlx's migrator accepts inside a `Send` future): the writer's
    /// connection is busy with batches, and the migrator opens its own
    /// transactions.
    async fn migrate_impl(&self) -> Result<()> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(self.options.clone())
            .await?;
        let outcome = MIGRATOR.run(&pool).await;
        pool.close().await;
        outcome?;
        self.reload_schema().await
    }

    /// Makes every open connection read the schema again after a migration ran on its own
    /// connection. A connection that read the old schema prepares its next statement against
    /// it; SQLite then prepares it again when it runs, with the new table's columns, while
    /// sqlx still counts the old ones. `SELECT *` on a table that a migration changed would
    /// fail (found upgrading a database with patients across the urgency migration: the
    /// board came back empty). One read of the schema on each connection, with its cached
    /// statements dropped, puts it on the new schema before anything else runs.
    async fn reload_schema(&self) -> Result<()> {
        const READ_SCHEMA: &str = "SELECT count(*) FROM sqlite_schema";
        let mut readers = Vec::new();
        for _ in 0..READ_CONNECTIONS {
            readers.push(self.read.acquire().await?);
        }
        for reader in &mut readers {
            reader.clear_cached_statements().await?;
            sqlx::query(READ_SCHEMA).fetch_one(&mut **reader).await?;
        }
        drop(readers);
        self.write(|c: &mut SqliteConnection| {
            Box::pin(async move {
                c.clear_cached_statements().await?;
                sqlx::query(READ_SCHEMA).fetch_one(&mut *c).await?;
                Ok(())
            })
        })
        .await
    }

    /// `VACUUM INTO` writes a consistent, compacted copy while the store
    /// keeps serving (it reads one snapshot).
    async fn backup_impl(&self, path: &Path) -> Result<()> {
        if path.exists() {
            return Err(StoreError::Conflict(format!(
                "backup target {} already exists",
                path.display()
            )));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            private_dir(dir)?;
        }
        // Made empty and private first: VACUUM INTO fills an empty file and keeps its mode.
        private_file(path)?;
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Other("backup path is not UTF-8".into()))?;
        let mut conn = self.options.connect().await?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(())
    }
}

#[async_trait]
impl Conn for SqliteConnection {
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

    /// SQLite has one writer, so writes are already serialised: nothing to lock. A missing
    /// patient still gives `NotFound`, from the foreign key of the row being written
    /// (skipping the extra query here is worth ~15% of diary throughput).
    async fn lock_patient(&mut self, _patient_id: &str) -> Result<()> {
        Ok(())
    }

    /// Live chat across processes is a PostgreSQL concern; one SQLite server notifies its own
    /// clients in memory.
    async fn notify_chat(&mut self, _patient_id: &str, _message_id: i64) -> Result<()> {
        Ok(())
    }

    /// Nothing: the one writer already serialises the workers of a server.
    fn skip_locked(&self, _of: Option<&str>) -> String {
        String::new()
    }

    /// sqlx's SQLite driver runs every statement of a call, binding numbered parameters
    /// across them, in one trip to its worker thread.
    fn runs_scripts(&self) -> bool {
        true
    }
}

#[async_trait]
impl Engine for SqliteStore {
    type Conn = SqliteConnection;
    type Reader = PoolConnection<Sqlite>;

    async fn reader(&self) -> Result<PoolConnection<Sqlite>> {
        Ok(self.read.acquire().await?)
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
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
        self.write(move |c: &mut SqliteConnection| work(c)).await
    }
}

/// An existing database file of zero bytes (with no write-ahead log holding its pages) is
/// refused: SQLite would take it for a new, empty database, every patient's link would stop
/// working and new records would pile up beside a lost history. A missing file is a new
/// install and is created; to start afresh on purpose, delete the empty file.
fn refuse_empty(path: &Path) -> Result<()> {
    let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if len(path) == Some(0) && len(Path::new(&wal)).unwrap_or(0) == 0 {
        return Err(StoreError::Other(format!(
            "{} is an empty file, not an Aftercare database: restore it from a backup, or delete \
             it to start a new, empty database",
            path.display()
        )));
    }
    Ok(())
}

/// `PRAGMA quick_check` before serving: a damaged file is refused at start-up, with SQLite's
/// own words, instead of failing requests one page at a time.
async fn quick_check(conn: &mut SqliteConnection, path: &Path) -> Result<()> {
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_all(&mut *conn)
        .await?;
    match rows.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        problems => Err(StoreError::Other(format!(
            "{} fails SQLite's integrity check: {}",
            path.display(),
            problems
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

/// Creates a missing directory (and its parents) that only its owner can enter. An existing
/// one is left as it is: it may be shared (the CLI narrows its own data directory).
fn private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| StoreError::Other(format!("cannot create {}: {e}", dir.display())))
}

/// Creates a file readable and writable by its owner only, or narrows an existing one.
fn private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let fail =
        |e: std::io::Error| StoreError::Other(format!("cannot open {}: {e}", path.display()));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn an_empty_database_file_is_refused_and_a_missing_one_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aftercare.db");
        std::fs::write(&path, b"").unwrap();
        let err = SqliteStore::open(&path).await.err().expect("refused");
        assert!(err.to_string().contains("empty file"), "{err}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "left as it was");

        std::fs::remove_file(&path).unwrap();
        SqliteStore::open(&path).await.expect("a new database");
        assert!(std::fs::metadata(&path).unwrap().len() > 0);
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aftercare.db");
        std::fs::write(&path, vec![0x5a_u8; 8192]).unwrap();
        assert!(SqliteStore::open(&path).await.is_err());
    }

    /// Durability rests on these settings, on the writer and the readers.
    #[tokio::test]
    async fn connections_use_wal_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("x.db")).await.unwrap();
        let mut c = store.reader().await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *c)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        for (pragma, expected) in [
            ("synchronous", 2_i64),
            ("foreign_keys", 1),
            ("query_only", 1),
            ("cache_size", -PAGE_CACHE_KIB),
        ] {
            let value: i64 = sqlx::query_scalar(&format!("PRAGMA {pragma}"))
                .fetch_one(&mut *c)
                .await
                .unwrap();
            assert_eq!(value, expected, "reader {pragma}");
        }
        let writer: (i64, i64) = store
            .write(|c| {
                Box::pin(async move {
                    let sync = sqlx::query_scalar("PRAGMA synchronous")
                        .fetch_one(&mut *c)
                        .await?;
                    let fk = sqlx::query_scalar("PRAGMA foreign_keys")
                        .fetch_one(&mut *c)
                        .await?;
                    Ok((sync, fk))
                })
            })
            .await
            .unwrap();
        assert_eq!(writer, (2, 1));
    }
}
