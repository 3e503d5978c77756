//! Group commit for SQLite writes.
//!
//! With `synchronous=FULL` every commit waits for an fsync, which caps a
//! one-transaction-per-write design at a few hundred writes a second. Here a
//! single writer task owns the only write connection; callers send it units
//! of work over a channel, it runs every unit already queued (up to
//! `max_batch`) inside one transaction, commits once, and only then answers
//! each caller. One fsync is shared by the whole batch, and a reply still
//! means durable.
//!
//! A unit that fails (say, a unique violation, or an injected fault between
//! two of its statements) must not commit any part of itself, nor spoil its
//! neighbours. Giving each unit a SAVEPOINT would do it, at the price of two
//! more round trips to sqlx's SQLite worker thread per unit, which cost more
//! than most statements (it halved diary throughput). So a batch first runs
//! without savepoints; when one of its units fails, the batch is rolled back
//! and run again without it, and only a second failure runs it once more with
//! each unit inside its own savepoint. That is why a unit
//! is a `Fn`, not a `FnOnce`: it may run twice, and only the run that commits
//! is answered. A caller never says how many statements its unit has.

use std::future::Future;
use std::pin::Pin;

use sqlx::{Connection, Executor, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Result, StoreError};

/// A boxed future borrowing the write connection for `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A queued unit's type-erased face as seen by the writer task.
trait Job: Send {
    /// Runs the unit's statements; `false` when it failed.
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool>;
    /// Answers the caller once the batch's fate (`committed`) is known.
    fn finish(self: Box<Self>, committed: &Result<()>);
}

/// A queued unit: the work to do, the result of its last run, and where to send it.
struct Pending<T, F> {
    work: F,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: for<'c> Fn(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send,
{
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let result = (self.work)(conn).await;
            let ok = result.is_ok();
            self.result = Some(result);
            ok
        })
    }

    fn finish(self: Box<Self>, committed: &Result<()>) {
        let answer = match (self.result, committed) {
            // The unit's own failure explains more than the batch's.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(e)) => Err(e.clone()),
            (None, Ok(())) => Err(StoreError::Other("write job was not run".into())),
        };
        // The caller may have gone away (request cancelled); nothing to do.
        let _ = self.reply.send(answer);
    }
}

/// Handle for submitting writes to the writer task. Cheap to clone; the
/// task stops (and closes its connection) when every handle is dropped.
#[derive(Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl GroupCommit {
    /// Starts the writer task on the current Tokio runtime.
    pub fn spawn(conn: SqliteConnection, max_batch: usize) -> Self {
        let (jobs, rx) = mpsc::channel(max_batch * 4);
        tokio::spawn(writer(conn, rx, max_batch.max(1)));
        GroupCommit { jobs }
    }

    /// Whether the writer task is still taking jobs.
    pub fn is_running(&self) -> bool {
        !self.jobs.is_closed()
    }

    /// Runs `work` in the next batch and returns its result after commit. All of `work`
    /// commits, or none of it; it may be run twice (see the module's documentation).
    pub async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Pending {
            work,
            result: None,
            reply,
        };
        self.jobs
            .send(Box::new(job))
            .await
            .map_err(|_| StoreError::Unavailable)?;
        answer.await.map_err(|_| StoreError::Unavailable)?
    }
}

/// The writer loop: take what is queued, run it as one transaction, answer.
async fn writer(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        let committed = run_batch(&mut conn, &mut batch).await;
        if committed.is_err() {
            // Leave the connection clean for the next batch; if even the
            // rollback fails there is no transaction open to clean up.
            let _ = conn.execute("ROLLBACK").await;
        }
        for job in batch.drain(..) {
            job.finish(&committed);
        }
    }
    let _ = conn.close().await;
}

