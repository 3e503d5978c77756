//! Deciding and storing check-ins. The API (one session per questionnaire, answers kept in the
//! store between rounds) and the pages (answers carried in the form) both end in
//! [`store_final`], so every stored check-in is created, audited and escalated the same way.

use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::escalate;
use crate::patient::profile;
use crate::state::AppState;
use aftercare_core::{triage, Case, Decision, DecisionView, Lang};
use aftercare_store::{Checkin, CheckinSession, Escalation, NewCheckin, Patient};
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
/// answers when the questionnaire ran in the page), audits it and raises an escalation if the
/// core calls for one.
pub async fn store_final(
    state: &AppState,
    actor: &Actor,
    patient: &Patient,
    session: Option<CheckinSession>,
    answers: &Map<String, Value>,
    decision: &Decision,
    lang: Lang,
) -> Result<(Checkin, Option<Escalation>), AppError> {
    let session = match session {
        Some(s) => s,
        None => {
            let s = state
                .store
                .create_checkin_session(
                    Some(&patient.id),
                    Value::Object(answers.clone()),
                    state.now(),
                )
                .await?;
            audit::record(
                state,
                actor,
                "checkin.start",
                Some(&patient.id),
                Some(&patient.clinic_id),
                None,
            )
            .await?;
            s
        }
    };
    let view = DecisionView::new(&state.content, decision, lang);
    let stored = state
        .store
        .insert_checkin(
            NewCheckin {
                patient_id: patient.id.clone(),
                session_id: Some(session.id.clone()),
                answers: Value::Object(answers.clone()),
                decision: serde_json::to_value(&view)
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                level: decision.level.as_str().to_string(),
                status: "final".into(),
                content_version: state.content.version.clone(),
            },
            state.now(),
        )
        .await?;
    audit::record(
        state,
        actor,
        "checkin.final",
        Some(&patient.id),
        Some(&patient.clinic_id),
        Some(stored.id.clone()),
    )
    .await?;
    let escalation = escalate::apply(state, patient, decision, &[], "checkin", &stored.id).await?;
    Ok((stored, escalation))
}
