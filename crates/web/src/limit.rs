//! Rate limits per client address, account or code (a sliding window), for what bots and
//! guessers aim at: the contact form, the enrolment code and the staff login. Each server
//! counts in memory first; [`take`] then counts the same limits in the database when several
//! servers share it (PostgreSQL; see `aftercare_app::throttle`), so attempts spread over the
//! servers meet one limit.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aftercare_app::throttle::Limit;
use aftercare_app::App;

use crate::error::AppError;

pub struct RateLimit {
    limit: Limit,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimit {
    /// A limit called `name` (its name in the shared count): `max` attempts per key in any
    /// `window`.
    pub fn new(name: &'static str, max: usize, window: Duration) -> RateLimit {
        RateLimit {
            limit: Limit { name, max, window },
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

    /// Whether one more attempt for `key` would be allowed now, without counting it.
    pub fn would_allow(&self, key: &str) -> bool {
        self.window_of(key, Instant::now(), |q, max| q.len() < max)
    }

    /// Gives back the newest attempt counted for `key` (one that turned out not to be a
    /// failure), so a limit can count only failures and still take each slot before it knows.
    pub fn forgive(&self, key: &str) {
        self.window_of(key, Instant::now(), |q, _| {
            q.pop_back();
        });
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
        let window = self.limit.window;
        // Forget idle clients now and then, so the map cannot grow without bound.
        if hits.len() > 10_000 {
            hits.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let q = hits.entry(key.to_string()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        f(q, self.limit.max)
    }
}

/// Counts one attempt against every limit and key, or against none: first in this server's
/// memory, then in the count the servers share. `false` when any of them is used up.
pub async fn take(app: &App, attempts: &[(&RateLimit, &str)]) -> Result<bool, AppError> {
    if !attempts.iter().all(|(l, k)| l.would_allow(k)) {
        return Ok(false);
    }
    for (l, k) in attempts {
        l.allow(k);
    }
    let shared: Vec<(Limit, &str)> = attempts.iter().map(|(l, k)| (l.limit, *k)).collect();
    match app.throttle().take(&shared).await {
        Ok(true) => Ok(true),
        other => {
            for (l, k) in attempts {
                l.forgive(k);
            }
            Ok(other?)
        }
    }
}

/// Gives back an attempt [`take`] counted (one that turned out not to count), in memory and in
/// the shared count.
pub async fn give_back(app: &App, attempts: &[(&RateLimit, &str)]) -> Result<(), AppError> {
    for (l, k) in attempts {
        l.forgive(k);
    }
    let shared: Vec<(Limit, &str)> = attempts.iter().map(|(l, k)| (l.limit, *k)).collect();
    Ok(app.throttle().give_back(&shared).await?)
}

/// The key of a client address: an IPv6 client by its /64 (one subscriber gets a whole /64,
/// so keying by the full address would give a guesser endless fresh keys), anything else as
/// it is.
pub fn address_key(address: &str) -> String {
    match address
        .parse::<std::net::IpAddr>()
        .map(crate::proxy::canonical)
    {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(v4) => v4.to_string(),
        Err(_) => address.to_string(),
    }
}

/// The network an address belongs to, for limits that rotating addresses must not escape: an
/// IPv4 address's /24, an IPv6 address's /64.
pub fn network_key(address: &str) -> String {
    match address
        .parse::<std::net::IpAddr>()
        .map(crate::proxy::canonical)
    {
        Ok(std::net::IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Ok(_) => address_key(address),
        Err(_) => address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_of_one_network_share_its_key() {
        assert_eq!(network_key("192.0.2.17"), "192.0.2.0/24");
        assert_eq!(network_key("192.0.2.200"), network_key("192.0.2.1"));
        assert_ne!(network_key("192.0.3.1"), network_key("192.0.2.1"));
        assert_eq!(
            network_key("2001:db8:1:2::5"),
            network_key("2001:db8:1:2:ffff::9")
        );
        assert_eq!(network_key("::ffff:192.0.2.9"), "192.0.2.0/24");
    }

    #[test]
    fn the_sixth_attempt_in_the_window_is_refused_and_allowed_again_later() {
        let limit = RateLimit::new("test", 5, Duration::from_secs(600));
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(limit.allow_at("1.2.3.4", t0));
        }
        assert!(!limit.allow_at("1.2.3.4", t0));
        assert!(limit.allow_at("5.6.7.8", t0));
        assert!(limit.allow_at("1.2.3.4", t0 + Duration::from_secs(601)));
    }

    #[test]
    fn an_attempt_given_back_does_not_count() {
        let limit = RateLimit::new("test", 2, Duration::from_secs(600));
        for _ in 0..10 {
            assert!(limit.allow("k"));
            limit.forgive("k");
        }
        assert!(limit.allow("k") && limit.allow("k"));
        assert!(!limit.allow("k"));
    }

    #[test]
    fn an_ipv6_client_is_one_key_per_64_and_a_mapped_ipv4_is_its_ipv4() {
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:3::1")
        );
        assert_eq!(address_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key("-"), "-");
    }
}
