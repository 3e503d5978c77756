//! Error pages. Handlers of this router return [`AppError`]s like the API's; this layer turns
//! any `application/problem+json` response of the pages into an HTML page in the visitor's
//! language that says what to do next, with the same status. Detail stays in the log.

use super::layout::{base, no_store};
use crate::lang;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{json, Value};

/// The language of an error page: `?lang=`, then the request's cookie and Accept-Language.
fn request_lang(state: &AppState, req: &Request) -> aftercare_core::Lang {
    let explicit = req
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "lang").map(|(_, v)| v));
    lang::negotiate(&state.content, explicit.as_deref(), req.headers())
}

/// The text key of an error page for `status` (the pages' `ui` and the workspace's texts use
/// the same names).
pub fn error_key(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "error_unauthorized",
        StatusCode::FORBIDDEN => "error_forbidden",
        StatusCode::NOT_FOUND => "error_not_found",
        StatusCode::TOO_MANY_REQUESTS => "error_rate_limited",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "error_invalid",
        StatusCode::SERVICE_UNAVAILABLE => "error_unavailable",
        _ => "error_internal",
    }
}

pub async fn html_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let lang = request_lang(&state, &req);
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    if !is_problem(&response) {
        return response;
    }
    let status = response.status();
    let key = error_key(status);
    let mut ctx = base(&state, lang, &path, None, None);
    ctx.insert("status".into(), json!(status.as_u16()));
    ctx.insert("error_key".into(), json!(key));
    ctx.insert(
        "show_start".into(),
        json!(status == StatusCode::UNAUTHORIZED),
    );
    render_error_page(&state, "error.html", ctx, status, &response)
}

/// Whether a response is an API problem body, which the HTML error pages replace.
pub fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/problem+json"))
}

/// Renders an error page in place of `response`, keeping the cookies it set (a refreshed CSRF
/// token, a cleared session). Shared with the clinic workspace's error pages.
pub fn render_error_page(
    state: &AppState,
    template: &str,
    ctx: serde_json::Map<String, Value>,
    status: StatusCode,
    response: &Response,
) -> Response {
    match state.pages.templates.render(template, Value::Object(ctx)) {
        Ok(html) => {
            let mut out = (status, no_store(), Html(html)).into_response();
            for v in response.headers().get_all(header::SET_COOKIE) {
                out.headers_mut().append(header::SET_COOKIE, v.clone());
            }
            out
        }
        Err(e) => {
            tracing::error!(error = %e, "the error page cannot be rendered");
            (status, "Error").into_response()
        }
    }
}

/// The answer to an address nothing serves: for a browser (it asks for HTML, and the address
/// is not one of the API's), a page in her language with a way back; for everyone else the
/// JSON problem body.
pub async fn not_found(State(state): State<AppState>, req: Request) -> Response {
    let api = ["/api/", "/fhir", "/cds-services", "/.well-known/"]
        .iter()
        .any(|p| req.uri().path().starts_with(p));
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let problem = crate::error::AppError::NotFound.into_response();
    if api || !wants_html {
        return problem;
    }
    let lang = request_lang(&state, &req);
    let mut ctx = base(&state, lang, req.uri().path(), None, None);
    ctx.insert("status".into(), json!(404));
    ctx.insert("error_key".into(), json!("error_not_found"));
    ctx.insert("show_start".into(), json!(false));
    render_error_page(&state, "error.html", ctx, StatusCode::NOT_FOUND, &problem)
}
