//! Check-in sessions: the questionnaire, driven by the engine. Each round sends answers and gets
//! back the decision so far and the next questions (the decision's `ask`, most urgent first).
//! When the decision is final it is stored with the patient, never to be rewritten.

use crate::api::views::{self, CheckinView, EscalationView};
use crate::audit;
use crate::error::{AppError, Problem};
use crate::extract::ValidJson;
use crate::extract::ValidQuery;
use crate::lang;
use crate::patient::PatientAuth;
use crate::state::AppState;
use aftercare_app::checkins::merge;
use aftercare_core::{Decision, DecisionView, QuestionView, Status};
use aftercare_store::{CheckinSession, Patient};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::triage::LangQuery;

/// Answers to add or change. A `null` value withdraws an answer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswersBody {
    /// Fact id to answer; `null` withdraws an answer.
    #[schema(value_type = crate::api::views::Answers)]
    pub answers: Map<String, Value>,
}

/// The state of a check-in after a round of answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckinRound {
    pub session_id: String,
    /// `final` once stored; `incomplete` while questions remain.
    pub status: String,
    /// The stored check-in, once final.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkin_id: Option<String>,
    #[schema(value_type = aftercare_core::DecisionView)]
    pub decision: Value,
    /// The next questions, most urgent first.
    #[schema(value_type = Vec<aftercare_core::QuestionView>)]
    pub questions: Vec<Value>,
    /// Set when this check-in alerted the clinic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationView>,
}

