//! Escalations: what a decision that calls for the clinic raises, until a clinician
//! acknowledges it and closes the episode. Each change recounts the patient's board columns.

use crate::records::PatientId;
use async_trait::async_trait;

use crate::records::{Escalation, NewEscalation, Time};
use crate::sql::{missing_or_conflict, new_id, Conn, Statement};
use crate::{Engine, Result};

/// Writes, inside a unit of work.
#[async_trait]
pub trait EscalationTx: Send {
    /// Raises an escalation for the clinic; `None` when one with the same reason is still open
    /// for the patient (an alert is raised once, until someone acknowledges it).
    async fn raise_escalation(
        &mut self,
        new: NewEscalation,
        now: Time,
    ) -> Result<Option<Escalation>>;
    /// `Conflict` when already acknowledged.
    async fn acknowledge_escalation(
        &mut self,
        id: String,
        staff_id: String,
        note: Option<String>,
        now: Time,
    ) -> Result<Escalation>;
    /// Closes the episode of an acknowledged escalation; `Conflict` before it is acknowledged
    /// or when already closed.
    async fn close_escalation(
        &mut self,
        id: String,
        staff_id: String,
        now: Time,
    ) -> Result<Escalation>;
}

/// Reads.
#[async_trait]
pub trait EscalationRead: Send + Sync {
    async fn get_escalation(&self, id: &str) -> Result<Option<Escalation>>;
    /// Newest first.
    async fn list_escalations(
        &self,
        patient_id: &PatientId,
        open_only: bool,
    ) -> Result<Vec<Escalation>>;
}

/// Recounts a patient's unacknowledged escalations and the highest level of her unclosed ones
/// (kept on her row for the board).
fn recount(patient_id: &PatientId) -> Statement {
    Statement::new(
        "UPDATE patients SET open_escalations = (SELECT COUNT(*) FROM escalations \
         WHERE patient_id = $1 AND acknowledged_at IS NULL), \
         episode_level = (SELECT level FROM escalations WHERE patient_id = $1 \
         AND closed_at IS NULL ORDER BY urgency DESC LIMIT 1), \
         episode_urgency = (SELECT MAX(urgency) FROM escalations WHERE patient_id = $1 \
         AND closed_at IS NULL) WHERE id = $1",
    )
    .bind(patient_id)
}

/// Raises an escalation in a write in progress, unless the same reason is still open for the
/// patient. The caller holds the patient's lock (PostgreSQL) or the single writer (SQLite), so
/// the check and the insert are one step: two requests cannot both raise it. Its first alert
/// is due at once (`next_alert_at`), in the same commit.
pub(crate) async fn insert_escalation<C: Conn>(
    c: &mut C,
    new: NewEscalation,
    now: Time,
) -> Result<Option<Escalation>> {
    let insert = Statement::new(
        "INSERT INTO escalations (id, patient_id, level, reason, source, source_ref, \
         raised_at, next_alert_at, urgency) SELECT $1, $2, $3, $4, $5, $6, $7, $7, $8 \
         WHERE NOT EXISTS \
         (SELECT 1 FROM escalations WHERE patient_id = $2 AND reason = $4 \
         AND acknowledged_at IS NULL) RETURNING *",
    )
    .bind(new_id())
    .bind(&new.patient_id)
    .bind(new.level)
    .bind(new.reason)
    .bind(new.source)
    .bind(new.source_ref)
    .bind(now)
    .bind(new.urgency);
    let escalation: Option<Escalation> = c.fetch_optional(insert).await?;
    if escalation.is_some() {
        c.execute(recount(&new.patient_id)).await?;
    }
    Ok(escalation)
}

/// After an update of an escalation's state: the escalation it returned, with the patient's
/// board columns recounted; or why it matched nothing.
async fn changed<C: Conn>(
    c: &mut C,
    row: Option<Escalation>,
    id: &str,
    reason: &str,
) -> Result<Escalation> {
    let Some(escalation) = row else {
        return Err(missing_or_conflict(c, "escalations", id, reason).await);
    };
    c.execute(recount(&escalation.patient_id)).await?;
    Ok(escalation)
}

#[async_trait]
impl<C: Conn> EscalationTx for C {
    async fn raise_escalation(
        &mut self,
        new: NewEscalation,
        now: Time,
    ) -> Result<Option<Escalation>> {
        self.lock_patient(&new.patient_id).await?;
        insert_escalation(self, new, now).await
    }

    async fn acknowledge_escalation(
        &mut self,
        id: String,
        staff_id: String,
        note: Option<String>,
        now: Time,
    ) -> Result<Escalation> {
        let update = Statement::new(
            "UPDATE escalations SET acknowledged_by = $2, acknowledged_at = $3, ack_note = $4, \
             next_alert_at = NULL WHERE id = $1 AND acknowledged_at IS NULL RETURNING *",
        )
        .bind(&id)
        .bind(staff_id)
        .bind(now)
        .bind(note);
        let row = self.fetch_optional(update).await?;
        changed(self, row, &id, "escalation already acknowledged").await
    }

    async fn close_escalation(
        &mut self,
        id: String,
        staff_id: String,
        now: Time,
    ) -> Result<Escalation> {
        let update = Statement::new(
            "UPDATE escalations SET closed_at = $3, closed_by = $2 \
             WHERE id = $1 AND acknowledged_at IS NOT NULL AND closed_at IS NULL RETURNING *",
        )
        .bind(&id)
        .bind(staff_id)
        .bind(now);
        let row = self.fetch_optional(update).await?;
        changed(
            self,
            row,
            &id,
            "escalation not acknowledged yet, or already closed",
        )
        .await
    }
}

#[async_trait]
impl<E: Engine> EscalationRead for E {
    async fn get_escalation(&self, id: &str) -> Result<Option<Escalation>> {
        let select = Statement::new("SELECT * FROM escalations WHERE id = $1").bind(id);
        self.reader().await?.fetch_optional(select).await
    }

    async fn list_escalations(
        &self,
        patient_id: &PatientId,
        open_only: bool,
    ) -> Result<Vec<Escalation>> {
        let select = Statement::new(
            "SELECT * FROM escalations WHERE patient_id = $1 \
             AND (NOT $2 OR acknowledged_at IS NULL) ORDER BY raised_at DESC, id DESC",
        )
        .bind(patient_id)
        .bind(open_only);
        self.reader().await?.fetch_all(select).await
    }
}
