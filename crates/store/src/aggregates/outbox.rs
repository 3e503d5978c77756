//! Alerts and the outbox: where a clinic's alerts go, the alert schedule each escalation
//! carries, and the messages waiting to be sent.
//!
//! An escalation is raised with `next_alert_at` set in its own INSERT, so the alert it calls
//! for is in the same commit as the escalation. The delivery worker takes due alerts
//! ([`OutboxTx::due_alerts`], locked with `FOR UPDATE SKIP LOCKED` on PostgreSQL so several
//! servers share the work) and turns each into outbox messages in one commit with the next
//! alert's time. It then claims messages under a lease ([`OutboxTx::claim_outbox`]), sends them
//! and records the outcome ([`OutboxTx::finish_delivery`]). A worker that dies between the
//! claim and the outcome leaves the message due again when its lease ends.

use crate::records::PatientId;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::records::Escalation;
use crate::sql::{new_id, one_row, Conn, Statement};
use crate::{Channel, DeliveryStatus, Engine, Purpose, Result};

type Time = DateTime<Utc>;

/// Where a clinic's alerts go. Its `Debug` leaves the secret out.
#[derive(Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AlertTarget {
    pub id: String,
    pub clinic_id: String,
    pub channel: Channel,
    /// An email address or an `https://` (or loopback `http://`) URL.
    pub address: String,
    /// The webhook's signing secret; never serialised.
    #[serde(skip_serializing)]
    pub secret: Option<String>,
    /// The lowest level this target is alerted for (a core `Level` name).
    pub min_level: String,
    /// 1 for the first contact; re-alerts go to the next tier there is.
    pub tier: i32,
    pub created_at: Time,
}

impl std::fmt::Debug for AlertTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertTarget")
            .field("id", &self.id)
            .field("clinic_id", &self.clinic_id)
            .field("channel", &self.channel)
            .field("address", &self.address)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("min_level", &self.min_level)
            .field("tier", &self.tier)
            .finish()
    }
}

#[derive(Clone)]
pub struct NewAlertTarget {
    pub clinic_id: String,
    pub channel: Channel,
    pub address: String,
    pub secret: Option<String>,
    pub min_level: String,
    pub tier: i32,
}

impl std::fmt::Debug for NewAlertTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAlertTarget")
            .field("clinic_id", &self.clinic_id)
            .field("channel", &self.channel)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// An escalation whose alert is due, with what the worker needs to address it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueAlert {
    #[sqlx(flatten)]
    pub escalation: Escalation,
    pub clinic_id: String,
    pub display_name: String,
    pub realert_emergency_minutes: i32,
    pub realert_urgent_minutes: i32,
    pub alert_names: bool,
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct OutboxMessage {
    /// Also the `webhook-id` and the email's Message-ID: every attempt carries the same one.
    pub id: String,
    pub clinic_id: String,
    pub escalation_id: Option<String>,
    pub patient_id: Option<PatientId>,
    pub target_id: Option<String>,
    pub purpose: Purpose,
    pub channel: Channel,
    pub address: String,
    /// What is sent: `{"subject", "text"}` for an email, the JSON body for a webhook.
    pub payload: Value,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Time,
    pub last_error: Option<String>,
    pub created_at: Time,
    pub delivered_at: Option<Time>,
}

#[derive(Debug, Clone)]
pub struct NewOutboxMessage {
    pub clinic_id: String,
    pub escalation_id: Option<String>,
    pub patient_id: Option<PatientId>,
    pub target_id: Option<String>,
    pub purpose: Purpose,
    pub channel: Channel,
    pub address: String,
    pub payload: Value,
}

/// A patient's email settings: given with her consent, for her daily diary reminder and for
/// "your clinic has replied". No clinical content ever goes in these emails.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PatientEmail {
    pub patient_id: PatientId,
    pub email: String,
    /// The local hour (0-23) of her daily reminder; `None`: no reminder, replies only.
    pub reminder_hour: Option<i32>,
    /// Her IANA time zone; `None`: her clinic's.
    pub time_zone: Option<String>,
    /// The secret of her one-click unsubscribe link.
    #[serde(skip_serializing)]
    pub unsubscribe_token: String,
    /// When she unsubscribed; nothing is sent after it.
    pub emails_stopped_at: Option<Time>,
    pub last_reminded_on: Option<chrono::NaiveDate>,
}

