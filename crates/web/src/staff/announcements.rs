//! The site-wide banner: an admin writes it in English and Spanish with a start and an optional
//! end; the pages show the one in force (the store's `active_announcement`) in the visitor's
//! language. Announcements are never edited: a new one replaces the old from its start.

use super::auth::StaffUser;
use crate::error::AppError;
use crate::state::AppState;
use aftercare_app::text::AnnouncementText;
use aftercare_store::Announcement;
use chrono::{DateTime, Utc};

/// The longest banner text, per language.
pub use aftercare_app::announcements::TEXT_LIMIT;

/// A new announcement, checked and audited by the application layer.
pub async fn create(
    state: &AppState,
    user: &StaffUser,
    text_en: &str,
    text_es: &str,
    starts_at: DateTime<Utc>,
    ends_at: Option<DateTime<Utc>>,
) -> Result<Announcement, AppError> {
    let draft = aftercare_app::announcements::Draft {
        text_en: AnnouncementText::new("text_en", text_en)?,
        text_es: AnnouncementText::new("text_es", text_es)?,
        starts_at,
        ends_at,
    };
    Ok(state
        .app
        .announcements()
        .create(&user.actor, user.clinic_id(), &user.staff.id, draft)
        .await?)
}

/// Parses a `datetime-local` form value (`YYYY-MM-DDTHH:MM`, a wall-clock time in the clinic's
/// zone, as the page shows times) or RFC 3339 (with its own offset). A time that a daylight
/// saving change skips is refused rather than guessed.
pub fn parse_time(
    field: &str,
    s: &str,
    zone: Option<&str>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    let tz = aftercare_app::clinics::zone(zone);
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, format) {
            return match t.and_local_timezone(tz).earliest() {
                Some(t) => Ok(Some(t.with_timezone(&Utc))),
                None => Err(AppError::bad_field(
                    field,
                    format!("{field}: that time does not exist in {tz} (the clocks change)"),
                )),
            };
        }
    }
    Err(AppError::bad_field(
        field,
        format!("{field}: not a date and time (YYYY-MM-DDTHH:MM, the clinic's time)"),
    ))
}

// --- pages -------------------------------------------------------------------------------------

use super::auth::Admin;
use super::view::{see_other, StaffPage};
use crate::pages::form::Form;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

async fn render(
    page: &StaffPage,
    user: &StaffUser,
    form: Value,
    error: Option<String>,
) -> Result<Response, AppError> {
    let state = &page.state;
    let list = state.app.announcements().list(user.clinic_id()).await?;
    let active = state.app.announcements().active(user.clinic_id()).await?;
    let zone = page.zone().await?;
    let fmt = |t: DateTime<Utc>| aftercare_app::clinics::local_time(zone.as_deref(), t);
    let rows: Vec<Value> = list
        .iter()
        .map(|a| json!({"starts_at": fmt(a.starts_at), "ends_at": a.ends_at.map(fmt), "text_en": a.text_en, "text_es": a.text_es}))
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page.render_status(
        status,
        "staff/announcements.html",
        json!({"announcements": rows, "active": active, "form": form, "error": error}),
    )
    .await
}

/// `GET /clinic/announcements`.
pub async fn page(page: StaffPage, Admin(user): Admin) -> Result<Response, AppError> {
    let zone = page.zone().await?;
    let now = page
        .state
        .now()
        .with_timezone(&aftercare_app::clinics::zone(zone.as_deref()))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    render(
        &page,
        &user,
        json!({"text_en": "", "text_es": "", "starts_at": now, "ends_at": ""}),
        None,
    )
    .await
}

/// `POST /clinic/announcements`.
pub async fn submit(page: StaffPage, Admin(user): Admin, form: Form) -> Result<Response, AppError> {
    let zone = page.zone().await?;
    let result = async {
        let zone = zone.as_deref();
        let starts = parse_time("starts_at", &form.text("starts_at"), zone)?
            .unwrap_or_else(|| page.state.now());
        let ends = parse_time("ends_at", &form.text("ends_at"), zone)?;
        create(
            &page.state,
            &user,
            &form.text("text_en"),
            &form.text("text_es"),
            starts,
            ends,
        )
        .await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/clinic/announcements")),
        Err(AppError::BadRequest { field, detail }) => {
            let detail = page.form_error(field.as_deref(), detail);
            let values = json!({
                "text_en": form.text("text_en"), "text_es": form.text("text_es"),
                "starts_at": form.text("starts_at"), "ends_at": form.text("ends_at"),
            });
            render(&page, &user, values, Some(detail)).await
        }
        Err(e) => Err(e),
    }
}
