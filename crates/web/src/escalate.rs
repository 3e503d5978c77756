//! Raising escalations for the clinic when a check-in or diary day shows that recovery has
//! turned: the level rose above the patient's last one, or the diary left the expected course.
//! The decision to escalate is the core's; this module stores it, once.

use crate::error::AppError;
use crate::state::AppState;
use aftercare_core::{recovery, Decision, Level, RecoveryCheck};
use aftercare_store::{Escalation, NewEscalation, Patient};

/// Stores an escalation if the core calls for one; the store skips it when the same reason is
/// already open.
pub async fn apply(
    state: &AppState,
    patient: &Patient,
    decision: &Decision,
    missed: &[RecoveryCheck],
    source: &str,
    source_ref: &str,
) -> Result<Option<Escalation>, AppError> {
    let previous = patient.last_level.as_deref().and_then(Level::parse);
    let Some((level, reason)) = recovery::escalation(&state.content, previous, decision, missed)
    else {
        return Ok(None);
    };
    let raised = state
        .store
        .raise_escalation(
            NewEscalation {
                patient_id: patient.id.clone(),
                level: level.as_str().to_string(),
                reason: reason.code(),
                source: source.to_string(),
                source_ref: source_ref.to_string(),
            },
            state.now(),
        )
        .await?;
    let Some(raised) = raised else {
        // The same reason is still open: the clinic already knows.
        return Ok(None);
    };
    tracing::info!(level = %level, source, "escalation raised");
    Ok(Some(raised))
}
