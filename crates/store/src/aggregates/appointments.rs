//! Appointment requests: a patient asks her clinic for an appointment with the kind of
//! clinician a decision names; the clinic proposes or confirms a time; she accepts or cancels.
//!
//! Every change is a compare-and-set on the status the caller read ([`AppointmentChange`]),
//! so a patient's cancellation and a clinician's confirmation at the same moment cannot both
//! win. The rules of which change may follow which live in the application layer.

use crate::records::PatientId;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::sql::{new_id, Conn, Statement};
use crate::{AppointmentStatus, Engine, Result};

type Time = DateTime<Utc>;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Appointment {
    pub id: String,
    pub clinic_id: String,
    pub patient_id: PatientId,
    /// An action id of the content that she can book (e.g. `physiotherapy`).
    pub kind: String,
    /// The times that suit her, as she wrote them.
    pub preferred: String,
    pub checkin_id: Option<String>,
    pub status: AppointmentStatus,
    /// The time the clinic proposed or confirmed.
    pub starts_at: Option<Time>,
    /// How long the clinic booked it for.
    pub minutes: Option<i32>,
    /// What the clinic told her with it (where, whom to ask for).
    pub clinic_note: Option<String>,
    pub handled_by: Option<String>,
    pub created_at: Time,
    pub updated_at: Time,
    /// When the reminder of the day before went out.
    pub reminded_at: Option<Time>,
}

#[derive(Debug, Clone)]
pub struct NewAppointment {
    pub clinic_id: String,
    pub patient_id: PatientId,
    pub kind: String,
    pub preferred: String,
    pub checkin_id: Option<String>,
}

/// A change of an appointment, made only if it is still as read: in the status `from`, last
/// changed at `seen` (so nobody acts on a time that moved since their page showed it).
#[derive(Debug, Clone)]
pub struct AppointmentChange {
    pub id: String,
    pub from: AppointmentStatus,
    pub seen: Time,
    pub to: AppointmentStatus,
    /// A new time (also clears the reminder mark, so a moved appointment is reminded again).
    pub starts_at: Option<Time>,
    pub minutes: Option<i32>,
    pub clinic_note: Option<String>,
    pub handled_by: Option<String>,
}

/// The writes, inside a unit of work.
#[async_trait]
pub trait AppointmentTx: Send {
    async fn create_appointment(&mut self, new: NewAppointment, now: Time) -> Result<Appointment>;
    /// `None` when it is no longer in `change.from` (someone else changed it first).
    async fn change_appointment(
        &mut self,
        change: AppointmentChange,
        now: Time,
    ) -> Result<Option<Appointment>>;
    /// Confirmed appointments starting in `[from, until)` not yet reminded, locked for this
    /// unit of work (PostgreSQL skips those another server holds).
    async fn due_appointment_reminders(
        &mut self,
        from: Time,
        until: Time,
        limit: i64,
    ) -> Result<Vec<Appointment>>;
    /// `false` when it was reminded already, is no longer confirmed, or no longer starts at
    /// `starts_at` (the reminder read an old time).
    async fn mark_appointment_reminded(
        &mut self,
        id: String,
        starts_at: Time,
        now: Time,
    ) -> Result<bool>;
}

/// The reads.
#[async_trait]
pub trait AppointmentRead: Send + Sync {
    async fn get_appointment(&self, id: &str) -> Result<Option<Appointment>>;
    /// Hers, newest first.
    async fn list_patient_appointments(&self, patient_id: &PatientId) -> Result<Vec<Appointment>>;
    /// The clinic's, newest first; with `open`, only those not cancelled.
    async fn list_clinic_appointments(
        &self,
        clinic_id: &str,
        open: bool,
        limit: i64,
    ) -> Result<Vec<Appointment>>;
}

#[async_trait]
impl<C: Conn> AppointmentTx for C {
    async fn create_appointment(&mut self, new: NewAppointment, now: Time) -> Result<Appointment> {
        let insert = Statement::new(
            "INSERT INTO appointments (id, clinic_id, patient_id, kind, preferred, checkin_id, \
             status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'requested', $7, $7) RETURNING *",
        )
        .bind(new_id())
        .bind(new.clinic_id)
        .bind(new.patient_id)
        .bind(new.kind)
        .bind(new.preferred)
        .bind(new.checkin_id)
        .bind(now);
        self.fetch_one(insert).await
    }

    async fn change_appointment(
        &mut self,
        change: AppointmentChange,
        now: Time,
    ) -> Result<Option<Appointment>> {
        let update = Statement::new(
            "UPDATE appointments SET status = $3, \
             reminded_at = CASE WHEN $4 IS NULL THEN reminded_at ELSE NULL END, \
             starts_at = COALESCE($4, starts_at), clinic_note = COALESCE($5, clinic_note), \
             handled_by = COALESCE($6, handled_by), updated_at = $7, \
             minutes = COALESCE($8, minutes) \
             WHERE id = $1 AND status = $2 AND updated_at = $9 RETURNING *",
        )
        .bind(change.id)
        .bind(change.from)
        .bind(change.to)
        .bind(change.starts_at)
        .bind(change.clinic_note)
        .bind(change.handled_by)
        .bind(now)
        .bind(change.minutes)
        .bind(change.seen);
        self.fetch_optional(update).await
    }

    async fn due_appointment_reminders(
        &mut self,
        from: Time,
        until: Time,
        limit: i64,
    ) -> Result<Vec<Appointment>> {
        let sql = format!(
            "SELECT * FROM appointments WHERE status = 'confirmed' AND reminded_at IS NULL \
             AND starts_at >= $1 AND starts_at < $2 ORDER BY starts_at, id LIMIT $3{}",
            self.skip_locked(None)
        );
        let select = Statement::new(sql).bind(from).bind(until).bind(limit);
        self.fetch_all(select).await
    }

    async fn mark_appointment_reminded(
        &mut self,
        id: String,
        starts_at: Time,
        now: Time,
    ) -> Result<bool> {
        let update = Statement::new(
            "UPDATE appointments SET reminded_at = $2 WHERE id = $1 \
             AND status = 'confirmed' AND reminded_at IS NULL AND starts_at = $3",
        )
        .bind(id)
        .bind(now)
        .bind(starts_at);
        Ok(self.execute(update).await? == 1)
    }
}

#[async_trait]
impl<E: Engine> AppointmentRead for E {
    async fn get_appointment(&self, id: &str) -> Result<Option<Appointment>> {
        let select = Statement::new("SELECT * FROM appointments WHERE id = $1").bind(id);
        self.reader().await?.fetch_optional(select).await
    }

    async fn list_patient_appointments(&self, patient_id: &PatientId) -> Result<Vec<Appointment>> {
        let select = Statement::new(
            "SELECT * FROM appointments WHERE patient_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(patient_id);
        self.reader().await?.fetch_all(select).await
    }

    async fn list_clinic_appointments(
        &self,
        clinic_id: &str,
        open: bool,
        limit: i64,
    ) -> Result<Vec<Appointment>> {
        let select = Statement::new(
            "SELECT * FROM appointments WHERE clinic_id = $1 \
             AND ($2 = FALSE OR status <> 'cancelled') \
             ORDER BY created_at DESC, id DESC LIMIT $3",
        )
        .bind(clinic_id)
        .bind(open)
        .bind(limit);
        self.reader().await?.fetch_all(select).await
    }
}
