//! The clinic's inbox of contact requests sent through the public form: read them, mark each
//! handled with a note of the reply, so colleagues see what was done. Only the clinic the form
//! was addressed to sees a request; reading and handling are audited (a request carries
//! personal data, and often health data, of someone who is not yet a patient).

use super::auth::{Clinician, StaffUser};
use crate::api::views::{self, ContactRequestView};
use crate::error::{AppError, Problem};
use crate::extract::ValidJson;
use crate::extract::ValidQuery;
use crate::state::AppState;
use aftercare_app::clinics::local_time;
use aftercare_app::text::Note;
use aftercare_store::ContactRequest;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// `true`: handled only; `false`: open only; absent: all.
    pub handled: Option<bool>,
}

/// The clinic's requests, newest first (audited).
pub async fn inbox(
    state: &AppState,
    user: &StaffUser,
    handled: Option<bool>,
) -> Result<Vec<ContactRequest>, AppError> {
    Ok(state
        .app
        .contacts()
        .inbox(&user.actor, user.clinic_id(), handled)
        .await?)
}

/// Marks one of the clinic's requests handled; 404 for another clinic's.
pub async fn mark_handled(
    state: &AppState,
    user: &StaffUser,
    id: &str,
    note: Option<String>,
) -> Result<ContactRequest, AppError> {
    let note = Note::optional("reply_note", note.as_deref())?;
    Ok(state
        .app
        .contacts()
        .mark_handled(&user.actor, user.clinic_id(), &user.staff.id, id, note)
        .await?)
}

/// The clinic's contact requests.
#[utoipa::path(get, path = "/api/v1/clinic/contact-requests", tag = "clinic", params(InboxQuery),
    security(("staff_session" = [])),
    responses((status = 200, description = "Requests, newest first", body = Vec<ContactRequestView>)))]
pub async fn api_inbox(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    ValidQuery(q): ValidQuery<InboxQuery>,
) -> Result<Json<Vec<ContactRequestView>>, AppError> {
    Ok(Json(views::all(inbox(&state, &user, q.handled).await?)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandledBody {
    /// What was answered, and how.
    #[serde(default)]
    pub reply_note: Option<String>,
}

/// Mark a request handled, with a note of the reply.
#[utoipa::path(post, path = "/api/v1/clinic/contact-requests/{request}/handled", tag = "clinic",
    params(("request" = String, Path, description = "The request's id"),
           ("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    request_body = HandledBody,
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "Handled", body = ContactRequestView),
        (status = 404, description = "No such request in this clinic", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already handled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_mark_handled(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<HandledBody>,
) -> Result<Json<ContactRequestView>, AppError> {
    user.check_csrf(&headers)?;
    Ok(Json(
        mark_handled(&state, &user, &id, body.reply_note)
            .await?
            .into(),
    ))
}

// --- pages -------------------------------------------------------------------------------------

use super::view::{see_other, StaffPage};
use crate::pages::form::Form;
use axum::response::Response;
use serde_json::json;

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    /// `open` (default), `handled` or `all`.
    pub show: Option<String>,
}

/// `GET /clinic/contact`.
pub async fn page(
    page: StaffPage,
    Clinician(user): Clinician,
    ValidQuery(q): ValidQuery<ShowQuery>,
) -> Result<Response, AppError> {
    let show = match q.show.as_deref() {
        Some("handled") => "handled",
        Some("all") => "all",
        _ => "open",
    };
    let handled = match show {
        "handled" => Some(true),
        "all" => None,
        _ => Some(false),
    };
    let state = &page.state;
    let rows = inbox(state, &user, handled).await?;
    let staff = state.app.staff().list(user.clinic_id()).await?;
    let zone = page.zone().await?;
    let requests: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "contact": r.contact,
                "message": r.message,
                "consent": r.consent,
                "created_at": local_time(zone.as_deref(), r.created_at),
                "handled_at": r.handled_at.map(|t| local_time(zone.as_deref(), t)),
                "handled_by": r.handled_by.as_ref().and_then(|id| staff.iter().find(|s| &s.id == id)).map(|s| s.display_name.clone()),
                "reply_note": r.reply_note,
                "patient_href": r.patient_id.as_ref().map(|p| format!("/clinic/patients/{p}")),
            })
        })
        .collect();
    page.render(
        "staff/contact.html",
        json!({"requests": requests, "show": show}),
    )
    .await
}

/// `POST /clinic/contact/{request}/handled`.
pub async fn handled_submit(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, AppError> {
    mark_handled(&state, &user, &id, Some(form.text("reply_note"))).await?;
    Ok(see_other("/clinic/contact"))
}
