//! What the JSON API answers with: its own types, not the store's rows, so each says in the
//! OpenAPI document exactly what a client receives (and a column added to a table does not
//! leak into a response). Each is made from the record it shows.

use aftercare_store as store;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use utoipa::ToSchema;

/// One answer: yes/no, a number or one of the question's values.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AnswerValue {
    YesNo(bool),
    Number(f64),
    Choice(String),
}

/// Answers by fact id of the vocabulary (`GET /api/v1/questions` lists them).
#[derive(Debug, Serialize, ToSchema)]
pub struct Answers(pub HashMap<String, AnswerValue>);

/// An alert raised for the clinic.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationView {
    pub id: String,
    pub patient_id: String,
    /// `emergency`, `urgent`, `soon` or `self_care`.
    pub level: String,
    /// A reason code, e.g. `level:EM-CAUDA-EQUINA` or a missed milestone of the course.
    pub reason: String,
    pub source: store::EscalationSource,
    /// The check-in id or diary day that raised it.
    pub source_ref: String,
    pub raised_at: DateTime<Utc>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub ack_note: Option<String>,
    /// When a clinician closed the episode; until then she stays ranked at its level.
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    /// Alerts sent so far; two or more means it was alerted again because nobody acknowledged
    /// it in time.
    pub alert_round: i32,
}

impl From<store::Escalation> for EscalationView {
    fn from(e: store::Escalation) -> Self {
        EscalationView {
            id: e.id,
            patient_id: e.patient_id.into(),
            level: e.level,
            reason: e.reason,
            source: e.source,
            source_ref: e.source_ref,
            raised_at: e.raised_at,
            acknowledged_by: e.acknowledged_by,
            acknowledged_at: e.acknowledged_at,
            ack_note: e.ack_note,
            closed_at: e.closed_at,
            closed_by: e.closed_by,
            alert_round: e.alert_round,
        }
    }
}

/// One version of a diary day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiaryEntryView {
    pub patient_id: String,
    pub day: NaiveDate,
    /// 1 when first written, one more on each edit.
    pub version: i32,
    /// 0 (none) to 10 (worst imaginable).
    pub pain: i16,
    #[schema(value_type = Answers)]
    pub facts: Value,
    pub note: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl From<store::DiaryEntry> for DiaryEntryView {
    fn from(d: store::DiaryEntry) -> Self {
        DiaryEntryView {
            patient_id: d.patient_id.into(),
            day: d.day,
            version: d.version,
            pain: d.pain,
            facts: d.facts,
            note: d.note,
            recorded_at: d.recorded_at,
        }
    }
}

/// A stored check-in: her answers and the decision as it was made, never rewritten.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckinView {
    pub id: String,
    pub patient_id: String,
    #[schema(value_type = Answers)]
    pub answers: Value,
    #[schema(value_type = aftercare_core::DecisionView)]
    pub decision: Value,
    pub level: String,
    pub status: store::CheckinStatus,
    /// The content version the decision was made with.
    pub content_version: String,
    pub created_at: DateTime<Utc>,
}

impl From<store::Checkin> for CheckinView {
    fn from(c: store::Checkin) -> Self {
        CheckinView {
            id: c.id,
            patient_id: c.patient_id.into(),
            answers: c.answers,
            decision: c.decision,
            level: c.level,
            status: c.status,
            content_version: c.content_version,
            created_at: c.created_at,
        }
    }
}

/// A message of her thread with the clinic.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// Increasing within a thread.
    pub id: i64,
    pub patient_id: String,
    pub sender: store::Side,
    pub staff_id: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// When the other side read it.
    pub read_at: Option<DateTime<Utc>>,
}

impl From<store::Message> for MessageView {
    fn from(m: store::Message) -> Self {
        MessageView {
            id: m.id,
            patient_id: m.patient_id.into(),
            sender: m.sender,
            staff_id: m.staff_id,
            body: m.body,
            created_at: m.created_at,
            read_at: m.read_at,
        }
    }
}

/// A patient as her clinic sees her.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientSummary {
    pub id: String,
    pub clinic_id: String,
    pub display_name: String,
    pub enrolment_code: String,
    pub procedure: String,
    pub procedure_date: NaiveDate,
    pub delivery_date: Option<NaiveDate>,
    pub language: String,
    /// The level of her latest check-in; absent before the first.
    pub last_level: Option<String>,
    pub last_checkin_at: Option<DateTime<Utc>>,
    /// Escalations not yet acknowledged.
    pub open_escalations: i32,
    /// Her messages not yet read by staff.
    pub unread_messages: i32,
    pub created_at: DateTime<Utc>,
}

impl From<store::Patient> for PatientSummary {
    fn from(p: store::Patient) -> Self {
        PatientSummary {
            id: p.id.into(),
            clinic_id: p.clinic_id,
            display_name: p.display_name,
            enrolment_code: p.enrolment_code,
            procedure: p.procedure,
            procedure_date: p.procedure_date,
            delivery_date: p.delivery_date,
            language: p.language,
            last_level: p.last_level,
            last_checkin_at: p.last_checkin_at,
            open_escalations: p.open_escalations,
            unread_messages: p.unread_messages,
            created_at: p.created_at,
        }
    }
}

/// A request to be contacted, from the contact form.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactRequestView {
    pub id: String,
    pub clinic_id: String,
    pub name: String,
    /// How to reach her (a phone number or an email address), as she wrote it.
    pub contact: String,
    pub message: String,
    pub consent: bool,
    pub created_at: DateTime<Utc>,
    pub handled_by: Option<String>,
    pub handled_at: Option<DateTime<Utc>>,
    pub reply_note: Option<String>,
}

impl From<store::ContactRequest> for ContactRequestView {
    fn from(c: store::ContactRequest) -> Self {
        ContactRequestView {
            id: c.id,
            clinic_id: c.clinic_id,
            name: c.name,
            contact: c.contact,
            message: c.message,
            consent: c.consent,
            created_at: c.created_at,
            handled_by: c.handled_by,
            handled_at: c.handled_at,
            reply_note: c.reply_note,
        }
    }
}

/// One row of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_kind: store::ActorKind,
    pub actor_id: Option<String>,
    /// What happened, e.g. `diary.read`.
    pub action: String,
    pub patient_id: Option<String>,
    pub clinic_id: Option<String>,
    /// The client's address.
    pub address: Option<String>,
    pub detail: Option<String>,
}

impl From<store::AuditEntry> for AuditRow {
    fn from(a: store::AuditEntry) -> Self {
        AuditRow {
            id: a.id,
            at: a.at,
            actor_kind: a.actor_kind,
            actor_id: a.actor_id,
            action: a.action,
            patient_id: a.patient_id.map(String::from),
            clinic_id: a.clinic_id,
            address: a.address,
            detail: a.detail,
        }
    }
}

/// Maps a list of records to their views.
pub fn all<R, V: From<R>>(records: Vec<R>) -> Vec<V> {
    records.into_iter().map(V::from).collect()
}
