//! The audit trail: who read or wrote which patient's data, when, from where. It is a table
//! (append-only, enforced by the database), never log lines, and writing it is part of the
//! request: if the audit row cannot be written, the request fails.

use crate::error::AppError;
use crate::state::AppState;
use aftercare_store::NewAuditEntry;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::net::SocketAddr;

/// Who is acting.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `patient`, `staff`, `ehr`, `anonymous` or `system`.
    pub kind: &'static str,
    pub id: Option<String>,
    pub address: Option<String>,
}

/// The client's address: the TCP peer, or, when the peer is a proxy the operator trusts
/// (`AFTERCARE_TRUSTED_PROXIES`), the client it forwarded for (see [`crate::proxy`]).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub Option<String>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ci| {
                state
                    .settings
                    .trusted_proxies
                    .client(ci.0.ip(), &parts.headers)
                    .to_string()
            }),
        ))
    }
}

/// Appends one audit row.
pub async fn record(
    state: &AppState,
    actor: &Actor,
    action: &str,
    patient_id: Option<&str>,
    clinic_id: Option<&str>,
    detail: Option<String>,
) -> Result<(), AppError> {
    let entry = entry(state, actor, action, patient_id, clinic_id, detail);
    state.store.append_audit(entry).await?;
    Ok(())
}

/// An audit row to commit together with the write it records.
pub fn entry(
    state: &AppState,
    actor: &Actor,
    action: &str,
    patient_id: Option<&str>,
    clinic_id: Option<&str>,
    detail: Option<String>,
) -> NewAuditEntry {
    NewAuditEntry {
        at: state.now(),
        actor_kind: actor.kind.to_string(),
        actor_id: actor.id.clone(),
        action: action.to_string(),
        patient_id: patient_id.map(str::to_string),
        clinic_id: clinic_id.map(str::to_string),
        address: actor.address.clone(),
        detail,
    }
}
