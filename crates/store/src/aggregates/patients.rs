//! Patients: enrolment, her personal link and code, her signed-in sessions, and the clinic's
//! board (served from denormalised columns the other aggregates keep up to date).

use crate::records::PatientId;
use async_trait::async_trait;

use crate::records::{BoardFilter, LinkToken, NewPatient, Patient, Time, Workload};
use crate::sql::{new_id, one_row, Conn, Statement};
use crate::{Engine, Result};

/// Writes, inside a unit of work.
#[async_trait]
pub trait PatientTx: Send {
    async fn create_patient(&mut self, new: NewPatient, now: Time) -> Result<Patient>;
    /// Sets or clears her telephone number.
    async fn set_patient_phone(
        &mut self,
        patient_id: PatientId,
        phone: Option<String>,
    ) -> Result<()>;
    /// Gives her a new personal link token and ends her signed-in sessions: the old link and
    /// every browser signed in with it open nothing from now on.
    async fn replace_link_token(&mut self, patient_id: PatientId, token: String) -> Result<()>;
    /// Gives her a new enrolment code, issued `now` and not used yet.
    async fn replace_enrolment_code(
        &mut self,
        patient_id: PatientId,
        code: String,
        now: Time,
    ) -> Result<()>;
    /// Uses an enrolment code: the patient whose code it is, if it was issued after
    /// `issued_after` and not used before; it is marked used (`now`), so it works once.
    async fn redeem_enrolment_code(
        &mut self,
        code: String,
        issued_after: Time,
        now: Time,
    ) -> Result<Option<Patient>>;
    /// A signed-in browser of a patient, by the hash of its token. With `link_token`, only if
    /// that is still her link (a link replaced meanwhile signs no one in); `false` when not.
    async fn create_patient_session(
        &mut self,
        token_hash: String,
        patient_id: PatientId,
        link_token: Option<String>,
        now: Time,
        expires_at: Time,
    ) -> Result<bool>;
    /// Ends a session (signing out); `false` when there was none.
    async fn end_patient_session(&mut self, token_hash: String) -> Result<bool>;
}

/// Reads.
#[async_trait]
pub trait PatientRead: Send + Sync {
    async fn get_patient(&self, id: &PatientId) -> Result<Option<Patient>>;
    async fn get_patient_by_code(&self, enrolment_code: &str) -> Result<Option<Patient>>;
    async fn get_patient_by_link_token(&self, link_token: &str) -> Result<Option<Patient>>;
    /// The patient of a session that has not expired at `now`, by its token's hash.
    async fn get_patient_by_session(&self, token_hash: &str, now: Time) -> Result<Option<Patient>>;
    /// The clinic's work list: patients with open escalations first, then by level
    /// (emergency, urgent, soon, self_care, none), then the oldest last check-in first.
    /// Served from an index on denormalised columns.
    async fn list_board(&self, clinic_id: &str, filter: BoardFilter) -> Result<Vec<Patient>>;
    /// What is waiting for the clinic (from the board's denormalised columns, one scan).
    async fn workload(&self, clinic_id: &str) -> Result<Workload>;
}

/// The board: `$1` clinic, `$2` the urgency the board shows (`board_rank` is its tens less
/// that urgency) or `-1` for none, `$3` procedure, `$4` limit, `$5` offset, `$6` a name pattern (lower
/// case, for `LIKE`). Its ORDER BY matches index `patients_board`, so a page is an index range
/// scan however many patients the clinic has. Patients never checked in sort first within
/// their rank: their time is `'-infinity'`, which both databases read the same way here
/// (PostgreSQL as the earliest timestamp, SQLite as text that sorts before any date), so the
/// sort key has no NULL and a page can start after a row by comparing row values.
pub const BOARD_SQL: &str = "SELECT * FROM patients WHERE clinic_id = $1 \
    AND ($2 IS NULL OR board_rank IN (0 - $2, 10 - $2)) \
    AND ($3 IS NULL OR procedure = $3) \
    AND ($6 IS NULL OR LOWER(display_name) LIKE $6 ESCAPE '\\') \
    ORDER BY board_rank, COALESCE(last_checkin_at, '-infinity'), id LIMIT $4 OFFSET $5";

