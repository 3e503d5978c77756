//! Rendering the workspace's pages, on the patient pages' building blocks: the same template
//! environment (auto-escaped), the same `base.html` layout and stylesheet, the same CSRF layer.
//! The workspace speaks the language its reader chose on her account page (else her browser's);
//! its words are the `[workspace]` texts of the content, `w` in the templates. Patient-facing
//! texts it shows, such as decisions, stay in the language they were made in.
//!
//! Errors on workspace pages: a signed-out visitor asking for a page is sent to the login form
//! (303); any other problem becomes `staff/error.html` with the same status.

use super::auth::StaffUser;
use crate::error::AppError;
use crate::pages::csrf::CsrfToken;
use crate::pages::layout::{base, no_store};
use crate::state::AppState;
use aftercare_core::Lang;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{json, Map, Value};

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

/// The workspace's templates (added to the pages' environment at start-up).
pub const TEMPLATES: &[(&str, &str)] = templates!(
    "staff/layout.html",
    "staff/login.html",
    "staff/board.html",
    "staff/appointments.html",
    "staff/enrol.html",
    "staff/link.html",
    "staff/patient.html",
    "staff/contact.html",
    "staff/announcements.html",
    "staff/settings.html",
    "staff/alerts.html",
    "staff/staff.html",
    "staff/audit.html",
    "staff/password.html",
    "staff/second_factor.html",
    "staff/reset.html",
    "staff/error.html",
    "chat.html",
);

/// The cookie that remembers a signed-in member of staff's language, so that pages rendered
/// without her session (error pages, the login form after signing out) speak it too.
pub const STAFF_LANG_COOKIE: &str = "aftercare_staff_lang";

/// The language of a workspace response: her account's choice, then the remembered cookie,
/// then the browser's `Accept-Language`, then the content's default. The patient pages'
/// language cookie is not read: a choice made there does not steer the workspace.
pub fn staff_lang(state: &AppState, chosen: Option<&str>, headers: &HeaderMap) -> Lang {
    let remembered = crate::lang::cookie(headers, STAFF_LANG_COOKIE);
    browser_lang(state, chosen.or(remembered.as_deref()), headers)
}

/// `code` if it is a language of the content, else the browser's `Accept-Language`, else the
/// content's default.
pub fn browser_lang(state: &AppState, code: Option<&str>, headers: &HeaderMap) -> Lang {
    let mut accept = HeaderMap::new();
    if let Some(v) = headers.get(axum::http::header::ACCEPT_LANGUAGE) {
        accept.insert(axum::http::header::ACCEPT_LANGUAGE, v.clone());
    }
    crate::lang::negotiate(&state.content, code, &accept)
}

/// The `Set-Cookie` value that remembers (or forgets, for `None`) her workspace language.
pub fn remember_lang(state: &AppState, code: Option<&str>) -> Option<axum::http::HeaderValue> {
    let secure = state.settings.secure_cookies;
    match code {
        Some(code) => crate::pages::cookie::set(
            STAFF_LANG_COOKIE,
            code,
            crate::pages::cookie::CookieOptions {
                secure,
                max_age: Some(31_536_000),
                same_site: "Lax",
            },
        ),
        None => crate::pages::cookie::clear(STAFF_LANG_COOKIE, secure),
    }
}

/// The per-request context of a workspace page.
pub struct StaffPage {
    pub state: AppState,
    pub csrf: String,
    pub path: String,
    pub user: Option<StaffUser>,
    pub lang: Lang,
}

impl FromRequestParts<AppState> for StaffPage {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let CsrfToken(csrf) = CsrfToken::from_request_parts(parts, state).await?;
        let user = match StaffUser::from_request_parts(parts, state).await {
            Ok(u) => Some(u),
            Err(AppError::Unauthorized) => None,
            Err(e) => return Err(e),
        };
        let chosen = user.as_ref().and_then(|u| u.staff.language.as_deref());
        let lang = staff_lang(state, chosen, &parts.headers);
        Ok(StaffPage {
            state: state.clone(),
            csrf,
            path: parts.uri.path().to_string(),
            user,
            lang,
        })
    }
}

impl StaffPage {
    /// The texts of the reader's language.
    pub fn texts(&self) -> &aftercare_core::Texts {
        self.state.content.text(self.lang)
    }

