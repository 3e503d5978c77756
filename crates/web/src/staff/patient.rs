//! One patient, as her clinic sees her: a timeline of her check-ins, diary days and messages,
//! her recovery (the pain series the chart draws), her current plan, and the reasons behind
//! each decision with their sources, as they were stored when the decision was made (a
//! decision is never re-rendered with newer content). Opening it is an audited read;
//! acknowledging an escalation records who, when and a note.

use super::auth::Clinician;
use super::board::clinic_patient;
use crate::api::recovery::{self, RecoverySummary};
use crate::audit;
use crate::error::{AppError, Problem};
use crate::extract::ValidJson;
use crate::state::AppState;
use aftercare_store::{Checkin, DiaryEntry, Escalation, Message, Patient};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest acknowledgement note.
pub const NOTE_LIMIT: usize = 2000;

/// One thing that happened, for the timeline (newest first).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineItem {
    /// `checkin`, `diary` or `message`.
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub item: Value,
}

/// Everything the patient page shows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PatientView {
    #[schema(value_type = Object)]
    pub patient: Patient,
    pub recovery: RecoverySummary,
    /// The plan and reasons of the latest check-in's decision, as stored.
    #[schema(value_type = Option<Object>)]
    pub current_decision: Option<Value>,
    #[schema(value_type = Vec<Object>)]
    pub escalations: Vec<Escalation>,
    #[schema(value_type = Vec<Object>)]
    pub checkins: Vec<Checkin>,
    #[schema(value_type = Vec<Object>)]
    pub diary: Vec<DiaryEntry>,
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<Message>,
    pub timeline: Vec<TimelineItem>,
}

/// Reads (and audits) what the patient page shows.
pub async fn view(
    state: &AppState,
    user: &super::auth::StaffUser,
    patient_id: &str,
) -> Result<PatientView, AppError> {
    let patient = clinic_patient(state, user.clinic_id(), patient_id).await?;
    audit::record(
        state,
        &user.actor,
        "patient.read",
        Some(&patient.id),
        Some(&patient.clinic_id),
        None,
    )
    .await?;
    let lang = state.content.default_lang();
    let recovery = recovery::build(state, &patient, lang).await?;
    let checkins = state.store.list_checkins(&patient.id).await?;
    let escalations = state.store.list_escalations(&patient.id, false).await?;
    let diary = state
        .store
        .list_diary(
            &patient.id,
            patient.procedure_date,
            crate::patient::today(state.now()),
        )
        .await?;
    let messages = state.store.list_messages(&patient.id, 0, 500).await?;
    let mut timeline: Vec<TimelineItem> = Vec::new();
    for c in &checkins {
        timeline.push(TimelineItem {
            kind: "checkin",
            at: c.created_at,
            item: serde_json::json!({
                "id": c.id, "level": c.level, "status": c.status,
                "headline": c.decision.get("headline"),
                "reasons": c.decision.get("reasons"),
                "content_version": c.content_version,
            }),
        });
    }
    for d in &diary {
        timeline.push(TimelineItem {
            kind: "diary",
            at: d.recorded_at,
            item: serde_json::json!({
                "day": d.day, "version": d.version, "pain": d.pain, "facts": d.facts, "note": d.note,
            }),
        });
    }
    for m in &messages {
        timeline.push(TimelineItem {
            kind: "message",
            at: m.created_at,
            item: serde_json::json!({"id": m.id, "sender": m.sender, "body": m.body}),
        });
    }
    timeline.sort_by_key(|t| std::cmp::Reverse(t.at));
    Ok(PatientView {
        current_decision: checkins.first().map(|c| c.decision.clone()),
        patient,
        recovery,
        escalations,
        checkins,
        diary,
        messages,
        timeline,
    })
}

/// One patient: timeline, recovery, current plan, reasons and sources.
#[utoipa::path(get, path = "/api/v1/clinic/patients/{patient}", tag = "clinic",
    params(("patient" = String, Path, description = "The patient's id")),
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "The patient page's data", body = PatientView),
        (status = 404, description = "No such patient in this clinic", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_view(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
) -> Result<Json<PatientView>, AppError> {
    Ok(Json(view(&state, &user, &id).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    /// What was done (e.g. "called her, she is on her way to A&E").
    #[serde(default)]
    pub note: Option<String>,
}

/// Acknowledges an escalation of the clinic's patient.
pub async fn acknowledge(
    state: &AppState,
    user: &super::auth::StaffUser,
    escalation_id: &str,
    note: Option<String>,
) -> Result<Escalation, AppError> {
    if escalation_id.len() > 64 {
        return Err(AppError::NotFound);
    }
    let escalation = state
        .store
        .get_escalation(escalation_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let patient = clinic_patient(state, user.clinic_id(), &escalation.patient_id).await?;
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > NOTE_LIMIT)
    {
        return Err(AppError::bad_field(
            "note",
            format!("note: at most {NOTE_LIMIT} characters"),
        ));
    }
    let acknowledged = state
        .store
        .acknowledge_escalation(&escalation.id, &user.staff.id, note.as_deref(), state.now())
        .await?;
    audit::record(
        state,
        &user.actor,
        "escalation.acknowledge",
        Some(&patient.id),
        Some(&patient.clinic_id),
        Some(escalation.id.clone()),
    )
    .await?;
    Ok(acknowledged)
}

/// Acknowledge an escalation: who (the signed-in clinician), when (now) and a note.
#[utoipa::path(post, path = "/api/v1/clinic/escalations/{escalation}/acknowledge", tag = "clinic",
    params(("escalation" = String, Path, description = "The escalation's id"),
           ("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    request_body = AckBody,
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "Acknowledged", body = Object),
        (status = 404, description = "No such escalation in this clinic", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already acknowledged", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_acknowledge(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<AckBody>,
) -> Result<Json<Escalation>, AppError> {
    user.check_csrf(&headers)?;
    Ok(Json(acknowledge(&state, &user, &id, body.note).await?))
}