/// Start a check-in.
#[utoipa::path(post, path = "/api/v1/checkins", tag = "check-ins", params(LangQuery),
    request_body = AnswersBody,
    security(("patient_link" = [])),
    responses(
        (status = 201, description = "The first round: decision so far and next questions", body = CheckinRound),
        (status = 401, description = "No or unknown patient token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid answer; `field` names it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start(
    State(state): State<AppState>,
    auth: PatientAuth,
    ValidQuery(q): ValidQuery<LangQuery>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<AnswersBody>,
) -> Result<(StatusCode, Json<CheckinRound>), AppError> {
    let answers = merge(Map::new(), body.answers);
    let (_, decision) = decide(&state, &auth.patient, &answers)?;
    let lang = lang::negotiate(&state.content, q.lang.as_deref(), &headers);
    if decision.status == Status::Final {
        // Final at once: the session, the check-in, their audit rows and the alert are one
        // commit.
        let round = finish_round(&state, &auth, None, &answers, decision, lang).await?;
        return Ok((StatusCode::CREATED, Json(round)));
    }
    let session = state
        .app
        .checkins()
        .open(&auth.actor, &auth.patient, answers)
        .await?;
    let round = round(&state, session.id, &decision, lang, None, None);
    Ok((StatusCode::CREATED, Json(round)))
}

/// Answer more questions, or change answers.
#[utoipa::path(patch, path = "/api/v1/checkins/{id}", tag = "check-ins", params(("id" = String, Path), LangQuery),
    request_body = AnswersBody,
    security(("patient_link" = [])),
    responses(
        (status = 200, description = "The next round", body = CheckinRound),
        (status = 404, description = "No such check-in for this patient", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The check-in is already final", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn answer(
    State(state): State<AppState>,
    auth: PatientAuth,
    Path(id): Path<String>,
    ValidQuery(q): ValidQuery<LangQuery>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<AnswersBody>,
) -> Result<Json<CheckinRound>, AppError> {
    let session = own_session(&state, &auth.patient, &id).await?;
    if session.completed_checkin_id.is_some() {
        return Err(AppError::Conflict(
            "this check-in is already final; start a new one".into(),
        ));
    }
    let previous = session.answers.as_object().cloned().unwrap_or_default();
    let answers = merge(previous, body.answers);
    let (_, decision) = decide(&state, &auth.patient, &answers)?;
    let lang = lang::negotiate(&state.content, q.lang.as_deref(), &headers);
    if decision.status == Status::Final {
        // The answers are stored with the check-in that completes the session, in its commit.
        return Ok(Json(
            finish_round(&state, &auth, Some(session), &answers, decision, lang).await?,
        ));
    }
    let session = state
        .app
        .checkins()
        .save_answers(&auth.actor, &auth.patient, &session, answers)
        .await?;
    Ok(Json(round(&state, session.id, &decision, lang, None, None)))
}

/// A check-in session and its decision.
#[utoipa::path(get, path = "/api/v1/checkins/{id}", tag = "check-ins", params(("id" = String, Path), LangQuery),
    security(("patient_link" = [])),
    responses(
        (status = 200, description = "The session's current round", body = CheckinRound),
        (status = 404, description = "No such check-in for this patient", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    auth: PatientAuth,
    Path(id): Path<String>,
    ValidQuery(q): ValidQuery<LangQuery>,
    headers: HeaderMap,
) -> Result<Json<CheckinRound>, AppError> {
    let session = own_session(&state, &auth.patient, &id).await?;
    audit::record(
        &state,
        &auth.actor,
        crate::audit::Action::CheckinRead,
        Some(&auth.patient.id),
        Some(&auth.patient.clinic_id),
        None,
    )
    .await?;
    let lang = lang::negotiate(&state.content, q.lang.as_deref(), &headers);
    if let Some(checkin_id) = &session.completed_checkin_id {
        let stored = state.app.checkins().get(&auth.patient, checkin_id).await?;
        return Ok(Json(CheckinRound {
            session_id: session.id,
            status: stored.status.as_str().to_string(),
            checkin_id: Some(stored.id),
            decision: stored.decision,
            questions: Vec::new(),
            escalation: None,
        }));
    }
    let answers = session.answers.as_object().cloned().unwrap_or_default();
    let (_, decision) = decide(&state, &auth.patient, &answers)?;
    Ok(Json(round(&state, session.id, &decision, lang, None, None)))
}

/// The patient's stored check-ins, newest first.
#[utoipa::path(get, path = "/api/v1/checkins", tag = "check-ins",
    security(("patient_link" = [])),
    responses((status = 200, description = "Stored check-ins with their decisions", body = Vec<CheckinView>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: PatientAuth,
) -> Result<Json<Vec<CheckinView>>, AppError> {
    let checkins = state.app.checkins().list(&auth.patient).await?;
    audit::record(
        &state,
        &auth.actor,
        crate::audit::Action::CheckinList,
        Some(&auth.patient.id),
        Some(&auth.patient.clinic_id),
        None,
    )
    .await?;
    Ok(Json(views::all(checkins)))
}

async fn own_session(
    state: &AppState,
    patient: &Patient,
    id: &str,
) -> Result<CheckinSession, AppError> {
    // Another patient's session is as invisible as a missing one.
    Ok(state.app.checkins().session(patient, id).await?)
}

/// The decision on her answers, as of now.
fn decide(
    state: &AppState,
    patient: &Patient,
    answers: &Map<String, Value>,
) -> Result<(aftercare_core::Case, Decision), AppError> {
    Ok(state
        .app
        .checkins()
        .decide(Some(patient), answers, state.now())?)
}

/// Stores a final decision (completing `session`, or opening one in the same commit) and
/// answers with it.
async fn finish_round(
    state: &AppState,
    auth: &PatientAuth,
    session: Option<CheckinSession>,
    answers: &Map<String, Value>,
    decision: Decision,
    lang: aftercare_core::Lang,
) -> Result<CheckinRound, AppError> {
    let written = state
        .app
        .checkins()
        .finish(
            &auth.actor,
            &auth.patient,
            session,
            answers,
            &decision,
            lang,
        )
        .await?;
    Ok(round(
        state,
        written.session_id.unwrap_or_default(),
        &decision,
        lang,
        Some(written.checkin.id),
        written.escalation.map(Into::into),
    ))
}

fn round(
    state: &AppState,
    session_id: String,
    decision: &Decision,
    lang: aftercare_core::Lang,
    checkin_id: Option<String>,
    escalation: Option<EscalationView>,
) -> CheckinRound {
    let content = &state.content;
    let view = DecisionView::new(content, decision, lang);
    CheckinRound {
        session_id,
        status: match decision.status {
            Status::Final => "final".into(),
            Status::Incomplete => "incomplete".into(),
        },
        checkin_id,
        decision: serde_json::to_value(&view).unwrap_or(Value::Null),
        questions: decision
            .ask
            .iter()
            .map(|&f| {
                serde_json::to_value(QuestionView::new(content, f, lang)).unwrap_or(Value::Null)
            })
            .collect(),
        escalation,
    }
}
