//! `POST /api/v1/triage`: a case in, a decision out, nothing stored. For anonymous checks, EHR
//! integrations that keep their own records, and load tests.

use crate::error::{AppError, Problem};
use crate::extract::{JsonBytes, ValidQuery};
use crate::lang;
use crate::state::AppState;
use aftercare_core::{triage as decide, Case, DecisionView};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangQuery {
    /// The language of the texts (`en`, `es`); default from Accept-Language.
    pub lang: Option<String>,
}

/// Decide one case.
///
/// The body is a case: a JSON object whose keys are fact ids of the vocabulary, each at most
/// once. A missing fact is unknown; when an unknown fact could raise the level, the decision is
/// `incomplete` and `ask` lists the questions to ask next, most urgent first.
#[utoipa::path(
    post,
    path = "/api/v1/triage",
    tag = "triage",
    params(LangQuery),
    request_body(content = crate::api::views::Answers, description = "A case: fact id to answer", content_type = "application/json"),
    responses(
        (status = 200, description = "The decision, with reasons, actions, plan and the content version", body = aftercare_core::DecisionView),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed JSON or an invalid fact; `field` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn triage(
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<LangQuery>,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> Result<Response, AppError> {
    let content = &state.content;
    let case = Case::from_json_slice(content, &body)?;
    let decision = decide(content, &case);
    state.metrics.observe_decision(decision.level);
    let lang = lang::negotiate(content, q.lang.as_deref(), &headers);
    // Decisions are a few kilobytes: one right-sized buffer instead of growing a small one.
    let mut body = Vec::with_capacity(8 * 1024);
    serde_json::to_writer(&mut body, &DecisionView::new(content, &decision, lang))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
