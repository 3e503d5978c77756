//! The audit trail: who read or wrote which patient's data, when, from where. It is a table
//! (append-only, enforced by the database), never log lines, and writing it is part of the
//! request: if the audit row cannot be written, the request fails. A write's audit row commits
//! in the same unit of work as the write, in the application layer; this records what only
//! reads.

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::net::SocketAddr;

pub use aftercare_app::{Action, Actor, ActorKind};

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

/// Appends one audit row for an event that writes nothing else (a read of patient data).
pub async fn record(
    state: &AppState,
    actor: &Actor,
    action: Action,
    patient_id: Option<&str>,
    clinic_id: Option<&str>,
    detail: Option<String>,
) -> Result<(), AppError> {
    let subject = aftercare_app::Subject {
        patient_id,
        clinic_id,
        detail,
    };
    Ok(state.app.audit().record(actor, action, subject).await?)
}
