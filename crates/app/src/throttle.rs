//! Rate limits that several servers share. Each server keeps its limits in memory (the
//! adapters' first line, which costs nothing); on PostgreSQL, where a clinic may run several
//! servers behind one address, the same limits are also counted in the database, so a guesser
//! who spreads attempts over the servers meets one limit, not one per server. On SQLite there
//! is one server by design, and the database is not asked.

use std::time::Duration;

use aftercare_store::{Backend, ThrottleWindow};

use crate::{App, Result};

/// A limit: at most `max` attempts for each key in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Names the limit in the database (`login.address`, `code.network`, ...).
    pub name: &'static str,
    pub max: usize,
    pub window: Duration,
}

impl Limit {
    fn window(&self, key: &str) -> ThrottleWindow {
        ThrottleWindow {
            bucket: self.name.to_string(),
            // A digest: the keys hold emails and addresses (and a NUL that PostgreSQL text
            // refuses), which the table has no need to keep.
            key: crate::secrets::token_hash(key),
            max: i64::try_from(self.max).unwrap_or(i64::MAX),
            seconds: i64::try_from(self.window.as_secs().max(1)).unwrap_or(i64::MAX),
        }
    }
}

pub struct Throttle<'a>(pub(crate) &'a App);

impl Throttle<'_> {
    /// Whether the limits are counted in the database (several servers may share it).
    pub fn shared(&self) -> bool {
        self.0.backend() == Backend::Postgres
    }

    /// Counts one attempt against every limit and key, or against none when any is used up
    /// (`false`). Always `true` when the limits are not shared.
    pub async fn take(&self, attempts: &[(Limit, &str)]) -> Result<bool> {
        self.shared_count(attempts, true)
            .await
            .map(|taken| taken.unwrap_or(true))
    }

    /// Gives back an attempt [`Throttle::take`] counted that turned out not to count (a
    /// sign-in that succeeded).
    pub async fn give_back(&self, attempts: &[(Limit, &str)]) -> Result<()> {
        self.shared_count(attempts, false).await.map(drop)
    }

    /// Takes (`take`) or gives back one attempt in the database, in one unit of work; `None`
    /// when the limits are not shared, or there is nothing to count.
    async fn shared_count(&self, attempts: &[(Limit, &str)], take: bool) -> Result<Option<bool>> {
        if !self.shared() || attempts.is_empty() {
            return Ok(None);
        }
        let windows: Vec<ThrottleWindow> = attempts.iter().map(|(l, k)| l.window(k)).collect();
        let now = self.0.now().timestamp();
        let counted = self
            .0
            .store
            .transaction(move |tx| {
                let windows = windows.clone();
                Box::pin(async move {
                    if take {
                        tx.take_attempt(windows, now).await
                    } else {
                        tx.give_back_attempt(windows, now).await.map(|()| true)
                    }
                })
            })
            .await?;
        Ok(Some(counted))
    }
}
