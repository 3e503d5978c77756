//! Operations endpoints: liveness, readiness (the database answers) and Prometheus metrics.

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up. Deliberately does no work: it is the baseline of the HTTP benchmark.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the store answers.
async fn readyz(State(state): State<AppState>) -> Result<&'static str, AppError> {
    state.app.ready().await?;
    Ok("ready")
}

/// Request and decision counters, and how alerting stands (read from the store on each
/// scrape, so every server of a cluster reports the shared outbox; left out while the store
/// does not answer, which `/readyz` reports).
///
/// The counters say how busy the clinic is and whether its alerts fail, so they are not for
/// everyone: with a token configured the scraper must send it; without one, only a scraper on
/// this machine that connects directly is answered (a reverse proxy on the same machine adds
/// forwarding headers, so a request from outside through it is refused too).
async fn metrics(
    State(state): State<AppState>,
    req: Request,
) -> Result<impl IntoResponse, AppError> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|p| p.0);
    if !may_scrape(&state, peer, req.headers()) {
        return Err(AppError::Unauthorized);
    }
    let mut body = state.metrics.render();
    if let Ok(counts) = state.app.alerts().counts().await {
        body += &crate::metrics::render_alerting(&counts);
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body))
}

fn may_scrape(state: &AppState, peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    match &state.settings.metrics_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .is_some_and(|(_, given)| {
                crate::staff::auth::constant_time_eq(given.trim().as_bytes(), token.as_bytes())
            }),
        None => {
            let forwarded = ["x-forwarded-for", "forwarded", "x-real-ip"]
                .iter()
                .any(|h| headers.contains_key(*h));
            // A listed proxy speaks for clients elsewhere, even from this machine.
            peer.map(|p| crate::proxy::canonical(p.ip()))
                .is_some_and(|ip| ip.is_loopback() && !state.settings.trusted_proxies.is_proxy(ip))
                && !forwarded
        }
    }
}
