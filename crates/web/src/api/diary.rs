//! The recovery diary: one entry per day (pain 0-10, what changed, a note), edits kept as
//! versions. Each entry is triaged on what is known that day, and checked against the expected
//! course; either can alert the clinic, and the answer tells the patient what to do now.

use crate::api::views::{self, DiaryEntryView, EscalationView};
use crate::audit;
use crate::error::{AppError, Problem};
use crate::extract::ValidJson;
use crate::extract::ValidQuery;
use crate::lang;
use crate::patient::{today, PatientAuth};
use crate::state::AppState;
use aftercare_app::diary as service;
use aftercare_app::text::Note;
use aftercare_core::DecisionView;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::triage::LangQuery;

pub use service::NOTE_LIMIT;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiaryBody {
    /// Pain now, 0 (none) to 10 (worst imaginable).
    pub pain: i64,
    /// Facts answered that day (vocabulary ids), e.g. `{"pain_course": "improving"}`.
    #[serde(default)]
    #[schema(value_type = crate::api::views::Answers)]
    pub facts: Map<String, Value>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DiaryWritten {
    pub entry: DiaryEntryView,
    /// The decision on what is known that day.
    #[schema(value_type = aftercare_core::DecisionView)]
    pub decision: Value,
    /// Set when this entry alerted the clinic; `decision.now` says what to do now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationView>,
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
    ValidQuery(q): ValidQuery<LangQuery>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<DiaryBody>,
) -> Result<Json<DiaryWritten>, AppError> {
    let day = parse_day(&day)?;
    let note = Note::optional("note", body.note.as_deref())?;
    let written = state
        .app
        .diary()
        .write_day(
            &auth.actor,
            &auth.patient,
            service::DayInput {
                day,
                pain: body.pain,
                facts: body.facts,
                note,
            },
        )
        .await?;
    let lang = lang::negotiate(&state.content, q.lang.as_deref(), &headers);
    let view = DecisionView::new(&state.content, &written.decision, lang);
    Ok(Json(DiaryWritten {
        entry: written.entry.into(),
        decision: serde_json::to_value(&view).map_err(|e| AppError::Internal(e.to_string()))?,
        escalation: written.escalation.map(Into::into),
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DiaryDay {
    pub entry: DiaryEntryView,
    /// Every version of the day, oldest first.
    pub history: Vec<DiaryEntryView>,
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
    audit::record(
        &state,
        &auth.actor,
        crate::audit::Action::DiaryRead,
        Some(&patient.id),
        Some(&patient.clinic_id),
        Some(day.to_string()),
    )
    .await?;
    let entry = state
        .app
        .diary()
        .get(patient, day)
        .await?
        .ok_or(AppError::NotFound)?;
    let history = state.app.diary().history(patient, day).await?;
    Ok(Json(DiaryDay {
        entry: entry.into(),
        history: views::all(history),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First day (YYYY-MM-DD); default: the procedure date.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD); default: today.
    pub to: Option<String>,
}

/// The entries of a range of days (current versions).
#[utoipa::path(get, path = "/api/v1/diary", tag = "diary", params(RangeQuery),
    security(("patient_link" = [])),
    responses((status = 200, description = "Entries by day", body = Vec<DiaryEntryView>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: PatientAuth,
    ValidQuery(q): ValidQuery<RangeQuery>,
) -> Result<Json<Vec<DiaryEntryView>>, AppError> {
    let patient = &auth.patient;
    let from = q
        .from
        .as_deref()
        .map(parse_day)
        .transpose()?
        .unwrap_or(patient.procedure_date);
    let to =
        q.to.as_deref()
            .map(parse_day)
            .transpose()?
            .unwrap_or_else(|| today(state.now()));
    audit::record(
        &state,
        &auth.actor,
        crate::audit::Action::DiaryList,
        Some(&patient.id),
        Some(&patient.clinic_id),
        None,
    )
    .await?;
    Ok(Json(views::all(
        state.app.diary().list(patient, from, to).await?,
    )))
}

/// A `YYYY-MM-DD` day, or a 422 naming the `day` field.
pub fn parse_day(s: &str) -> Result<chrono::NaiveDate, AppError> {
    Ok(service::parse_day(s)?)
}
