//! The diary: one entry a day, each edit a new version (earlier versions are kept).

use crate::records::PatientId;
use async_trait::async_trait;
use chrono::NaiveDate;

use super::audit::bind_audit;
use super::escalations::insert_escalation;
use crate::records::{DiaryEntry, DiaryWrite, NewDiaryEntry, Time};
use crate::sql::{Conn, Statement};
use crate::{Engine, Result, StoreError};

/// Writes, inside a unit of work.
#[async_trait]
pub trait DiaryTx: Send {
    /// Writes a new version of the patient's entry for the day (1 when new, previous + 1 on
    /// edit; earlier versions are kept), with its audit row and the escalation it raises.
    async fn upsert_diary_entry(&mut self, new: NewDiaryEntry, now: Time) -> Result<DiaryWrite>;
}

/// Reads.
#[async_trait]
pub trait DiaryRead: Send + Sync {
    /// Current (latest) version.
    async fn get_diary_entry(
        &self,
        patient_id: &PatientId,
        day: NaiveDate,
    ) -> Result<Option<DiaryEntry>>;
    /// All versions, oldest first.
    async fn diary_history(
        &self,
        patient_id: &PatientId,
        day: NaiveDate,
    ) -> Result<Vec<DiaryEntry>>;
    /// Current versions for `from..=to`, by day.
    async fn list_diary(
        &self,
        patient_id: &PatientId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DiaryEntry>>;
    /// Current version of the earliest day in `from..=to` that has an entry: the start of the
    /// series, all the expected course needs besides the day being written.
    async fn first_diary_entry(
        &self,
        patient_id: &PatientId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Option<DiaryEntry>>;
}

/// A new version of a diary day (`$1` to `$6`); the version is computed in the insert itself,
/// from the primary-key index (patient_id, day, version).
const INSERT: &str = "INSERT INTO diary_entries (patient_id, day, version, pain, facts, note, \
    recorded_at) SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4, $5, $6 \
    FROM diary_entries WHERE patient_id = $1 AND day = $2 RETURNING *";

/// [`INSERT`] followed by its audit row (`$7` to `$14`), for a database that takes both in
/// one call.
const INSERT_AND_AUDIT: &str = "INSERT INTO diary_entries (patient_id, day, version, pain, \
    facts, note, recorded_at) SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4, $5, $6 \
    FROM diary_entries WHERE patient_id = $1 AND day = $2 RETURNING *; \
    INSERT INTO audit_log (at, actor_kind, actor_id, action, patient_id, clinic_id, address, \
    detail) VALUES ($7, $8, $9, $10, $11, $12, $13, $14)";

fn bind_entry(statement: Statement, new: &NewDiaryEntry, now: Time) -> Statement {
    statement
        .bind(&new.patient_id)
        .bind(new.day)
        .bind(new.pain)
        .bind(&new.facts)
        .bind(&new.note)
        .bind(now)
}

/// The entry and its audit row: one call where the database allows it (on SQLite that is one
/// trip to its worker thread instead of two, a sixth of diary throughput), two statements
/// otherwise.
async fn insert_with_audit<C: Conn>(
    c: &mut C,
    new: &NewDiaryEntry,
    now: Time,
) -> Result<DiaryEntry> {
    match &new.audit {
        Some(audit) if c.runs_scripts() => {
            let both = bind_audit(
                bind_entry(Statement::new(INSERT_AND_AUDIT), new, now),
                audit,
            );
            let rows: Vec<DiaryEntry> = c.fetch_all(both).await?;
            rows.into_iter()
                .next()
                .ok_or_else(|| StoreError::Other("diary insert returned no row".into()))
        }
        audit => {
            let entry = c
                .fetch_one(bind_entry(Statement::new(INSERT), new, now))
                .await?;
            if let Some(audit) = audit {
                super::audit::insert_audit(c, audit.clone()).await?;
            }
            Ok(entry)
        }
    }
}

#[async_trait]
impl<C: Conn> DiaryTx for C {
    async fn upsert_diary_entry(&mut self, new: NewDiaryEntry, now: Time) -> Result<DiaryWrite> {
        self.lock_patient(&new.patient_id).await?;
        let entry = insert_with_audit(self, &new, now).await?;
        let escalation = match new.escalation {
            Some(e) => insert_escalation(self, e, now).await?,
            None => None,
        };
        Ok(DiaryWrite { entry, escalation })
    }
}

#[async_trait]
impl<E: Engine> DiaryRead for E {
    async fn get_diary_entry(
        &self,
        patient_id: &PatientId,
        day: NaiveDate,
    ) -> Result<Option<DiaryEntry>> {
        let select = Statement::new(
            "SELECT * FROM diary_entries WHERE patient_id = $1 AND day = $2 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(patient_id)
        .bind(day);
        self.reader().await?.fetch_optional(select).await
    }

    async fn diary_history(
        &self,
        patient_id: &PatientId,
        day: NaiveDate,
    ) -> Result<Vec<DiaryEntry>> {
        let select = Statement::new(
            "SELECT * FROM diary_entries WHERE patient_id = $1 AND day = $2 ORDER BY version",
        )
        .bind(patient_id)
        .bind(day);
        self.reader().await?.fetch_all(select).await
    }

    async fn list_diary(
        &self,
        patient_id: &PatientId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DiaryEntry>> {
        let select = Statement::new(
            "SELECT * FROM diary_entries d \
             WHERE patient_id = $1 AND day >= $2 AND day <= $3 AND version = \
             (SELECT MAX(version) FROM diary_entries v \
              WHERE v.patient_id = d.patient_id AND v.day = d.day) ORDER BY day",
        )
        .bind(patient_id)
        .bind(from)
        .bind(to);
        self.reader().await?.fetch_all(select).await
    }

    async fn first_diary_entry(
        &self,
        patient_id: &PatientId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Option<DiaryEntry>> {
        // Two lookups on the primary key (patient_id, day, version), however long the diary
        // and however many versions its days have.
        let select = Statement::new(
            "SELECT * FROM diary_entries WHERE patient_id = $1 AND day = \
             (SELECT MIN(day) FROM diary_entries WHERE patient_id = $1 AND day >= $2 AND day <= $3) \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(patient_id)
        .bind(from)
        .bind(to);
        self.reader().await?.fetch_optional(select).await
    }
}
