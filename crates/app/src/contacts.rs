//! Contact requests: someone asks the clinic to get in touch (signed in or not); a clinician
//! marks it handled. Each write and its audit row are one commit.

use aftercare_store::{ContactRequest, NewContactRequest, PatientId};

use crate::audit::{entry, Action, Actor, Subject};
use crate::text::{ContactDetail, Note, RequestText};
use crate::{App, Error, Result};

/// The longest reply note, in characters.
pub const NOTE_LIMIT: usize = Note::MAX;

/// A request through a clinic's contact form, its texts bounded.
#[derive(Debug, Clone)]
pub struct Request {
    pub clinic_id: String,
    /// Hers when she is signed in and writes to her own clinic.
    pub patient_id: Option<PatientId>,
    pub name: ContactDetail,
    pub contact: ContactDetail,
    pub message: RequestText,
    /// She agreed that the clinic keeps what she wrote and contacts her; nothing is kept
    /// without it.
    pub consent: bool,
}

pub struct Contacts<'a>(pub(crate) &'a App);

impl Contacts<'_> {
    /// Stores a request from the contact form, audited; `patient_id` when she is signed in
    /// (also when she writes to another clinic, so that her audit trail shows it).
    pub async fn create(
        &self,
        actor: &Actor,
        patient_id: Option<&str>,
        request: Request,
    ) -> Result<ContactRequest> {
        if !request.consent {
            return Err(Error::invalid(
                "consent",
                "consent: needed before the clinic keeps the request",
            ));
        }
        let new = NewContactRequest {
            clinic_id: request.clinic_id,
            patient_id: request.patient_id,
            name: request.name.into_string(),
            contact: request.contact.into_string(),
            message: request.message.into_string(),
            consent: request.consent,
        };
        let now = self.0.now();
        let (actor, patient_id) = (actor.clone(), patient_id.map(str::to_string));
        self.0
            .write_audited(
                move |tx| tx.create_contact_request(new.clone(), now),
                move |stored: &ContactRequest| {
                    let subject = Subject {
                        patient_id: patient_id.as_deref(),
                        clinic_id: Some(&stored.clinic_id),
                        detail: Some(stored.id.clone()),
                    };
                    entry(&actor, Action::ContactCreate, subject, now)
                },
            )
            .await
    }

    /// The clinic's requests, newest first, audited; `handled` filters when given.
    pub async fn inbox(
        &self,
        actor: &Actor,
        clinic_id: &str,
        handled: Option<bool>,
    ) -> Result<Vec<ContactRequest>> {
        let rows = self.list(clinic_id, handled).await?;
        self.0
            .audit()
            .record(
                actor,
                Action::ContactList,
                Subject::clinic(clinic_id).detail(format!("{} requests", rows.len())),
            )
            .await?;
        Ok(rows)
    }

    /// The requests she sent while signed in, newest first (the caller audits the page that
    /// shows them).
    pub async fn of_patient(
        &self,
        patient: &aftercare_store::Patient,
    ) -> Result<Vec<ContactRequest>> {
        Ok(self
            .0
            .store
            .list_patient_contact_requests(&patient.id)
            .await?)
    }

    /// The clinic's requests, newest first, without an audit row (counts for the menu).
    pub async fn list(
        &self,
        clinic_id: &str,
        handled: Option<bool>,
    ) -> Result<Vec<ContactRequest>> {
        Ok(self
            .0
            .store
            .list_contact_requests(clinic_id, handled)
            .await?)
    }

    /// Marks one of the clinic's requests handled, with a note; `NotFound` for another
    /// clinic's. The mark and its audit row are one commit.
    pub async fn mark_handled(
        &self,
        actor: &Actor,
        clinic_id: &str,
        staff_id: &str,
        id: &str,
        note: Option<Note>,
    ) -> Result<ContactRequest> {
        let mine = self
            .list(clinic_id, None)
            .await?
            .into_iter()
            .any(|r| r.id == id);
        if !mine {
            return Err(Error::NotFound);
        }
        let note = note.map(Note::into_string);
        let now = self.0.now();
        let row = entry(
            actor,
            Action::ContactHandled,
            Subject::clinic(clinic_id).detail(id),
            now,
        );
        let (id, staff_id) = (id.to_string(), staff_id.to_string());
        self.0
            .write_audited(
                move |tx| tx.mark_contact_handled(id.clone(), staff_id.clone(), note.clone(), now),
                move |_| row.clone(),
            )
            .await
    }
}
