//! Group commit for SQLite writes.
//!
//! With `synchronous=FULL` every commit waits for an fsync, which caps a
//! one-transaction-per-write design at a few hundred writes a second. Here a
//! single writer task owns the only write connection; callers send it jobs
//! over a channel, it runs every job already queued (up to `max_batch`)
//! inside one transaction, commits once, and only then answers each caller.
//! One fsync is shared by the whole batch, and a reply still means durable.
//!
//! A failing job (say, a unique violation) is undone alone and does not
//! spoil its neighbours: a job of several statements runs inside its own
//! SAVEPOINT; a job of one writing statement needs none, since SQLite
//! already undoes a failed statement and keeps the transaction going. The
//! distinction matters: each statement is a round trip to sqlx's SQLite
//! worker thread, which costs more than the statement itself, and
//! savepoints would halve diary throughput.
//!
//! A job of several statements can also go without a savepoint when only
//! its first statement can fail for a reason of its own (a missing patient,
//! a broken constraint) and it reports any failure after that as
//! [`StepError::Torn`]: part of it is then in the transaction and cannot be
//! undone alone, so the whole batch is rolled back and every caller in it
//! told to retry. Nothing is acknowledged that was not committed.

use std::future::Future;
use std::pin::Pin;

use sqlx::{Connection, Executor, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Result, StoreError};

/// A boxed future borrowing the write connection for `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a write job failed: cleanly (nothing of it remains in the transaction), or torn (an
/// earlier statement of the job had written, so the transaction holds half a job).
#[derive(Debug)]
pub enum StepError {
    Clean(StoreError),
    Torn(StoreError),
}

impl StepError {
    pub fn into_inner(self) -> StoreError {
        match self {
            StepError::Clean(e) | StepError::Torn(e) => e,
        }
    }
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        StepError::Clean(e)
    }
}

impl From<sqlx::Error> for StepError {
    fn from(e: sqlx::Error) -> Self {
        StepError::Clean(e.into())
    }
}

/// What running a job did to the transaction.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Done,
    Failed,
    Torn,
}

/// A job's type-erased face as seen by the writer task.
trait Job: Send {
    /// Whether the job must run inside a savepoint (several statements).
    fn needs_savepoint(&self) -> bool;
    /// Runs the job's statements.
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Outcome>;
    /// Answers the caller once the batch's fate (`committed`) is known.
    fn finish(self: Box<Self>, committed: &Result<()>);
}

/// A queued write: the work to do, its result, and where to send it.
struct Pending<T, F> {
    savepoint: bool,
    work: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, E, F> Job for Pending<T, F>
where
    T: Send,
    E: Into<StepError> + Send,
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, std::result::Result<T, E>> + Send,
{
    fn needs_savepoint(&self) -> bool {
        self.savepoint
    }

    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Outcome> {
        Box::pin(async move {
            let result = match self.work.take() {
                Some(work) => work(conn).await.map_err(Into::into),
                None => Err(StepError::Clean(StoreError::Other(
                    "write job ran twice".into(),
                ))),
            };
            let outcome = match &result {
                Ok(_) => Outcome::Done,
                Err(StepError::Clean(_)) => Outcome::Failed,
                Err(StepError::Torn(_)) => Outcome::Torn,
            };
            self.result = Some(result.map_err(StepError::into_inner));
            outcome
        })
    }

    fn finish(self: Box<Self>, committed: &Result<()>) {
        let answer = match (self.result, committed) {
            // The job's own failure explains more than the batch's.
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

    /// Runs `work` in the next batch and returns its result after commit.
    /// `work` may run several statements: it gets a savepoint of its own.
    pub async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.submit(true, work).await
    }

    /// Like [`write`](Self::write), for `work` that runs exactly one writing
    /// statement (reads before it are fine): no savepoint needed.
    pub async fn write_single<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.submit(false, work).await
    }

    /// Like [`write_single`](Self::write_single), for `work` of several
    /// statements of which only the first may fail cleanly: it reports a
    /// failure after that as [`StepError::Torn`], which fails the whole batch.
    pub async fn write_chain<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(
                &'c mut SqliteConnection,
            ) -> BoxFuture<'c, std::result::Result<T, StepError>>
            + Send
            + 'static,
    {
        self.submit(false, work).await
    }

    async fn submit<T, E, F>(&self, savepoint: bool, work: F) -> Result<T>
    where
        T: Send + 'static,
        E: Into<StepError> + Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, std::result::Result<T, E>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Pending {
            savepoint,
            work: Some(work),
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

/// Runs every job of the batch in one transaction.
async fn run_batch(conn: &mut SqliteConnection, batch: &mut [Box<dyn Job>]) -> Result<()> {
    conn.execute("BEGIN IMMEDIATE").await?;
    for job in batch.iter_mut() {
        if !job.needs_savepoint() {
            match job.run(conn).await {
                Outcome::Done => {}
                // A failed statement: SQLite has already undone it and the
                // transaction goes on, unless the failure was severe (I/O
                // error, disk full) and SQLite rolled the whole transaction
                // back. BEGIN tells which: it fails inside a transaction.
                Outcome::Failed => {
                    if conn.execute("BEGIN").await.is_ok() {
                        return Err(StoreError::Unavailable);
                    }
                }
                // Half a job is in the transaction: none of it may commit.
                Outcome::Torn => return Err(StoreError::Unavailable),
            }
            continue;
        }
        conn.execute("SAVEPOINT job").await?;
        if job.run(conn).await != Outcome::Done {
            conn.execute("ROLLBACK TO job").await?;
        }
        conn.execute("RELEASE job").await?;
    }
    conn.execute("COMMIT").await?;
    Ok(())
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

    /// Half a job never commits: a torn chain job fails its batch, and the writer goes on.
    #[tokio::test]
    async fn a_torn_job_commits_nothing() {
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

        let torn = writer
            .write_chain(|c| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO t VALUES (1)")
                        .execute(&mut *c)
                        .await?;
                    Err::<(), _>(StepError::Torn(StoreError::Other("second step".into())))
                })
            })
            .await;
        assert_eq!(torn, Err(StoreError::Other("second step".into())));
        assert_eq!(count(&mut setup).await, 0, "the first step was committed");

        let ok = writer
            .write_single(|c| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO t VALUES (3)")
                        .execute(&mut *c)
                        .await?;
                    Ok(())
                })
            })
            .await;
        assert_eq!(ok, Ok(()));
        // A failing first step is undone by SQLite itself: a clean failure, the writer goes on.
        let clean = writer
            .write_chain(|c| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO t VALUES (3)")
                        .execute(&mut *c)
                        .await?;
                    Ok::<_, StepError>(())
                })
            })
            .await;
        assert!(
            matches!(clean, Err(StoreError::Conflict(_) | StoreError::Other(_))),
            "{clean:?}"
        );
        assert_eq!(count(&mut setup).await, 1);
    }
}
