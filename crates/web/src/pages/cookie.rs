//! Building `Set-Cookie` headers in one place, so every cookie the pages set is HttpOnly,
//! SameSite and (unless the server runs in insecure development mode) Secure.

use axum::http::HeaderValue;

/// How a cookie is sent.
#[derive(Debug, Clone, Copy)]
pub struct CookieOptions {
    pub secure: bool,
    /// Seconds; `None`: until the browser closes. `Some(0)` deletes it.
    pub max_age: Option<i64>,
    /// `Strict` or `Lax`.
    pub same_site: &'static str,
}

/// A `Set-Cookie` value for `name=value`, path `/`, HttpOnly. `value` must be a cookie-safe
/// token (the callers only pass tokens they made or validated).
pub fn set(name: &str, value: &str, opts: CookieOptions) -> Option<HeaderValue> {
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    let mut s = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite={}",
        opts.same_site
    );
    if let Some(age) = opts.max_age {
        s.push_str(&format!("; Max-Age={age}"));
    }
    if opts.secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).ok()
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear(name: &str, secure: bool) -> Option<HeaderValue> {
    set(
        name,
        "",
        CookieOptions {
            secure,
            max_age: Some(0),
            same_site: "Lax",
        },
    )
}
