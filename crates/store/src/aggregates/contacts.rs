//! Contact requests: a message to the clinic from the public page, or from her record while
//! she is signed in, until someone handles it.

use crate::records::PatientId;
use async_trait::async_trait;

use crate::records::{ContactRequest, NewContactRequest, Time};
use crate::sql::{missing_or_conflict, new_id, Conn, Statement};
use crate::{Engine, Result};

/// Writes, inside a unit of work.
#[async_trait]
pub trait ContactTx: Send {
    async fn create_contact_request(
        &mut self,
        new: NewContactRequest,
        now: Time,
    ) -> Result<ContactRequest>;
    /// `Conflict` when already handled.
    async fn mark_contact_handled(
        &mut self,
        id: String,
        staff_id: String,
        reply_note: Option<String>,
        now: Time,
    ) -> Result<ContactRequest>;
}

/// Reads.
#[async_trait]
pub trait ContactRead: Send + Sync {
    /// Newest first; `handled` filters when given.
    async fn list_contact_requests(
        &self,
        clinic_id: &str,
        handled: Option<bool>,
    ) -> Result<Vec<ContactRequest>>;
    /// The requests she sent while signed in, newest first.
    async fn list_patient_contact_requests(
        &self,
        patient_id: &PatientId,
    ) -> Result<Vec<ContactRequest>>;
}

#[async_trait]
impl<C: Conn> ContactTx for C {
    async fn create_contact_request(
        &mut self,
        new: NewContactRequest,
        now: Time,
    ) -> Result<ContactRequest> {
        let insert = Statement::new(
            "INSERT INTO contact_requests (id, clinic_id, name, contact, message, consent, \
             created_at, patient_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(new_id())
        .bind(new.clinic_id)
        .bind(new.name)
        .bind(new.contact)
        .bind(new.message)
        .bind(new.consent)
        .bind(now)
        .bind(new.patient_id);
        self.fetch_one(insert).await
    }

    async fn mark_contact_handled(
        &mut self,
        id: String,
        staff_id: String,
        reply_note: Option<String>,
        now: Time,
    ) -> Result<ContactRequest> {
        let update = Statement::new(
            "UPDATE contact_requests SET handled_by = $2, handled_at = $3, reply_note = $4 \
             WHERE id = $1 AND handled_at IS NULL RETURNING *",
        )
        .bind(&id)
        .bind(staff_id)
        .bind(now)
        .bind(reply_note);
        match self.fetch_optional(update).await? {
            Some(request) => Ok(request),
            None => {
                let reason = "contact request already handled";
                Err(missing_or_conflict(self, "contact_requests", &id, reason).await)
            }
        }
    }
}

#[async_trait]
impl<E: Engine> ContactRead for E {
    async fn list_contact_requests(
        &self,
        clinic_id: &str,
        handled: Option<bool>,
    ) -> Result<Vec<ContactRequest>> {
        let select = Statement::new(
            "SELECT * FROM contact_requests WHERE clinic_id = $1 \
             AND ($2 IS NULL OR (handled_at IS NOT NULL) = $2) ORDER BY created_at DESC, id DESC",
        )
        .bind(clinic_id)
        .bind(handled);
        self.reader().await?.fetch_all(select).await
    }

    async fn list_patient_contact_requests(
        &self,
        patient_id: &PatientId,
    ) -> Result<Vec<ContactRequest>> {
        let select = Statement::new(
            "SELECT * FROM contact_requests WHERE patient_id = $1 \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(patient_id);
        self.reader().await?.fetch_all(select).await
    }
}
