//! The recovery summary: the pain series over the days since the procedure, the days since the
//! procedure and the birth, the expected course, and the open escalations.

use crate::api::views::{self, EscalationView};
use crate::audit;
use crate::error::AppError;
use crate::extract::ValidQuery;
use crate::lang;
use crate::patient::{today, PatientAuth};
use crate::state::AppState;
use aftercare_store::Patient;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::NaiveDate;
use serde::Serialize;

use super::triage::LangQuery;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecoverySummary {
    pub procedure: String,
    pub days_since_procedure: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_since_birth: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_level: Option<String>,
    pub pain: Vec<PainPoint>,
    /// Where recovery should be by when (content/course.toml).
    pub expected_course: Vec<Milestone>,
    pub open_escalations: Vec<EscalationView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PainPoint {
    pub date: NaiveDate,
    /// Days since the procedure.
    pub day: i64,
    pub pain: i16,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Milestone {
    pub id: String,
    pub day: u32,
    pub text: String,
}

/// The patient's recovery at a glance.
#[utoipa::path(get, path = "/api/v1/recovery", tag = "diary", params(LangQuery),
    security(("patient_link" = [])),
    responses((status = 200, description = "The recovery summary", body = RecoverySummary)))]
pub async fn summary(
    State(state): State<AppState>,
    auth: PatientAuth,
    ValidQuery(q): ValidQuery<LangQuery>,
    headers: HeaderMap,
) -> Result<Json<RecoverySummary>, AppError> {
    let patient = &auth.patient;
    audit::record(
        &state,
        &auth.actor,
        crate::audit::Action::RecoveryRead,
        Some(&patient.id),
        Some(&patient.clinic_id),
        None,
    )
    .await?;
    let lang = lang::negotiate(&state.content, q.lang.as_deref(), &headers);
    Ok(Json(build(&state, patient, lang).await?))
}

/// Also used by the pages and the clinic's patient view.
pub async fn build(
    state: &AppState,
    patient: &Patient,
    lang: aftercare_core::Lang,
) -> Result<RecoverySummary, AppError> {
    let today = today(state.now());
    let entries = state
        .app
        .diary()
        .list(patient, patient.procedure_date, today)
        .await?;
    let texts = state.content.text(lang);
    Ok(RecoverySummary {
        procedure: patient.procedure.clone(),
        days_since_procedure: (today - patient.procedure_date).num_days(),
        days_since_birth: patient.delivery_date.map(|d| (today - d).num_days()),
        last_level: patient.last_level.clone(),
        pain: entries
            .iter()
            .map(|e| PainPoint {
                date: e.day,
                day: (e.day - patient.procedure_date).num_days(),
                pain: e.pain,
            })
            .collect(),
        expected_course: state
            .content
            .course
            .milestones
            .iter()
            .zip(&texts.milestones)
            .map(|(m, t)| Milestone {
                id: m.id.clone(),
                day: m.day,
                text: t.clone(),
            })
            .collect(),
        open_escalations: views::all(state.app.escalations().list(patient, true).await?),
    })
}
