//! The one stylesheet and the one script, embedded in the binary and served with a year-long
//! immutable cache. Their URLs carry a digest of their content, so a new build is fetched anew.

use crate::error::AppError;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

pub const CSS: &str = include_str!("../../static/app.css");
pub const JS: &str = include_str!("../../static/app.js");
pub const ICON: &str = include_str!("../../static/icon.svg");

fn digest(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// `/static/app.css?v=<digest>` and `/static/app.js?v=<digest>`.
pub fn urls() -> &'static (String, String) {
    static URLS: OnceLock<(String, String)> = OnceLock::new();
    URLS.get_or_init(|| {
        (
            format!("/static/app.css?v={}", digest(CSS)),
            format!("/static/app.js?v={}", digest(JS)),
        )
    })
}

pub async fn serve(Path(file): Path<String>) -> Result<Response, AppError> {
    let (body, kind) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        "icon.svg" => (ICON, "image/svg+xml"),
        _ => return Err(AppError::NotFound),
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response())
}
