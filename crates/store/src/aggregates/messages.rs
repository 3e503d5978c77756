//! Chat: one thread per patient, between her and her clinic.

use crate::records::PatientId;
use async_trait::async_trait;

use crate::records::{Message, NewMessage, Time, UnreadCounts};
use crate::sql::{Conn, Statement};
use crate::{Engine, Result, Side};

/// Writes, inside a unit of work.
#[async_trait]
pub trait MessageTx: Send {
    /// Also tells other servers (PostgreSQL `pg_notify('aftercare_chat',
    /// '<patient_id>:<message_id>')`), delivered when the unit commits.
    async fn post_message(&mut self, new: NewMessage, now: Time) -> Result<Message>;
    /// Marks the other side's messages up to `up_to_id` as read by `reader`; returns how many
    /// changed.
    async fn mark_read(
        &mut self,
        patient_id: PatientId,
        reader: Side,
        up_to_id: i64,
        now: Time,
    ) -> Result<u64>;
}

/// Reads.
#[async_trait]
pub trait MessageRead: Send + Sync {
    /// Messages with id > `after_id`, oldest first, at most `limit`.
    async fn list_messages(
        &self,
        patient_id: &PatientId,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Message>>;
    async fn unread_counts(&self, patient_id: &PatientId) -> Result<UnreadCounts>;
}

/// Recounts a patient's messages unread by staff (kept on her row for the board).
fn recount_unread(patient_id: &PatientId) -> Statement {
    Statement::new(
        "UPDATE patients SET unread_messages = (SELECT COUNT(*) FROM messages \
         WHERE patient_id = $1 AND sender = 'patient' AND read_at IS NULL) WHERE id = $1",
    )
    .bind(patient_id)
}

#[async_trait]
impl<C: Conn> MessageTx for C {
    async fn post_message(&mut self, new: NewMessage, now: Time) -> Result<Message> {
        // The lock keeps ids in commit order within a thread, so polling with `after_id`
        // never skips a message.
        self.lock_patient(&new.patient_id).await?;
        let insert = Statement::new(
            "INSERT INTO messages (patient_id, sender, staff_id, body, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING *",
        )
        .bind(&new.patient_id)
        .bind(new.sender)
        .bind(new.staff_id)
        .bind(new.body)
        .bind(now);
        let message: Message = self.fetch_one(insert).await?;
        self.execute(recount_unread(&new.patient_id)).await?;
        // She waits for an answer from her message until staff write back.
        let waiting = Statement::new("UPDATE patients SET awaiting_reply = $2 WHERE id = $1")
            .bind(&new.patient_id)
            .bind(new.sender == Side::Patient);
        self.execute(waiting).await?;
        self.notify_chat(&message.patient_id, message.id).await?;
        Ok(message)
    }

    async fn mark_read(
        &mut self,
        patient_id: PatientId,
        reader: Side,
        up_to_id: i64,
        now: Time,
    ) -> Result<u64> {
        let update = Statement::new(
            "UPDATE messages SET read_at = $4 WHERE patient_id = $1 AND sender = $2 \
             AND id <= $3 AND read_at IS NULL",
        )
        .bind(&patient_id)
        .bind(reader.other())
        .bind(up_to_id)
        .bind(now);
        let changed = self.execute(update).await?;
        self.execute(recount_unread(&patient_id)).await?;
        Ok(changed)
    }
}

#[async_trait]
impl<E: Engine> MessageRead for E {
    async fn list_messages(
        &self,
        patient_id: &PatientId,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let select = Statement::new(
            "SELECT * FROM messages WHERE patient_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(patient_id)
        .bind(after_id)
        .bind(limit);
        self.reader().await?.fetch_all(select).await
    }

    async fn unread_counts(&self, patient_id: &PatientId) -> Result<UnreadCounts> {
        let select = Statement::new(
            "SELECT \
             COALESCE(SUM(CASE WHEN sender = 'patient' THEN 1 ELSE 0 END), 0) AS for_staff, \
             COALESCE(SUM(CASE WHEN sender = 'staff' THEN 1 ELSE 0 END), 0) AS for_patient \
             FROM messages WHERE patient_id = $1 AND read_at IS NULL",
        )
        .bind(patient_id);
        self.reader().await?.fetch_one(select).await
    }
}
