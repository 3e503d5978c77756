//! Alerts that reach a person: where a clinic's alerts go, the messages each escalation calls
//! for, re-alerts while nobody acknowledges it, and the delivery of the outbox.
//!
//! An escalation is committed with its first alert due (the store sets `next_alert_at` in the
//! escalation's own INSERT), so an alert cannot be lost between the decision and the outbox.
//! [`Alerts::fan_out`] turns each due alert into one outbox message per target and schedules
//! the next one, in one unit of work; [`Alerts::deliver`] sends what is due through a
//! [`Courier`] (the SMTP and webhook adapter) with retries and exponential backoff. Messages
//! carry the minimum necessary: the level, the rules, a link to the patient's page; the
//! patient's name only when the clinic turns that on.

use std::future::Future;
use std::sync::Arc;

use aftercare_core::{Content, Level};
use aftercare_store::{
    AlertTarget, Channel, Delivery, DueAlert, NewAlertTarget, NewOutboxMessage, OutboxMessage,
    Purpose,
};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::audit::{entry, Action, Actor, Subject};
use crate::{App, Error, Result};

/// How long a claimed message is left to its sender before another worker may take it: far
/// longer than a batch can take ([`BATCH`] sends of at most [`SEND_TIMEOUT`] each), so two
/// servers never hold the same message at once.
pub const LEASE: Duration = Duration::minutes(10);
/// The longest one send may take before it counts as failed (and is retried).
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Batches of messages one round delivers at most, so a backlog cannot hold up the next
/// round's new alerts.
const ROUND_BATCHES: usize = 5;
/// Attempts before a message is marked failed (the last about two hours after the first).
pub const MAX_ATTEMPTS: i32 = 8;
/// Alerts or messages taken per unit of work.
const BATCH: i64 = 10;
/// The longest address or URL of a target.
pub const ADDRESS_LIMIT: usize = 500;

/// The wait before attempt `attempts + 1`: 30 s, 1 min, 2 min, ... at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let doublings = attempts.clamp(1, 8) - 1;
    (Duration::seconds(30) * (1 << doublings)).min(Duration::hours(1))
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct SendError {
    /// No retry can help (the receiver refused the address or the request for good).
    pub permanent: bool,
    pub detail: String,
}

/// Sends one outbox message: email over SMTP, or a signed webhook POST. Implemented by the
/// adapter that holds the transports; the tests use the real ones against local receivers.
#[async_trait]
pub trait Courier: Send + Sync {
    /// `secret` is the webhook target's signing secret.
    async fn send(
        &self,
        message: &OutboxMessage,
        secret: Option<&str>,
    ) -> std::result::Result<(), SendError>;
}

/// The targets alert `round` (0 for the first) of an escalation at `level` goes to: those
/// whose lowest level it reaches, of the first tier for the first alert, and of the next tier
/// there is for each re-alert (the last tier again once there is no next one).
pub fn targets_for(targets: &[AlertTarget], level: Level, round: i32) -> Vec<&AlertTarget> {
    let reached: Vec<&AlertTarget> = targets
        .iter()
        .filter(|t| Level::parse(&t.min_level).is_some_and(|min| level >= min))
        .collect();
    let mut tiers: Vec<i32> = reached.iter().map(|t| t.tier).collect();
    tiers.sort_unstable();
    tiers.dedup();
    let Some(&tier) = tiers.get((round.max(0) as usize).min(tiers.len().saturating_sub(1))) else {
        return Vec::new();
    };
    reached.into_iter().filter(|t| t.tier == tier).collect()
}

/// How long an escalation may stay unacknowledged before it is alerted again; `None`: a level
/// that is not re-alerted.
pub fn deadline(alert: &DueAlert, level: Level) -> Option<Duration> {
    match level {
        Level::Emergency => Some(Duration::minutes(alert.realert_emergency_minutes.into())),
        Level::Urgent => Some(Duration::minutes(alert.realert_urgent_minutes.into())),
        Level::Soon | Level::SelfCare => None,
    }
}

