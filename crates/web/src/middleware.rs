//! The layers every request passes: a request id, a tracing span that never holds patient data
//! (method, route template and status only; no query strings, no bodies), metrics, a body limit,
//! a timeout and the security headers (HSTS too when the public URL is HTTPS).

use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The Content-Security-Policy of every page: our own scripts and styles only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

/// Request ids `<pid>-<n>`: unique across the servers of a clinic's logs on one host. The pid
/// is read once (each read is a system call).
#[derive(Clone)]
struct Counter {
    pid: u32,
    next: std::sync::Arc<AtomicU64>,
}

impl Default for Counter {
    fn default() -> Self {
        Counter {
            pid: std::process::id(),
            next: Default::default(),
        }
    }
}

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:x}-{n:x}", self.pid);
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// HSTS, sent only when the server's public URL is `https://` (`AFTERCARE_PUBLIC_URL`): a
/// browser that saw it keeps to HTTPS for a year, so a network attacker cannot strip TLS from
/// a later visit. Over plain HTTP (development) the header would be ignored or, worse, pin a
/// development host, so it is left out.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

pub fn wrap(router: Router, state: AppState) -> Router {
    let timeout = state.settings.request_timeout;
    let for_fallback = state.clone();
    let hsts = state.settings.public_url.starts_with("https://");
    router
        .fallback(move |req: Request| {
            crate::pages::errors::not_found(axum::extract::State(for_fallback.clone()), req)
        })
        .layer(middleware::from_fn_with_state(state, record_metrics))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "unmatched".into());
            let id = req
                .headers()
                .get(&X_REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string();
            tracing::info_span!("request", method = %req.method(), %route, request_id = %id)
        }))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        // Outside the timeout, so a request that timed out gets a problem body too.
        .layer(middleware::from_fn(plain_rejections_as_problems))
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(
            X_REQUEST_ID.clone(),
            Counter::default(),
        ))
        // Outside the id layer: a client's own `x-request-id` is dropped, so every id in the
        // logs is ours (a client could otherwise forge log lines or collide with others' ids).
        .layer(middleware::from_fn(drop_client_request_id))
        // Patient data must not stay in a browser's or a proxy's cache (ASVS 8.2.1); responses
        // that may be cached (the static files) say so themselves.
        .layer(header_layer(header::CACHE_CONTROL, "no-store"))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .layer(header_layer(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(header_layer(
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ))
        .layer(header_layer(
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ))
        .layer(middleware::map_response(
            move |mut res: Response| async move {
                if hsts {
                    res.headers_mut().insert(
                        header::STRICT_TRANSPORT_SECURITY,
                        HeaderValue::from_static(HSTS),
                    );
                }
                res
            },
        ))
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

async fn record_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(req).await;
    state.metrics.observe_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// axum answers some requests before any handler runs (a method the route does not have, a
/// path segment that is not UTF-8) with a plain-text or empty body. API clients are promised
/// RFC 9457 problems for every error, so on `/api/` those answers are rewritten as one, with
/// the same status and headers (`Allow` stays). Pages have their own error layer.
async fn plain_rejections_as_problems(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let response = next.run(req).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let detail = match String::from_utf8_lossy(&text).trim() {
        "" => status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase(),
        t => t.chars().take(300).collect(),
    };
    let problem = crate::error::Problem {
        kind: format!("/problems/http-{}", status.as_u16()),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail,
        field: None,
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// Removes a request id sent by the client, so that [`SetRequestIdLayer`] always makes one.
async fn drop_client_request_id(mut req: Request, next: middleware::Next) -> Response {
    req.headers_mut().remove(&X_REQUEST_ID);
    next.run(req).await
}
