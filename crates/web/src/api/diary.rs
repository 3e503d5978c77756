//! The recovery diary: one entry per day (pain 0-10, what changed, a note), edits kept as
//! versions. Each entry is triaged on what is known that day, and checked against the expected
//! course; either can alert the clinic, and the answer tells the patient what to do now.

use crate::audit;
use crate::error::{AppError, Problem};
use crate::escalate;
use crate::extract::ValidJson;
use crate::lang;
use crate::patient::{profile, today, PatientAuth};
use crate::state::AppState;
use aftercare_core::{recovery, triage, DecisionView, DiaryPoint};
use aftercare_store::{DiaryEntry, Escalation, NewDiaryEntry, Patient};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::triage::LangQuery;

/// The longest diary note kept, in characters.
pub const NOTE_LIMIT: usize = 2000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiaryBody {
    /// Pain now, 0 (none) to 10 (worst imaginable).
    pub pain: i64,
    /// Facts answered that day (vocabulary ids), e.g. `{"pain_course": "improving"}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub facts: Map<String, Value>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DiaryWritten {
    #[schema(value_type = Object)]
    pub entry: DiaryEntry,
    /// The decision on what is known that day.
    #[schema(value_type = Object)]
    pub decision: Value,
    /// Set when this entry alerted the clinic; `decision.now` says what to do now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub escalation: Option<Escalation>,
}

/// Write (or edit) the entry of a day.
#[utoipa::path(put, path = "/api/v1/diary/{day}", tag = "diary", params(("day" = String, Path, description = "YYYY-MM-DD"), LangQuery),
    request_body = DiaryBody,
    security(("patient_link" = [])),
    responses(
        (status = 200, description = "Stored durably; the day's decision and any escalation", body = DiaryWritten),
        (status = 401, description = "No or unknown patient token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid day, pain, fact or note; `field` names it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put(
    State(state): State<AppState>,
    auth: PatientAuth,
    Path(day): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<DiaryBody>,
) -> Result<Json<DiaryWritten>, AppError> {
    let patient = &auth.patient;
    let day = parse_day(&day)?;
    let now = state.now();
    if day > today(now) {
        return Err(AppError::bad_field("day", "day: a diary entry cannot be for a future day"));
    }
    if day < patient.procedure_date {
        return Err(AppError::bad_field("day", "day: before the procedure"));
    }
    let pain = u8::try_from(body.pain)
        .ok()
        .filter(|p| *p <= 10)
        .ok_or_else(|| AppError::bad_field("pain", "pain: must be a whole number from 0 to 10"))?;
    let note = body.note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > NOTE_LIMIT) {
        return Err(AppError::bad_field("note", format!("note: at most {NOTE_LIMIT} characters")));
    }
    let pain_day = (day - patient.procedure_date).num_days();
    let case = recovery::diary_case(&state.content, &profile(patient, now), pain, Some(pain_day), &body.facts)?;
    let entry = state
        .store
        .upsert_diary_entry(
            NewDiaryEntry {
                patient_id: patient.id.clone(),
                day,
                pain: i16::from(pain),
                facts: Value::Object(body.facts),
                note,
            },
            now,
        )
        .await?;
    audit::record(&state, &auth.actor, "diary.write", Some(&patient.id), Some(&patient.clinic_id), Some(day.to_string())).await?;
    let decision = triage(&state.content, &case);
    state.metrics.observe_decision(decision.level);
    let missed = missed(&state, patient, &case, day).await?;
    let escalation = escalate::apply(&state, patient, &decision, &missed, "diary", &format!("{}/{day}", patient.id)).await?;
    if escalation.is_some() {
        // Keep the decision that raised it, reproducibly, and move her level up.
        let lang = state.content.default_lang();
        let view = DecisionView::new(&state.content, &decision, lang);
        state
            .store
            .insert_checkin(
                aftercare_store::NewCheckin {
                    patient_id: patient.id.clone(),
                    session_id: None,
                    answers: Value::Object(case.to_json(&state.content)),
                    decision: serde_json::to_value(&view).map_err(|e| AppError::Internal(e.to_string()))?,
                    level: decision.level.as_str().to_string(),
                    status: "diary".into(),
                    content_version: state.content.version.clone(),
                },
                now,
            )
            .await?;
    }
    let lang = lang::negotiate(&state.content, q.lang.as_deref(), &headers);
    let view = DecisionView::new(&state.content, &decision, lang);
    Ok(Json(DiaryWritten {
        entry,
        decision: serde_json::to_value(&view).map_err(|e| AppError::Internal(e.to_string()))?,
        escalation,
    }))
}

/// The milestones of the expected course that the diary up to `day` has missed.
async fn missed(
    state: &AppState,
    patient: &Patient,
    case: &aftercare_core::Case,
    day: NaiveDate,
) -> Result<Vec<aftercare_core::RecoveryCheck>, AppError> {
    let entries = state.store.list_diary(&patient.id, patient.procedure_date, day).await?;
    let points: Vec<DiaryPoint> = entries
        .iter()
        .map(|e| DiaryPoint {
            day: (e.day - patient.procedure_date).num_days(),
            pain: u8::try_from(e.pain).unwrap_or(10),
        })
        .collect();
    Ok(recovery::missed_milestones(&state.content, case, &points))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DiaryDay {
    #[schema(value_type = Object)]
    pub entry: DiaryEntry,
    /// Every version of the day, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<DiaryEntry>,
}

/// The entry of a day, with its earlier versions.
#[utoipa::path(get, path = "/api/v1/diary/{day}", tag = "diary", params(("day" = String, Path, description = "YYYY-MM-DD")),
    security(("patient_link" = [])),
    responses(
        (status = 200, description = "The entry and its versions", body = DiaryDay),
        (status = 404, description = "No entry that day", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    auth: PatientAuth,
    Path(day): Path<String>,
) -> Result<Json<DiaryDay>, AppError> {
    let day = parse_day(&day)?;
    let patient = &auth.patient;
    audit::record(&state, &auth.actor, "diary.read", Some(&patient.id), Some(&patient.clinic_id), Some(day.to_string())).await?;
    let entry = state
        .store
        .get_diary_entry(&patient.id, day)
        .await?
        .ok_or(AppError::NotFound)?;
    let history = state.store.diary_history(&patient.id, day).await?;
    Ok(Json(DiaryDay { entry, history }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RangeQuery {
    /// First day (YYYY-MM-DD); default: the procedure date.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD); default: today.
    pub to: Option<String>,
}

/// The entries of a range of days (current versions).
#[utoipa::path(get, path = "/api/v1/diary", tag = "diary", params(RangeQuery),
    security(("patient_link" = [])),
    responses((status = 200, description = "Entries by day", body = Vec<Object>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: PatientAuth,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Vec<DiaryEntry>>, AppError> {
    let patient = &auth.patient;
    let from = q.from.as_deref().map(parse_day).transpose()?.unwrap_or(patient.procedure_date);
    let to = q.to.as_deref().map(parse_day).transpose()?.unwrap_or_else(|| today(state.now()));
    audit::record(&state, &auth.actor, "diary.list", Some(&patient.id), Some(&patient.clinic_id), None).await?;
    Ok(Json(state.store.list_diary(&patient.id, from, to).await?))
}

pub fn parse_day(s: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| AppError::bad_field("day", format!("day: {s:?} is not a date (YYYY-MM-DD)")))
}
