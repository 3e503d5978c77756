//! Check-ins: the questionnaire in progress (a session of answers) and the final decisions, which
//! are never rewritten. The API (answers kept in a session between rounds) and the pages
//! (answers carried in the URL) both end in [`Checkins::finish`], so every stored check-in is
//! created, audited and escalated the same way, in one commit.

use aftercare_core::{triage, Case, Decision, DecisionView, Lang};
use aftercare_store::{Checkin, CheckinSession, CheckinWrite, NewCheckin, Patient, SessionLink};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::audit::{entry, Action, Actor, Subject};
use crate::patients::profile;
use crate::{escalations, App, Error, Result};

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

pub struct Checkins<'a>(pub(crate) &'a App);

/// `NotFound` unless the questionnaire is hers: another patient's looks like none.
fn owns(patient: &Patient, session: &CheckinSession) -> Result<()> {
    if session.patient_id.as_deref() == Some(patient.id.as_str()) {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

impl Checkins<'_> {
    /// The case (her answers over what the clinic knows of her) and its decision, as of `at`:
    /// over the patient's profile when she is known (a stored check-in is re-decided as of the
    /// time it was made, so it reads the same in any language), on the answers alone for an
    /// anonymous check-in.
    pub fn decide(
        &self,
        patient: Option<&Patient>,
        answers: &Map<String, Value>,
        at: DateTime<Utc>,
    ) -> Result<(Case, Decision)> {
        let content = self.0.content();
        let known = match patient {
            Some(p) => profile(p, at).facts(content),
            None => Map::new(),
        };
        let case = Case::from_answers_over(content, known, answers)?;
        let decision = triage(content, &case);
        self.0.observe(decision.level);
        Ok((case, decision))
    }

    /// Opens a questionnaire for the patient with her first answers, audited.
    pub async fn open(
        &self,
        actor: &Actor,
        patient: &Patient,
        answers: Map<String, Value>,
    ) -> Result<CheckinSession> {
        let now = self.0.now();
        let row = entry(actor, Action::CheckinStart, Subject::patient(patient), now);
        let patient_id = patient.id.clone();
        let answers = Value::Object(answers);
        self.0
            .write_audited(
                move |tx| tx.create_checkin_session(Some(patient_id.clone()), answers.clone(), now),
                move |_| row.clone(),
            )
            .await
    }

    /// Her questionnaire in progress; `NotFound` when it is not hers.
    pub async fn session(&self, patient: &Patient, id: &str) -> Result<CheckinSession> {
        if !crate::limits::plausible_key(id) {
            return Err(Error::NotFound);
        }
        let session = self
            .0
            .store
            .get_checkin_session(id)
            .await?
            .ok_or(Error::NotFound)?;
        owns(patient, &session)?;
        Ok(session)
    }

    /// Replaces the answers of her questionnaire still in progress, audited.
    pub async fn save_answers(
        &self,
        actor: &Actor,
        patient: &Patient,
        session: &CheckinSession,
        answers: Map<String, Value>,
    ) -> Result<CheckinSession> {
        owns(patient, session)?;
        let now = self.0.now();
        let row = entry(actor, Action::CheckinAnswer, Subject::patient(patient), now);
        let id = session.id.clone();
        let answers = Value::Object(answers);
        self.0
            .write_audited(
                move |tx| tx.update_checkin_answers(id.clone(), answers.clone(), now),
                move |_| row.clone(),
            )
            .await
    }

    /// Stores a final decision for the patient (completing `session`, or a new session holding
    /// the answers when the questionnaire ran in the pages) with its audit rows and the
    /// escalation the core calls for, in one commit: a check-in is never stored without the
    /// alert it raises, so a crash between statements cannot leave an urgent check-in that
    /// alerts nobody, and a client's retry after a failure finds nothing half-written.
    pub async fn finish(
        &self,
        actor: &Actor,
        patient: &Patient,
        session: Option<CheckinSession>,
        answers: &Map<String, Value>,
        decision: &Decision,
        lang: Lang,
    ) -> Result<CheckinWrite> {
        let now = self.0.now();
        let content = self.0.content();
        let id = aftercare_store::new_id();
        let mut audit = Vec::new();
        let link = match session {
            Some(s) => {
                owns(patient, &s)?;
                SessionLink::Complete(s.id)
            }
            None => {
                audit.push(entry(
                    actor,
                    Action::CheckinStart,
                    Subject::patient(patient),
                    now,
                ));
                SessionLink::Open
            }
        };
        audit.push(entry(
            actor,
            Action::CheckinFinal,
            Subject::patient(patient).detail(id.clone()),
            now,
        ));
        let view = DecisionView::new(content, decision, lang);
        let new = NewCheckin {
            id: id.clone(),
            patient_id: patient.id.clone(),
            session: link,
            answers: Value::Object(answers.clone()),
            decision: serde_json::to_value(&view).map_err(|e| Error::Internal(e.to_string()))?,
            level: decision.level.as_str().to_string(),
            urgency: escalations::urgency(decision.level),
            status: aftercare_store::CheckinStatus::Final,
            content_version: content.version.clone(),
            audit,
            escalation: escalations::called_for(
                content,
                patient,
                decision,
                &[],
                aftercare_store::EscalationSource::Checkin,
                &id,
            ),
        };
        let written = self
            .0
            .store
            .transaction(move |tx| tx.insert_checkin(new.clone(), now))
            .await?;
        if let Some(e) = &written.escalation {
            escalations::log_raised(e);
        }
        Ok(written)
    }

    /// A stored check-in of the patient; `NotFound` when it is not hers.
    pub async fn get(&self, patient: &Patient, id: &str) -> Result<Checkin> {
        if !crate::limits::plausible_key(id) {
            return Err(Error::NotFound);
        }
        match self.0.store.get_checkin(id).await? {
            Some(c) if c.patient_id == patient.id => Ok(c),
            _ => Err(Error::NotFound),
        }
    }

    /// Her check-ins, newest first.
    pub async fn list(&self, patient: &Patient) -> Result<Vec<Checkin>> {
        Ok(self.0.store.list_checkins(&patient.id).await?)
    }
}
