//! The questionnaire itself: every question with its texts, options and ranges, so a client can
//! render the questions the engine asks for.

use crate::extract::ValidQuery;
use crate::lang;
use crate::state::AppState;
use aftercare_core::QuestionView;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::Value;

use super::triage::LangQuery;

/// Every question, in vocabulary order.
#[utoipa::path(get, path = "/api/v1/questions", tag = "triage", params(LangQuery),
    responses((status = 200, description = "The questions, with the content version", body = Object)))]
pub async fn list(
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<LangQuery>,
    headers: HeaderMap,
) -> Json<Value> {
    let content = &state.content;
    let lang = lang::negotiate(content, q.lang.as_deref(), &headers);
    let questions: Vec<QuestionView> = (0..content.facts.len() as u16)
        .map(|f| QuestionView::new(content, f, lang))
        .collect();
    Json(serde_json::json!({
        "content_version": content.version,
        "language": content.text(lang).code,
        "questions": questions,
    }))
}
