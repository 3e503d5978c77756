//! Group commit for SQLite writes.
//!
//! With `synchronous=FULL` every commit waits for an fsync, which caps a
//! one-transaction-per-write design at a few hundred writes a second. Here a
//! single writer task owns the only write connection; callers send it jobs
//! over a channel, it runs every job already queued (up to `max_batch`)
//! inside one transaction, commits once, and only then answers each caller.
//! One fsync is shared by the whole batch, and a reply still means durable.
//!
//! Each job runs inside its own SAVEPOINT, so a failing job (say, a unique
//! violation) is rolled back alone and does not spoil its neighbours.

use std::future::Future;
use std::pin::Pin;

use sqlx::{Connection, Executor, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Result, StoreError};

/// A boxed future borrowing the write connection for `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A job's type-erased face as seen by the writer task.
trait Job: Send {
    /// Runs the job's statements; returns whether they succeeded.
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool>;
    /// Answers the caller once the batch's fate (`committed`) is known.
    fn finish(self: Box<Self>, committed: &Result<()>);
}

/// A queued write: the work to do, its result, and where to send it.
struct Pending<T, F> {
    work: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send,
{
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let result = match self.work.take() {
                Some(work) => work(conn).await,
                None => Err(StoreError::Other("write job ran twice".into())),
            };
            let ok = result.is_ok();
            self.result = Some(result);
            ok
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
    pub async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Pending {
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
    let (mut nb, mut nj, mut tc) = (0u64, 0u64, std::time::Duration::ZERO);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        nb += 1;
        nj += batch.len() as u64;
        if nb % 20 == 0 {
            eprintln!(
                "batches {nb} jobs {nj} avg {} commit {:?}",
                nj / nb,
                tc / nb as u32
            );
        }
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

/// Runs every job of the batch in one transaction, each in a savepoint.
async fn run_batch(conn: &mut SqliteConnection, batch: &mut [Box<dyn Job>]) -> Result<()> {
    conn.execute("BEGIN IMMEDIATE").await?;
    for job in batch.iter_mut() {
        conn.execute("SAVEPOINT job").await?;
        if !job.run(conn).await {
            conn.execute("ROLLBACK TO job").await?;
        }
        conn.execute("RELEASE job").await?;
    }
    let t = std::time::Instant::now();
    conn.execute("COMMIT").await?;
    eprintln!("commit {:?} for {}", t.elapsed(), batch.len());
    Ok(())
}
