//! Appointment requests. After a `soon` or `self_care` decision a patient can ask her clinic
//! for an appointment with the kind of clinician the decision names (the content marks which
//! actions can be booked), saying which times suit her. The clinic proposes a time (she then
//! accepts it) or confirms one; either side can cancel. Each change is audited and, when it
//! is news for her, tells her by email (with her consent) in the same commit; a confirmed
//! appointment is reminded by email the day before.
//!
//! An urgent or emergency decision offers no booking: it tells her to call, and an
//! appointment days away must never look like the answer.

use aftercare_core::{Content, Level};
use aftercare_store::{
    Appointment, AppointmentChange, AppointmentStatus, NewAppointment, Patient, Purpose,
};
use chrono::{DateTime, Duration, Utc};

use crate::audit::{entry, Action, Actor, Subject};
use crate::text::AppointmentText;
use crate::{App, Error, Result};

/// The longest "times that suit me", and the longest note from the clinic.
pub const TEXT_LIMIT: usize = AppointmentText::MAX;
/// How long an appointment can be booked for, in minutes.
pub const MINUTES: std::ops::RangeInclusive<i32> = 5..=480;
/// How long before it starts an appointment is reminded.
pub const REMINDER_AHEAD: Duration = Duration::hours(24);

/// The kinds of appointment (action ids) the content lets a patient book.
pub fn bookable(content: &Content) -> Vec<&str> {
    content
        .actions
        .iter()
        .filter(|a| a.booking)
        .map(|a| a.id.as_str())
        .collect()
}

/// Whom she would see for `kind`, in the language of `texts` (the kind itself if the content
/// no longer books it).
pub fn who(content: &Content, texts: &aftercare_core::content::Texts, kind: &str) -> String {
    content
        .actions
        .iter()
        .position(|a| a.id == kind)
        .and_then(|i| texts.booking.get(i).cloned().flatten())
        .unwrap_or_else(|| kind.to_string())
}

/// What she can ask for after a decision at `level` naming `actions`: the bookable ones it
/// names, else every bookable kind; nothing after an urgent or emergency decision.
pub fn offered<'c>(content: &'c Content, level: Level, actions: &[&str]) -> Vec<&'c str> {
    if level > Level::Soon {
        return Vec::new();
    }
    let all = bookable(content);
    let named: Vec<&str> = all
        .iter()
        .copied()
        .filter(|k| actions.contains(k))
        .collect();
    if named.is_empty() {
        all
    } else {
        named
    }
}

/// Her request.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: String,
    pub preferred: AppointmentText,
    /// The check-in whose decision she asks from.
    pub checkin_id: Option<String>,
}

/// The clinic's answer: a time, proposed to her or confirmed.
#[derive(Debug, Clone)]
pub struct Answer {
    pub starts_at: DateTime<Utc>,
    pub minutes: i32,
    pub note: Option<AppointmentText>,
    /// Confirmed at once (`false`: proposed, she accepts it).
    pub confirm: bool,
    /// When the appointment had last changed on the page the clinician answered from.
    pub seen: Option<DateTime<Utc>>,
}

/// `Conflict` when the appointment changed after the page that acts on it was drawn.
fn still_as_seen(current: &Appointment, seen: Option<DateTime<Utc>>) -> Result<()> {
    match seen {
        Some(seen) if seen != current.updated_at => Err(Error::Conflict(
            "the appointment has changed since this page was opened; reload it".into(),
        )),
        _ => Ok(()),
    }
}

/// Who calls an appointment off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelledBy {
    Patient,
    Clinic,
}

pub struct Appointments<'a>(pub(crate) &'a App);

