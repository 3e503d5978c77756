//! The application layer's error. The HTTP adapter maps each variant to a status and an RFC 9457
//! problem body, the CLI to a message; neither sees a store or driver error.

use aftercare_core::CaseError;
use aftercare_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field of the command is invalid; `detail` says why, naming the field.
    #[error("{detail}")]
    Invalid { field: String, detail: String },
    /// The answers do not make a valid case.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// Absent, or not the caller's to see (the two look alike).
    #[error("not found")]
    NotFound,
    /// The change is no longer allowed, or clashes with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// The store cannot be reached or cannot write: the caller may retry.
    #[error("the service is temporarily unavailable")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::NotFound,
            StoreError::Conflict(reason) => Error::Conflict(reason),
            StoreError::Unavailable | StoreError::Contention => Error::Unavailable,
            StoreError::Other(detail) => Error::Internal(detail),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
