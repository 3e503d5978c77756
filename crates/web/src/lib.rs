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
pub mod staff;
pub mod state;

pub use aftercare_app::{Clock, ManualClock, SystemClock};
pub use error::AppError;
pub use state::{AppState, Settings};

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

/// How long a client may take to send a request's headers, on a new connection and between
/// the requests of a kept-alive one: a connection that trickles its headers (slowloris) is
/// closed after this, not held open.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The most connections served at once; the next ones wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 4096;

/// Serves the app on `listener` until `shutdown` completes, then lets the requests in flight
/// finish. A hyper server of our own rather than `axum::serve`, which has no header-read
/// timeout: each connection gets one, and the number of connections is capped.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::extract::connect_info::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    // A procedure without a FHIR code must stop the start, not surface in an EHR.
    aftercare_fhir::codes::ProcedureCodes::check(&state.content).map_err(std::io::Error::other)?;
    match (
        &state.settings.cds_trust,
        state.settings.cds_unauthenticated,
    ) {
        (Some(_), _) => {}
        (None, true) => tracing::warn!(
            "CDS Hooks calls are NOT authenticated (--cds-unauthenticated): for development only"
        ),
        (None, false) => tracing::info!(
            "no CDS Hooks trust file (AFTERCARE_CDS_TRUST): every CDS Hooks call is refused"
        ),
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
    let app = app(state);
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    // Shutdown is signalled to every connection by dropping the sender.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, never spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service =
            app.clone()
                .map_request(move |req: axum::http::Request<hyper::body::Incoming>| {
                    let mut req = req.map(axum::body::Body::new);
                    req.extensions_mut().insert(ConnectInfo(remote));
                    req
                });
        let service = TowerToHyperService::new(service);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
            }
        });
    }
    drop(listener);
    hub.close();
    drop(stop_rx);
    drop(stop_tx);
    // Every connection task holds a permit until it ends: all permits back means drained.
    let _drained = slots.acquire_many(MAX_CONNECTIONS as u32).await;
    Ok(())
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
            match purge.app.purge_expired().await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "expired sessions purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging expired sessions failed"),
            }
        }
    });
    state
        .chat
        .listen_postgres(state.app.backend(), database_url)
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
