//! Check-ins: the questionnaire in progress (a session) and the decisions stored from it,
//! never rewritten.

use crate::records::PatientId;
use async_trait::async_trait;
use serde_json::Value;

use super::audit::insert_audit;
use super::escalations::insert_escalation;
use crate::records::{Checkin, CheckinSession, CheckinWrite, NewCheckin, SessionLink, Time};
use crate::sql::{missing_or_conflict, new_id, Conn, Statement};
use crate::{Engine, Result};

/// Writes, inside a unit of work.
#[async_trait]
pub trait CheckinTx: Send {
    async fn create_checkin_session(
        &mut self,
        patient_id: Option<PatientId>,
        answers: Value,
        now: Time,
    ) -> Result<CheckinSession>;
    /// Replaces the answers; `Conflict` once the session is completed.
    async fn update_checkin_answers(
        &mut self,
        id: String,
        answers: Value,
        now: Time,
    ) -> Result<CheckinSession>;
    /// Stores the check-in, sets the patient's last level and check-in time, completes or opens
    /// its session, and writes its audit rows and its escalation.
    async fn insert_checkin(&mut self, new: NewCheckin, now: Time) -> Result<CheckinWrite>;
}

/// Reads.
#[async_trait]
pub trait CheckinRead: Send + Sync {
    async fn get_checkin_session(&self, id: &str) -> Result<Option<CheckinSession>>;
    async fn get_checkin(&self, id: &str) -> Result<Option<Checkin>>;
    /// Newest first.
    async fn list_checkins(&self, patient_id: &PatientId) -> Result<Vec<Checkin>>;
}

const COMPLETED: &str = "check-in session already completed";

#[async_trait]
impl<C: Conn> CheckinTx for C {
    async fn create_checkin_session(
        &mut self,
        patient_id: Option<PatientId>,
        answers: Value,
        now: Time,
    ) -> Result<CheckinSession> {
        let insert = Statement::new(
            "INSERT INTO checkin_sessions (id, patient_id, answers, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING *",
        )
        .bind(new_id())
        .bind(patient_id)
        .bind(answers)
        .bind(now);
        self.fetch_one(insert).await
    }

    async fn update_checkin_answers(
        &mut self,
        id: String,
        answers: Value,
        now: Time,
    ) -> Result<CheckinSession> {
        let update = Statement::new(
            "UPDATE checkin_sessions SET answers = $2, updated_at = $3 \
             WHERE id = $1 AND completed_checkin_id IS NULL RETURNING *",
        )
        .bind(&id)
        .bind(answers)
        .bind(now);
        match self.fetch_optional(update).await? {
            Some(session) => Ok(session),
            None => Err(missing_or_conflict(self, "checkin_sessions", &id, COMPLETED).await),
        }
    }

    async fn insert_checkin(&mut self, new: NewCheckin, now: Time) -> Result<CheckinWrite> {
        self.lock_patient(&new.patient_id).await?;
        let session_id = match &new.session {
            SessionLink::None => None,
            SessionLink::Complete(s) => Some(s.clone()),
            SessionLink::Open => {
                let sid = new_id();
                let open = Statement::new(
                    "INSERT INTO checkin_sessions (id, patient_id, answers, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(&sid)
                .bind(&new.patient_id)
                .bind(&new.answers)
                .bind(now);
                self.execute(open).await?;
                Some(sid)
            }
        };
        let insert = Statement::new(
            "INSERT INTO checkins (id, patient_id, answers, decision, level, status, \
             content_version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(&new.id)
        .bind(&new.patient_id)
        .bind(&new.answers)
        .bind(&new.decision)
        .bind(&new.level)
        .bind(new.status)
        .bind(&new.content_version)
        .bind(now);
        let checkin: Checkin = self.fetch_one(insert).await?;
        let latest = Statement::new(
            "UPDATE patients SET last_level = $2, last_checkin_at = $3, last_urgency = $4 \
             WHERE id = $1",
        )
        .bind(&new.patient_id)
        .bind(&new.level)
        .bind(now)
        .bind(new.urgency);
        self.execute(latest).await?;
        if let Some(session_id) = &session_id {
            let complete = Statement::new(
                "UPDATE checkin_sessions SET completed_checkin_id = $2, updated_at = $3, \
                 answers = $4 WHERE id = $1 AND completed_checkin_id IS NULL",
            )
            .bind(session_id)
            .bind(&new.id)
            .bind(now)
            .bind(&new.answers);
            if self.execute(complete).await? == 0 {
                return Err(
                    missing_or_conflict(self, "checkin_sessions", session_id, COMPLETED).await,
                );
            }
        }
        for entry in new.audit {
            insert_audit(self, entry).await?;
        }
        let escalation = match new.escalation {
            Some(e) => insert_escalation(self, e, now).await?,
            None => None,
        };
        Ok(CheckinWrite {
            checkin,
            session_id,
            escalation,
        })
    }
}

#[async_trait]
impl<E: Engine> CheckinRead for E {
    async fn get_checkin_session(&self, id: &str) -> Result<Option<CheckinSession>> {
        let select = Statement::new("SELECT * FROM checkin_sessions WHERE id = $1").bind(id);
        self.reader().await?.fetch_optional(select).await
    }

    async fn get_checkin(&self, id: &str) -> Result<Option<Checkin>> {
        let select = Statement::new("SELECT * FROM checkins WHERE id = $1").bind(id);
        self.reader().await?.fetch_optional(select).await
    }

    async fn list_checkins(&self, patient_id: &PatientId) -> Result<Vec<Checkin>> {
        let select = Statement::new(
            "SELECT * FROM checkins WHERE patient_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(patient_id);
        self.reader().await?.fetch_all(select).await
    }
}