/// The rule ids a stored reason names (`level:EM-A,EM-B`), or the course check it missed.
fn reason_parts(reason: &str) -> (Vec<String>, Option<String>) {
    match aftercare_core::recovery::EscalationReason::parse(reason) {
        Some(aftercare_core::recovery::EscalationReason::LevelRose(rules)) => (rules, None),
        Some(aftercare_core::recovery::EscalationReason::OffCourse(id)) => (Vec::new(), Some(id)),
        None => (Vec::new(), None),
    }
}

/// The path of the patient's page in the clinic's workspace; the courier makes it a URL.
pub fn patient_path(patient_id: &str) -> String {
    format!("/clinic/patients/{patient_id}")
}

/// The message of alert `round` of `alert` for `target`: for a webhook its JSON body (the
/// Standard Webhooks `type`/`timestamp`/`data` shape), for an email its subject and text.
pub fn alert_message(
    content: &Content,
    alert: &DueAlert,
    target: &AlertTarget,
    round: i32,
    now: DateTime<Utc>,
) -> NewOutboxMessage {
    let e = &alert.escalation;
    let purpose = if round == 0 {
        Purpose::Alert
    } else {
        Purpose::Realert
    };
    let (rules, course) = reason_parts(&e.reason);
    let mut data = json!({
        "escalation_id": e.id,
        "level": e.level,
        "rules": rules,
        "source": e.source.as_str(),
        "raised_at": e.raised_at,
        "alert": round + 1,
        "patient_path": patient_path(&e.patient_id),
    });
    if let Some(course) = &course {
        data["course_check"] = json!(course);
    }
    if alert.alert_names {
        data["patient_name"] = json!(alert.display_name);
    }
    let kind = match purpose {
        Purpose::Realert => "escalation.realert",
        _ => "escalation.raised",
    };
    let body = json!({ "type": kind, "timestamp": now, "data": data });
    let payload = match target.channel {
        Channel::Webhook => body,
        Channel::Email => email_of(content, &body, alert),
    };
    NewOutboxMessage {
        clinic_id: alert.clinic_id.clone(),
        escalation_id: Some(e.id.clone()),
        patient_id: Some(e.patient_id.clone()),
        target_id: Some(target.id.clone()),
        purpose,
        channel: target.channel,
        address: target.address.clone(),
        payload,
    }
}