impl Appointments<'_> {
    /// Her request, validated and audited in one commit.
    pub async fn request(
        &self,
        actor: &Actor,
        patient: &Patient,
        r: Request,
    ) -> Result<Appointment> {
        let content = self.0.content();
        if !bookable(content).contains(&r.kind.as_str()) {
            return Err(Error::invalid(
                "kind",
                "kind: not something the clinic books",
            ));
        }
        if self
            .calls_for_calling(patient, r.checkin_id.as_deref())
            .await?
        {
            return Err(Error::invalid(
                "checkin",
                "checkin: her answers ask her to call, not to book",
            ));
        }
        let now = self.0.now();
        let new = NewAppointment {
            clinic_id: patient.clinic_id.clone(),
            patient_id: patient.id.clone(),
            kind: r.kind,
            preferred: r.preferred.into_string(),
            checkin_id: r.checkin_id,
        };
        let (actor, p) = (actor.clone(), patient.clone());
        self.0
            .write_audited(
                move |tx| tx.create_appointment(new.clone(), now),
                move |a: &Appointment| {
                    let subject = Subject::patient(&p).detail(a.id.clone());
                    entry(&actor, Action::AppointmentRequest, subject, now)
                },
            )
            .await
    }

    /// Whether she must call rather than book: the decision she asks from, her latest, or an
    /// episode the clinic has not closed is urgent or an emergency. An older calm decision
    /// never opens a booking past a later emergency.
    pub async fn calls_for_calling(
        &self,
        patient: &Patient,
        checkin: Option<&str>,
    ) -> Result<bool> {
        let level = |l: &str| Level::parse(l).unwrap_or(Level::Emergency);
        let mut highest = patient.episode_level.as_deref().map(level);
        if let Some(id) = checkin {
            let c = self.0.checkins().get(patient, id).await?;
            highest = highest.max(Some(level(&c.level)));
        }
        if let Some(latest) = self.0.checkins().list(patient).await?.into_iter().next() {
            highest = highest.max(Some(level(&latest.level)));
        }
        Ok(highest.is_some_and(|l| l > Level::Soon))
    }

    /// Hers, newest first (the caller audits the page that shows them).
    pub async fn of_patient(&self, patient: &Patient) -> Result<Vec<Appointment>> {
        Ok(self.0.store.list_patient_appointments(&patient.id).await?)
    }

    /// The clinic's, newest first (`open`: not cancelled), audited.
    pub async fn of_clinic(
        &self,
        actor: &Actor,
        clinic_id: &str,
        open: bool,
    ) -> Result<Vec<Appointment>> {
        let rows = self
            .0
            .store
            .list_clinic_appointments(clinic_id, open, 500)
            .await?;
        let subject = Subject::clinic(clinic_id).detail(format!("{} requests", rows.len()));
        self.0
            .audit()
            .record(actor, Action::AppointmentList, subject)
            .await?;
        Ok(rows)
    }

    /// One of the clinic's; `NotFound` for another clinic's.
    pub async fn of_clinic_by_id(&self, clinic_id: &str, id: &str) -> Result<Appointment> {
        match self.0.store.get_appointment(id).await? {
            Some(a) if a.clinic_id == clinic_id => Ok(a),
            _ => Err(Error::NotFound),
        }
    }

    /// One of hers; `NotFound` for anyone else's.
    fn hers(patient: &Patient, a: Option<Appointment>) -> Result<Appointment> {
        match a {
            Some(a) if a.patient_id == patient.id => Ok(a),
            _ => Err(Error::NotFound),
        }
    }

    /// The clinic proposes or confirms a time (also to move one already set); she is told.
    pub async fn answer(
        &self,
        actor: &Actor,
        clinic_id: &str,
        id: &str,
        answer: Answer,
    ) -> Result<Appointment> {
        let current = self.of_clinic_by_id(clinic_id, id).await?;
        still_as_seen(&current, answer.seen)?;
        if current.status == AppointmentStatus::Cancelled {
            return Err(Error::Conflict("this appointment was cancelled".into()));
        }
        if !MINUTES.contains(&answer.minutes) {
            return Err(Error::invalid("minutes", "minutes: from 5 to 480"));
        }
        let now = self.0.now();
        if answer.starts_at <= now {
            return Err(Error::invalid(
                "starts_at",
                "starts_at: must be in the future",
            ));
        }
        let note = answer.note.map(AppointmentText::into_string);
        let to = if answer.confirm {
            AppointmentStatus::Confirmed
        } else {
            AppointmentStatus::Proposed
        };
        let change = AppointmentChange {
            id: current.id.clone(),
            from: current.status,
            seen: current.updated_at,
            to,
            starts_at: Some(answer.starts_at),
            minutes: Some(answer.minutes),
            clinic_note: note,
            handled_by: actor.id.clone(),
        };
        let keys = match to {
            AppointmentStatus::Confirmed => (
                "appointment_confirmed_subject",
                "appointment_confirmed_text",
            ),
            _ => ("appointment_proposed_subject", "appointment_proposed_text"),
        };
        self.change(
            actor,
            &current,
            change,
            Action::AppointmentAnswer,
            Some(keys),
        )
        .await
    }

    /// She accepts the time the clinic proposed (the one her page showed at `seen`).
    pub async fn accept(
        &self,
        actor: &Actor,
        patient: &Patient,
        id: &str,
        seen: Option<DateTime<Utc>>,
    ) -> Result<Appointment> {
        let current = Self::hers(patient, self.0.store.get_appointment(id).await?)?;
        still_as_seen(&current, seen)?;
        if current.status != AppointmentStatus::Proposed {
            return Err(Error::Conflict(
                "there is no proposed time to accept".into(),
            ));
        }
        let change = AppointmentChange {
            id: current.id.clone(),
            from: current.status,
            seen: current.updated_at,
            to: AppointmentStatus::Confirmed,
            starts_at: None,
            minutes: None,
            clinic_note: None,
            handled_by: None,
        };
        self.change(actor, &current, change, Action::AppointmentAccept, None)
            .await
    }

    /// Calls it off: hers by her (`patient`), or the clinic's by a member of staff.
    pub async fn cancel(
        &self,
        actor: &Actor,
        by: CancelledBy,
        current: Appointment,
        seen: Option<DateTime<Utc>>,
    ) -> Result<Appointment> {
        if current.status == AppointmentStatus::Cancelled {
            return Ok(current);
        }
        still_as_seen(&current, seen)?;
        let change = AppointmentChange {
            id: current.id.clone(),
            from: current.status,
            seen: current.updated_at,
            to: AppointmentStatus::Cancelled,
            starts_at: None,
            minutes: None,
            clinic_note: None,
            handled_by: None,
        };
        // She is told when the clinic calls it off; she knows when she does.
        let keys = (by == CancelledBy::Clinic).then_some((
            "appointment_cancelled_subject",
            "appointment_cancelled_text",
        ));
        self.change(actor, &current, change, Action::AppointmentCancel, keys)
            .await
    }

    /// Hers, for [`Self::cancel`]; `NotFound` for anyone else's.
    pub async fn hers_by_id(&self, patient: &Patient, id: &str) -> Result<Appointment> {
        Self::hers(patient, self.0.store.get_appointment(id).await?)
    }

    /// A change, its audit row and (with `email`) the email that tells her, in one commit;
    /// `Conflict` when someone changed it since it was read.
    async fn change(
        &self,
        actor: &Actor,
        current: &Appointment,
        change: AppointmentChange,
        action: Action,
        email: Option<(&'static str, &'static str)>,
    ) -> Result<Appointment> {
        let now = self.0.now();
        let patient = self
            .0
            .store
            .get_patient(&current.patient_id)
            .await?
            .ok_or(Error::NotFound)?;
        let (reach, zone) = self.0.clinics().reach_and_zone(&patient.clinic_id).await?;
        let content = self.0.content.clone();
        let (actor, p) = (actor.clone(), patient.clone());
        let changed = self
            .0
            .write_audited(
                move |tx| {
                    let (change, patient, content, reach, zone) = (
                        change.clone(),
                        patient.clone(),
                        content.clone(),
                        reach.clone(),
                        zone.clone(),
                    );
                    Box::pin(async move {
                        let Some(changed) = tx.change_appointment(change, now).await? else {
                            return Ok(None);
                        };
                        // Booked less than a day ahead: the email saying so is her reminder.
                        if let Some(start) = changed.starts_at.filter(|s| {
                            changed.status == AppointmentStatus::Confirmed
                                && *s < now + REMINDER_AHEAD
                        }) {
                            tx.mark_appointment_reminded(changed.id.clone(), start, now)
                                .await?;
                        }
                        if let Some(keys) = email {
                            if let Some(address) = tx.email_address(patient.id.clone()).await? {
                                let time = changed
                                    .starts_at
                                    .map(|t| crate::clinics::local_time(zone.as_deref(), t));
                                let message = crate::patient_email::appointment_message(
                                    &content,
                                    &patient,
                                    &address,
                                    &reach,
                                    keys,
                                    Purpose::Reply,
                                    time,
                                );
                                tx.enqueue(message, now).await?;
                            }
                        }
                        Ok(Some(changed))
                    })
                },
                move |changed: &Option<Appointment>| {
                    let detail = changed
                        .as_ref()
                        .map(|a| format!("{} {}", a.id, a.status))
                        .unwrap_or_else(|| "no change: changed meanwhile".into());
                    entry(&actor, action, Subject::patient(&p).detail(detail), now)
                },
            )
            .await?;
        changed
            .ok_or_else(|| Error::Conflict("the appointment was changed meanwhile; reload".into()))
    }

    /// Queues the reminders of confirmed appointments starting within a day, each in one
    /// commit with its mark (so no appointment is reminded twice, whichever server gets there
    /// first); returns how many went out.
    pub async fn send_due_reminders(&self) -> Result<usize> {
        let now = self.0.now();
        let content = self.0.content.clone();
        let mut sent = 0;
        let due: Vec<Appointment> = {
            let until = now + REMINDER_AHEAD;
            self.0
                .store
                .transaction(move |tx| tx.due_appointment_reminders(now, until, 200))
                .await?
        };
        for a in due {
            let Some(patient) = self.0.store.get_patient(&a.patient_id).await? else {
                continue;
            };
            let (reach, zone) = self.0.clinics().reach_and_zone(&patient.clinic_id).await?;
            let time = a
                .starts_at
                .map(|t| crate::clinics::local_time(zone.as_deref(), t));
            let content = content.clone();
            let Some(start) = a.starts_at else {
                continue;
            };
            let id = a.id.clone();
            let queued: bool = self
                .0
                .store
                .transaction(move |tx| {
                    let (id, patient, content, reach, time) = (
                        id.clone(),
                        patient.clone(),
                        content.clone(),
                        reach.clone(),
                        time.clone(),
                    );
                    Box::pin(async move {
                        // Only for the time read: a moved appointment is reminded of its new one.
                        if !tx.mark_appointment_reminded(id, start, now).await? {
                            return Ok(false);
                        }
                        let Some(address) = tx.email_address(patient.id.clone()).await? else {
                            return Ok(false);
                        };
                        let keys = ("appointment_reminder_subject", "appointment_reminder_text");
                        let message = crate::patient_email::appointment_message(
                            &content,
                            &patient,
                            &address,
                            &reach,
                            keys,
                            Purpose::Reminder,
                            time,
                        );
                        tx.enqueue(message, now).await?;
                        Ok(true)
                    })
                })
                .await?;
            sent += usize::from(queued);
        }
        Ok(sent)
    }
}
