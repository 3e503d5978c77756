//! The questionnaire itself: every question with its texts, options and ranges, so a client can
//! render the questions the engine asks for.

use crate::extract::ValidQuery;
use crate::lang;
use crate::state::AppState;
use aftercare_core::QuestionView;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::triage::LangQuery;

/// Every question, in vocabulary order.
#[utoipa::path(get, path = "/api/v1/questions", tag = "triage", params(LangQuery),
    responses((status = 200, description = "The questions, with the content version", body = QuestionList)))]
pub async fn list(
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let content = &state.content;
    let lang = lang::negotiate(content, q.lang.as_deref(), &headers);
    let questions: Vec<QuestionView> = (0..content.facts.len() as u16)
        .map(|f| QuestionView::new(content, f, lang))
        .collect();
    Json(QuestionList {
        content_version: content.version.clone(),
        language: content.text(lang).code.to_string(),
        questions,
    })
    // Serialized here, while the views still borrow the content.
    .into_response()
}

/// The whole questionnaire in one language.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct QuestionList<'a> {
    /// The content version the questions belong to.
    pub content_version: String,
    /// The language of the texts.
    pub language: String,
    pub questions: Vec<QuestionView<'a>>,
}