/// An alert as an email to staff, in the content's default language: a subject naming the
/// level, the rules, and the link (`{link}`, filled in by the courier).
fn email_of(content: &Content, body: &Value, alert: &DueAlert) -> Value {
    let t = content.text(content.default_lang());
    let data = &body["data"];
    let level = data["level"].as_str().unwrap_or_default();
    let label_key = format!("cds_{level}");
    let label = t.ui(&label_key);
    let subject_key = if body["type"] == "escalation.realert" {
        "alert_email_subject_realert"
    } else {
        "alert_email_subject"
    };
    let subject = t.ui(subject_key).replace("{level}", label);
    let rules = data["rules"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let mut text = t
        .ui("alert_email_text")
        .replace("{level}", label)
        .replace("{rules}", if rules.is_empty() { "-" } else { &rules })
        .replace("{raised_at}", &alert.escalation.raised_at.to_rfc3339());
    if alert.alert_names {
        text = format!(
            "{}: {}\n\n{text}",
            t.ui("alert_email_patient"),
            alert.display_name
        );
    }
    json!({
        "subject": subject,
        "text": text,
        "link_path": data["patient_path"],
        "type": body["type"],
    })
}

/// A test message for a target, so an admin can see that it works.
fn test_message(content: &Content, target: &AlertTarget, now: DateTime<Utc>) -> NewOutboxMessage {
    let t = content.text(content.default_lang());
    let payload = match target.channel {
        Channel::Webhook => json!({
            "type": "test",
            "timestamp": now,
            "data": { "clinic_id": target.clinic_id, "target_id": target.id },
        }),
        Channel::Email => json!({
            "subject": t.ui("alert_email_test_subject"),
            "text": t.ui("alert_email_test_text"),
            "link_path": "/clinic/settings",
            "type": "test",
        }),
    };
    NewOutboxMessage {
        clinic_id: target.clinic_id.clone(),
        escalation_id: None,
        patient_id: None,
        target_id: Some(target.id.clone()),
        purpose: Purpose::Test,
        channel: target.channel,
        address: target.address.clone(),
        payload,
    }
}

/// An email address as far as Aftercare checks one: `local@domain.tld`, printable, no spaces.
pub fn email_address(field: &str, raw: &str) -> Result<String> {
    let a = raw.trim();
    let ok = a.len() <= 254
        && a.chars()
            .all(|c| c.is_ascii_graphic() && c != '<' && c != '>')
        && a.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !ok {
        return Err(Error::invalid(
            field,
            format!("{field}: an email address, such as ward@clinic.example"),
        ));
    }
    Ok(a.to_string())
}

/// A webhook URL: `https://` to a named host or a public address, or `http://` to this machine
/// only (a local bridge); no user or password in it.
pub fn webhook_url(field: &str, raw: &str) -> Result<String> {
    let refuse = || {
        Error::invalid(
            field,
            format!("{field}: an https:// URL (http:// only to this machine)"),
        )
    };
    let u = raw.trim();
    if u.len() > ADDRESS_LIMIT || !u.chars().all(|c| c.is_ascii_graphic()) {
        return Err(refuse());
    }
    let parsed = url::Url::parse(u).map_err(|_| refuse())?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse());
    }
    let host = parsed.host().ok_or_else(refuse)?;
    let ok = match (parsed.scheme(), &host) {
        ("http", url::Host::Domain(d)) => *d == "localhost",
        ("http", url::Host::Ipv4(ip)) => ip.is_loopback(),
        ("http", url::Host::Ipv6(ip)) => ip.is_loopback(),
        // An address literal must be public: a private, link-local or metadata address is
        // not where a clinic's paging service lives.
        ("https", url::Host::Ipv4(ip)) => {
            !(ip.is_private() || ip.is_link_local() || ip.is_loopback() || ip.is_unspecified())
        }
        ("https", url::Host::Ipv6(ip)) => !(ip.is_loopback() || ip.is_unspecified()),
        ("https", url::Host::Domain(_)) => true,
        _ => false,
    };
    if !ok {
        return Err(refuse());
    }
    Ok(parsed.to_string())
}

/// A target's address as the audit log keeps it: an email address whole, a URL only to its
/// host (chat webhooks carry their secret in the path).
fn audited_address(channel: Channel, address: &str) -> String {
    match channel {
        Channel::Email => address.to_string(),
        Channel::Webhook => url::Url::parse(address)
            .ok()
            .and_then(|u| u.host_str().map(|h| format!("{}://{h}/...", u.scheme())))
            .unwrap_or_else(|| "webhook".into()),
    }
}

/// A new Standard Webhooks signing secret: `whsec_` and 24 random bytes in base64.
fn new_webhook_secret() -> Result<String> {
    use base64::Engine;
    let bytes = crate::secrets::random_bytes::<24>()?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// A target as an admin adds it.
#[derive(Debug, Clone)]
pub struct NewTarget {
    pub channel: Channel,
    pub address: String,
    /// The lowest level it is alerted for.
    pub min_level: Level,
    /// 1 for the first contact, 2 for whom re-alerts go to next, ...
    pub tier: i32,
}

pub struct Alerts<'a>(pub(crate) &'a App);

