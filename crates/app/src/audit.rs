//! Who did what to whose data. Every service builds the audit row of its write and commits it in
//! the same unit of work; reads of patient data are recorded through [`Audit::record`] before
//! the data is handed out. Actors and actions are types: the audit log's vocabulary is this
//! file, not strings scattered through handlers.

use aftercare_store::{NewAuditEntry, Store};
use chrono::{DateTime, Utc};
use std::fmt;

use crate::{App, Result};

/// Who is acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    Patient,
    Staff,
    /// An EHR calling through CDS Hooks.
    Ehr,
    /// Someone not signed in (the public contact form).
    Anonymous,
    /// The server itself, or an operator at the shell.
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Patient => "patient",
            ActorKind::Staff => "staff",
            ActorKind::Ehr => "ehr",
            ActorKind::Anonymous => "anonymous",
            ActorKind::System => "system",
        }
    }
}

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

/// Every event the audit log records. The stored names are stable: auditors' queries and the
/// CSV export read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    AnnouncementCreate,
    AuditExport,
    AuditRead,
    BoardRead,
    CdsFeedback,
    /// A CDS Hooks call of the `patient-view` hook.
    CdsPatientView,
    /// A CDS Hooks call of the `encounter-discharge` hook.
    CdsEncounterDischarge,
    CheckinAnswer,
    CheckinFinal,
    CheckinList,
    CheckinOpen,
    CheckinRead,
    CheckinStart,
    ClinicCreate,
    ClinicSettings,
    ContactCreate,
    ContactHandled,
    ContactList,
    DiaryList,
    DiaryRead,
    DiaryWrite,
    EscalationAcknowledge,
    FhirExport,
    MessageWrite,
    MessagesFollow,
    MessagesRead,
    PatientEnrol,
    PatientHome,
    PatientLinkRead,
    PatientRead,
    PatientSignIn,
    RecoveryRead,
    StaffCreate,
    StaffLogin,
    StaffLoginFailed,
    StaffLoginLocked,
    StaffLogout,
    StaffPasswordChanged,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        use Action::*;
        match self {
            AnnouncementCreate => "announcement.create",
            AuditExport => "audit.export",
            AuditRead => "audit.read",
            BoardRead => "board.read",
            CdsFeedback => "cds.feedback",
            CdsPatientView => "cds.patient-view",
            CdsEncounterDischarge => "cds.encounter-discharge",
            CheckinAnswer => "checkin.answer",
            CheckinFinal => "checkin.final",
            CheckinList => "checkin.list",
            CheckinOpen => "checkin.open",
            CheckinRead => "checkin.read",
            CheckinStart => "checkin.start",
            ClinicCreate => "clinic.create",
            ClinicSettings => "clinic.settings",
            ContactCreate => "contact.create",
            ContactHandled => "contact.handled",
            ContactList => "contact.list",
            DiaryList => "diary.list",
            DiaryRead => "diary.read",
            DiaryWrite => "diary.write",
            EscalationAcknowledge => "escalation.acknowledge",
            FhirExport => "fhir.export",
            MessageWrite => "message.write",
            MessagesFollow => "messages.follow",
            MessagesRead => "messages.read",
            PatientEnrol => "patient.enrol",
            PatientHome => "patient.home",
            PatientLinkRead => "patient.link.read",
            PatientRead => "patient.read",
            PatientSignIn => "patient.sign_in",
            RecoveryRead => "recovery.read",
            StaffCreate => "staff.create",
            StaffLogin => "staff.login",
            StaffLoginFailed => "staff.login_failed",
            StaffLoginLocked => "staff.login_locked",
            StaffLogout => "staff.logout",
            StaffPasswordChanged => "staff.password_changed",
        }
    }
}

impl Action {
    /// The action of a CDS Hooks call of `hook`, if Aftercare answers it.
    pub fn cds_hook(hook: &str) -> Option<Action> {
        match hook {
            "patient-view" => Some(Action::CdsPatientView),
            "encounter-discharge" => Some(Action::CdsEncounterDischarge),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
        actor_kind: actor.kind.as_str().to_string(),
        actor_id: actor.id.clone(),
        action: action.as_str().to_string(),
        patient_id: subject.patient_id.map(str::to_string),
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
        Ok(Store::list_audit(self.0.store.as_ref(), clinic_id, query).await?)
    }
}
