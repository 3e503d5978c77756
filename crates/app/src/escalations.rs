//! Escalations: the clinic is alerted when a check-in or a diary day shows that recovery has
//! turned (the level rose above her last one, or the diary left the expected course). Whether to
//! escalate is the core's decision; this module turns it into a record, raised in the unit of
//! work of the write that called for it, and lets a clinician acknowledge it.

use aftercare_core::{recovery, Content, Decision, Level, RecoveryCheck};
use aftercare_store::{Escalation, EscalationSource, NewEscalation, Patient};

use crate::audit::{entry, Action, Actor, Subject};
use crate::text::Note;
use crate::{App, Error, Result};

/// The longest acknowledgement note, in characters.
pub const NOTE_LIMIT: usize = Note::MAX;

/// A level's urgency as the store keeps it beside the level's name: the core's order (the
/// least urgent level is 0), so the database sorts and filters by numbers alone.
pub fn urgency(level: Level) -> aftercare_store::Urgency {
    level as aftercare_store::Urgency
}

/// The escalation the core calls for, if any, ready to commit with the write that raised it.
pub fn called_for(
    content: &Content,
    patient: &Patient,
    decision: &Decision,
    missed: &[RecoveryCheck],
    source: EscalationSource,
    source_ref: &str,
) -> Option<NewEscalation> {
    let previous = patient.last_level.as_deref().and_then(Level::parse);
    let (level, reason) = recovery::escalation(content, previous, decision, missed)?;
    Some(NewEscalation {
        patient_id: patient.id.clone(),
        level: level.as_str().to_string(),
        urgency: urgency(level),
        reason: reason.code(),
        source,
        source_ref: source_ref.to_string(),
    })
}

/// One log line per alert raised: its level and where it came from, never why (the reason
/// names symptoms).
pub fn log_raised(e: &Escalation) {
    tracing::info!(level = %e.level, source = %e.source, "escalation raised");
}

pub struct Escalations<'a>(pub(crate) &'a App);

impl Escalations<'_> {
    /// An escalation of one of the clinic's patients, with her; `NotFound` for any other.
    async fn of_clinic(
        &self,
        clinic_id: &str,
        escalation_id: &str,
    ) -> Result<(Escalation, Patient)> {
        if !crate::limits::plausible_key(escalation_id) {
            return Err(Error::NotFound);
        }
        let escalation = self
            .0
            .store
            .get_escalation(escalation_id)
            .await?
            .ok_or(Error::NotFound)?;
        let patient = self
            .0
            .patients()
            .of_clinic(clinic_id, &escalation.patient_id)
            .await?;
        Ok((escalation, patient))
    }

    /// A clinician of the patient's clinic acknowledges an escalation, with what was done; the
    /// acknowledgement and its audit row are one commit.
    pub async fn acknowledge(
        &self,
        actor: &Actor,
        clinic_id: &str,
        staff_id: &str,
        escalation_id: &str,
        note: Option<Note>,
    ) -> Result<Escalation> {
        let (escalation, patient) = self.of_clinic(clinic_id, escalation_id).await?;
        let note = note.map(Note::into_string);
        let now = self.0.now();
        let row = entry(
            actor,
            Action::EscalationAcknowledge,
            Subject::patient(&patient).detail(escalation.id.clone()),
            now,
        );
        let (id, staff_id) = (escalation.id, staff_id.to_string());
        self.0
            .write_audited(
                move |tx| {
                    tx.acknowledge_escalation(id.clone(), staff_id.clone(), note.clone(), now)
                },
                move |_| row.clone(),
            )
            .await
    }

    /// A clinician closes the episode of an acknowledged escalation (she is no longer ranked at
    /// its level on the board); with its audit row, in one commit.
    pub async fn close(
        &self,
        actor: &Actor,
        clinic_id: &str,
        staff_id: &str,
        escalation_id: &str,
    ) -> Result<Escalation> {
        let (escalation, patient) = self.of_clinic(clinic_id, escalation_id).await?;
        let now = self.0.now();
        let row = entry(
            actor,
            Action::EscalationClose,
            Subject::patient(&patient).detail(escalation.id.clone()),
            now,
        );
        let (id, staff_id) = (escalation.id, staff_id.to_string());
        self.0
            .write_audited(
                move |tx| tx.close_escalation(id.clone(), staff_id.clone(), now),
                move |_| row.clone(),
            )
            .await
    }

    /// Her escalations, newest first; only the open ones when asked.
    pub async fn list(&self, patient: &Patient, open_only: bool) -> Result<Vec<Escalation>> {
        Ok(self
            .0
            .store
            .list_escalations(&patient.id, open_only)
            .await?)
    }
}
