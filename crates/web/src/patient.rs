//! The patient side's identity and context. A patient is known by the secret token of her
//! personal link (or her enrolment code exchanged for it); every request made with it sees her
//! records and no one else's.

use crate::audit::{Actor, ClientAddress};
use crate::error::AppError;
use crate::state::AppState;
use aftercare_core::Profile;
use aftercare_store::Patient;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDate, Utc};

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
                kind: "patient",
                id: Some(patient.id.clone()),
                address,
            },
            patient,
        })
    }
}

/// The patient whose link token this is; `Unauthorized` for an unknown token, so a guessed token
/// and a revoked one look alike.
pub async fn find_by_token(state: &AppState, token: &str) -> Result<Patient, AppError> {
    if token.len() > 128 {
        return Err(AppError::Unauthorized);
    }
    state
        .store
        .get_patient_by_link_token(token)
        .await?
        .ok_or(AppError::Unauthorized)
}

/// The calendar day of an instant (UTC; clinics in other zones see day boundaries shifted by
/// their offset, which the diary tolerates since entries are per day).
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

/// What the clinic knows of her, as of `now`. On the day of the procedure the hours are left for
/// her to answer: the first hours decide whether numbness is still the block.
pub fn profile(patient: &Patient, now: DateTime<Utc>) -> Profile {
    let today = today(now);
    let days_since_procedure = (today - patient.procedure_date).num_days();
    Profile {
        procedure: patient.procedure.clone(),
        hours_since_procedure: (days_since_procedure >= 1)
            .then_some(days_since_procedure as f64 * 24.0),
        days_since_delivery: patient
            .delivery_date
            .map(|d| (today - d).num_days().max(0) as f64),
    }
}

/// A new secret for a personal link: 256 random bits as 64 hex digits.
pub fn new_link_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The letters of enrolment codes: no 0/O, 1/I/L, so a code read aloud or typed is not mistaken.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A new enrolment code: 8 characters from [`CODE_ALPHABET`] (about 40 bits; the pages slow
/// guessing down with a rate limit per address).
pub fn new_enrolment_code() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes
        .iter()
        .take(8)
        .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
        .collect()
}
