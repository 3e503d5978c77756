//! The patient side's identity and context. A patient is known by the secret token of her
//! personal link (or her enrolment code exchanged for it); every request made with it sees her
//! records and no one else's.

use crate::audit::{Actor, ClientAddress};
use crate::error::AppError;
use crate::state::AppState;
use aftercare_store::Patient;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// An authenticated patient (API: `Authorization: Bearer <link token>`).
pub struct PatientAuth {
    pub patient: Patient,
    pub actor: Actor,
}

impl FromRequestParts<AppState> for PatientAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let ClientAddress(address) = ClientAddress::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientAddress(None));
        let token = crate::extract::bearer(&parts.headers).ok_or(AppError::Unauthorized)?;
        let patient = find_by_token(state, token).await?;
        Ok(PatientAuth {
            actor: Actor {
                kind: crate::audit::ActorKind::Patient,
                id: Some(patient.id.to_string()),
                address,
            },
            patient,
        })
    }
}

/// The patient whose link token this is; `Unauthorized` for an unknown token, so a guessed token
/// and a revoked one look alike.
pub async fn find_by_token(state: &AppState, token: &str) -> Result<Patient, AppError> {
    state
        .app
        .patients()
        .by_link(token)
        .await?
        .ok_or(AppError::Unauthorized)
}

pub use aftercare_app::patients::{profile, today};