/// A patient who may be due her daily reminder, with what deciding it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReminderCandidate {
    pub patient_id: PatientId,
    pub clinic_id: String,
    pub email: String,
    pub reminder_hour: i32,
    /// Hers, else her clinic's.
    pub time_zone: Option<String>,
    pub language: String,
    pub procedure_date: chrono::NaiveDate,
    pub last_reminded_on: Option<chrono::NaiveDate>,
    pub unsubscribe_token: String,
}

/// How alerting stands across every clinic of the store, for monitoring: nothing here names a
/// patient or a clinic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct AlertingCounts {
    /// Messages waiting for their first or next attempt.
    pub pending: i64,
    /// Alerts and re-alerts of escalations still unacknowledged whose last attempt failed
    /// (back to zero once someone acknowledges: a gauge a paging rule can watch).
    pub failed_alerts: i64,
    /// Escalations nobody has acknowledged yet.
    pub unacknowledged: i64,
    /// Of those, the ones already re-alerted: past the clinic's deadline.
    pub overdue: i64,
}

/// What came of an attempt to send a message.
#[derive(Debug, Clone)]
pub enum Delivery {
    Delivered,
    /// Failed; try again at `at`.
    Retry {
        at: Time,
        error: String,
    },
    /// Failed for the last time.
    Failed {
        error: String,
    },
}

