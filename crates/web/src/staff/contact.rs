//! The clinic's inbox of contact requests sent through the public form: read them, mark each
//! handled with a note of the reply, so colleagues see what was done. Only the clinic the form
//! was addressed to sees a request; reading and handling are audited (a request carries
//! personal data, and often health data, of someone who is not yet a patient).

use super::auth::{Clinician, StaffUser};
use crate::audit;
use crate::error::{AppError, Problem};
use crate::extract::ValidJson;
use crate::state::AppState;
use aftercare_store::ContactRequest;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;

/// The longest reply note.
pub const NOTE_LIMIT: usize = 2000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
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
    let rows = state
        .store
        .list_contact_requests(user.clinic_id(), handled)
        .await?;
    audit::record(
        state,
        &user.actor,
        "contact.list",
        None,
        Some(user.clinic_id()),
        Some(format!("{} requests", rows.len())),
    )
    .await?;
    Ok(rows)
}

/// Marks one of the clinic's requests handled; 404 for another clinic's.
pub async fn mark_handled(
    state: &AppState,
    user: &StaffUser,
    id: &str,
    note: Option<String>,
) -> Result<ContactRequest, AppError> {
    let mine = state
        .store
        .list_contact_requests(user.clinic_id(), None)
        .await?
        .into_iter()
        .any(|r| r.id == id);
    if !mine {
        return Err(AppError::NotFound);
    }
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > NOTE_LIMIT)
    {
        return Err(AppError::bad_field(
            "reply_note",
            format!("reply_note: at most {NOTE_LIMIT} characters"),
        ));
    }
    let handled = state
        .store
        .mark_contact_handled(id, &user.staff.id, note.as_deref(), state.now())
        .await?;
    audit::record(
        state,
        &user.actor,
        "contact.handled",
        None,
        Some(user.clinic_id()),
        Some(id.to_string()),
    )
    .await?;
    Ok(handled)
}

/// The clinic's contact requests.
#[utoipa::path(get, path = "/api/v1/clinic/contact-requests", tag = "clinic", params(InboxQuery),
    security(("staff_session" = [])),
    responses((status = 200, description = "Requests, newest first", body = Vec<Object>)))]
pub async fn api_inbox(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Query(q): Query<InboxQuery>,
) -> Result<Json<Vec<ContactRequest>>, AppError> {
    Ok(Json(inbox(&state, &user, q.handled).await?))
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
        (status = 200, description = "Handled", body = Object),
        (status = 404, description = "No such request in this clinic", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already handled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_mark_handled(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<HandledBody>,
) -> Result<Json<ContactRequest>, AppError> {
    user.check_csrf(&headers)?;
    Ok(Json(
        mark_handled(&state, &user, &id, body.reply_note).await?,
    ))
}
