//! Rendering the workspace's pages, on the patient pages' building blocks: the same template
//! environment (auto-escaped), the same `base.html` layout and stylesheet, the same CSRF layer.
//! The workspace is in English (the clinic's working language; the patient-facing texts it
//! shows, such as decisions, are in the language they were made in).
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
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{json, Value};

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
    "staff/reset.html",
    "staff/error.html",
    "chat.html",
);

/// The workspace's language.
pub fn staff_lang(state: &AppState) -> Lang {
    state
        .content
        .lang("en")
        .unwrap_or_else(|| state.content.default_lang())
}

/// The per-request context of a workspace page.
pub struct StaffPage {
    pub state: AppState,
    pub csrf: String,
    pub path: String,
    pub user: Option<StaffUser>,
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
        Ok(StaffPage {
            state: state.clone(),
            csrf,
            path: parts.uri.path().to_string(),
            user,
        })
    }
}

impl StaffPage {
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
        let mut ctx = base(
            &self.state,
            staff_lang(&self.state),
            &self.path,
            Some(&self.csrf),
            None,
        );
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

/// See the module documentation.
pub async fn staff_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    if !crate::pages::errors::is_problem(&response) {
        return response;
    }
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED && method == Method::GET {
        return Redirect::to("/clinic/login").into_response();
    }
    let (title, text) = match status {
        StatusCode::UNAUTHORIZED => ("Please sign in", "Your session has ended. Sign in again."),
        StatusCode::FORBIDDEN => (
            "Not allowed",
            "Your role cannot do this, or the form had expired: go back, reload the page and try again.",
        ),
        StatusCode::NOT_FOUND => ("Not found", "There is nothing here, or it belongs to another clinic."),
        StatusCode::TOO_MANY_REQUESTS => ("Too many attempts", "Wait a few minutes, then try again."),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            ("Please check", "Something in the form was not right: go back and check it.")
        }
        StatusCode::CONFLICT => ("Already done", "Someone has already done this; reload the page to see it."),
        StatusCode::SERVICE_UNAVAILABLE => ("Try again shortly", "The service is busy for a moment."),
        _ => ("Something went wrong", "It has been recorded. Try again, or tell your administrator."),
    };
    let mut ctx = base(&state, staff_lang(&state), &path, None, None);
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
