//! A patient's record as one FHIR R4 Bundle (type `searchset`, as `Patient/$everything` answers): Patient, Procedure, one
//! QuestionnaireResponse, RiskAssessment and (when scored) pain Observation per check-in, one pain
//! Observation per diary day, the CarePlan of the latest check-in, and a Communication per chat
//! message.
//!
//! The input is plain data ([`PatientRecord`]) that the caller reads from the store, so this
//! module stays free of I/O and can be tested with fixed ids and times.

use crate::assessment::{self, Assessment, Context};
use crate::codes::{self, Canonical};
use crate::import::{self, ResponseMeta};
use aftercare_core::Content;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{json, Map, Value as Json};

/// Everything exported about one patient.
#[derive(Debug, Clone)]
pub struct PatientRecord {
    pub patient: PatientInfo,
    /// Stored check-ins, in any order.
    pub checkins: Vec<CheckinInfo>,
    pub diary: Vec<DiaryInfo>,
    pub messages: Vec<MessageInfo>,
    pub appointments: Vec<AppointmentInfo>,
}

/// An appointment request: a `ServiceRequest`, and once the clinic has offered or booked a
/// time, an `Appointment` based on it.
#[derive(Debug, Clone)]
pub struct AppointmentInfo {
    pub id: String,
    /// The action id of the content she asked for, e.g. `physiotherapy`.
    pub kind: String,
    /// Whom she would see, in the record's language.
    pub who: String,
    /// The times that suit her, as she wrote them.
    pub preferred: String,
    /// `requested`, `proposed`, `confirmed` or `cancelled`.
    pub status: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub minutes: Option<i32>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct PatientInfo {
    pub id: String,
    pub display_name: String,
    /// BCP 47 code, e.g. `en`.
    pub language: String,
    /// A value of the content's procedure fact.
    pub procedure: String,
    pub procedure_date: NaiveDate,
    pub delivery_date: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct CheckinInfo {
    pub id: String,
    /// The patient's answers (fact id -> value).
    pub answers: Map<String, Json>,
    /// The stored decision (a `DecisionView` as JSON).
    pub decision: Json,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct DiaryInfo {
    pub day: NaiveDate,
    /// 0 to 10.
    pub pain: i16,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct MessageInfo {
    pub id: i64,
    pub from_patient: bool,
    pub body: String,
    pub sent: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// A FHIR instant.
pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A valid FHIR id (`[A-Za-z0-9\-\.]{1,64}`) made from parts of ours.
pub fn fhir_id(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "x".into()
    } else {
        cleaned
    }
}

/// The whole record as a Bundle. `generated_at` is the Bundle's timestamp.
pub fn patient_bundle(
    content: &Content,
    canonical: &Canonical,
    record: &PatientRecord,
    generated_at: DateTime<Utc>,
) -> Json {
    let p = &record.patient;
    let pid = fhir_id(&p.id);
    let subject = format!("Patient/{pid}");
    let mut resources = vec![patient(canonical, p, &pid)];
    if let Some(proc) = procedure(content, canonical, p, &subject) {
        resources.push(proc);
    }
    let mut checkins: Vec<&CheckinInfo> = record.checkins.iter().collect();
    checkins.sort_by_key(|c| c.created_at);
    let score_fact = &content.facts[content.course.context.score as usize].id;
    for c in &checkins {
        let cid = fhir_id(&c.id);
        let at = instant(c.created_at);
        let qr_id = fhir_id(&format!("qr-{}", c.id));
        let qr_ref = format!("QuestionnaireResponse/{qr_id}");
        let meta = ResponseMeta {
            id: &qr_id,
            subject: Some(&subject),
            authored: Some(&at),
        };
        resources.push(import::to_response(content, canonical, &c.answers, &meta));
        if let Some(score) = c.answers.get(score_fact).and_then(Json::as_f64) {
            let id = fhir_id(&format!("pain-{cid}"));
            resources.push(pain_observation(
                &id,
                &subject,
                score,
                &at,
                None,
                Some(&qr_ref),
            ));
        }
        let a = Assessment::from_stored(&c.decision);
        let ctx = Context {
            id: &fhir_id(&format!("risk-{cid}")),
            subject: Some(&subject),
            at: Some(&at),
            basis: Some(&qr_ref),
        };
        resources.push(assessment::risk_assessment(canonical, &a, &ctx));
    }
    let mut diary: Vec<&DiaryInfo> = record.diary.iter().collect();
    diary.sort_by_key(|d| d.day);
    for d in diary {
        let id = fhir_id(&format!("pain-{pid}-{}", d.day.format("%Y%m%d")));
        let issued = instant(d.recorded_at);
        resources.push(pain_observation(
            &id,
            &subject,
            f64::from(d.pain),
            &date(d.day),
            Some(&issued),
            None,
        ));
    }
    if let Some(latest) = checkins.last() {
        let a = Assessment::from_stored(&latest.decision);
        let cid = fhir_id(&latest.id);
        let at = instant(latest.created_at);
        let risk = format!("RiskAssessment/{}", fhir_id(&format!("risk-{cid}")));
        let ctx = Context {
            id: &fhir_id(&format!("plan-{cid}")),
            subject: Some(&subject),
            at: Some(&at),
            basis: None,
        };
        if let Some(plan) = assessment::care_plan(
            canonical,
            &a,
            &ctx,
            Some(latest.created_at.date_naive()),
            Some(&risk),
        ) {
            resources.push(plan);
        }
    }
    let mut messages: Vec<&MessageInfo> = record.messages.iter().collect();
    messages.sort_by_key(|m| m.id);
    for m in messages {
        resources.push(communication(&pid, &subject, m));
    }
    let mut appointments: Vec<&AppointmentInfo> = record.appointments.iter().collect();
    appointments.sort_by_key(|a| a.created_at);
    for a in appointments {
        resources.extend(appointment(canonical, &subject, a));
    }
    let entries: Vec<Json> = resources
        .into_iter()
        .map(|r| {
            let full_url = format!(
                "{}/{}/{}",
                canonical.server(),
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            );
            // `$everything` answers a search: the patient is the match, the rest is hers.
            let mode = if r["resourceType"] == "Patient" {
                "match"
            } else {
                "include"
            };
            json!({ "fullUrl": full_url, "resource": r, "search": { "mode": mode } })
        })
        .collect::<Vec<_>>();
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": instant(generated_at),
        "total": 1,
        "entry": entries,
    })
}

fn patient(canonical: &Canonical, p: &PatientInfo, pid: &str) -> Json {
    let mut out = json!({
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{ "system": canonical.patient_ids(), "value": p.id }],
        "active": true,
        "communication": [{
            "language": { "coding": [{ "system": codes::BCP47, "code": p.language }] },
            "preferred": true,
        }],
    });
    // The display name is a pseudonym chosen at enrolment; it goes in `text` only.
    if !p.display_name.trim().is_empty() {
        out["name"] = json!([{ "text": p.display_name }]);
    }
    out
}

/// The Procedure, or `None` when there was none.
pub fn procedure_code(content: &Content, canonical: &Canonical, value: &str) -> Option<Json> {
    let entry = codes::procedure(value)?;
    if entry.value == codes::NO_PROCEDURE {
        return None;
    }
    let idx = content.fact_index(codes::PROCEDURE_FACT)?;
    let fact = &content.facts[idx as usize];
    let label = match &fact.kind {
        aftercare_core::content::FactKind::Enum { values, .. } => values
            .iter()
            .position(|v| v == value)
            .map(|i| content.text(content.default_lang()).facts[idx as usize].values[i].clone()),
        _ => None,
    }
    .unwrap_or_else(|| value.to_string());
    let mut coding = Vec::new();
    if let Some((code, display)) = entry.snomed {
        coding.push(json!({ "system": codes::SNOMED, "code": code, "display": display }));
    }
    coding.push(json!({ "system": canonical.answers(codes::PROCEDURE_FACT), "code": value, "display": label }));
    Some(json!({ "coding": coding, "text": label }))
}

fn procedure(
    content: &Content,
    canonical: &Canonical,
    p: &PatientInfo,
    subject: &str,
) -> Option<Json> {
    let code = procedure_code(content, canonical, &p.procedure)?;
    Some(json!({
        "resourceType": "Procedure",
        "id": fhir_id(&format!("proc-{}", p.id)),
        "status": "completed",
        "code": code,
        "subject": { "reference": subject },
        "performedDateTime": date(p.procedure_date),
    }))
}

/// A 0-10 pain score (LOINC 72514-3, unit `{score}`).
pub fn pain_observation(
    id: &str,
    subject: &str,
    score: f64,
    effective: &str,
    issued: Option<&str>,
    derived_from: Option<&str>,
) -> Json {
    let mut o = json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": [{ "coding": [{ "system": codes::OBSERVATION_CATEGORY, "code": "survey", "display": "Survey" }] }],
        "code": {
            "coding": [{ "system": codes::LOINC, "code": codes::LOINC_PAIN_SEVERITY, "display": codes::LOINC_PAIN_SEVERITY_DISPLAY }],
            "text": "Pain severity, 0-10",
        },
        "subject": { "reference": subject },
        "effectiveDateTime": effective,
        "valueQuantity": { "value": score, "unit": codes::UCUM_SCORE, "system": codes::UCUM, "code": codes::UCUM_SCORE },
    });
    if let Some(i) = issued {
        o["issued"] = json!(i);
    }
    if let Some(d) = derived_from {
        o["derivedFrom"] = json!([{ "reference": d }]);
    }
    o
}

