//! Operations endpoints: liveness, readiness (the database answers) and Prometheus metrics.

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

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
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = state.metrics.render();
    if let Ok(counts) = state.app.alerts().counts().await {
        body += &crate::metrics::render_alerting(&counts);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
