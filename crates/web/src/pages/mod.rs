//! The patient's web app: server-rendered HTML pages that work without JavaScript, in every
//! language of the content, on a phone held in one hand.
//!
//! # Building blocks (reused by the clinic workspace)
//!
//! - [`templates`]: one `minijinja` environment built at start-up from templates embedded in the
//!   binary (`crates/web/templates/`), auto-escaping every `.html` and `.svg` template. Pages
//!   render with [`Ctx::render`], which adds the common context (language, UI words `t`, CSRF
//!   token, announcement, language links) to the page's own. The layout is `base.html`, with the
//!   blocks `title`, `top` (before the header: the emergency call), `main` and `scripts`.
//! - [`csrf`]: a double-submit token: an HttpOnly cookie and a hidden `_csrf` form field (or an
//!   `x-csrf-token` header) that must match on every POST, PUT, PATCH and DELETE that reaches
//!   this router. Templates get the token as `csrf`; include `{{ csrf_field() }}`-like markup by
//!   writing `<input type="hidden" name="_csrf" value="{{ csrf }}">` in each form.
//! - [`layout`]: the per-request context ([`Ctx`]) every page handler takes.
//! - `/static/app.css` and `/static/app.js`: the one stylesheet and script, embedded, served with
//!   a year-long immutable cache; their URLs carry a digest of their content (`static_css`,
//!   `static_js` in templates).
//! - Errors: a handler returns `Result<Response, AppError>`; the [`errors`] layer turns any error
//!   response of this router into an HTML page in the visitor's language.
//!
//! Patient identity is the secret token of her personal link, kept in an HttpOnly, Secure,
//! SameSite=Lax cookie ([`session`]); every read or write of her data is audited.

pub mod appointments;
pub mod chart;
pub mod checkin;
pub mod contact;
pub mod cookie;
pub mod csrf;
pub mod decision;
pub mod diary;
pub mod education;
pub mod errors;
pub mod form;
pub mod layout;
pub mod session;
pub mod static_files;
pub mod templates;
pub mod trail;

pub use layout::Ctx;

use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;
use std::time::Duration;

/// What the pages keep for the life of the server: the templates, the education texts and the
/// rate limits.
pub struct PageState {
    pub templates: templates::Templates,
    pub education: education::Library,
    /// Contact form submissions per client address.
    pub contact_limit: crate::limit::RateLimit,
    /// Enrolment code attempts (codes are short: guessing must be slow).
    pub code_limit: CodeLimits,
}

/// Limits on enrolment code attempts: per client address, per network (an IPv4 /24 or an IPv6
/// /64, so rotating addresses within one's own range does not help), for the whole server, and
/// per code typed (so many addresses cannot share the work of guessing one code).
pub struct CodeLimits {
    address: crate::limit::RateLimit,
    network: crate::limit::RateLimit,
    overall: crate::limit::RateLimit,
    code: crate::limit::RateLimit,
}

impl Default for CodeLimits {
    fn default() -> CodeLimits {
        let ten_minutes = Duration::from_secs(600);
        CodeLimits {
            address: crate::limit::RateLimit::new("code.address", 10, ten_minutes),
            network: crate::limit::RateLimit::new("code.network", 30, ten_minutes),
            // Wide: it only caps a guesser spread over many networks, never one clinic's patients.
            overall: crate::limit::RateLimit::new("code.overall", 6000, ten_minutes),
            code: crate::limit::RateLimit::new("code.code", 5, Duration::from_secs(3600)),
        }
    }
}

impl CodeLimits {
    /// Whether one more attempt with `code` from `address` is allowed (and counts it), here
    /// and in the count the servers share.
    pub async fn allow(
        &self,
        app: &aftercare_app::App,
        address: &str,
        code: &str,
    ) -> Result<bool, crate::error::AppError> {
        let address = crate::limit::address_key(address);
        let network = crate::limit::network_key(&address);
        crate::limit::take(
            app,
            &[
                (&self.address, address.as_str()),
                (&self.network, network.as_str()),
                (&self.overall, "*"),
                (&self.code, code),
            ],
        )
        .await
    }
}

impl PageState {
    pub fn new() -> PageState {
        PageState {
            templates: templates::Templates::new(),
            education: education::Library::bundled(),
            contact_limit: crate::limit::RateLimit::new(
                "contact.address",
                5,
                Duration::from_secs(600),
            ),
            code_limit: CodeLimits::default(),
        }
    }
}

impl Default for PageState {
    fn default() -> Self {
        PageState::new()
    }
}

/// The pages' routes with their layers: CSRF on every unsafe request, HTML error pages.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(session::home))
        .route("/start", get(session::start_form).post(session::start))
        .route(
            "/p/{token}",
            get(session::link_page).post(session::open_link),
        )
        .route("/signout", post(session::sign_out))
        .route("/me", get(session::me))
        .route("/me/email", post(session::save_email))
        .route(
            "/me/appointments",
            get(appointments::page).post(appointments::request),
        )
        .route(
            "/me/appointments/{appointment}/accept",
            post(appointments::accept),
        )
        .route(
            "/me/appointments/{appointment}/cancel",
            post(appointments::cancel),
        )
        .route("/me/checkins/{id}", get(decision::stored))
        .route("/me/diary", get(diary::page).post(diary::write))
        .route("/checkin", get(checkin::begin).post(checkin::step))
        .route("/checkin/save", post(checkin::save))
        .route("/learn", get(education::index))
        .route("/learn/{slug}", get(education::page))
        .route("/contact", get(contact::form).post(contact::submit))
        .route("/static/{file}", get(static_files::serve))
        // Exempt from the CSRF check (see `csrf::protect`): mail clients post it.
        .route(
            "/unsubscribe/{token}",
            get(session::unsubscribe_page).post(session::unsubscribe),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::protect,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            errors::html_errors,
        ))
}

#[cfg(test)]
mod tests {
    use super::CodeLimits;
    use std::sync::Arc;

    #[tokio::test]
    async fn rotating_addresses_or_sharing_one_code_does_not_escape_the_code_limits() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite:{}", dir.path().join("t.db").display());
        let store = aftercare_store::connect(&url).await.expect("store");
        store.migrate().await.expect("migrate");
        let content = Arc::new(aftercare_core::Content::bundled().expect("content"));
        let app = aftercare_app::App::new(content, store);
        let limits = CodeLimits::default();
        let allow = |address: String, code: String| {
            let (limits, app) = (&limits, &app);
            async move { limits.allow(app, &address, &code).await.expect("counted") }
        };
        // 30 guesses from one /24, each from a new address and with a new code: the 31st waits.
        for i in 0..30 {
            assert!(
                allow(format!("198.51.100.{i}"), format!("CODE{i:04}")).await,
                "{i}"
            );
        }
        assert!(!allow("198.51.100.77".into(), "CODE9999".into()).await);
        // One code tried from many networks: the sixth try waits.
        for i in 0..5 {
            assert!(
                allow(format!("203.0.{i}.1"), "ABCDEFGH".into()).await,
                "{i}"
            );
        }
        assert!(!allow("203.0.99.1".into(), "ABCDEFGH".into()).await);
        // Others are not held up by either.
        assert!(allow("192.0.2.1".into(), "HGFEDCBA".into()).await);
    }
}
