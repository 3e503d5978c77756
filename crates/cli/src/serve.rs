//! `aftercare serve`, `migrate` and `backup`: the server's configuration and start-up.

use aftercare_app::App;
use aftercare_web::{AppState, Settings};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where the data lives. `DATABASE_URL` wins; otherwise a SQLite file in the data directory.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// The data directory of the embedded SQLite database (created if missing).
    #[arg(long, env = "AFTERCARE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// A database URL (`postgres://...` or `sqlite:...`); overrides --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl DbArgs {
    pub fn url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        // Aftercare's own directory: health data and link tokens, for its owner only.
        {
            use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.data_dir)
                .and_then(|()| {
                    std::fs::set_permissions(&self.data_dir, std::fs::Permissions::from_mode(0o700))
                })
                .with_context(|| {
                    format!(
                        "cannot create the data directory {}",
                        self.data_dir.display()
                    )
                })?;
        }
        Ok(format!(
            "sqlite:{}",
            self.data_dir.join("aftercare.db").display()
        ))
    }

    /// The application layer over this database, its schema brought up to date: what every
    /// command but `serve` works through.
    pub async fn app(&self, content: Arc<aftercare_core::Content>) -> anyhow::Result<App> {
        Ok(App::new(content, self.open().await?))
    }

    /// The store, connected and migrated, for `serve` to wire into its state.
    pub async fn open(&self) -> anyhow::Result<Arc<dyn aftercare_store::Store>> {
        let url = self.url()?;
        let store = aftercare_store::connect(&url)
            .await
            .with_context(|| format!("cannot open the database ({})", redact(&url)))?;
        store
            .migrate()
            .await
            .context("cannot apply the migrations")?;
        Ok(store)
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The address to listen on.
    #[arg(long, env = "AFTERCARE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The base URL clients see (links in pages, the CDS Hooks audience).
    #[arg(long, env = "AFTERCARE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Send cookies without the Secure attribute (plain-HTTP development on another host only;
    /// browsers accept Secure cookies from localhost).
    #[arg(long, env = "AFTERCARE_INSECURE_COOKIES")]
    pub insecure_cookies: bool,
    /// The longest a request may take before it is answered 503.
    #[arg(long, env = "AFTERCARE_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// The emergency telephone number the pages offer (e.g. 112, 911, 999).
    #[arg(long, env = "AFTERCARE_EMERGENCY_NUMBER", default_value = "112")]
    pub emergency_number: String,
    /// How long a staff login lasts, in hours.
    #[arg(long, env = "AFTERCARE_STAFF_SESSION_HOURS", default_value_t = 12)]
    pub staff_session_hours: u32,

    /// A JSON file listing the EHRs whose CDS Hooks tokens are accepted
    /// (`[{"iss": ..., "jwks": {"keys": [...]}, "jku": [...]}]`). Without it, every CDS call
    /// is refused (401), unless `--cds-unauthenticated` is given.
    #[arg(long, env = "AFTERCARE_CDS_TRUST", value_name = "FILE")]
    pub cds_trust: Option<PathBuf>,

    /// A secret that Prometheus sends as `Authorization: Bearer ...` to scrape `/metrics`.
    /// Without it, `/metrics` answers only a scraper on this machine that connects directly
    /// (a loopback peer, no forwarding headers).
    #[arg(long, env = "AFTERCARE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Development only: without a trust file, serve CDS Hooks calls without any token. The
    /// start-up log says so.
    #[arg(long, env = "AFTERCARE_CDS_UNAUTHENTICATED")]
    pub cds_unauthenticated: bool,

    /// FHIR base URLs, comma-separated, that the CDS service may fetch a missing prefetch from,
    /// using the request's `fhirServer` and `fhirAuthorization` token (CDS Hooks 2.0). A
    /// `fhirServer` must be one of these or below one (same scheme, host, port and path prefix);
    /// any other is never contacted (412). https only; plain http only to a loopback address
    /// (development). Without this setting nothing is fetched and the prefetch is required.
    #[arg(
        long,
        env = "AFTERCARE_CDS_FHIR_SERVERS",
        value_name = "URL,...",
        value_delimiter = ','
    )]
    pub cds_fhir_servers: Vec<String>,

    /// The reverse proxies in front of Aftercare (TLS termination, load balancers), as
    /// addresses or networks, comma-separated (e.g. `10.0.0.0/8,192.168.1.7`). For a request
    /// from one of them, the client is the last address in `X-Forwarded-For` that is not one of
    /// them: what the per-address limits and the audit log use. Without it, the TCP peer is the
    /// client and `X-Forwarded-For` is ignored.
    #[arg(
        long,
        env = "AFTERCARE_TRUSTED_PROXIES",
        value_name = "NETWORK,...",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,

    /// The SMTP server alerts and patient emails go through: `smtp://127.0.0.1:2525` (no
    /// TLS, a local relay), `smtp://user:pass@host:587?tls=required` or `smtps://user:pass@host`.
    /// Without it, email messages wait in the outbox and show as failing in the delivery log.
    #[arg(
        long,
        env = "AFTERCARE_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,

    /// The From address of Aftercare's emails.
    #[arg(
        long,
        env = "AFTERCARE_MAIL_FROM",
        default_value = "Aftercare <aftercare@localhost>"
    )]
    pub mail_from: String,

    /// How often the delivery worker looks for due alerts and messages, in seconds.
    #[arg(long, env = "AFTERCARE_DELIVERY_INTERVAL_SECS", default_value_t = 5)]
    pub delivery_interval_secs: u64,
}