    /// What to say about a refused form field. The checks' own words are English; a reader of
    /// another language is told which field to check, by its label.
    pub fn form_error(&self, field: Option<&str>, detail: String) -> String {
        if self.lang == self.state.content.default_lang() {
            return detail;
        }
        match field {
            Some(f) => self
                .texts()
                .ws("form_error_field")
                .replace("{field}", &word(self.texts(), "field", f)),
            None => self.ws("form_error"),
        }
    }

    /// A workspace text in the reader's language.
    pub fn ws(&self, key: &'static str) -> String {
        self.texts().ws(key).to_string()
    }
    /// The time zone of the signed-in member of staff's clinic, for the times on the page.
    pub async fn zone(&self) -> Result<Option<String>, AppError> {
        let Some(user) = &self.user else {
            return Ok(None);
        };
        Ok(self.state.app.clinics().zone_of(user.clinic_id()).await?)
    }

    pub async fn render(&self, template: &str, page: Value) -> Result<Response, AppError> {
        self.render_status(StatusCode::OK, template, page).await
    }

    pub async fn render_status(
        &self,
        status: StatusCode,
        template: &str,
        page: Value,
    ) -> Result<Response, AppError> {
        let mut ctx = workspace_base(&self.state, self.lang, &self.path, Some(&self.csrf));
        if let Some(user) = &self.user {
            let clinic = self.state.app.clinics().get(user.clinic_id()).await?;
            // The menu's counts: what is waiting, on every page a clinician opens.
            let work = match user.role {
                super::auth::Role::Clinician => {
                    Some(self.state.app.patients().workload(user.clinic_id()).await?)
                }
                super::auth::Role::Admin => None,
            };
            ctx.insert(
                "staff".into(),
                json!({
                    "name": user.staff.display_name,
                    "role": user.role.as_str(),
                    "role_label": role_label(self.texts(), user.role),
                    "clinic": clinic.map(|c| c.name),
                    "stamp": work.as_ref().map(super::board_live::stamp),
                    "work": work,
                }),
            );
        } else {
            ctx.insert("staff".into(), Value::Null);
        }
        if let Value::Object(own) = page {
            ctx.extend(own);
        }
        let html = self
            .state
            .pages
            .templates
            .render(template, Value::Object(ctx))?;
        Ok((status, no_store(), Html(html)).into_response())
    }
}

/// The layout's context with the workspace's words (`w`) in `lang`.
fn workspace_base(
    state: &AppState,
    lang: Lang,
    path: &str,
    csrf: Option<&str>,
) -> Map<String, Value> {
    let mut ctx = base(state, lang, path, csrf, None);
    ctx.insert("w".into(), json!(state.content.text(lang).workspace));
    ctx
}

/// A stored code (a status, a channel, a kind) as the workspace says it: the text
/// `{group}_{code}`, or the code itself when no text names it (a value an older version wrote).
pub fn word(texts: &aftercare_core::Texts, group: &str, code: &str) -> String {
    texts
        .workspace
        .get(&format!("{group}_{code}"))
        .cloned()
        .unwrap_or_else(|| code.to_string())
}

/// A role as the workspace says it.
pub fn role_label(texts: &aftercare_core::Texts, role: super::auth::Role) -> String {
    texts
        .ws(match role {
            super::auth::Role::Clinician => "role_clinician",
            super::auth::Role::Admin => "role_admin",
        })
        .to_string()
}

/// See the module documentation.
pub async fn staff_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let lang = staff_lang(&state, None, req.headers());
    let response = next.run(req).await;
    if !crate::pages::errors::is_problem(&response) {
        return response;
    }
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED && method == Method::GET {
        return Redirect::to("/clinic/login").into_response();
    }
    if method == Method::GET
        && response
            .extensions()
            .get::<crate::error::SecondFactorRequired>()
            .is_some()
    {
        return Redirect::to(super::second_factor::PATH).into_response();
    }
    // The workspace also says when someone else got there first.
    let key = match status {
        StatusCode::CONFLICT => "error_conflict",
        other => crate::pages::errors::error_key(other),
    };
    let texts = state.content.text(lang);
    let title = texts.ws(&format!("{key}_title")).to_string();
    let text = texts.ws(&format!("{key}_text")).to_string();
    let mut ctx = workspace_base(&state, lang, &path, None);
    ctx.insert("status".into(), json!(status.as_u16()));
    ctx.insert("error_title".into(), json!(title));
    ctx.insert("error_text".into(), json!(text));
    ctx.insert("staff".into(), Value::Null);
    crate::pages::errors::render_error_page(&state, "staff/error.html", ctx, status, &response)
}

/// A redirect after a form (303: the browser follows with GET).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}
