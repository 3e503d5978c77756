//! The clinic's appointment requests: `GET /clinic/appointments` lists those not cancelled
//! (new ones first in the menu's count); a clinician proposes a time (the patient accepts it)
//! or confirms one, or cancels. Times are typed and shown in the clinic's zone.

use super::auth::Clinician;
use super::view::{see_other, StaffPage};
use crate::error::AppError;
use crate::pages::form::Form;
use crate::state::AppState;
use aftercare_app::appointments::{Answer, CancelledBy};
use aftercare_app::text::AppointmentText;
use aftercare_core::Texts;
use aftercare_store::{Appointment, AppointmentStatus};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

/// Whom she would see, as the workspace says it (in the reader's language).
pub fn who(state: &AppState, texts: &Texts, kind: &str) -> String {
    aftercare_app::appointments::who(&state.content, texts, kind)
}

/// A status as the workspace says it.
pub fn status_label(texts: &Texts, status: AppointmentStatus) -> String {
    texts
        .ws(match status {
            AppointmentStatus::Requested => "appt_status_requested",
            AppointmentStatus::Proposed => "appt_status_proposed",
            AppointmentStatus::Confirmed => "appt_status_confirmed",
            AppointmentStatus::Cancelled => "appt_status_cancelled",
        })
        .to_string()
}

/// Rows for a template; `names` gives each patient's name by id.
pub fn rows(
    state: &AppState,
    texts: &Texts,
    list: &[Appointment],
    zone: Option<&str>,
    names: &std::collections::HashMap<aftercare_store::PatientId, String>,
) -> Vec<Value> {
    let time = |t| aftercare_app::clinics::local_time(zone, t);
    let tz = aftercare_app::clinics::zone(zone);
    list.iter()
        .map(|a| {
            json!({
                "id": a.id,
                "patient_id": a.patient_id,
                "patient": names.get(&a.patient_id).cloned().unwrap_or_else(|| a.patient_id.to_string()),
                "who": who(state, texts, &a.kind),
                "preferred": a.preferred,
                "status": a.status.as_str(),
                "status_label": status_label(texts, a.status),
                "starts_at": a.starts_at.map(time),
                "starts_at_input": a.starts_at.map(|t| t.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string()),
                "minutes": a.minutes.unwrap_or(30),
                "note": a.clinic_note,
                "asked_at": time(a.created_at),
                "open": a.status != AppointmentStatus::Cancelled,
                "seen": a.updated_at.to_rfc3339(),
            })
        })
        .collect()
}

async fn render(
    page: &StaffPage,
    user: &super::auth::StaffUser,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, AppError> {
    let state = &page.state;
    let app = &state.app;
    let list = app
        .appointments()
        .of_clinic(&user.actor, user.clinic_id(), true)
        .await?;
    let mut names = std::collections::HashMap::new();
    for a in &list {
        if !names.contains_key(&a.patient_id) {
            if let Ok(p) = app
                .patients()
                .of_clinic(user.clinic_id(), &a.patient_id)
                .await
            {
                names.insert(p.id.clone(), p.display_name.clone());
            }
        }
    }
    let zone = page.zone().await?;
    // New requests first, then the rest newest first.
    let mut rows = rows(state, page.texts(), &list, zone.as_deref(), &names);
    rows.sort_by_key(|r| r["status"] != "requested");
    page.render_status(
        status,
        "staff/appointments.html",
        json!({"appointments": rows, "error": error, "zone": zone.unwrap_or_else(|| "UTC".into())}),
    )
    .await
}

/// `GET /clinic/appointments`.
pub async fn page(page: StaffPage, Clinician(user): Clinician) -> Result<Response, AppError> {
    render(&page, &user, StatusCode::OK, None).await
}

/// `POST /clinic/appointments/{appointment}/answer`: `starts_at` (the clinic's time),
/// `minutes`, `note`, and `action` = `propose` or `confirm`.
pub async fn answer(
    page: StaffPage,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, AppError> {
    let zone = page.zone().await?;
    let result = async {
        let starts_at = super::announcements::parse_time(
            "starts_at",
            &form.text("starts_at"),
            zone.as_deref(),
        )?
        .ok_or_else(|| AppError::bad_field("starts_at", "starts_at: required"))?;
        let minutes = form
            .text("minutes")
            .parse::<i32>()
            .map_err(|_| AppError::bad_field("minutes", "minutes: a whole number"))?;
        let answer = Answer {
            starts_at,
            minutes,
            note: AppointmentText::optional("note", Some(&form.text("note")))?,
            confirm: form.text("action") == "confirm",
            seen: crate::pages::appointments::seen(&form),
        };
        Ok::<_, AppError>(
            page.state
                .app
                .appointments()
                .answer(&user.actor, user.clinic_id(), &id, answer)
                .await?,
        )
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/clinic/appointments")),
        Err(AppError::BadRequest { field, .. }) => {
            let key = match field.as_deref() {
                Some("starts_at") => "appt_error_starts_at",
                Some("minutes") => "appt_error_minutes",
                _ => "appt_error_other",
            };
            let error = page.ws(key);
            render(&page, &user, StatusCode::UNPROCESSABLE_ENTITY, Some(error)).await
        }
        Err(e) => Err(e),
    }
}

/// `POST /clinic/appointments/{appointment}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, AppError> {
    let app = &state.app;
    let current = app
        .appointments()
        .of_clinic_by_id(user.clinic_id(), &id)
        .await?;
    app.appointments()
        .cancel(
            &user.actor,
            CancelledBy::Clinic,
            current,
            crate::pages::appointments::seen(&form),
        )
        .await?;
    Ok(see_other("/clinic/appointments"))
}
