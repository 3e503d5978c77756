//! What every handler can reach: the clinical content, the store, the clock, the metrics and the
//! settings. Cheap to clone (everything is behind an `Arc`).

use crate::metrics::Metrics;
use aftercare_core::Content;
use aftercare_store::Store;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// The time source. Handlers never read the system clock directly, so tests can fix "now".
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Settings the handlers need (the CLI builds them from flags and environment).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The externally visible base URL, e.g. `http://127.0.0.1:8080` (links, CDS Hooks `aud`).
    pub public_url: String,
    /// Cookies get the `Secure` attribute (on by default; off only for plain-HTTP development).
    pub secure_cookies: bool,
    pub request_timeout: Duration,
    /// The emergency telephone number the pages offer as a button (`AFTERCARE_EMERGENCY_NUMBER`;
    /// 112, the EU and GSM standard, by default).
    pub emergency_number: String,
    /// The EHRs whose CDS Hooks tokens we accept; `None`: calls are not authenticated.
    pub cds_trust: Option<Arc<crate::cds_trust::CdsTrust>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: "http://127.0.0.1:8080".into(),
            secure_cookies: true,
            request_timeout: Duration::from_secs(30),
            emergency_number: "112".into(),
            cds_trust: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub content: Arc<Content>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<Settings>,
    /// Templates, education texts and rate limits of the pages.
    pub pages: Arc<crate::pages::PageState>,
}

impl AppState {
    pub fn new(content: Content, store: Arc<dyn Store>, settings: Settings) -> AppState {
        AppState {
            content: Arc::new(content),
            store,
            clock: Arc::new(SystemClock),
            metrics: Arc::new(Metrics::default()),
            settings: Arc::new(settings),
            pages: Arc::new(crate::pages::PageState::new()),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
