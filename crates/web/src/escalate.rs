//! Raising escalations for the clinic when a check-in or diary day shows that recovery has
//! turned: the level rose above the patient's last one, or the diary left the expected course.
//! The decision to escalate is the core's; this module turns it into a record, stored once.

use crate::error::AppError;
use crate::state::AppState;
use aftercare_core::{recovery, Decision, Level, RecoveryCheck};
use aftercare_store::{Escalation, NewEscalation, Patient};

/// The escalation the core calls for, if any, ready to store. A diary day stores it in the
/// same transaction as the entry.
pub fn called_for(
    state: &AppState,
    patient: &Patient,
    decision: &Decision,
    missed: &[RecoveryCheck],
    source: &str,
    source_ref: &str,
) -> Option<NewEscalation> {
    let previous = patient.last_level.as_deref().and_then(Level::parse);
    let (level, reason) = recovery::escalation(&state.content, previous, decision, missed)?;
    Some(NewEscalation {
        patient_id: patient.id.clone(),
        level: level.as_str().to_string(),
        reason: reason.code(),
        source: source.to_string(),
        source_ref: source_ref.to_string(),
    })
}

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
    let Some(new) = called_for(state, patient, decision, missed, source, source_ref) else {
        return Ok(None);
    };
    let raised = state.store.raise_escalation(new, state.now()).await?;
    if let Some(e) = &raised {
        log_raised(e);
    }
    Ok(raised)
}

/// One log line per alert raised: its level and where it came from, never why (the reason
/// names symptoms).
pub fn log_raised(e: &Escalation) {
    tracing::info!(level = %e.level, source = %e.source, "escalation raised");
}
