//! The closed vocabularies the store keeps as text: who sent a message, a staff role, what
//! raised an escalation, a check-in's kind, who acted and what they did. Each is an enum, stored
//! as its name, so a typo is a compile error and a row the code does not know is a decode error,
//! not a silent string. The database's CHECK constraints list the same names for the sender,
//! the role, the source and the actor kind; a check-in's status has none (only `final` and
//! `diary` were ever written), and an audit row's action is read back as text.

use serde::Serialize;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// An enum stored as text: its names, `as_str`, `parse`, serde and sqlx on both databases.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vmeta])* #[cfg_attr(feature = "openapi", schema(rename = $text))] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl From<$name> for crate::sql::Arg {
            fn from(value: $name) -> Self {
                value.as_str().into()
            }
        }

        impl From<Option<$name>> for crate::sql::Arg {
            fn from(value: Option<$name>) -> Self {
                value.map($name::as_str).into()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<DB: Database> Type<DB> for $name
        where
            str: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            &'q str: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&str as Decode<'r, DB>>::decode(value)?;
                $name::parse(text).ok_or_else(|| {
                    format!(concat!("not a ", stringify!($name), ": {:?}"), text).into()
                })
            }
        }
    };
}

text_enum! {
    /// A side of the chat.
    Side {
        Patient => "patient",
        Staff => "staff",
    }
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Patient => Side::Staff,
            Side::Staff => Side::Patient,
        }
    }
}

text_enum! {
    /// The two staff roles. Admins run the clinic's account (staff, announcements, settings,
    /// the audit log); clinicians look after patients (board, patient pages, chat, contact
    /// requests).
    Role {
        Admin => "admin",
        Clinician => "clinician",
    }
}

text_enum! {
    /// What raised an escalation.
    EscalationSource {
        Checkin => "checkin",
        Diary => "diary",
    }
}

text_enum! {
    /// How a message leaves Aftercare.
    Channel {
        Email => "email",
        /// An HTTP POST signed as Standard Webhooks describe.
        Webhook => "webhook",
    }
}

text_enum! {
    /// Why a message is in the outbox.
    Purpose {
        /// The first alert of an escalation.
        Alert => "alert",
        /// An escalation still not acknowledged after the clinic's deadline.
        Realert => "realert",
        /// An admin checking that a target works.
        Test => "test",
        /// A patient's daily diary reminder.
        Reminder => "reminder",
        /// "Your clinic has replied", to a patient.
        Reply => "reply",
    }
}

text_enum! {
    /// Where an appointment request is.
    AppointmentStatus {
        /// She asked; the clinic has not answered yet.
        Requested => "requested",
        /// The clinic offered a time; she has not accepted it yet.
        Proposed => "proposed",
        /// A time both sides hold to.
        Confirmed => "confirmed",
        /// Called off, by her or by the clinic.
        Cancelled => "cancelled",
    }
}

text_enum! {
    /// Where an outbox message is.
    DeliveryStatus {
        /// Waiting for its next attempt (or being sent, under a lease).
        Pending => "pending",
        Delivered => "delivered",
        /// Its last attempt failed; admins see it in the delivery log.
        Failed => "failed",
    }
}

text_enum! {
    /// A stored check-in's kind.
    CheckinStatus {
        /// The end of a questionnaire.
        Final => "final",
        /// A diary day whose decision raised an alert, kept as it was made.
        Diary => "diary",
    }
}

text_enum! {
    /// Who acted, in the audit log.
    ActorKind {
        Patient => "patient",
        Staff => "staff",
        /// An EHR calling through CDS Hooks.
        Ehr => "ehr",
        /// Someone not signed in (the public contact form).
        Anonymous => "anonymous",
        /// The server itself, or an operator at the shell.
        System => "system",
    }
}

text_enum! {
    /// Every event the audit log records. The stored names are stable: auditors' queries and
    /// the CSV export read them. Rows read back keep their action as text, so an event the
    /// code no longer writes stays readable.
    Action {
        AnnouncementCreate => "announcement.create",
        AuditExport => "audit.export",
        AuditRead => "audit.read",
        BoardRead => "board.read",
        CdsFeedback => "cds.feedback",
        /// A CDS Hooks call of the `patient-view` hook.
        CdsPatientView => "cds.patient-view",
        /// A CDS Hooks call of the `encounter-discharge` hook.
        CdsEncounterDischarge => "cds.encounter-discharge",
        CheckinAnswer => "checkin.answer",
        /// A copy of the whole database was written (`aftercare backup`).
        DatabaseBackup => "database.backup",
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
        EscalationClose => "escalation.close",
        FhirExport => "fhir.export",
        MessageWrite => "message.write",
        MessagesFollow => "messages.follow",
        MessagesRead => "messages.read",
        PatientEnrol => "patient.enrol",
        PatientHome => "patient.home",
        PatientLinkRead => "patient.link.read",
        /// Staff gave her a new personal link; the old one and her sessions ended.
        PatientLinkReplaced => "patient.link.replaced",
        /// Her personal link was opened: its page named her, before any sign-in.
        PatientLinkOpened => "patient.link.opened",
        PatientRead => "patient.read",
        PatientSignIn => "patient.sign_in",
        RecoveryRead => "recovery.read",
        StaffCreate => "staff.create",
        StaffLogin => "staff.login",
        StaffLoginFailed => "staff.login_failed",
        StaffLoginLocked => "staff.login_locked",
        /// Many failed sign-ins in a row on one account: a possible guessing attack.
        StaffLoginBurst => "staff.login_burst",
        StaffLogout => "staff.logout",
        StaffPasswordChanged => "staff.password_changed",
        StaffDeactivate => "staff.deactivate",
        StaffReactivate => "staff.reactivate",
        StaffRoleChange => "staff.role",
        /// A member of staff chose the workspace's language.
        StaffLanguage => "staff.language",
        StaffPasswordResetIssued => "staff.password_reset_issued",
        StaffPasswordReset => "staff.password_reset",
        /// She confirmed a second factor and got her recovery codes.
        StaffSecondFactorOn => "staff.second_factor.on",
        /// She replaced her recovery codes.
        StaffRecoveryCodesNew => "staff.second_factor.recovery_codes",
        /// A sign-in used one of her recovery codes.
        StaffRecoveryCodeUsed => "staff.second_factor.recovery_code_used",
        /// Her password was right but the second factor's code was not.
        StaffSecondFactorFailed => "staff.second_factor.failed",
        /// An admin removed her second factor (a lost phone): she sets up a new one.
        StaffSecondFactorReset => "staff.second_factor.reset",
        AlertTargetAdd => "alert.target.add",
        AlertTargetRemove => "alert.target.remove",
        AlertTest => "alert.test",
        DeliveryLogRead => "delivery.read",
        PatientEmailSet => "patient.email.set",
        PatientPhoneSet => "patient.phone.set",
        PatientUnsubscribe => "patient.unsubscribe",
        AppointmentRequest => "appointment.request",
        AppointmentAnswer => "appointment.answer",
        AppointmentAccept => "appointment.accept",
        AppointmentCancel => "appointment.cancel",
        AppointmentList => "appointment.list",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name reads back as the value it came from.
    #[test]
    fn every_name_parses_back() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(*a));
        }
        for k in ActorKind::ALL {
            assert_eq!(ActorKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(Role::parse("nurse"), None);
    }
}
