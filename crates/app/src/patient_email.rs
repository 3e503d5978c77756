//! A patient's emails, sent only with her consent: a daily diary reminder at the hour she picks
//! (in her time zone, else her clinic's), and "your clinic has replied" when staff write to her.
//! Each carries one sentence and a link, never clinical content, with a one-click unsubscribe
//! (RFC 8058); reminders stop once her recovery's course has ended or she unsubscribes.

use aftercare_core::Content;
use aftercare_store::{
    Channel, NewOutboxMessage, OutboxMessage, Patient, PatientEmail, Purpose, ReminderCandidate,
};
use chrono::{DateTime, Timelike, Utc};
use serde_json::json;

use crate::audit::{entry, Action, Actor, Subject};
use crate::{App, Error, Result};

/// Her settings as she types them on her page.
#[derive(Debug, Clone, Default)]
pub struct EmailSettings {
    /// Empty: stop and forget her address.
    pub email: String,
    /// The hour of her daily reminder, 0-23; `None`: no reminder (replies only).
    pub reminder_hour: Option<i32>,
    /// She ticked the consent box.
    pub consent: bool,
}

/// The day of her recovery after which reminders stop: the last milestone of the expected
/// course (six weeks in the bundled content).
pub fn course_end_day(content: &Content) -> i64 {
    content
        .course
        .milestones
        .iter()
        .map(|m| i64::from(m.day))
        .max()
        .unwrap_or(42)
}

/// The path of her one-click unsubscribe link.
pub fn unsubscribe_path(token: &str) -> String {
    format!("/unsubscribe/{token}")
}

fn email_to_her(
    content: &Content,
    language: &str,
    keys: (&str, &str),
    link_path: &str,
    to: &PatientEmailTo<'_>,
    purpose: Purpose,
) -> NewOutboxMessage {
    email_to_her_with(content, language, keys, link_path, to, purpose, &[])
}

/// The same, with `{name}` placeholders of the subject and text filled in.
fn email_to_her_with(
    content: &Content,
    language: &str,
    keys: (&str, &str),
    link_path: &str,
    to: &PatientEmailTo<'_>,
    purpose: Purpose,
    fill: &[(&str, String)],
) -> NewOutboxMessage {
    let lang = content
        .lang(language)
        .unwrap_or_else(|| content.default_lang());
    let t = content.text(lang);
    // The numbers for now, as `tel:` links most mail clients open: her clinic's, and the
    // emergency number in every email.
    let emergency = format!("tel:{}", crate::clinics::dial(&to.reach.emergency));
    let numbers = match &to.reach.call {
        Some(call) => t
            .ui("email_numbers")
            .replace("{call}", &format!("tel:{}", crate::clinics::dial(call))),
        None => t.ui("email_numbers_emergency_only").to_string(),
    }
    .replace("{emergency}", &emergency);
    let filled = |key: &str| {
        fill.iter().fold(t.ui(key).to_string(), |s, (name, value)| {
            s.replace(&format!("{{{name}}}"), value)
        })
    };
    let text = format!("{}\n\n{numbers}", filled(keys.1));
    NewOutboxMessage {
        clinic_id: to.clinic_id.to_string(),
        escalation_id: None,
        patient_id: Some(to.patient_id.into()),
        target_id: None,
        purpose,
        channel: Channel::Email,
        address: to.email.to_string(),
        payload: json!({
            "subject": filled(keys.0),
            "text": text,
            "link_path": link_path,
            "unsubscribe_path": unsubscribe_path(to.token),
            "type": purpose.as_str(),
        }),
    }
}

struct PatientEmailTo<'a> {
    patient_id: &'a str,
    clinic_id: &'a str,
    email: &'a str,
    token: &'a str,
    /// Her clinic's numbers when the email is written.
    reach: &'a crate::clinics::Reach,
}

/// "Your clinic has replied", for a patient with an address who has not unsubscribed.
pub fn reply_message(
    content: &Content,
    patient: &Patient,
    email: &PatientEmail,
    reach: &crate::clinics::Reach,
) -> NewOutboxMessage {
    let to = PatientEmailTo {
        patient_id: &patient.id,
        clinic_id: &patient.clinic_id,
        email: &email.email,
        token: &email.unsubscribe_token,
        reach,
    };
    let keys = ("reply_email_subject", "reply_email_text");
    email_to_her(
        content,
        &patient.language,
        keys,
        "/me/chat",
        &to,
        Purpose::Reply,
    )
}

/// An email to her about her appointment requests (`keys`: subject and text, whose `{time}`
/// is filled in), linking to her appointments page.
pub fn appointment_message(
    content: &Content,
    patient: &Patient,
    email: &PatientEmail,
    reach: &crate::clinics::Reach,
    keys: (&str, &str),
    purpose: Purpose,
    time: Option<String>,
) -> NewOutboxMessage {
    let to = PatientEmailTo {
        patient_id: &patient.id,
        clinic_id: &patient.clinic_id,
        email: &email.email,
        token: &email.unsubscribe_token,
        reach,
    };
    let fill = [("time", time.unwrap_or_default())];
    email_to_her_with(
        content,
        &patient.language,
        keys,
        "/me/appointments",
        &to,
        purpose,
        &fill,
    )
}

