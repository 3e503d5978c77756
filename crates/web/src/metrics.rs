//! A small Prometheus registry: request counts and latencies by route, and decisions by level.
//! Hand-rolled (a few atomics and a mutex-free map per route) to keep the dependency tree lean.

use aftercare_core::Level;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::Duration;

/// Latency bucket upper bounds, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    routes: RwLock<HashMap<(String, String), Route>>,
    decisions: [AtomicU64; 4],
}

#[derive(Default)]
struct Route {
    count_by_class: [AtomicU64; 5],
    buckets: [AtomicU64; BUCKETS.len()],
    sum_micros: AtomicU64,
}

impl Metrics {
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let key = (method.to_string(), route.to_string());
        {
            let routes = self.routes.read().unwrap_or_else(|p| p.into_inner());
            if let Some(r) = routes.get(&key) {
                r.observe(status, elapsed);
                return;
            }
        }
        let mut routes = self.routes.write().unwrap_or_else(|p| p.into_inner());
        routes.entry(key).or_default().observe(status, elapsed);
    }

    pub fn observe_decision(&self, level: Level) {
        self.decisions[level.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out += "# HELP aftercare_http_requests_total HTTP requests by route and status class.\n";
        out += "# TYPE aftercare_http_requests_total counter\n";
        let routes = self.routes.read().unwrap_or_else(|p| p.into_inner());
        let mut keys: Vec<_> = routes.keys().collect();
        keys.sort();
        for key in &keys {
            let r = &routes[*key];
            for (i, c) in r.count_by_class.iter().enumerate() {
                let n = c.load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "aftercare_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}xx\"}} {n}",
                        key.0,
                        key.1,
                        i + 1
                    );
                }
            }
        }
        out += "# HELP aftercare_http_request_duration_seconds HTTP request latency.\n";
        out += "# TYPE aftercare_http_request_duration_seconds histogram\n";
        for key in &keys {
            let r = &routes[*key];
            let labels = format!("method=\"{}\",route=\"{}\"", key.0, key.1);
            let mut cumulative = 0;
            for (b, bound) in BUCKETS.iter().enumerate() {
                cumulative += r.buckets[b].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "aftercare_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let total: u64 = r
                .count_by_class
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .sum();
            let _ = writeln!(
                out,
                "aftercare_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {total}"
            );
            let sum = r.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "aftercare_http_request_duration_seconds_sum{{{labels}}} {sum}"
            );
            let _ = writeln!(
                out,
                "aftercare_http_request_duration_seconds_count{{{labels}}} {total}"
            );
        }
        out += "# HELP aftercare_decisions_total Triage decisions by level.\n";
        out += "# TYPE aftercare_decisions_total counter\n";
        for level in Level::DESCENDING {
            let n = self.decisions[level.index()].load(Ordering::Relaxed);
            let _ = writeln!(out, "aftercare_decisions_total{{level=\"{level}\"}} {n}");
        }
        out
    }
}

impl Route {
    fn observe(&self, status: u16, elapsed: Duration) {
        let class = (status / 100).clamp(1, 5) as usize - 1;
        self.count_by_class[class].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        if let Some(b) = BUCKETS.iter().position(|bound| secs <= *bound) {
            self.buckets[b].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }
}

/// The alerting gauges: what a monitoring rule pages on when alerts stop reaching people.
pub fn render_alerting(c: &aftercare_store::AlertingCounts) -> String {
    let gauges = [
        (
            "aftercare_outbox_pending",
            "Notifications waiting for their first or next attempt.",
            c.pending,
        ),
        (
            "aftercare_alerts_failed",
            "Alerts of unacknowledged escalations whose last delivery attempt failed.",
            c.failed_alerts,
        ),
        (
            "aftercare_escalations_unacknowledged",
            "Escalations nobody has acknowledged yet.",
            c.unacknowledged,
        ),
        (
            "aftercare_escalations_overdue",
            "Unacknowledged escalations already alerted again after the deadline.",
            c.overdue,
        ),
    ];
    let mut out = String::new();
    for (name, help, value) in gauges {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    out
}