/// Runs every unit of the batch in one transaction, all at once while they succeed. After a
/// failure the batch is rolled back and run again without the failed unit, which is answered
/// with its own error (it failed on the state the units before it left, as it would have run
/// alone after them). Only a second failure in the same batch costs a savepoint around each
/// unit, so a conflict now and then (an escalation acknowledged twice) keeps the fast path.
async fn run_batch(conn: &mut SqliteConnection, batch: &mut [Box<dyn Job>]) -> Result<()> {
    let Some(failed) = run_plain(conn, batch, None).await? else {
        return Ok(());
    };
    if batch.len() == 1 {
        // Nothing else to save: the unit is answered with its own error.
        return Ok(());
    }
    if run_plain(conn, batch, Some(failed)).await?.is_none() {
        return Ok(());
    }
    conn.execute("BEGIN IMMEDIATE").await?;
    for job in batch.iter_mut() {
        conn.execute("SAVEPOINT job").await?;
        if !job.run(conn).await {
            conn.execute("ROLLBACK TO job").await?;
        }
        conn.execute("RELEASE job").await?;
    }
    conn.execute("COMMIT").await?;
    Ok(())
}

/// Runs the units (all but `skip`) in one transaction without savepoints and commits; on the
/// first that fails, rolls back and returns its index.
async fn run_plain(
    conn: &mut SqliteConnection,
    batch: &mut [Box<dyn Job>],
    skip: Option<usize>,
) -> Result<Option<usize>> {
    conn.execute("BEGIN IMMEDIATE").await?;
    for (i, job) in batch.iter_mut().enumerate() {
        if Some(i) != skip && !job.run(conn).await {
            // A severe failure (I/O, full disk) may have ended the transaction already.
            let _ = conn.execute("ROLLBACK").await;
            return Ok(Some(i));
        }
    }
    conn.execute("COMMIT").await?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::ConnectOptions;

    async fn count(conn: &mut SqliteConnection) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(conn)
            .await
            .unwrap()
    }

    fn insert(n: i64) -> impl for<'c> Fn(&'c mut SqliteConnection) -> BoxFuture<'c, Result<()>> {
        move |c| {
            Box::pin(async move {
                sqlx::query("INSERT INTO t VALUES ($1)")
                    .bind(n)
                    .execute(&mut *c)
                    .await?;
                Ok(())
            })
        }
    }

    /// A unit that writes, then fails.
    fn half(n: i64) -> impl for<'c> Fn(&'c mut SqliteConnection) -> BoxFuture<'c, Result<()>> {
        move |c| {
            Box::pin(async move {
                insert(n)(c).await?;
                Err(StoreError::Other("second step".into()))
            })
        }
    }

    /// A unit that fails after its first statement leaves nothing behind, alone or in a batch,
    /// and its neighbours in the batch still commit.
    #[tokio::test]
    async fn a_failed_unit_commits_none_of_itself_and_spares_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("t.db"))
            .create_if_missing(true);
        let mut setup = options.connect().await.unwrap();
        setup
            .execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        let writer = GroupCommit::spawn(options.connect().await.unwrap(), 8);
        let alone = writer.write(half(1)).await;
        assert_eq!(alone, Err(StoreError::Other("second step".into())));
        assert_eq!(count(&mut setup).await, 0, "half a unit was committed");

        // Queued together, so they share one batch.
        let (a, b, c, d) = tokio::join!(
            writer.write(insert(2)),
            writer.write(half(3)),
            writer.write(insert(4)),
            writer.write(insert(2)),
        );
        assert_eq!(a, Ok(()));
        assert_eq!(b, Err(StoreError::Other("second step".into())));
        assert_eq!(c, Ok(()));
        assert!(matches!(d, Err(StoreError::Conflict(_))), "{d:?}");
        let rows: Vec<i64> = sqlx::query_scalar("SELECT n FROM t ORDER BY n")
            .fetch_all(&mut setup)
            .await
            .unwrap();
        assert_eq!(rows, vec![2, 4]);

        // One failure in a batch: run again without it, no savepoints needed.
        let (a, b, c) = tokio::join!(
            writer.write(insert(5)),
            writer.write(half(6)),
            writer.write(insert(7)),
        );
        assert_eq!((a, c), (Ok(()), Ok(())));
        assert_eq!(b, Err(StoreError::Other("second step".into())));
        let rows: Vec<i64> = sqlx::query_scalar("SELECT n FROM t ORDER BY n")
            .fetch_all(&mut setup)
            .await
            .unwrap();
        assert_eq!(rows, vec![2, 4, 5, 7]);
    }
}