/// Her request as a `ServiceRequest` (a proposal: she asks, the clinic decides) and, once a time
/// is offered or booked, the `Appointment` that answers it. A cancelled request is `revoked`,
/// its appointment `cancelled`; one never given a time has no appointment (FHIR's app-3: only
/// proposed or cancelled appointments may lack a start and end).
fn appointment(canonical: &Canonical, subject: &str, a: &AppointmentInfo) -> Vec<Json> {
    let req_id = fhir_id(&format!("appt-req-{}", a.id));
    let code = json!({
        "coding": [{ "system": canonical.actions(), "code": a.kind }],
        "text": a.who,
    });
    let request_status = match a.status.as_str() {
        "cancelled" => "revoked",
        "confirmed" => "completed",
        _ => "active",
    };
    let mut request = json!({
        "resourceType": "ServiceRequest",
        "id": req_id,
        "status": request_status,
        "intent": "proposal",
        "code": code,
        "subject": { "reference": subject },
        "authoredOn": instant(a.created_at),
        "requester": { "reference": subject },
        "patientInstruction": a.preferred,
    });
    if let Some(r) = request
        .as_object_mut()
        .filter(|_| a.preferred.trim().is_empty())
    {
        r.remove("patientInstruction");
    }
    let mut out = vec![request];
    let (Some(start), Some(minutes)) = (a.starts_at, a.minutes) else {
        return out;
    };
    let status = match a.status.as_str() {
        "confirmed" => "booked",
        "cancelled" => "cancelled",
        _ => "proposed",
    };
    let participant_status = if status == "proposed" {
        "needs-action"
    } else {
        "accepted"
    };
    let mut appointment = json!({
        "resourceType": "Appointment",
        "id": fhir_id(&format!("appt-{}", a.id)),
        "status": status,
        "serviceType": [code],
        "start": instant(start),
        "end": instant(start + chrono::Duration::minutes(i64::from(minutes))),
        "minutesDuration": minutes,
        "basedOn": [{ "reference": format!("ServiceRequest/{req_id}") }],
        "participant": [{ "actor": { "reference": subject }, "status": participant_status }],
    });
    if let Some(note) = a.note.as_ref().filter(|n| !n.trim().is_empty()) {
        appointment["patientInstruction"] = json!(note);
    }
    out.push(appointment);
    out
}

fn communication(pid: &str, subject: &str, m: &MessageInfo) -> Json {
    let clinic = json!({ "display": "Care team" });
    let patient = json!({ "reference": subject });
    let (sender, recipient) = if m.from_patient {
        (patient, clinic)
    } else {
        (clinic, patient)
    };
    let mut c = json!({
        "resourceType": "Communication",
        "id": fhir_id(&format!("msg-{pid}-{}", m.id)),
        "status": "completed",
        "subject": { "reference": subject },
        "sent": instant(m.sent),
        "sender": sender,
        "recipient": [recipient],
        "payload": [{ "contentString": m.body }],
    });
    if let Some(r) = m.read_at {
        c["received"] = json!(instant(r));
    }
    c
}
