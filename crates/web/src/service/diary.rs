//! Writing a diary day: validate it, store a new version, audit it, triage the day on what is
//! known, check the series against the expected course, and escalate when either calls for it.
//! The API's `PUT /diary/{day}` and the diary page's form both come here.

use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::escalate;
use crate::patient::{profile, today};
use crate::state::AppState;
use aftercare_core::{recovery, triage, Case, Decision, DecisionView, DiaryPoint, RecoveryCheck};
use aftercare_store::{DiaryEntry, Escalation, NewDiaryEntry, Patient};
use chrono::NaiveDate;
use serde_json::{Map, Value};

/// The longest diary note kept, in characters.
pub const NOTE_LIMIT: usize = 2000;

/// A day's entry as the patient gave it, before validation.
pub struct DayInput {
    pub day: NaiveDate,
    pub pain: i64,
    pub facts: Map<String, Value>,
    pub note: Option<String>,
}

/// What writing a day produced.
pub struct DayWritten {
    pub entry: DiaryEntry,
    pub decision: Decision,
    pub escalation: Option<Escalation>,
}

/// Validates, stores, audits, triages and escalates one diary day.
pub async fn write_day(
    state: &AppState,
    actor: &Actor,
    patient: &Patient,
    input: DayInput,
) -> Result<DayWritten, AppError> {
    let now = state.now();
    let day = input.day;
    if day > today(now) {
        return Err(AppError::bad_field(
            "day",
            "day: a diary entry cannot be for a future day",
        ));
    }
    if day < patient.procedure_date {
        return Err(AppError::bad_field("day", "day: before the procedure"));
    }
    let pain = u8::try_from(input.pain)
        .ok()
        .filter(|p| *p <= 10)
        .ok_or_else(|| AppError::bad_field("pain", "pain: must be a whole number from 0 to 10"))?;
    let note = input
        .note
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > NOTE_LIMIT)
    {
        return Err(AppError::bad_field(
            "note",
            format!("note: at most {NOTE_LIMIT} characters"),
        ));
    }
    let pain_day = (day - patient.procedure_date).num_days();
    let case = recovery::diary_case(
        &state.content,
        &profile(patient, now),
        pain,
        Some(pain_day),
        &input.facts,
    )?;
    let decision = triage(&state.content, &case);
    state.metrics.observe_decision(decision.level);
    let missed = missed(state, patient, &case, day, pain).await?;
    let decision = recovery::with_missed(&state.content, decision, &missed);
    let source_ref = format!("{}/{day}", patient.id);
    // The entry, its audit row and the alert it raises commit together.
    let written = state
        .store
        .upsert_diary_entry(
            NewDiaryEntry {
                patient_id: patient.id.clone(),
                day,
                pain: i16::from(pain),
                facts: Value::Object(input.facts),
                note,
                audit: Some(audit::entry(
                    state,
                    actor,
                    "diary.write",
                    Some(&patient.id),
                    Some(&patient.clinic_id),
                    Some(day.to_string()),
                )),
                escalation: escalate::called_for(
                    state,
                    patient,
                    &decision,
                    &missed,
                    "diary",
                    &source_ref,
                ),
            },
            now,
        )
        .await?;
    let (entry, escalation) = (written.entry, written.escalation);
    if let Some(e) = &escalation {
        escalate::log_raised(e);
    }
    if escalation.is_some() {
        // Keep the decision that raised it, reproducibly, and move her level up.
        let lang = state.content.default_lang();
        let view = DecisionView::new(&state.content, &decision, lang);
        state
            .store
            .insert_checkin(
                aftercare_store::NewCheckin {
                    id: aftercare_store::new_id(),
                    patient_id: patient.id.clone(),
                    session: aftercare_store::SessionLink::None,
                    answers: Value::Object(case.to_json(&state.content)),
                    decision: serde_json::to_value(&view)
                        .map_err(|e| AppError::Internal(e.to_string()))?,
                    level: decision.level.as_str().to_string(),
                    status: "diary".into(),
                    content_version: state.content.version.clone(),
                    audit: Vec::new(),
                    escalation: None,
                },
                now,
            )
            .await?;
    }
    Ok(DayWritten {
        entry,
        decision,
        escalation,
    })
}

/// The milestones of the expected course that the diary will have missed once `day` is written
/// with `pain`. The course compares the start of the series with the day being written, so
/// only the first entry is read, and only when a milestone is already due.
async fn missed(
    state: &AppState,
    patient: &Patient,
    case: &Case,
    day: NaiveDate,
    pain: u8,
) -> Result<Vec<RecoveryCheck>, AppError> {
    let latest = DiaryPoint {
        day: (day - patient.procedure_date).num_days(),
        pain,
    };
    if !recovery::milestones_due(&state.content, case, latest.day) {
        return Ok(Vec::new());
    }
    // An earlier version of this very day is about to be replaced by `latest`.
    let first = state
        .store
        .first_diary_entry(&patient.id, patient.procedure_date, day)
        .await?
        .filter(|e| e.day < day)
        .map(|e| DiaryPoint {
            day: (e.day - patient.procedure_date).num_days(),
            pain: u8::try_from(e.pain).unwrap_or(10),
        });
    let points: Vec<DiaryPoint> = first.into_iter().chain([latest]).collect();
    Ok(recovery::missed_milestones(&state.content, case, &points))
}

/// A `YYYY-MM-DD` day, or a 422 naming the `day` field.
pub fn parse_day(s: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| AppError::bad_field("day", format!("day: {s:?} is not a date (YYYY-MM-DD)")))
}
