//! A submitted HTML form as its list of name/value pairs, in order, repeated names kept:
//! the check-in carries a variable set of answers, so a fixed struct does not fit.

use crate::error::AppError;
use axum::extract::{FromRequest, Request};

pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field's value trimmed, empty when missing.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_string()
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        axum::Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map(|axum::Form(pairs)| Form(pairs))
            .map_err(|_| AppError::BadRequest {
                detail: "the form could not be read".into(),
                field: None,
            })
    }
}
