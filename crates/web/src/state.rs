//! What every handler can reach: the clinical content, the application layer (and its clock), the metrics, the
//! settings and the live chat hub. Cheap to clone: one `Arc`, because every request clones it
//! (once for the metrics layer, once per handler).

use crate::metrics::Metrics;
use aftercare_app::{App, Clock};
use aftercare_core::{Content, Level};
use aftercare_store::Store;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

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
    /// The EHRs whose CDS Hooks tokens we accept; `None`: every CDS call is refused, unless
    /// `cds_unauthenticated` is set.
    pub cds_trust: Option<Arc<crate::cds_trust::CdsTrust>>,
    /// Development only (`--cds-unauthenticated`): without a trust file, CDS calls are served
    /// without any token. Off by default: a server that forgot its trust file fails closed.
    pub cds_unauthenticated: bool,
    /// The FHIR servers the CDS service may fetch missing prefetch from
    /// (`AFTERCARE_CDS_FHIR_SERVERS`); `None`: it never fetches, the prefetch is required.
    pub cds_fhir_servers: Option<Arc<crate::cds_fetch::FhirFetcher>>,
    /// How long a staff session lasts from login (`AFTERCARE_STAFF_SESSION_HOURS`, 12 by
    /// default: a working shift).
    pub staff_session_ttl: chrono::Duration,
    /// The reverse proxies whose `X-Forwarded-For` names the client
    /// (`AFTERCARE_TRUSTED_PROXIES`); empty: the TCP peer is the client.
    pub trusted_proxies: crate::proxy::TrustedProxies,
    /// The bearer token `/metrics` asks for (`AFTERCARE_METRICS_TOKEN`); `None`: only a
    /// direct scraper on this machine is answered.
    pub metrics_token: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: "http://127.0.0.1:8080".into(),
            secure_cookies: true,
            request_timeout: Duration::from_secs(30),
            emergency_number: "112".into(),
            cds_trust: None,
            cds_unauthenticated: false,
            cds_fhir_servers: None,
            staff_session_ttl: chrono::Duration::hours(12),
            trusted_proxies: Default::default(),
            metrics_token: None,
        }
    }
}

/// The state handlers extract; fields are reached through [`Shared`] by `Deref`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub content: Arc<Content>,
    /// The application layer: every read and write of records goes through it.
    pub app: App,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<Settings>,
    /// Live chat fan-out (and, on PostgreSQL, the LISTEN task feeding it).
    pub chat: crate::staff::ChatHub,
    /// The clinic workspace's process state (login limits).
    pub staff: Arc<crate::staff::StaffState>,
    /// Templates, education texts and rate limits of the pages.
    pub pages: Arc<crate::pages::PageState>,
}

impl AppState {
    /// The state on the real clock.
    pub fn new(content: Content, store: Arc<dyn Store>, settings: Settings) -> AppState {
        AppState::builder(content, store, settings).build()
    }

    /// For a state on another clock (tests move time with `aftercare_app::ManualClock`).
    pub fn builder(content: Content, store: Arc<dyn Store>, settings: Settings) -> Builder {
        Builder {
            content: Arc::new(content),
            store,
            settings,
            clock: None,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.app.now()
    }
}

/// Builds an [`AppState`]; see [`AppState::builder`].
pub struct Builder {
    content: Arc<Content>,
    store: Arc<dyn Store>,
    settings: Settings,
    clock: Option<Arc<dyn Clock>>,
}

impl Builder {
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Builder {
        self.clock = Some(clock);
        self
    }

    pub fn build(self) -> AppState {
        let metrics = Arc::new(Metrics::default());
        let mut app = App::new(self.content.clone(), self.store)
            .with_observer(Arc::new(Observed(metrics.clone())))
            .with_emergency_number(&self.settings.emergency_number);
        if let Some(clock) = self.clock {
            app = app.with_clock(clock);
        }
        AppState(Arc::new(Shared {
            content: self.content,
            app,
            metrics,
            settings: Arc::new(self.settings),
            chat: crate::staff::ChatHub::new(),
            staff: Arc::new(crate::staff::StaffState::default()),
            pages: Arc::new(crate::pages::PageState::new()),
        }))
    }
}

/// The engine's decisions, counted by level for `/metrics`.
struct Observed(Arc<Metrics>);

impl aftercare_app::DecisionObserver for Observed {
    fn decided(&self, level: Level) {
        self.0.observe_decision(level);
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
