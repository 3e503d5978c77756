//! The Aftercare server: everything HTTP around the clinical core and the store.
//!
//! `main` (in the CLI crate) only wires configuration, tracing, the store and migrations; this
//! crate builds the router from an [`AppState`] and serves it on a listener it is given, with a
//! shutdown future it is given. Integration tests use the very same [`serve`] on port 0.

pub mod api;
pub mod audit;
pub mod cds;
pub mod cds_fetch;
pub mod cds_trust;
pub mod error;
pub mod escalate;
pub mod extract;
pub mod fhir;
pub mod lang;
pub mod limit;
pub mod metrics;
pub mod middleware;
pub mod ops;
pub mod pages;
pub mod patient;
pub mod proxy;
pub mod service;
pub mod staff;
pub mod state;

pub use error::AppError;
pub use state::{AppState, Clock, Settings, SystemClock};

use axum::Router;
use std::future::Future;
use tokio::net::TcpListener;

/// The whole application router, with its middleware.
pub fn app(state: AppState) -> Router {
    let router = Router::new()
        .merge(ops::router())
        .merge(api::router_with_document())
        .merge(pages::router(&state))
        .merge(fhir::router().merge(cds::router()))
        .merge(staff::router(&state))
        .with_state(state.clone());
    middleware::wrap(router, state)
}

/// Serves the app until `shutdown` completes, then drains in-flight requests (bounded by the
/// request timeout, so draining cannot hang).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // A procedure without a FHIR code must stop the start, not surface in an EHR.
    aftercare_fhir::codes::ProcedureCodes::check(&state.content).map_err(std::io::Error::other)?;
    if state.settings.cds_trust.is_none() {
        tracing::warn!(
            "no CDS Hooks trust file (AFTERCARE_CDS_TRUST): CDS calls are not authenticated"
        );
    }
    if let Some(servers) = &state.settings.cds_fhir_servers {
        tracing::info!(
            ?servers,
            "CDS Hooks may fetch missing prefetch from these FHIR servers"
        );
    }
    // Open chat streams never end by themselves: close them when shutdown starts, so draining
    // can finish.
    let hub = state.chat.clone();
    let shutdown = async move {
        shutdown.await;
        hub.close();
    };
    let app = app(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Start-up work that needs the database URL: on PostgreSQL, the task that LISTENs for chat
/// messages posted through other servers (see [`staff::live`]); and an hourly task deleting
/// expired staff sessions. Call before [`serve`].
pub async fn start_background(state: &AppState, database_url: &str) -> Result<(), AppError> {
    let purge = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            match purge.store.purge_expired(purge.now()).await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "expired sessions purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging expired sessions failed"),
            }
        }
    });
    state
        .chat
        .listen_postgres(state.store.backend(), database_url)
        .await
        .map_err(|e| AppError::Internal(format!("chat listener: {e}")))
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received, draining");
}
