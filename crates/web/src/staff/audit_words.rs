//! The audit log in plain words for the people who read it: what each recorded event means,
//! and who did it by name. The stored codes stay as they are (the CSV export keeps them).

use aftercare_store::{Action, ActorKind, AuditEntry};
use std::collections::HashMap;

/// What an event code means, in a few words; an unknown code (one an older version wrote)
/// reads as itself.
pub fn describe(code: &str) -> String {
    let Some(action) = Action::parse(code) else {
        return code.to_string();
    };
    let words = match action {
        Action::AnnouncementCreate => "posted an announcement",
        Action::AuditExport => "downloaded the audit log",
        Action::AuditRead => "read the audit log",
        Action::BoardRead => "opened the patient board",
        Action::CdsFeedback => "sent feedback on a card",
        Action::CdsPatientView => "asked for a card (chart opened)",
        Action::CdsEncounterDischarge => "asked for a card (discharge)",
        Action::CheckinAnswer => "answered check-in questions",
        Action::CheckinFinal => "finished a check-in",
        Action::CheckinList => "listed check-ins",
        Action::CheckinOpen => "opened a check-in",
        Action::CheckinRead => "read a check-in",
        Action::CheckinStart => "started a check-in",
        Action::ClinicCreate => "created the clinic",
        Action::ClinicSettings => "changed the clinic's settings",
        Action::ContactCreate => "sent a contact request",
        Action::ContactHandled => "marked a contact request handled",
        Action::ContactList => "read the contact requests",
        Action::DiaryList => "read the diary",
        Action::DiaryRead => "read a diary day",
        Action::DiaryWrite => "wrote a diary day",
        Action::EscalationAcknowledge => "acknowledged an escalation",
        Action::EscalationClose => "closed an episode",
        Action::FhirExport => "exported the record (FHIR)",
        Action::MessageWrite => "wrote a chat message",
        Action::MessagesFollow => "followed the chat live",
        Action::MessagesRead => "read the chat",
        Action::PatientEnrol => "enrolled the patient",
        Action::PatientHome => "opened her home page",
        Action::PatientLinkRead => "viewed her sign-in link and code",
        Action::PatientRead => "opened the patient's record",
        Action::PatientSignIn => "signed in (patient)",
        Action::RecoveryRead => "read the recovery chart",
        Action::StaffCreate => "created a staff account",
        Action::StaffLogin => "signed in",
        Action::StaffLoginFailed => "failed to sign in (wrong password)",
        Action::StaffLoginLocked => "was locked out after failed sign-ins",
        Action::StaffLogout => "signed out",
        Action::StaffPasswordChanged => "changed their password",
        Action::StaffDeactivate => "deactivated a staff account",
        Action::StaffReactivate => "reactivated a staff account",
        Action::StaffRoleChange => "changed a staff member's role",
        Action::StaffPasswordResetIssued => "issued a password reset link",
        Action::StaffPasswordReset => "set a new password from a reset link",
        Action::AlertTargetAdd => "added an alert destination",
        Action::AlertTargetRemove => "removed an alert destination",
        Action::AlertTest => "sent a test alert",
        Action::DeliveryLogRead => "read the alert delivery log",
        Action::PatientEmailSet => "changed her email settings",
        Action::PatientPhoneSet => "changed her telephone number",
        Action::PatientUnsubscribe => "unsubscribed from emails",
        Action::AppointmentRequest => "asked for an appointment",
        Action::AppointmentAnswer => "offered or confirmed an appointment time",
        Action::AppointmentAccept => "accepted the appointment time offered",
        Action::AppointmentCancel => "cancelled an appointment",
        Action::AppointmentList => "read the appointment requests",
    };
    words.to_string()
}

/// Names for the ids in a page of the log: staff and patients of the clinic.
#[derive(Debug, Default)]
pub struct Names {
    pub staff: HashMap<String, String>,
    pub patients: HashMap<String, String>,
}

impl Names {
    /// Who did it, as a reader says it.
    pub fn actor(&self, row: &AuditEntry) -> String {
        let id = row.actor_id.as_deref().unwrap_or("");
        match row.actor_kind {
            ActorKind::Staff => self
                .staff
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("staff account {id}")),
            ActorKind::Patient => match self.patients.get(id) {
                Some(name) => format!("{name} (patient)"),
                None => "a patient".to_string(),
            },
            ActorKind::Ehr => match id {
                "" => "an EHR".to_string(),
                issuer => format!("EHR {issuer}"),
            },
            ActorKind::Anonymous => "someone not signed in".to_string(),
            ActorKind::System => "Aftercare (server or shell)".to_string(),
        }
    }

    /// The patient's name, when the row concerns one of the clinic's patients.
    pub fn patient(&self, id: Option<&str>) -> Option<String> {
        id.map(|id| {
            self.patients
                .get(id)
                .cloned()
                .unwrap_or_else(|| id.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event the code writes has words; nothing reads as a bare code.
    #[test]
    fn every_action_has_plain_words() {
        for a in Action::ALL {
            let words = describe(a.as_str());
            assert_ne!(words, a.as_str());
            assert!(!words.contains('.') && !words.contains('_'), "{words}");
        }
        assert_eq!(describe("old.code"), "old.code");
    }
}
