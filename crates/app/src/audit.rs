//! Who did what to whose data. Every service builds the audit row of its write and commits it in
//! the same unit of work; reads of patient data are recorded through [`Audit::record`] before
//! the data is handed out. Actors and actions are types: the audit log's vocabulary is this
//! file, not strings scattered through handlers.

use aftercare_store::{AuditRead, NewAuditEntry};
use chrono::{DateTime, Utc};

use crate::{App, Result};

pub use aftercare_store::{Action, ActorKind};

/// An actor: what kind, which one, and from which address.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub address: Option<String>,
}

impl Actor {
    /// An operator at the shell (`aftercare admin ...`, `aftercare export`).
    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            id: None,
            address: None,
        }
    }
}

/// What an audit row is about.
#[derive(Debug, Clone, Default)]
pub struct Subject<'a> {
    pub patient_id: Option<&'a str>,
    pub clinic_id: Option<&'a str>,
    pub detail: Option<String>,
}

impl<'a> Subject<'a> {
    /// A patient's data (her clinic is the subject too).
    pub fn patient(p: &'a aftercare_store::Patient) -> Subject<'a> {
        Subject {
            patient_id: Some(&p.id),
            clinic_id: Some(&p.clinic_id),
            detail: None,
        }
    }

    /// Something of a clinic, no patient's.
    pub fn clinic(clinic_id: &'a str) -> Subject<'a> {
        Subject {
            patient_id: None,
            clinic_id: Some(clinic_id),
            detail: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Subject<'a> {
        self.detail = Some(detail.into());
        self
    }
}

/// The audit row of an event, to commit with the write it records.
pub fn entry(
    actor: &Actor,
    action: Action,
    subject: Subject<'_>,
    at: DateTime<Utc>,
) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor_kind: actor.kind,
        actor_id: actor.id.clone(),
        action,
        patient_id: subject.patient_id.map(aftercare_store::PatientId::from),
        clinic_id: subject.clinic_id.map(str::to_string),
        address: actor.address.clone(),
        detail: subject.detail,
    }
}

/// The audit log: recording reads, and reading it back for the clinic's admins.
pub struct Audit<'a>(pub(crate) &'a App);

impl Audit<'_> {
    /// Records an event that writes nothing else (a read of patient data, a sign-in). If the row
    /// cannot be written, the caller must not hand the data out.
    pub async fn record(&self, actor: &Actor, action: Action, subject: Subject<'_>) -> Result<()> {
        self.append(entry(actor, action, subject, self.0.now()))
            .await
    }

    /// Appends a row built by the caller, as a unit of work of its own.
    pub(crate) async fn append(&self, row: NewAuditEntry) -> Result<()> {
        self.0
            .store
            .transaction(move |tx| tx.append_audit(row.clone()))
            .await?;
        Ok(())
    }

    /// The clinic's audit log, newest first.
    pub async fn list(
        &self,
        clinic_id: &str,
        query: aftercare_store::AuditQuery,
    ) -> Result<Vec<aftercare_store::AuditEntry>> {
        Ok(AuditRead::list_audit(self.0.store.as_ref(), clinic_id, query).await?)
    }
}