/// Reads the CDS Hooks trust file, naming the file on error.
fn cds_trust(
    path: Option<&Path>,
) -> anyhow::Result<Option<Arc<aftercare_web::cds_trust::CdsTrust>>> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("AFTERCARE_CDS_TRUST: cannot read {}", path.display()))?;
    let trust = aftercare_web::cds_trust::CdsTrust::from_json(&text)
        .map_err(|e| anyhow::anyhow!("AFTERCARE_CDS_TRUST ({}): {e}", path.display()))?;
    Ok(Some(Arc::new(trust)))
}

/// The FHIR servers the CDS service may fetch from; `None` when none is configured.
fn cds_fhir_servers(
    urls: &[String],
) -> anyhow::Result<Option<Arc<aftercare_web::cds_fetch::FhirFetcher>>> {
    if urls.iter().all(|u| u.trim().is_empty()) {
        return Ok(None);
    }
    let fetcher = aftercare_web::cds_fetch::FhirFetcher::new(urls, Default::default())
        .map_err(|e| anyhow::anyhow!("AFTERCARE_CDS_FHIR_SERVERS: {e}"))?;
    Ok(Some(Arc::new(fetcher)))
}

pub fn serve(content: aftercare_core::Content, args: ServeArgs) -> anyhow::Result<()> {
    let valid_number = !args.emergency_number.is_empty()
        && args.emergency_number.len() <= 20
        && args
            .emergency_number
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'+');
    if !valid_number {
        anyhow::bail!("AFTERCARE_EMERGENCY_NUMBER: digits (and a leading +) only");
    }
    let cds_trust = cds_trust(args.cds_trust.as_deref())?;
    let cds_fhir_servers = cds_fhir_servers(&args.cds_fhir_servers)?;
    let trusted_proxies = aftercare_web::proxy::TrustedProxies::parse(&args.trusted_proxies)
        .map_err(|e| anyhow::anyhow!("AFTERCARE_TRUSTED_PROXIES: {e}"))?;
    runtime()?.block_on(async move {
        let store = args.db.open().await?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let local = listener.local_addr()?;
        let settings = Settings {
            public_url: args.public_url.unwrap_or_else(|| format!("http://{local}")),
            secure_cookies: !args.insecure_cookies,
            request_timeout: Duration::from_secs(args.request_timeout_secs),
            emergency_number: args.emergency_number,
            staff_session_ttl: chrono::Duration::hours(i64::from(args.staff_session_hours.max(1))),
            cds_trust,
            cds_unauthenticated: args.cds_unauthenticated,
            cds_fhir_servers,
            metrics_token: args.metrics_token.filter(|t| !t.trim().is_empty()),
            trusted_proxies,
        };
        let couriers = aftercare_notify::Couriers::new(&aftercare_notify::Config {
            smtp_url: args.smtp_url.filter(|u| !u.trim().is_empty()),
            mail_from: args.mail_from,
            public_url: settings.public_url.clone(),
        })?;
        let state = AppState::new(content, store, settings);
        aftercare_web::start_background(&state, &args.db.url()?)
            .await
            .context("cannot start listening for chat messages")?;
        tokio::spawn(aftercare_app::alerts::run_worker(
            state.app.clone(),
            Arc::new(couriers),
            Duration::from_secs(args.delivery_interval_secs.clamp(1, 60)),
            std::future::pending(),
        ));
        tracing::info!(%local, content_version = %state.content.version, "aftercare is listening");
        println!("aftercare listening on http://{local}");
        aftercare_web::serve(listener, state, aftercare_web::shutdown_signal())
            .await
            .context("server error")
    })
}

pub fn migrate(content: aftercare_core::Content, db: DbArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        db.app(Arc::new(content))
            .await?
            .migrate()
            .await
            .context("cannot apply the migrations")?;
        println!("migrations applied");
        Ok(())
    })
}

/// `aftercare backup FILE`: a copy of the database, audited as the system's.
pub fn backup(content: aftercare_core::Content, db: DbArgs, file: &Path) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        db.app(Arc::new(content))
            .await?
            .backup(&aftercare_app::Actor::system(), file)
            .await
            .with_context(|| format!("backup to {} failed", file.display()))?;
        println!("backup written to {}", file.display());
        Ok(())
    })
}

/// `aftercare export --patient ID`: the patient's record as a FHIR R4 Bundle on standard output.
pub fn export(
    content: aftercare_core::Content,
    db: DbArgs,
    patient: &str,
    public_url: &str,
) -> anyhow::Result<()> {
    aftercare_fhir_check(&content)?;
    runtime()?.block_on(async move {
        let app = db.app(Arc::new(content)).await?;
        let found = app
            .patients()
            .get(patient)
            .await
            .context("cannot read the patient")?
            .ok_or_else(|| anyhow::anyhow!("no patient with id {patient}"))?;
        let canonical = aftercare_fhir::Canonical::new(public_url);
        let bundle = app
            .export()
            .patient_bundle(
                &aftercare_app::Actor::system(),
                &canonical,
                &found,
                Some("aftercare export".into()),
            )
            .await
            .context("cannot export the patient's record")?;
        println!("{}", serde_json::to_string_pretty(&bundle)?);
        Ok(())
    })
}

fn aftercare_fhir_check(content: &aftercare_core::Content) -> anyhow::Result<()> {
    aftercare_fhir::codes::ProcedureCodes::check(content).map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