/// [`BOARD_SQL`] after a cursor (keyset paging, an index seek): only patients after `$7`
/// rank, `$8` last check-in, `$9` id.
pub const BOARD_AFTER_SQL: &str = "SELECT * FROM patients WHERE clinic_id = $1 \
    AND ($2 IS NULL OR board_rank IN (0 - $2, 10 - $2)) \
    AND ($3 IS NULL OR procedure = $3) \
    AND ($6 IS NULL OR LOWER(display_name) LIKE $6 ESCAPE '\\') \
    AND (board_rank, COALESCE(last_checkin_at, '-infinity'), id) \
        > ($7, COALESCE($8, '-infinity'), $9) \
    ORDER BY board_rank, COALESCE(last_checkin_at, '-infinity'), id LIMIT $4 OFFSET $5";

/// A `LIKE` pattern (with `\` as its escape) that finds `name` anywhere, case aside.
pub fn like_pattern(name: &str) -> String {
    let mut out = String::from("%");
    for ch in name.trim().to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

impl From<LinkToken> for crate::sql::Arg {
    fn from(token: LinkToken) -> Self {
        token.expose().into()
    }
}

#[async_trait]
impl<C: Conn> PatientTx for C {
    async fn create_patient(&mut self, new: NewPatient, now: Time) -> Result<Patient> {
        let insert = Statement::new(
            "INSERT INTO patients (id, clinic_id, display_name, enrolment_code, link_token, \
             procedure, procedure_date, delivery_date, language, open_escalations, \
             unread_messages, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, $10) \
             RETURNING *",
        )
        .bind(new_id())
        .bind(new.clinic_id)
        .bind(new.display_name)
        .bind(new.enrolment_code)
        .bind(new.link_token)
        .bind(new.procedure)
        .bind(new.procedure_date)
        .bind(new.delivery_date)
        .bind(new.language)
        .bind(now);
        self.fetch_one(insert).await
    }

    async fn set_patient_phone(
        &mut self,
        patient_id: PatientId,
        phone: Option<String>,
    ) -> Result<()> {
        let update = Statement::new("UPDATE patients SET phone = $2 WHERE id = $1")
            .bind(patient_id)
            .bind(phone);
        one_row(self.execute(update).await?)
    }

    async fn replace_link_token(&mut self, patient_id: PatientId, token: String) -> Result<()> {
        let update = Statement::new("UPDATE patients SET link_token = $2 WHERE id = $1")
            .bind(&patient_id)
            .bind(token);
        one_row(self.execute(update).await?)?;
        let sessions =
            Statement::new("DELETE FROM patient_sessions WHERE patient_id = $1").bind(patient_id);
        self.execute(sessions).await.map(drop)
    }

    async fn replace_enrolment_code(
        &mut self,
        patient_id: PatientId,
        code: String,
        now: Time,
    ) -> Result<()> {
        let update = Statement::new(
            "UPDATE patients SET enrolment_code = $2, code_issued_at = $3, code_used_at = NULL \
             WHERE id = $1",
        )
        .bind(patient_id)
        .bind(code)
        .bind(now);
        one_row(self.execute(update).await?)
    }

    async fn redeem_enrolment_code(
        &mut self,
        code: String,
        issued_after: Time,
        now: Time,
    ) -> Result<Option<Patient>> {
        let update = Statement::new(
            "UPDATE patients SET code_used_at = $3 WHERE enrolment_code = $1 \
             AND code_used_at IS NULL AND COALESCE(code_issued_at, created_at) > $2 RETURNING *",
        )
        .bind(code)
        .bind(issued_after)
        .bind(now);
        self.fetch_optional(update).await
    }

    async fn create_patient_session(
        &mut self,
        token_hash: String,
        patient_id: PatientId,
        link_token: Option<String>,
        now: Time,
        expires_at: Time,
    ) -> Result<bool> {
        let insert = Statement::new(
            "INSERT INTO patient_sessions (token_hash, patient_id, created_at, expires_at) \
             SELECT $1, id, $3, $4 FROM patients WHERE id = $2 \
             AND ($5 IS NULL OR link_token = $5)",
        )
        .bind(token_hash)
        .bind(patient_id)
        .bind(now)
        .bind(expires_at)
        .bind(link_token);
        Ok(self.execute(insert).await? > 0)
    }

    async fn end_patient_session(&mut self, token_hash: String) -> Result<bool> {
        let delete =
            Statement::new("DELETE FROM patient_sessions WHERE token_hash = $1").bind(token_hash);
        Ok(self.execute(delete).await? > 0)
    }
}

#[async_trait]
impl<E: Engine> PatientRead for E {
    async fn get_patient(&self, id: &PatientId) -> Result<Option<Patient>> {
        let select = Statement::new("SELECT * FROM patients WHERE id = $1").bind(id);
        self.reader().await?.fetch_optional(select).await
    }

    async fn get_patient_by_code(&self, enrolment_code: &str) -> Result<Option<Patient>> {
        let select =
            Statement::new("SELECT * FROM patients WHERE enrolment_code = $1").bind(enrolment_code);
        self.reader().await?.fetch_optional(select).await
    }

    async fn get_patient_by_link_token(&self, link_token: &str) -> Result<Option<Patient>> {
        let select =
            Statement::new("SELECT * FROM patients WHERE link_token = $1").bind(link_token);
        self.reader().await?.fetch_optional(select).await
    }

    async fn get_patient_by_session(&self, token_hash: &str, now: Time) -> Result<Option<Patient>> {
        let select = Statement::new(
            "SELECT * FROM patients WHERE id = (SELECT patient_id FROM patient_sessions \
             WHERE token_hash = $1 AND expires_at > $2)",
        )
        .bind(token_hash)
        .bind(now);
        self.reader().await?.fetch_optional(select).await
    }

    async fn list_board(&self, clinic_id: &str, filter: BoardFilter) -> Result<Vec<Patient>> {
        let sql = match filter.after {
            None => BOARD_SQL,
            Some(_) => BOARD_AFTER_SQL,
        };
        let mut select = Statement::new(sql)
            .bind(clinic_id)
            .bind(filter.urgency)
            .bind(filter.procedure)
            .bind(filter.limit)
            .bind(filter.offset)
            .bind(filter.name.as_deref().map(like_pattern));
        if let Some(after) = filter.after {
            select = select
                .bind(after.rank)
                .bind(after.last_checkin_at)
                .bind(after.id);
        }
        self.reader().await?.fetch_all(select).await
    }

    async fn workload(&self, clinic_id: &str) -> Result<Workload> {
        let select = Statement::new(
            "SELECT COUNT(*) AS patients, \
             COALESCE(SUM(open_escalations), 0) AS open_escalations, \
             COALESCE(SUM(CASE WHEN awaiting_reply THEN 1 ELSE 0 END), 0) AS awaiting_reply, \
             COALESCE(SUM(unread_messages), 0) AS unread_messages, \
             (SELECT COUNT(*) FROM contact_requests \
                 WHERE clinic_id = $1 AND handled_at IS NULL) AS open_contacts, \
             (SELECT COUNT(*) FROM appointments \
                 WHERE clinic_id = $1 AND status = 'requested') AS open_appointments, \
             CAST(MAX(last_checkin_at) AS TEXT) AS latest_checkin \
             FROM patients WHERE clinic_id = $1",
        )
        .bind(clinic_id);
        self.reader().await?.fetch_one(select).await
    }
}
