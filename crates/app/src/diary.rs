//! The daily diary: validate a day, triage it on what is known, check the series against the
//! expected course, and store it, with its audit row, the escalation either calls for and the
//! decision that raised it, in one commit. The API's `PUT /diary/{day}` and the diary page's
//! form both come here.

use aftercare_core::{recovery, triage, Case, Decision, DecisionView, DiaryPoint, RecoveryCheck};
use aftercare_store::{
    DiaryEntry, DiaryWrite, Escalation, NewCheckin, NewDiaryEntry, Patient, SessionLink,
};
use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::audit::{entry, Action, Actor, Subject};
use crate::patients::{profile, today};
use crate::text::Note;
use crate::{escalations, App, Error, Result};

/// The longest diary note kept, in characters.
pub const NOTE_LIMIT: usize = Note::MAX;

/// A day's entry as the patient gave it, before validation.
pub struct DayInput {
    pub day: NaiveDate,
    pub pain: i64,
    pub facts: Map<String, Value>,
    pub note: Option<Note>,
}

/// What writing a day produced.
pub struct DayWritten {
    pub entry: DiaryEntry,
    pub decision: Decision,
    pub escalation: Option<Escalation>,
}

/// A `YYYY-MM-DD` day, or an error naming the `day` field.
pub fn parse_day(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| Error::invalid("day", format!("day: {s:?} is not a date (YYYY-MM-DD)")))
}

pub struct Diary<'a>(pub(crate) &'a App);

impl Diary<'_> {
    /// Validates, triages, stores, audits and escalates one diary day.
    pub async fn write_day(
        &self,
        actor: &Actor,
        patient: &Patient,
        input: DayInput,
    ) -> Result<DayWritten> {
        let app = self.0;
        let content = app.content();
        let now = app.now();
        let day = input.day;
        if day > today(now) {
            return Err(Error::invalid(
                "day",
                "day: a diary entry cannot be for a future day",
            ));
        }
        if day < patient.procedure_date {
            return Err(Error::invalid("day", "day: before the procedure"));
        }
        let pain = u8::try_from(input.pain)
            .ok()
            .filter(|p| *p <= 10)
            .ok_or_else(|| Error::invalid("pain", "pain: must be a whole number from 0 to 10"))?;
        let note = input.note.map(Note::into_string);
        let pain_day = (day - patient.procedure_date).num_days();
        let case = recovery::diary_case(
            content,
            &profile(patient, now),
            pain,
            Some(pain_day),
            &input.facts,
        )?;
        let decision = triage(content, &case);
        app.observe(decision.level);
        let missed = self.missed(patient, &case, day, pain).await?;
        let decision = recovery::with_missed(content, decision, &missed);
        let source_ref = format!("{}/{day}", patient.id);
        let new = NewDiaryEntry {
            patient_id: patient.id.clone(),
            day,
            pain: i16::from(pain),
            facts: Value::Object(input.facts),
            note,
            audit: Some(entry(
                actor,
                Action::DiaryWrite,
                Subject::patient(patient).detail(day.to_string()),
                now,
            )),
            escalation: escalations::called_for(
                content,
                patient,
                &decision,
                &missed,
                aftercare_store::EscalationSource::Diary,
                &source_ref,
            ),
        };
        // The decision that raised an alert is kept, reproducibly, as a check-in of the diary,
        // which also moves her level up on the board. Built only when an alert is called for:
        // most days raise none, and the diary is the busiest write.
        let raised = match new.escalation {
            Some(_) => Some(NewCheckin {
                id: aftercare_store::new_id(),
                patient_id: patient.id.clone(),
                session: SessionLink::None,
                answers: Value::Object(case.to_json(content)),
                decision: serde_json::to_value(DecisionView::new(
                    content,
                    &decision,
                    content.default_lang(),
                ))
                .map_err(|e| Error::Internal(e.to_string()))?,
                level: decision.level.as_str().to_string(),
                urgency: crate::escalations::urgency(decision.level),
                status: aftercare_store::CheckinStatus::Diary,
                content_version: content.version.clone(),
                audit: Vec::new(),
                escalation: None,
            }),
            None => None,
        };
        let written: DiaryWrite = app
            .store
            .transaction(move |tx| {
                let (new, raised) = (new.clone(), raised.clone());
                Box::pin(async move {
                    let written = tx.upsert_diary_entry(new, now).await?;
                    // Raised, not already open for the same reason.
                    if let (Some(raised), Some(_)) = (raised, &written.escalation) {
                        tx.insert_checkin(raised, now).await?;
                    }
                    Ok(written)
                })
            })
            .await?;
        if let Some(e) = &written.escalation {
            escalations::log_raised(e);
        }
        Ok(DayWritten {
            entry: written.entry,
            decision,
            escalation: written.escalation,
        })
    }

    /// The milestones of the expected course that the diary will have missed once `day` is
    /// written with `pain`. The course compares the start of the series with the day being
    /// written, so only the first entry is read, and only when a milestone is already due.
    async fn missed(
        &self,
        patient: &Patient,
        case: &Case,
        day: NaiveDate,
        pain: u8,
    ) -> Result<Vec<RecoveryCheck>> {
        let content = self.0.content();
        let latest = DiaryPoint {
            day: (day - patient.procedure_date).num_days(),
            pain,
        };
        if !recovery::milestones_due(content, case, latest.day) {
            return Ok(Vec::new());
        }
        // An earlier version of this very day is about to be replaced by `latest`.
        let first = self
            .0
            .store
            .first_diary_entry(&patient.id, patient.procedure_date, day)
            .await?
            .filter(|e| e.day < day)
            .map(|e| DiaryPoint {
                day: (e.day - patient.procedure_date).num_days(),
                pain: u8::try_from(e.pain).unwrap_or(10),
            });
        let points: Vec<DiaryPoint> = first.into_iter().chain([latest]).collect();
        Ok(recovery::missed_milestones(content, case, &points))
    }

    /// The current version of her entry for a day.
    pub async fn get(&self, patient: &Patient, day: NaiveDate) -> Result<Option<DiaryEntry>> {
        Ok(self.0.store.get_diary_entry(&patient.id, day).await?)
    }

    /// Every version of her entry for a day, oldest first.
    pub async fn history(&self, patient: &Patient, day: NaiveDate) -> Result<Vec<DiaryEntry>> {
        Ok(self.0.store.diary_history(&patient.id, day).await?)
    }

    /// Her entries for `from..=to`, by day.
    pub async fn list(
        &self,
        patient: &Patient,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DiaryEntry>> {
        Ok(self.0.store.list_diary(&patient.id, from, to).await?)
    }
}