/// Whether her reminder is due at `now`: past her hour in her zone, not sent yet today, and
/// her recovery's course not over.
pub fn reminder_due(
    content: &Content,
    c: &ReminderCandidate,
    now: DateTime<Utc>,
) -> Option<chrono::NaiveDate> {
    let local = now.with_timezone(&crate::clinics::zone(c.time_zone.as_deref()));
    let today = local.date_naive();
    let day = (today - c.procedure_date).num_days();
    let due = local.hour() as i32 >= c.reminder_hour
        && c.last_reminded_on.is_none_or(|last| last < today)
        && (0..=course_end_day(content)).contains(&day);
    due.then_some(today)
}

/// Her settings checked (consent given, an address, an hour of the day), ready to store with
/// her unsubscribe secret; `None` when the address is empty (she wants no emails).
pub(crate) fn validated(
    patient_id: &str,
    s: EmailSettings,
    unsubscribe_token: String,
) -> Result<Option<PatientEmail>> {
    if s.email.trim().is_empty() {
        return Ok(None);
    }
    if !s.consent {
        return Err(Error::invalid(
            "consent",
            "consent: tick the box to agree to these emails",
        ));
    }
    if s.reminder_hour.is_some_and(|h| !(0..=23).contains(&h)) {
        return Err(Error::invalid(
            "reminder_hour",
            "reminder_hour: from 0 to 23",
        ));
    }
    Ok(Some(PatientEmail {
        patient_id: patient_id.into(),
        email: crate::alerts::email_address("email", &s.email)?,
        reminder_hour: s.reminder_hour,
        time_zone: None,
        unsubscribe_token,
        emails_stopped_at: None,
        last_reminded_on: None,
    }))
}

pub struct PatientEmails<'a>(pub(crate) &'a App);

impl PatientEmails<'_> {
    /// Her settings (not audited: the caller audits the page it serves).
    pub async fn get(&self, patient: &Patient) -> Result<Option<PatientEmail>> {
        Ok(self.0.store.get_patient_email(&patient.id).await?)
    }

    /// Saves her address and reminder hour (consent required), or forgets them when the
    /// address is empty; audited.
    pub async fn set(&self, actor: &Actor, patient: &Patient, s: EmailSettings) -> Result<()> {
        let token = match self.get(patient).await? {
            Some(old) => old.unsubscribe_token,
            None => crate::secrets::random_token()?,
        };
        let settings = validated(&patient.id, s, token)?;
        let now = self.0.now();
        let detail = if settings.is_some() { "set" } else { "removed" };
        let row = entry(
            actor,
            Action::PatientEmailSet,
            Subject::patient(patient).detail(detail),
            now,
        );
        let id = patient.id.clone();
        self.0
            .write_audited(
                move |tx| tx.set_patient_email(id.clone(), settings.clone()),
                move |_| row.clone(),
            )
            .await
    }

    /// Stops every email to the patient whose unsubscribe secret this is; `false` for an
    /// unknown secret. Audited as hers.
    pub async fn unsubscribe(&self, actor: &Actor, token: &str) -> Result<bool> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(false);
        }
        let now = self.0.now();
        let (token, actor) = (token.to_string(), actor.clone());
        let stopped = self
            .0
            .store
            .transaction(move |tx| {
                let (token, actor) = (token.clone(), actor.clone());
                Box::pin(async move {
                    let Some((patient_id, clinic_id)) = tx.stop_patient_emails(token, now).await?
                    else {
                        return Ok(false);
                    };
                    let subject = Subject {
                        patient_id: Some(&patient_id),
                        clinic_id: Some(&clinic_id),
                        detail: None,
                    };
                    tx.append_audit(entry(&actor, Action::PatientUnsubscribe, subject, now))
                        .await?;
                    Ok(true)
                })
            })
            .await?;
        Ok(stopped)
    }

    /// Puts today's reminders that are due in the outbox, each in one commit with the mark
    /// that it was sent (so no patient gets two in a day, whichever server gets there first).
    pub async fn send_due_reminders(&self) -> Result<usize> {
        let now = self.0.now();
        let content = self.0.content.clone();
        let mut queued = 0;
        // A day of margin either side of her zone; `reminder_due` decides exactly.
        let since = now.date_naive() - chrono::Duration::days(course_end_day(&content) + 1);
        let mut reaches = std::collections::HashMap::new();
        for c in self.0.store.reminder_candidates(since).await? {
            let Some(day) = reminder_due(&content, &c, now) else {
                continue;
            };
            if !reaches.contains_key(&c.clinic_id) {
                let reach = self.0.clinics().reach_now(&c.clinic_id).await?;
                reaches.insert(c.clinic_id.clone(), reach);
            }
            let to = PatientEmailTo {
                patient_id: &c.patient_id,
                clinic_id: &c.clinic_id,
                email: &c.email,
                token: &c.unsubscribe_token,
                reach: &reaches[&c.clinic_id],
            };
            let keys = ("reminder_email_subject", "reminder_email_text");
            let message = email_to_her(
                &content,
                &c.language,
                keys,
                "/me/diary",
                &to,
                Purpose::Reminder,
            );
            let (id, email) = (c.patient_id.clone(), c.email.clone());
            let sent: Option<OutboxMessage> = self
                .0
                .store
                .transaction(move |tx| {
                    let (id, message, email) = (id.clone(), message.clone(), email.clone());
                    Box::pin(async move {
                        if !tx.mark_reminded(id, day, email).await? {
                            return Ok(None);
                        }
                        Ok(Some(tx.enqueue(message, now).await?))
                    })
                })
                .await?;
            queued += usize::from(sent.is_some());
        }
        Ok(queued)
    }
}
