//! A small in-memory rate limit per client address (a sliding window), for what bots and
//! guessers aim at: the contact form, the enrolment code and the staff login. In memory on purpose: it only has
//! to slow a single client down on one server, and it forgets everything on restart.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimit {
    max: usize,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimit {
    pub fn new(max: usize, window: Duration) -> RateLimit {
        RateLimit {
            max,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt for `key`; `false` when the key has used up its window.
    pub fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }

    pub fn allow_at(&self, key: &str, now: Instant) -> bool {
        self.window_of(key, now, |q, max| {
            if q.len() >= max {
                return false;
            }
            q.push_back(now);
            true
        })
    }

    /// Whether `key` has used up its window, counting nothing (for limits that count only
    /// failures: see [`RateLimit::record`]).
    pub fn is_full(&self, key: &str) -> bool {
        self.window_of(key, Instant::now(), |q, max| q.len() >= max)
    }

    /// Counts one event for `key` (a failure), whether or not the window is full.
    pub fn record(&self, key: &str) {
        let now = Instant::now();
        self.window_of(key, now, |q, _| q.push_back(now));
    }

    /// Runs `f` on `key`'s events still inside the window.
    fn window_of<T>(
        &self,
        key: &str,
        now: Instant,
        f: impl FnOnce(&mut VecDeque<Instant>, usize) -> T,
    ) -> T {
        let mut hits = match self.hits.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Forget idle clients now and then, so the map cannot grow without bound.
        if hits.len() > 10_000 {
            let window = self.window;
            hits.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let q = hits.entry(key.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        f(q, self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_in_the_window_is_refused_and_allowed_again_later() {
        let limit = RateLimit::new(5, Duration::from_secs(600));
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(limit.allow_at("1.2.3.4", t0));
        }
        assert!(!limit.allow_at("1.2.3.4", t0));
        assert!(limit.allow_at("5.6.7.8", t0));
        assert!(limit.allow_at("1.2.3.4", t0 + Duration::from_secs(601)));
    }
}
