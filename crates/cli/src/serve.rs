//! `aftercare serve`, `migrate` and `backup`: the server's configuration and start-up.

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
        std::fs::create_dir_all(&self.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                self.data_dir.display()
            )
        })?;
        Ok(format!(
            "sqlite:{}",
            self.data_dir.join("aftercare.db").display()
        ))
    }

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
        };
        let state = AppState::new(content, store, settings);
        aftercare_web::start_background(&state, &args.db.url()?)
            .await
            .context("cannot start listening for chat messages")?;
        tracing::info!(%local, content_version = %state.content.version, "aftercare is listening");
        println!("aftercare listening on http://{local}");
        aftercare_web::serve(listener, state, aftercare_web::shutdown_signal())
            .await
            .context("server error")
    })
}

pub fn migrate(db: DbArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        db.open().await?;
        println!("migrations applied");
        Ok(())
    })
}

pub fn backup(db: DbArgs, file: &Path) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        let store = db.open().await?;
        store
            .backup_to(file)
            .await
            .with_context(|| format!("backup to {} failed", file.display()))?;
        println!("backup written to {}", file.display());
        Ok(())
    })
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
