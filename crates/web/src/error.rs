//! The one application error, and the one place it becomes an HTTP response: an RFC 9457
//! `application/problem+json` body, or, for FHIR routes (handlers returning [`FhirError`]), a FHIR
//! `OperationOutcome` with the same status. Internal detail goes to the log inside the request's
//! span, never into the response.

use aftercare_core::CaseError;
use aftercare_fhir::outcome::{operation_outcome, IssueCode};
use aftercare_fhir::ImportError;
use aftercare_store::StoreError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed or a field is invalid.
    #[error("{detail}")]
    BadRequest {
        detail: String,
        field: Option<String>,
    },
    /// The answers do not make a valid case.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// A FHIR resource (a QuestionnaireResponse, a CDS prefetch) was refused; names the item.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// Data the request must bring is missing (a CDS Hooks prefetch we cannot fetch ourselves).
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("not found")]
    NotFound,
    #[error("authentication required")]
    Unauthorized,
    #[error("not allowed")]
    Forbidden,
    /// Signed in, but her role (or her clinic) requires a second factor she has not set up:
    /// only her account pages answer until she does.
    #[error("set up a second factor at /clinic/account/second-factor before using the workspace")]
    SecondFactorRequired,
    #[error("{0}")]
    Conflict(String),
    #[error("too many requests")]
    TooManyRequests,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The database cannot be reached: the client may retry.
    #[error("the service is temporarily unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl From<aftercare_app::Error> for AppError {
    fn from(e: aftercare_app::Error) -> Self {
        use aftercare_app::Error as E;
        match e {
            E::Invalid { field, detail } => AppError::BadRequest {
                detail,
                field: Some(field),
            },
            E::Case(e) => AppError::Case(e),
            E::NotFound => AppError::NotFound,
            E::Conflict(reason) => AppError::Conflict(reason),
            E::Unavailable => AppError::Unavailable,
            E::Internal(detail) => AppError::Internal(detail),
        }
    }
}

impl AppError {
    pub fn bad_field(field: impl Into<String>, detail: impl Into<String>) -> AppError {
        AppError::BadRequest {
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } | AppError::Case(_) | AppError::Import(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::SecondFactorRequired => StatusCode::FORBIDDEN,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem body a client sees.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (kind, field) = match self {
            AppError::BadRequest { field, .. } => ("invalid-request", field.clone()),
            AppError::Case(e) => ("invalid-case", e.field().map(str::to_string)),
            AppError::Import(e) => ("invalid-resource", Some(e.expression.clone())),
            AppError::PreconditionFailed(_) => ("precondition-failed", None),
            AppError::NotFound => ("not-found", None),
            AppError::Unauthorized => ("unauthorized", None),
            AppError::Forbidden => ("forbidden", None),
            AppError::SecondFactorRequired => ("second-factor-required", None),
            AppError::Conflict(_) => ("conflict", None),
            AppError::TooManyRequests => ("rate-limited", None),
            AppError::PayloadTooLarge => ("payload-too-large", None),
            AppError::UnsupportedMediaType(_) => ("unsupported-media-type", None),
            AppError::Unavailable => ("unavailable", None),
            AppError::Internal(_) => ("internal", None),
        };
        let detail = match self {
            AppError::Internal(_) => "an unexpected error occurred; it has been logged".to_string(),
            other => other.to_string(),
        };
        Problem {
            kind: format!("/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail,
            field,
        }
    }
}

/// An RFC 9457 problem details body; `field` (an extension member) names the offending field.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl AppError {
    /// The OperationOutcome a FHIR client sees: the same status and detail as the problem body,
    /// the field at fault as a FHIRPath `expression`.
    pub fn operation_outcome(&self) -> serde_json::Value {
        if let AppError::Import(e) = self {
            return e.outcome();
        }
        let code = match self {
            AppError::BadRequest { .. } | AppError::Case(_) | AppError::Import(_) => {
                IssueCode::Invalid
            }
            AppError::PreconditionFailed(_) => IssueCode::Required,
            AppError::NotFound => IssueCode::NotFound,
            AppError::Unauthorized | AppError::Forbidden | AppError::SecondFactorRequired => {
                IssueCode::Security
            }
            AppError::Conflict(_) => IssueCode::Conflict,
            AppError::TooManyRequests => IssueCode::Throttled,
            AppError::PayloadTooLarge | AppError::UnsupportedMediaType(_) => {
                IssueCode::NotSupported
            }
            AppError::Unavailable => IssueCode::Transient,
            AppError::Internal(_) => IssueCode::Exception,
        };
        let problem = self.problem();
        operation_outcome(code, &problem.detail, problem.field.as_deref())
    }

    fn respond(self, content_type: &'static str, body: Vec<u8>) -> Response {
        let status = self.status();
        let mut response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // RFC 9110: a 401 names the scheme that would work (RFC 6750 for the API and CDS).
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"aftercare\""),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        if matches!(self, AppError::SecondFactorRequired) {
            // The workspace's error layer sends a page request to the set-up page instead.
            response.extensions_mut().insert(SecondFactorRequired);
        }
        response
    }
}

/// Marks a response refused for a missing second factor (see [`AppError::SecondFactorRequired`]).
#[derive(Debug, Clone, Copy)]
pub struct SecondFactorRequired;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        self.respond("application/problem+json", body)
    }
}

/// An [`AppError`] on a FHIR route: rendered as an `OperationOutcome` (`application/fhir+json`).
#[derive(Debug)]
pub struct FhirError(pub AppError);

impl<E: Into<AppError>> From<E> for FhirError {
    fn from(e: E) -> FhirError {
        FhirError(e.into())
    }
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self.0 {
            tracing::error!(%detail, "internal error");
        }
        let body = serde_json::to_vec(&self.0.operation_outcome()).unwrap_or_default();
        self.0.respond(crate::fhir::FHIR_JSON, body)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(what) => AppError::Conflict(what),
            StoreError::Unavailable | StoreError::Contention => AppError::Unavailable,
            other => AppError::Internal(other.to_string()),
        }
    }
}