/// The outbox's writes, inside a unit of work.
#[async_trait]
pub trait OutboxTx: Send {
    async fn add_alert_target(&mut self, new: NewAlertTarget, now: Time) -> Result<AlertTarget>;
    /// Removes a clinic's target; `NotFound` when the clinic has no such target.
    async fn remove_alert_target(&mut self, clinic_id: String, id: String) -> Result<()>;
    /// The clinic's targets, read inside the unit of work that addresses an alert.
    async fn alert_targets_for(&mut self, clinic_id: String) -> Result<Vec<AlertTarget>>;
    /// Unacknowledged escalations whose alert is due at `now`, oldest first, locked for this
    /// transaction (PostgreSQL skips rows another server holds).
    async fn due_alerts(&mut self, now: Time, limit: i64) -> Result<Vec<DueAlert>>;
    /// Records that alert `round` went out, and when the next one is due (`None`: never).
    async fn schedule_alert(
        &mut self,
        escalation_id: String,
        round: i32,
        next_at: Option<Time>,
    ) -> Result<()>;
    async fn enqueue(&mut self, new: NewOutboxMessage, now: Time) -> Result<OutboxMessage>;
    /// Takes up to `limit` pending messages due at `now` and leases them until `lease_until`
    /// (one attempt more each).
    async fn claim_outbox(
        &mut self,
        now: Time,
        lease_until: Time,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>>;
    /// Records the outcome of the attempt that claimed the message as its `attempts`-th;
    /// `false` (nothing changed) when the message has been claimed again since, or finished.
    async fn finish_delivery(
        &mut self,
        id: String,
        attempts: i32,
        outcome: Delivery,
        now: Time,
    ) -> Result<bool>;
    /// Sets (or, with `None`, removes) a patient's email settings. A new address starts
    /// receiving again even if she had unsubscribed the old one.
    async fn set_patient_email(
        &mut self,
        patient_id: PatientId,
        email: Option<PatientEmail>,
    ) -> Result<()>;
    /// Stops every email to the patient whose unsubscribe secret this is; her id and her
    /// clinic's, or `None` for an unknown secret.
    async fn stop_patient_emails(
        &mut self,
        token: String,
        now: Time,
    ) -> Result<Option<(PatientId, String)>>;
    /// Records that her reminder of `day` went out; `false` when one already had (another
    /// round or server got there first), so it is never sent twice.
    /// `email` is the address the reminder goes to: `false` too when she has changed or
    /// removed it, or her reminder, since it was read.
    async fn mark_reminded(
        &mut self,
        patient_id: PatientId,
        day: chrono::NaiveDate,
        email: String,
    ) -> Result<bool>;
    /// Where "your clinic has replied" goes, read in the unit of work that stores the reply:
    /// her address when she has one, has not unsubscribed, and has no unread message from the
    /// clinic (an earlier reply's email already told her).
    async fn reply_address(&mut self, patient_id: PatientId) -> Result<Option<PatientEmail>>;
    /// Her address for any other email, read (and her row locked) in the unit of work that
    /// queues it: `None` without one, or after she unsubscribed.
    async fn email_address(&mut self, patient_id: PatientId) -> Result<Option<PatientEmail>>;
}

/// The outbox's reads.
#[async_trait]
pub trait OutboxRead: Send + Sync {
    async fn list_alert_targets(&self, clinic_id: &str) -> Result<Vec<AlertTarget>>;
    async fn get_alert_target(&self, id: &str) -> Result<Option<AlertTarget>>;
    /// The clinic's alerts and test messages, newest first; never the emails to its patients
    /// (their addresses are hers, not the delivery log's).
    async fn list_outbox(&self, clinic_id: &str, limit: i64) -> Result<Vec<OutboxMessage>>;
    /// Patients of the clinic with an escalation that has been re-alerted and is still not
    /// acknowledged: the board marks them overdue.
    async fn overdue_patients(&self, clinic_id: &str) -> Result<Vec<PatientId>>;
    /// How alerting stands, for `/metrics`.
    async fn alerting_counts(&self) -> Result<AlertingCounts>;
    /// Her email settings, if she gave an address.
    async fn get_patient_email(&self, patient_id: &PatientId) -> Result<Option<PatientEmail>>;
    /// Patients with a daily reminder who have not unsubscribed, whose procedure was on or
    /// after `since` (those earlier are past their course: they are not read every round).
    async fn reminder_candidates(&self, since: chrono::NaiveDate)
        -> Result<Vec<ReminderCandidate>>;
}

/// Ends the patient's queued emails except those to `keep` (her address now, or `''` for
/// none): she stopped them or changed her address. The delivery worker never sends a message
/// that is no longer pending.
fn cancel_patient_emails(patient_id: &PatientId, keep: String) -> Statement {
    Statement::new(
        "UPDATE outbox SET status = 'failed', last_error = 'cancelled: her email settings changed' \
         WHERE patient_id = $1 AND purpose IN ('reminder', 'reply') AND status = 'pending' \
         AND address <> $2",
    )
    .bind(patient_id)
    .bind(keep)
}

/// Her email settings, read from her row (`p`) with a condition of the caller's.
fn patient_email(condition: &str) -> String {
    format!(
        "SELECT p.id AS patient_id, p.email, p.reminder_hour, p.time_zone, p.unsubscribe_token, \
         p.emails_stopped_at, p.last_reminded_on FROM patients p WHERE p.id = $1 \
         AND p.email IS NOT NULL AND p.unsubscribe_token IS NOT NULL{condition}"
    )
}

/// A clinic's targets, first tier first.
async fn targets<C: Conn>(c: &mut C, clinic_id: &str) -> Result<Vec<AlertTarget>> {
    let select = Statement::new(
        "SELECT * FROM alert_targets WHERE clinic_id = $1 ORDER BY tier, created_at, id",
    )
    .bind(clinic_id);
    c.fetch_all(select).await
}

#[async_trait]
impl<C: Conn> OutboxTx for C {
    async fn add_alert_target(&mut self, new: NewAlertTarget, now: Time) -> Result<AlertTarget> {
        let insert = Statement::new(
            "INSERT INTO alert_targets (id, clinic_id, channel, address, secret, min_level, \
             tier, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(new_id())
        .bind(new.clinic_id)
        .bind(new.channel)
        .bind(new.address)
        .bind(new.secret)
        .bind(new.min_level)
        .bind(new.tier)
        .bind(now);
        self.fetch_one(insert).await
    }

    async fn remove_alert_target(&mut self, clinic_id: String, id: String) -> Result<()> {
        let delete = Statement::new("DELETE FROM alert_targets WHERE id = $1 AND clinic_id = $2")
            .bind(id)
            .bind(clinic_id);
        one_row(self.execute(delete).await?)
    }

    async fn alert_targets_for(&mut self, clinic_id: String) -> Result<Vec<AlertTarget>> {
        targets(self, &clinic_id).await
    }

    async fn due_alerts(&mut self, now: Time, limit: i64) -> Result<Vec<DueAlert>> {
        let sql = format!(
            "SELECT e.*, p.clinic_id, p.display_name, c.realert_emergency_minutes, \
             c.realert_urgent_minutes, c.alert_names \
             FROM escalations e JOIN patients p ON p.id = e.patient_id \
             JOIN clinics c ON c.id = p.clinic_id \
             WHERE e.next_alert_at IS NOT NULL AND e.acknowledged_at IS NULL \
             AND e.next_alert_at <= $1 ORDER BY e.next_alert_at, e.id LIMIT $2{}",
            self.skip_locked(Some("e"))
        );
        self.fetch_all(Statement::new(sql).bind(now).bind(limit))
            .await
    }

    async fn schedule_alert(
        &mut self,
        escalation_id: String,
        round: i32,
        next_at: Option<Time>,
    ) -> Result<()> {
        let update = Statement::new(
            "UPDATE escalations SET alert_round = $2, next_alert_at = $3 WHERE id = $1",
        )
        .bind(escalation_id)
        .bind(round)
        .bind(next_at);
        one_row(self.execute(update).await?)
    }

    async fn enqueue(&mut self, new: NewOutboxMessage, now: Time) -> Result<OutboxMessage> {
        let insert = Statement::new(
            "INSERT INTO outbox (id, clinic_id, escalation_id, patient_id, target_id, purpose, \
             channel, address, payload, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING *",
        )
        .bind(new_id())
        .bind(new.clinic_id)
        .bind(new.escalation_id)
        .bind(new.patient_id)
        .bind(new.target_id)
        .bind(new.purpose)
        .bind(new.channel)
        .bind(new.address)
        .bind(new.payload)
        .bind(now);
        self.fetch_one(insert).await
    }

    async fn claim_outbox(
        &mut self,
        now: Time,
        lease_until: Time,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>> {
        let sql = format!(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' \
             AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3{}) RETURNING *",
            self.skip_locked(None)
        );
        let claim = Statement::new(sql).bind(now).bind(lease_until).bind(limit);
        let mut claimed: Vec<OutboxMessage> = self.fetch_all(claim).await?;
        claimed.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(claimed)
    }

    async fn finish_delivery(
        &mut self,
        id: String,
        attempts: i32,
        outcome: Delivery,
        now: Time,
    ) -> Result<bool> {
        // Only the attempt that holds the lease may record its outcome: `$2` is the attempt
        // count its claim returned.
        let update = match outcome {
            Delivery::Delivered => Statement::new(
                "UPDATE outbox SET status = 'delivered', delivered_at = $3, last_error = NULL \
                 WHERE id = $1 AND attempts = $2 AND status = 'pending'",
            )
            .bind(id)
            .bind(attempts)
            .bind(now),
            Delivery::Retry { at, error } => Statement::new(
                "UPDATE outbox SET next_attempt_at = $3, last_error = $4 \
                 WHERE id = $1 AND attempts = $2 AND status = 'pending'",
            )
            .bind(id)
            .bind(attempts)
            .bind(at)
            .bind(error),
            Delivery::Failed { error } => Statement::new(
                "UPDATE outbox SET status = 'failed', last_error = $3 \
                 WHERE id = $1 AND attempts = $2 AND status = 'pending'",
            )
            .bind(id)
            .bind(attempts)
            .bind(error),
        };
        Ok(self.execute(update).await? == 1)
    }

    async fn set_patient_email(
        &mut self,
        patient_id: PatientId,
        email: Option<PatientEmail>,
    ) -> Result<()> {
        let keep = email.as_ref().map(|e| e.email.clone()).unwrap_or_default();
        let update = match email {
            Some(e) => Statement::new(
                "UPDATE patients SET email = $2, reminder_hour = $3, time_zone = $4, \
                 unsubscribe_token = $5, emails_stopped_at = NULL WHERE id = $1",
            )
            .bind(&patient_id)
            .bind(e.email)
            .bind(e.reminder_hour)
            .bind(e.time_zone)
            .bind(e.unsubscribe_token),
            None => Statement::new(
                "UPDATE patients SET email = NULL, reminder_hour = NULL, \
                 unsubscribe_token = NULL WHERE id = $1",
            )
            .bind(&patient_id),
        };
        one_row(self.execute(update).await?)?;
        // Nothing already queued goes to an address she has changed or removed.
        self.execute(cancel_patient_emails(&patient_id, keep))
            .await
            .map(drop)
    }

    async fn stop_patient_emails(
        &mut self,
        token: String,
        now: Time,
    ) -> Result<Option<(PatientId, String)>> {
        let update = Statement::new(
            "UPDATE patients SET emails_stopped_at = COALESCE(emails_stopped_at, $2) \
             WHERE unsubscribe_token = $1 RETURNING id, clinic_id",
        )
        .bind(token)
        .bind(now);
        let stopped: Option<(PatientId, String)> = self.fetch_optional(update).await?;
        if let Some((patient_id, _)) = &stopped {
            self.execute(cancel_patient_emails(patient_id, String::new()))
                .await?;
        }
        Ok(stopped)
    }

    async fn email_address(&mut self, patient_id: PatientId) -> Result<Option<PatientEmail>> {
        self.lock_patient(&patient_id).await?;
        let select = patient_email(" AND p.emails_stopped_at IS NULL");
        self.fetch_optional(Statement::new(select).bind(patient_id))
            .await
    }

    async fn reply_address(&mut self, patient_id: PatientId) -> Result<Option<PatientEmail>> {
        // Her row first (PostgreSQL: locked until commit), so a second reply at the same
        // moment, or a change of her address, waits for this one.
        self.lock_patient(&patient_id).await?;
        let select = patient_email(
            " AND p.emails_stopped_at IS NULL AND NOT EXISTS (SELECT 1 FROM messages m \
             WHERE m.patient_id = p.id AND m.sender = 'staff' AND m.read_at IS NULL)",
        );
        self.fetch_optional(Statement::new(select).bind(patient_id))
            .await
    }

    async fn mark_reminded(
        &mut self,
        patient_id: PatientId,
        day: chrono::NaiveDate,
        email: String,
    ) -> Result<bool> {
        let update = Statement::new(
            "UPDATE patients SET last_reminded_on = $2 WHERE id = $1 \
             AND emails_stopped_at IS NULL AND email = $3 \
             AND reminder_hour IS NOT NULL AND unsubscribe_token IS NOT NULL \
             AND (last_reminded_on IS NULL OR last_reminded_on < $2)",
        )
        .bind(patient_id)
        .bind(day)
        .bind(email);
        Ok(self.execute(update).await? == 1)
    }
}

#[async_trait]
impl<E: Engine> OutboxRead for E {
    async fn list_alert_targets(&self, clinic_id: &str) -> Result<Vec<AlertTarget>> {
        targets(&mut *self.reader().await?, clinic_id).await
    }

    async fn get_alert_target(&self, id: &str) -> Result<Option<AlertTarget>> {
        let select = Statement::new("SELECT * FROM alert_targets WHERE id = $1").bind(id);
        self.reader().await?.fetch_optional(select).await
    }

    async fn list_outbox(&self, clinic_id: &str, limit: i64) -> Result<Vec<OutboxMessage>> {
        let select = Statement::new(
            "SELECT * FROM outbox WHERE clinic_id = $1 \
             AND purpose IN ('alert', 'realert', 'test') \
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(clinic_id)
        .bind(limit);
        self.reader().await?.fetch_all(select).await
    }

    async fn overdue_patients(&self, clinic_id: &str) -> Result<Vec<PatientId>> {
        let select = Statement::new(
            "SELECT DISTINCT e.patient_id FROM escalations e \
             JOIN patients p ON p.id = e.patient_id WHERE p.clinic_id = $1 \
             AND e.acknowledged_at IS NULL AND e.alert_round >= 2 ORDER BY e.patient_id",
        )
        .bind(clinic_id);
        let rows: Vec<(PatientId,)> = self.reader().await?.fetch_all(select).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn alerting_counts(&self) -> Result<AlertingCounts> {
        let select = Statement::new(
            "SELECT \
             (SELECT COUNT(*) FROM outbox WHERE status = 'pending') AS pending, \
             (SELECT COUNT(*) FROM outbox o WHERE o.status = 'failed' \
                 AND o.purpose IN ('alert', 'realert') AND EXISTS (SELECT 1 \
                 FROM escalations e WHERE e.id = o.escalation_id \
                 AND e.acknowledged_at IS NULL)) AS failed_alerts, \
             (SELECT COUNT(*) FROM escalations WHERE acknowledged_at IS NULL) AS unacknowledged, \
             (SELECT COUNT(*) FROM escalations \
                 WHERE acknowledged_at IS NULL AND alert_round >= 2) AS overdue",
        );
        self.reader().await?.fetch_one(select).await
    }

    async fn get_patient_email(&self, patient_id: &PatientId) -> Result<Option<PatientEmail>> {
        let select = Statement::new(patient_email("")).bind(patient_id);
        self.reader().await?.fetch_optional(select).await
    }

    async fn reminder_candidates(
        &self,
        since: chrono::NaiveDate,
    ) -> Result<Vec<ReminderCandidate>> {
        let select = Statement::new(
            "SELECT p.id AS patient_id, p.clinic_id, p.email, p.reminder_hour, \
             COALESCE(p.time_zone, c.time_zone) AS time_zone, p.language, \
             p.procedure_date, p.last_reminded_on, p.unsubscribe_token \
             FROM patients p JOIN clinics c ON c.id = p.clinic_id \
             WHERE p.email IS NOT NULL AND p.reminder_hour IS NOT NULL \
             AND p.unsubscribe_token IS NOT NULL AND p.emails_stopped_at IS NULL \
             AND p.procedure_date >= $1 ORDER BY p.id",
        )
        .bind(since);
        self.reader().await?.fetch_all(select).await
    }
}
