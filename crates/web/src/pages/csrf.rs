//! Cross-site request forgery protection for every form, as a layer: a double-submit token.
//!
//! The first page a browser gets sets an HttpOnly, SameSite=Lax cookie `aftercare_csrf`
//! holding a random token; pages put the same token in a hidden `_csrf` field of every form
//! (templates get it as `csrf`). On every unsafe request (POST, PUT, PATCH, DELETE) [`protect`]
//! compares the field (or an `x-csrf-token` header, for scripts) with the cookie, in constant
//! time, and refuses a mismatch with 403 before the handler runs. A site that cannot read our
//! cookie cannot forge the field. Handlers read the token with the [`CsrfToken`] extractor.
//!
//! The clinic workspace uses the same layer: merge its routes under a router wrapped like
//! `pages::router`, and write `<input type="hidden" name="_csrf" value="{{ csrf }}">` in forms.

use super::cookie::{self, CookieOptions};
use crate::error::AppError;
use crate::lang;
use crate::middleware::BODY_LIMIT;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub const COOKIE: &str = "aftercare_csrf";
pub const FIELD: &str = "_csrf";
pub const HEADER: &str = "x-csrf-token";

/// The request's CSRF token (set by [`protect`]).
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .ok_or_else(|| AppError::Internal("the CSRF layer is missing".into()))
    }
}

/// A new random token (two v4 UUIDs: 244 random bits), cookie-safe.
pub fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn well_formed(t: &str) -> bool {
    t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Compares two strings in time independent of where they differ.
pub fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The layer: makes sure the browser has a token, and checks it on unsafe requests.
pub async fn protect(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/static/") {
        return next.run(req).await;
    }
    let existing = lang::cookie(req.headers(), COOKIE).filter(|t| well_formed(t));
    // One-click unsubscribe (RFC 8058) is posted by mail clients, with no cookie and no token:
    // the secret in its path is the proof, and all it can do is stop her emails.
    let one_click = req.uri().path().starts_with("/unsubscribe/");
    let unsafe_method =
        !one_click && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let (mut parts, body) = req.into_parts();
    let body = if unsafe_method {
        let Some(expected) = existing.as_deref() else {
            return AppError::Forbidden.into_response();
        };
        let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
            Ok(b) => b,
            Err(_) => return AppError::PayloadTooLarge.into_response(),
        };
        let from_header = parts
            .headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let sent = from_header.or_else(|| {
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v))
        });
        if !sent.is_some_and(|s| equal(&s, expected)) {
            tracing::info!("request refused: CSRF token missing or wrong");
            return AppError::Forbidden.into_response();
        }
        // Every form field is text a person typed: a control character in it is refused here,
        // for all forms at once, naming the field (PostgreSQL cannot even store NUL).
        let bad = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| {
                pairs.into_iter().find(|(k, v)| {
                    crate::extract::has_control_char(k) || crate::extract::has_control_char(v)
                })
            });
        if let Some((field, _)) = bad {
            let field: String = field.chars().filter(|c| !c.is_control()).collect();
            return AppError::bad_field(
                &field,
                format!("{field}: control characters are not allowed"),
            )
            .into_response();
        }
        Body::from(bytes)
    } else {
        body
    };
    let (token, fresh) = match existing {
        Some(t) => (t, false),
        None => (new_token(), true),
    };
    parts.extensions.insert(CsrfToken(token.clone()));
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if fresh {
        let opts = CookieOptions {
            secure: state.settings.secure_cookies,
            max_age: None,
            same_site: "Lax",
        };
        if let Some(v) = cookie::set(COOKIE, &token, opts) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}
