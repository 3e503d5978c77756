//! Deciding and storing check-ins. The API (one session per questionnaire, answers kept in the
//! store between rounds) and the pages (answers carried in the form) both end in
//! [`store_final`], so every stored check-in is created, audited and escalated the same way.

use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::escalate;
use crate::patient::profile;
use crate::state::AppState;
use aftercare_core::{triage, Case, Decision, DecisionView, Lang};
use aftercare_store::{CheckinSession, CheckinWrite, NewCheckin, Patient, SessionLink};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Later answers replace earlier ones; `null` removes an answer.
pub fn merge(mut answers: Map<String, Value>, changes: Map<String, Value>) -> Map<String, Value> {
    for (k, v) in changes {
        if v.is_null() {
            answers.remove(&k);
        } else {
            answers.insert(k, v);
        }
    }
    answers
}

/// The case (her answers over what the clinic knows of her) and its decision, as of now.
pub fn decide(
    state: &AppState,
    patient: &Patient,
    answers: &Map<String, Value>,
) -> Result<(Case, Decision), AppError> {
    decide_at(state, Some(patient), answers, state.now())
}

/// The decision on `answers` as of `at`: over the patient's profile when she is known (a stored
/// check-in is re-decided as of the time it was made, so it reads the same in any language),
/// on the answers alone for an anonymous check-in.
pub fn decide_at(
    state: &AppState,
    patient: Option<&Patient>,
    answers: &Map<String, Value>,
    at: DateTime<Utc>,
) -> Result<(Case, Decision), AppError> {
    let known = match patient {
        Some(p) => profile(p, at).facts(&state.content),
        None => Map::new(),
    };
    let case = Case::from_answers_over(&state.content, known, answers)?;
    let decision = triage(&state.content, &case);
    state.metrics.observe_decision(decision.level);
    Ok((case, decision))
}

/// Stores a final decision for the patient (completing `session`, or a new session holding the
/// answers when the questionnaire ran in the page) with its audit rows and the escalation the
/// core calls for, in one commit: a check-in is never stored without the alert it raises, so a
/// crash between statements cannot leave an urgent check-in that alerts nobody, and a client's
/// retry after a failure finds nothing half-written to compare against.
pub async fn store_final(
    state: &AppState,
    actor: &Actor,
    patient: &Patient,
    session: Option<CheckinSession>,
    answers: &Map<String, Value>,
    decision: &Decision,
    lang: Lang,
) -> Result<CheckinWrite, AppError> {
    let id = aftercare_store::new_id();
    let record = |action: &str, detail: Option<String>| {
        audit::entry(
            state,
            actor,
            action,
            Some(&patient.id),
            Some(&patient.clinic_id),
            detail,
        )
    };
    let mut audit_rows = Vec::new();
    let link = match session {
        Some(s) => SessionLink::Complete(s.id),
        None => {
            audit_rows.push(record("checkin.start", None));
            SessionLink::Open
        }
    };
    audit_rows.push(record("checkin.final", Some(id.clone())));
    let view = DecisionView::new(&state.content, decision, lang);
    let written = state
        .store
        .insert_checkin(
            NewCheckin {
                id: id.clone(),
                patient_id: patient.id.clone(),
                session: link,
                answers: Value::Object(answers.clone()),
                decision: serde_json::to_value(&view)
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                level: decision.level.as_str().to_string(),
                status: "final".into(),
                content_version: state.content.version.clone(),
                audit: audit_rows,
                escalation: escalate::called_for(state, patient, decision, &[], "checkin", &id),
            },
            state.now(),
        )
        .await?;
    if let Some(e) = &written.escalation {
        escalate::log_raised(e);
    }
    Ok(written)
}
