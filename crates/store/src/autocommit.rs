//! One write as a unit of work of its own, for callers with nothing to commit alongside it
//! (test set-up and benchmarks; the application layer writes through its own units). Every
//! method here is [`transaction`] around the [`Tx`] write of the same name, so there is still
//! one way to write.
//! A write that patient data or an alert must accompany belongs in a unit of work of the
//! application layer instead.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::records::*;
use crate::Side;
use crate::{transaction, Result, Store, Tx};

/// Runs one [`Tx`] call, cloning its arguments for each run of the unit.
macro_rules! one {
    ($store:expr, |$tx:ident| $call:expr, [$($arg:ident),*]) => {
        transaction($store, move |$tx: &mut dyn Tx| {
            $(let $arg = $arg.clone();)*
            Box::pin(async move { $call.await })
        })
        .await
    };
}

/// Single writes, each its own commit. Implemented for every [`Store`].
#[async_trait]
pub trait Autocommit {
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64>;
    async fn create_clinic(&self, new: NewClinic, now: DateTime<Utc>) -> Result<Clinic>;
    async fn update_clinic_settings(&self, id: &str, settings: ClinicSettings) -> Result<Clinic>;
    async fn create_staff(&self, new: NewStaff, now: DateTime<Utc>) -> Result<Staff>;
    async fn record_login_failure(&self, staff_id: &str) -> Result<i32>;
    async fn reset_login_failures(&self, staff_id: &str) -> Result<()>;
    async fn set_locked_until(&self, staff_id: &str, until: Option<DateTime<Utc>>) -> Result<()>;
    async fn set_password_hash(&self, staff_id: &str, password_hash: &str) -> Result<()>;
    async fn create_session(&self, new: NewSession, now: DateTime<Utc>) -> Result<StaffSession>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    async fn delete_sessions_for_staff(&self, staff_id: &str) -> Result<u64>;
    async fn create_patient(&self, new: NewPatient, now: DateTime<Utc>) -> Result<Patient>;
    async fn create_checkin_session(
        &self,
        patient_id: Option<&PatientId>,
        answers: Value,
        now: DateTime<Utc>,
    ) -> Result<CheckinSession>;
    async fn update_checkin_answers(
        &self,
        id: &str,
        answers: Value,
        now: DateTime<Utc>,
    ) -> Result<CheckinSession>;
    async fn insert_checkin(&self, new: NewCheckin, now: DateTime<Utc>) -> Result<CheckinWrite>;
    async fn upsert_diary_entry(
        &self,
        new: NewDiaryEntry,
        now: DateTime<Utc>,
    ) -> Result<DiaryWrite>;
    async fn raise_escalation(
        &self,
        new: NewEscalation,
        now: DateTime<Utc>,
    ) -> Result<Option<Escalation>>;
    async fn acknowledge_escalation(
        &self,
        id: &str,
        staff_id: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Escalation>;
    async fn post_message(&self, new: NewMessage, now: DateTime<Utc>) -> Result<Message>;
    async fn mark_read(
        &self,
        patient_id: &str,
        reader: Side,
        up_to_id: i64,
        now: DateTime<Utc>,
    ) -> Result<u64>;
    async fn create_contact_request(
        &self,
        new: NewContactRequest,
        now: DateTime<Utc>,
    ) -> Result<ContactRequest>;
    async fn mark_contact_handled(
        &self,
        id: &str,
        staff_id: &str,
        reply_note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ContactRequest>;
    async fn create_announcement(
        &self,
        new: NewAnnouncement,
        now: DateTime<Utc>,
    ) -> Result<Announcement>;
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry>;
    async fn record_cds_feedback(
        &self,
        new: NewCdsFeedback,
        now: DateTime<Utc>,
    ) -> Result<CdsFeedback>;
    async fn remember_jti(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<bool>;
}

#[async_trait]
impl<S: Store + ?Sized> Autocommit for S {
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64> {
        one!(self, |tx| tx.purge_expired(now), [])
    }
    async fn create_clinic(&self, new: NewClinic, now: DateTime<Utc>) -> Result<Clinic> {
        one!(self, |tx| tx.create_clinic(new, now), [new])
    }
    async fn update_clinic_settings(&self, id: &str, settings: ClinicSettings) -> Result<Clinic> {
        let id = id.to_owned();
        one!(
            self,
            |tx| tx.update_clinic_settings(id, settings),
            [id, settings]
        )
    }
    async fn create_staff(&self, new: NewStaff, now: DateTime<Utc>) -> Result<Staff> {
        one!(self, |tx| tx.create_staff(new, now), [new])
    }
    async fn record_login_failure(&self, staff_id: &str) -> Result<i32> {
        let id = staff_id.to_owned();
        one!(self, |tx| tx.record_login_failure(id), [id])
    }
    async fn reset_login_failures(&self, staff_id: &str) -> Result<()> {
        let id = staff_id.to_owned();
        one!(self, |tx| tx.reset_login_failures(id), [id])
    }
    async fn set_locked_until(&self, staff_id: &str, until: Option<DateTime<Utc>>) -> Result<()> {
        let id = staff_id.to_owned();
        one!(self, |tx| tx.set_locked_until(id, until), [id])
    }
    async fn set_password_hash(&self, staff_id: &str, password_hash: &str) -> Result<()> {
        let (id, hash) = (staff_id.to_owned(), password_hash.to_owned());
        one!(self, |tx| tx.set_password_hash(id, hash), [id, hash])
    }
    async fn create_session(&self, new: NewSession, now: DateTime<Utc>) -> Result<StaffSession> {
        one!(self, |tx| tx.create_session(new, now), [new])
    }
    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let hash = token_hash.to_owned();
        one!(self, |tx| tx.delete_session(hash), [hash])
    }
    async fn delete_sessions_for_staff(&self, staff_id: &str) -> Result<u64> {
        let id = staff_id.to_owned();
        one!(self, |tx| tx.delete_sessions_for_staff(id), [id])
    }
    async fn create_patient(&self, new: NewPatient, now: DateTime<Utc>) -> Result<Patient> {
        one!(self, |tx| tx.create_patient(new, now), [new])
    }
    async fn create_checkin_session(
        &self,
        patient_id: Option<&PatientId>,
        answers: Value,
        now: DateTime<Utc>,
    ) -> Result<CheckinSession> {
        let patient_id = patient_id.cloned();
        one!(
            self,
            |tx| tx.create_checkin_session(patient_id, answers, now),
            [patient_id, answers]
        )
    }
    async fn update_checkin_answers(
        &self,
        id: &str,
        answers: Value,
        now: DateTime<Utc>,
    ) -> Result<CheckinSession> {
        let id = id.to_owned();
        one!(
            self,
            |tx| tx.update_checkin_answers(id, answers, now),
            [id, answers]
        )
    }
    async fn insert_checkin(&self, new: NewCheckin, now: DateTime<Utc>) -> Result<CheckinWrite> {
        one!(self, |tx| tx.insert_checkin(new, now), [new])
    }
    async fn upsert_diary_entry(
        &self,
        new: NewDiaryEntry,
        now: DateTime<Utc>,
    ) -> Result<DiaryWrite> {
        one!(self, |tx| tx.upsert_diary_entry(new, now), [new])
    }
    async fn raise_escalation(
        &self,
        new: NewEscalation,
        now: DateTime<Utc>,
    ) -> Result<Option<Escalation>> {
        one!(self, |tx| tx.raise_escalation(new, now), [new])
    }
    async fn acknowledge_escalation(
        &self,
        id: &str,
        staff_id: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Escalation> {
        let (id, staff, note) = (id.to_owned(), staff_id.to_owned(), note.map(str::to_owned));
        one!(
            self,
            |tx| tx.acknowledge_escalation(id, staff, note, now),
            [id, staff, note]
        )
    }
    async fn post_message(&self, new: NewMessage, now: DateTime<Utc>) -> Result<Message> {
        one!(self, |tx| tx.post_message(new, now), [new])
    }
    async fn mark_read(
        &self,
        patient_id: &str,
        reader: Side,
        up_to_id: i64,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let id = PatientId::from(patient_id);
        one!(self, |tx| tx.mark_read(id, reader, up_to_id, now), [id])
    }
    async fn create_contact_request(
        &self,
        new: NewContactRequest,
        now: DateTime<Utc>,
    ) -> Result<ContactRequest> {
        one!(self, |tx| tx.create_contact_request(new, now), [new])
    }
    async fn mark_contact_handled(
        &self,
        id: &str,
        staff_id: &str,
        reply_note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ContactRequest> {
        let (id, staff, note) = (
            id.to_owned(),
            staff_id.to_owned(),
            reply_note.map(str::to_owned),
        );
        one!(
            self,
            |tx| tx.mark_contact_handled(id, staff, note, now),
            [id, staff, note]
        )
    }
    async fn create_announcement(
        &self,
        new: NewAnnouncement,
        now: DateTime<Utc>,
    ) -> Result<Announcement> {
        one!(self, |tx| tx.create_announcement(new, now), [new])
    }
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        one!(self, |tx| tx.append_audit(entry), [entry])
    }
    async fn record_cds_feedback(
        &self,
        new: NewCdsFeedback,
        now: DateTime<Utc>,
    ) -> Result<CdsFeedback> {
        one!(self, |tx| tx.record_cds_feedback(new, now), [new])
    }
    async fn remember_jti(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<bool> {
        let jti = jti.to_owned();
        one!(self, |tx| tx.remember_jti(jti, expires_at), [jti])
    }
}