impl Alerts<'_> {
    /// The clinic's targets, first tier first.
    pub async fn targets(&self, clinic_id: &str) -> Result<Vec<AlertTarget>> {
        Ok(self.0.store.list_alert_targets(clinic_id).await?)
    }

    /// Adds a target (a webhook gets its signing secret, shown to the admin with the target),
    /// audited.
    pub async fn add_target(
        &self,
        actor: &Actor,
        clinic_id: &str,
        target: NewTarget,
    ) -> Result<AlertTarget> {
        let (address, secret) = match target.channel {
            Channel::Email => (email_address("address", &target.address)?, None),
            Channel::Webhook => (
                webhook_url("address", &target.address)?,
                Some(new_webhook_secret()?),
            ),
        };
        if !(1..=9).contains(&target.tier) {
            return Err(Error::invalid("tier", "tier: from 1 (first contact) to 9"));
        }
        let new = NewAlertTarget {
            clinic_id: clinic_id.to_string(),
            channel: target.channel,
            address,
            secret,
            min_level: target.min_level.as_str().to_string(),
            tier: target.tier,
        };
        let now = self.0.now();
        let actor = actor.clone();
        self.0
            .write_audited(
                move |tx| tx.add_alert_target(new.clone(), now),
                move |t: &AlertTarget| {
                    let address = audited_address(t.channel, &t.address);
                    let detail = format!("{} {address} {}", t.channel, t.min_level);
                    entry(
                        &actor,
                        Action::AlertTargetAdd,
                        Subject::clinic(&t.clinic_id).detail(detail),
                        now,
                    )
                },
            )
            .await
    }

    /// Removes one of the clinic's targets, audited. Its pending messages fail at delivery.
    pub async fn remove_target(&self, actor: &Actor, clinic_id: &str, id: &str) -> Result<()> {
        if !crate::limits::plausible_key(id) {
            return Err(Error::NotFound);
        }
        let now = self.0.now();
        let row = entry(
            actor,
            Action::AlertTargetRemove,
            Subject::clinic(clinic_id).detail(id.to_string()),
            now,
        );
        let (clinic, id) = (clinic_id.to_string(), id.to_string());
        self.0
            .write_audited(
                move |tx| tx.remove_alert_target(clinic.clone(), id.clone()),
                move |_| row.clone(),
            )
            .await
    }

    /// Puts a test message for one of the clinic's targets in the outbox, audited.
    pub async fn send_test(
        &self,
        actor: &Actor,
        clinic_id: &str,
        target_id: &str,
    ) -> Result<OutboxMessage> {
        let target = match crate::limits::plausible_key(target_id) {
            true => self.0.store.get_alert_target(target_id).await?,
            false => None,
        };
        let target = target
            .filter(|t| t.clinic_id == clinic_id)
            .ok_or(Error::NotFound)?;
        let now = self.0.now();
        let new = test_message(&self.0.content, &target, now);
        let row = entry(
            actor,
            Action::AlertTest,
            Subject::clinic(clinic_id).detail(audited_address(target.channel, &target.address)),
            now,
        );
        self.0
            .write_audited(move |tx| tx.enqueue(new.clone(), now), move |_| row.clone())
            .await
    }

    /// The clinic's delivery log, newest first (it names patients by id: audited).
    pub async fn deliveries(
        &self,
        actor: &Actor,
        clinic_id: &str,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>> {
        self.0
            .audit()
            .record(actor, Action::DeliveryLogRead, Subject::clinic(clinic_id))
            .await?;
        Ok(self
            .0
            .store
            .list_outbox(clinic_id, limit.clamp(1, 500))
            .await?)
    }

    /// How alerting stands across the store, for monitoring (no patient, no clinic named).
    pub async fn counts(&self) -> Result<aftercare_store::AlertingCounts> {
        Ok(self.0.store.alerting_counts().await?)
    }

    /// Patients of the clinic whose escalation was re-alerted and is still unacknowledged.
    pub async fn overdue_patients(
        &self,
        clinic_id: &str,
    ) -> Result<Vec<aftercare_store::PatientId>> {
        Ok(self.0.store.overdue_patients(clinic_id).await?)
    }

    /// Turns the alerts due now into outbox messages and schedules the next ones, in one unit
    /// of work per batch; returns how many messages it wrote.
    pub async fn fan_out(&self) -> Result<usize> {
        let mut written = 0;
        loop {
            let now = self.0.now();
            let content = self.0.content.clone();
            let (alerts, messages) = self
                .0
                .store
                .transaction(move |tx| {
                    let content = content.clone();
                    Box::pin(async move {
                        let due = tx.due_alerts(now, BATCH).await?;
                        let mut messages = 0;
                        for alert in &due {
                            let e = &alert.escalation;
                            let level = Level::parse(&e.level).unwrap_or(Level::Emergency);
                            let targets = tx.alert_targets_for(alert.clinic_id.clone()).await?;
                            let chosen = targets_for(&targets, level, e.alert_round);
                            if chosen.is_empty() {
                                // Only the board shows it: say so where operators look.
                                tracing::warn!(level = %e.level, round = e.alert_round,
                                    "an escalation is due an alert but its clinic has no alert \
                                     target for its level");
                            }
                            for target in chosen {
                                let message =
                                    alert_message(&content, alert, target, e.alert_round, now);
                                tx.enqueue(message, now).await?;
                                messages += 1;
                            }
                            let next = deadline(alert, level).map(|d| now + d);
                            tx.schedule_alert(e.id.clone(), e.alert_round + 1, next)
                                .await?;
                        }
                        Ok((due.len(), messages))
                    })
                })
                .await?;
            written += messages;
            if alerts < BATCH as usize {
                return Ok(written);
            }
        }
    }

    /// Sends the messages due now through `courier`; returns how many were delivered.
    pub async fn deliver(&self, courier: &dyn Courier) -> Result<usize> {
        let mut delivered = 0;
        for _ in 0..ROUND_BATCHES {
            let now = self.0.now();
            let claimed = self
                .0
                .store
                .transaction(move |tx| tx.claim_outbox(now, now + LEASE, BATCH))
                .await?;
            for message in &claimed {
                if self.deliver_one(courier, message).await? {
                    delivered += 1;
                }
            }
            if claimed.len() < BATCH as usize {
                break;
            }
        }
        Ok(delivered)
    }

    async fn deliver_one(&self, courier: &dyn Courier, message: &OutboxMessage) -> Result<bool> {
        let secret = match (message.channel, &message.target_id) {
            (Channel::Webhook, Some(id)) => self
                .0
                .store
                .get_alert_target(id)
                .await?
                .and_then(|t| t.secret),
            _ => None,
        };
        // A clinic's alert whose target was removed is not sent: the admin took it away.
        let for_clinic = matches!(
            message.purpose,
            Purpose::Alert | Purpose::Realert | Purpose::Test
        );
        let removed = for_clinic && message.target_id.is_none()
            || message.channel == Channel::Webhook && secret.is_none();
        let sent = if removed {
            Err(SendError {
                permanent: true,
                detail: "the alert target was removed".into(),
            })
        } else {
            match tokio::time::timeout(SEND_TIMEOUT, courier.send(message, secret.as_deref())).await
            {
                Ok(sent) => sent,
                Err(_) => Err(SendError {
                    permanent: false,
                    detail: format!("no answer within {} s", SEND_TIMEOUT.as_secs()),
                }),
            }
        };
        let now = self.0.now();
        let ok = sent.is_ok();
        let outcome = match sent {
            Ok(()) => Delivery::Delivered,
            Err(e) if e.permanent || message.attempts >= MAX_ATTEMPTS => {
                tracing::warn!(channel = %message.channel, purpose = %message.purpose,
                    attempts = message.attempts, error = %e.detail, "delivery failed for good");
                Delivery::Failed { error: e.detail }
            }
            Err(e) => {
                tracing::info!(channel = %message.channel, attempts = message.attempts,
                    error = %e.detail, "delivery failed, will retry");
                Delivery::Retry {
                    at: now + backoff(message.attempts),
                    error: e.detail,
                }
            }
        };
        let (id, attempts) = (message.id.clone(), message.attempts);
        let recorded = self
            .0
            .store
            .transaction(move |tx| tx.finish_delivery(id.clone(), attempts, outcome.clone(), now))
            .await?;
        if !recorded {
            // Another worker took it again meanwhile (this one was too slow): its outcome wins.
            tracing::warn!(channel = %message.channel, "a delivery outlived its lease");
        }
        Ok(ok)
    }

    /// One round of the worker: due alerts into the outbox, then the outbox out. Each step
    /// runs even when the other failed (a failure is returned after both).
    pub async fn tick(&self, courier: &dyn Courier) -> Result<()> {
        let fanned = self.fan_out().await;
        let reminded = self.0.patient_emails().send_due_reminders().await;
        let appointments = self.0.appointments().send_due_reminders().await;
        let delivered = self.deliver(courier).await;
        fanned?;
        reminded?;
        appointments?;
        delivered?;
        Ok(())
    }
}

