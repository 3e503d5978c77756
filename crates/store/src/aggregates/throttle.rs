//! Attempt counts for rate limits that several servers share: one row per limit, key and
//! fixed window, read with the window before it as a sliding window (the previous window's
//! count weighted by how much of it still overlaps the last `seconds`).

use async_trait::async_trait;

use crate::sql::{Conn, Statement};
use crate::Result;

/// One limit applied to one key: at most `max` attempts in any `seconds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleWindow {
    /// The limit's name (`login.address`, `code.network`, ...).
    pub bucket: String,
    pub key: String,
    pub max: i64,
    pub seconds: i64,
}

impl ThrottleWindow {
    fn start(&self, now: i64) -> i64 {
        now - now.rem_euclid(self.seconds)
    }
}

/// Writes, inside a unit of work.
#[async_trait]
pub trait ThrottleTx: Send {
    /// Counts one attempt in every window, or in none: `false` when any of them is already
    /// full. A concurrent attempt on the same key waits for this one's row lock, so two
    /// servers cannot both take the last slot.
    async fn take_attempt(&mut self, windows: Vec<ThrottleWindow>, now: i64) -> Result<bool>;
    /// Gives back one attempt in each window (an attempt that turned out not to count).
    async fn give_back_attempt(&mut self, windows: Vec<ThrottleWindow>, now: i64) -> Result<()>;
}

async fn add<C: Conn + ?Sized>(c: &mut C, w: &ThrottleWindow, now: i64, by: i64) -> Result<i64> {
    let start = w.start(now);
    let upsert = Statement::new(
        "INSERT INTO throttle_windows (bucket, key, window_start, attempts, expires_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (bucket, key, window_start) \
         DO UPDATE SET attempts = throttle_windows.attempts + $4 \
         RETURNING attempts",
    )
    .bind(w.bucket.as_str())
    .bind(w.key.as_str())
    .bind(start)
    .bind(by)
    .bind(start + 2 * w.seconds);
    let (attempts,): (i64,) = c.fetch_one(upsert).await?;
    Ok(attempts)
}

async fn previous<C: Conn + ?Sized>(c: &mut C, w: &ThrottleWindow, now: i64) -> Result<i64> {
    let select = Statement::new(
        "SELECT attempts FROM throttle_windows \
         WHERE bucket = $1 AND key = $2 AND window_start = $3",
    )
    .bind(w.bucket.as_str())
    .bind(w.key.as_str())
    .bind(w.start(now) - w.seconds);
    let row: Option<(i64,)> = c.fetch_optional(select).await?;
    Ok(row.map_or(0, |(n,)| n))
}

#[async_trait]
impl<C: Conn> ThrottleTx for C {
    async fn take_attempt(&mut self, windows: Vec<ThrottleWindow>, now: i64) -> Result<bool> {
        let expired =
            Statement::new("DELETE FROM throttle_windows WHERE expires_at < $1").bind(now);
        self.execute(expired).await?;
        let mut full = false;
        for w in &windows {
            let current = add(self, w, now, 1).await?;
            let before = previous(self, w, now).await?;
            let overlap = w.seconds - (now - w.start(now));
            // current + before × overlap / seconds > max, in integers.
            if current * w.seconds + before * overlap > w.max * w.seconds {
                full = true;
            }
        }
        if full {
            for w in &windows {
                add(self, w, now, -1).await?;
            }
        }
        Ok(!full)
    }

    async fn give_back_attempt(&mut self, windows: Vec<ThrottleWindow>, now: i64) -> Result<()> {
        for w in &windows {
            let update = Statement::new(
                "UPDATE throttle_windows SET attempts = attempts - 1 \
                 WHERE bucket = $1 AND key = $2 AND window_start = $3 AND attempts > 0",
            )
            .bind(w.bucket.as_str())
            .bind(w.key.as_str())
            .bind(w.start(now));
            self.execute(update).await?;
        }
        Ok(())
    }
}