/// The delivery worker: a [`Alerts::tick`] every `every` until `shutdown` resolves. A failed
/// round is logged and the next one tries again; nothing is lost, since what was not sent is
/// still in the outbox.
pub async fn run_worker(
    app: App,
    courier: Arc<dyn Courier>,
    every: std::time::Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        // Each round in a task of its own, so that a panic in one ends that round only.
        let (app, courier) = (app.clone(), courier.clone());
        let round = tokio::spawn(async move { app.alerts().tick(courier.as_ref()).await });
        match round.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "alert delivery round failed"),
            Err(e) => tracing::error!(error = %e, "alert delivery round panicked"),
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(tier: i32, min: &str) -> AlertTarget {
        AlertTarget {
            id: format!("{tier}-{min}"),
            clinic_id: "c".into(),
            channel: Channel::Email,
            address: "a@b.example".into(),
            secret: None,
            min_level: min.into(),
            tier,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_re_alert_goes_to_the_next_tier_and_then_stays_on_the_last() {
        let all = [
            target(1, "soon"),
            target(2, "urgent"),
            target(3, "emergency"),
        ];
        let ids = |round| -> Vec<String> {
            targets_for(&all, Level::Emergency, round)
                .iter()
                .map(|t| t.id.clone())
                .collect()
        };
        assert_eq!(ids(0), ["1-soon"]);
        assert_eq!(ids(1), ["2-urgent"]);
        assert_eq!(ids(2), ["3-emergency"]);
        assert_eq!(ids(5), ["3-emergency"]);
    }

    #[test]
    fn a_target_is_alerted_only_at_its_level_or_above() {
        let all = [target(1, "emergency"), target(1, "soon")];
        let soon: Vec<_> = targets_for(&all, Level::Soon, 0);
        assert_eq!(soon.len(), 1);
        assert_eq!(soon[0].min_level, "soon");
        assert_eq!(targets_for(&all, Level::Emergency, 0).len(), 2);
        assert!(targets_for(&[], Level::Emergency, 0).is_empty());
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(7), Duration::seconds(30 * 64));
        assert_eq!(backoff(8), Duration::hours(1));
        assert!(backoff(20) <= Duration::hours(1));
    }

    #[test]
    fn webhook_urls_are_https_or_local_http() {
        assert!(webhook_url("a", "https://hooks.example/x").is_ok());
        assert!(webhook_url("a", "http://127.0.0.1:9000/hook").is_ok());
        assert!(webhook_url("a", "http://127.0.0.1.evil.example/").is_err());
        assert!(webhook_url("a", "http://127.0.0.1:1@evil.example/").is_err());
        assert!(webhook_url("a", "http://localhost:1@evil.example").is_err());
        assert!(webhook_url("a", "https://user:pw@hooks.example/x").is_err());
        assert!(webhook_url("a", "https://169.254.169.254/latest").is_err());
        assert!(webhook_url("a", "https://10.0.0.5/hook").is_err());
        assert!(webhook_url("a", "http://hooks.example/x").is_err());
        assert!(webhook_url("a", "https://a b").is_err());
        assert!(email_address("a", "ward@clinic.example").is_ok());
        assert!(email_address("a", "ward@clinic").is_err());
        assert!(email_address("a", "a@b@c.example").is_err());
        assert!(email_address("a", "<a@b.example>").is_err());
    }
}
