//! The SQL and the `Store` implementation shared by both databases.
//!
//! The two schemas are one design in two dialects, and the queries use only
//! syntax both accept (`$n` parameters, `RETURNING`, `ON CONFLICT`,
//! `NULLS FIRST`). Writing each operation once, in the `impl_store!` macro
//! instantiated for SQLite and for PostgreSQL, keeps the two backends from
//! drifting apart. The macro writes each operation once: the writes as the [`Tx`](crate::Tx)
//! of the backend's connection, the reads and [`Store::run`](crate::Store::run) on the store.
//! What really differs lives in `sqlite.rs`/`postgres.rs`:
//! - `self.reader()`: a connection for reads;
//! - `self.write(f)`: runs the unit of work `f` in a committed transaction (SQLite: group
//!   commit; PostgreSQL: a pool transaction);
//! - `insert_entry_and_audit(c, entry)`: a diary entry and its audit row
//!   (one round trip on SQLite, two statements on PostgreSQL);
//! - `lock_patient(c, id)`: serialises writes to one patient's rows
//!   (PostgreSQL `FOR UPDATE`; SQLite already has a single writer);
//! - `notify_chat(c, patient, message)`: PostgreSQL `pg_notify`;
//! - `ping_impl`, `migrate_impl`, `backup_impl`, `BACKEND`.

/// A new random id. Public so that a caller can name a record before writing it, and put that
/// name in the audit row and the escalation committed with it.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

// Column lists, as macros so `concat!` can build whole statements at compile
// time (one `&'static str` per statement: prepared once, cached by sqlx).
macro_rules! clinic_cols {
    () => {
        "id, slug, name, opening_hours, created_at, phone, out_of_hours_phone, crisis_line, \
         emergency_number, time_zone, open_from, open_until, open_weekdays, \
         realert_emergency_minutes, realert_urgent_minutes, alert_names"
    };
}
macro_rules! staff_cols {
    () => { "id, clinic_id, email, display_name, role, password_hash, failed_logins, locked_until, created_at, deactivated_at, language" };
}
macro_rules! session_cols {
    () => {
        "token_hash, staff_id, csrf_token, created_at, expires_at"
    };
}
macro_rules! patient_cols {
    () => {
        "id, clinic_id, display_name, enrolment_code, link_token, procedure, procedure_date, \
         delivery_date, language, last_level, last_checkin_at, open_escalations, unread_messages, created_at, \
         board_rank, episode_level, awaiting_reply, phone"
    };
}
macro_rules! csession_cols {
    () => {
        "id, patient_id, answers, created_at, updated_at, completed_checkin_id"
    };
}
macro_rules! checkin_cols {
    () => {
        "id, patient_id, answers, decision, level, status, content_version, created_at"
    };
}
macro_rules! diary_cols {
    () => {
        "patient_id, day, version, pain, facts, note, recorded_at"
    };
}
/// A new version of a diary day; the version is computed in the insert itself, from the
/// primary-key index (patient_id, day, version).
macro_rules! insert_diary_sql {
    () => {
        concat!(
            "INSERT INTO diary_entries (patient_id, day, version, pain, facts, note, recorded_at) ",
            "SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4, $5, $6 ",
            "FROM diary_entries WHERE patient_id = $1 AND day = $2 RETURNING ",
            diary_cols!()
        )
    };
}
/// Binds a `NewDiaryEntry` to the parameters of `insert_diary_sql!` ($1 to $6).
macro_rules! bind_diary {
    ($query:expr, $new:expr, $now:expr) => {
        $query
            .bind(&$new.patient_id)
            .bind($new.day)
            .bind($new.pain)
            .bind(&$new.facts)
            .bind(&$new.note)
            .bind($now)
    };
}
/// Binds a `NewAuditEntry` to the next eight parameters of a statement.
macro_rules! bind_audit {
    ($query:expr, $a:expr) => {
        $query
            .bind($a.at)
            .bind(&$a.actor_kind)
            .bind(&$a.actor_id)
            .bind(&$a.action)
            .bind(&$a.patient_id)
            .bind(&$a.clinic_id)
            .bind(&$a.address)
            .bind(&$a.detail)
    };
}
macro_rules! insert_audit_sql {
    () => {
        concat!(
            "INSERT INTO audit_log (at, actor_kind, actor_id, action, patient_id, clinic_id, ",
            "address, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
            audit_cols!()
        )
    };
}
macro_rules! escalation_cols {
    () => {
        "id, patient_id, level, reason, source, source_ref, raised_at, acknowledged_by, \
         acknowledged_at, ack_note, alert_round, next_alert_at, closed_at, closed_by"
    };
}
macro_rules! message_cols {
    () => {
        "id, patient_id, sender, staff_id, body, created_at, read_at"
    };
}
macro_rules! contact_cols {
    () => {
        "id, clinic_id, name, contact, message, consent, created_at, handled_by, handled_at, reply_note, \
         patient_id"
    };
}
macro_rules! announcement_cols {
    () => {
        "id, clinic_id, text_en, text_es, starts_at, ends_at, created_by, created_at"
    };
}
macro_rules! audit_cols {
    () => {
        "id, at, actor_kind, actor_id, action, patient_id, clinic_id, address, detail"
    };
}
macro_rules! cds_cols {
    () => {
        "id, service_id, card_id, outcome, override_reason, at, outcome_at"
    };
}

/// The board query: `$1` clinic, `$2` level or `'none'` (the level the board shows: the rank
/// within `board_rank`'s tens), `$3` procedure, `$4` limit, `$5` offset, `$6` a name pattern
/// (lower case, for `LIKE`), then `$after`: nothing, or [`board_after!`]. Its ORDER BY matches index
/// `patients_board`. Patients never checked in sort first within their rank: their time is
/// `'-infinity'`, which both databases read the same way here (PostgreSQL as the earliest
/// timestamp, SQLite as text that sorts before any date), so the sort key has no NULL and a
/// page can start after a row by comparing row values, an index seek.
macro_rules! board_sql {
    ($after:expr) => {
        concat!(
            "SELECT ",
            patient_cols!(),
            " FROM patients WHERE clinic_id = $1 ",
            "AND ($2 IS NULL OR board_rank % 10 = CASE $2 WHEN 'emergency' THEN 0 ",
            "WHEN 'urgent' THEN 1 WHEN 'soon' THEN 2 WHEN 'self_care' THEN 3 ",
            "WHEN 'none' THEN 4 END) ",
            "AND ($3 IS NULL OR procedure = $3) ",
            "AND ($6 IS NULL OR LOWER(display_name) LIKE $6 ESCAPE '\\') ",
            $after,
            "ORDER BY board_rank, COALESCE(last_checkin_at, '-infinity'), id LIMIT $4 OFFSET $5"
        )
    };
}

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

/// Keyset paging: only patients after `$7` rank, `$8` last check-in, `$9` id.
macro_rules! board_after {
    () => {
        "AND (board_rank, COALESCE(last_checkin_at, '-infinity'), id) \
         > ($7, COALESCE($8, '-infinity'), $9) "
    };
}

/// Recounts a patient's unacknowledged escalations and the highest level of her unclosed ones
/// (kept on the row for the board).
macro_rules! recount_escalations_sql {
    () => {
        "UPDATE patients SET open_escalations = (SELECT COUNT(*) FROM escalations \
         WHERE patient_id = $1 AND acknowledged_at IS NULL), \
         episode_level = (SELECT level FROM escalations WHERE patient_id = $1 \
         AND closed_at IS NULL ORDER BY CASE level WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 \
         WHEN 'soon' THEN 2 ELSE 3 END LIMIT 1) WHERE id = $1"
    };
}
/// Recounts a patient's messages unread by staff (kept on the row for the board).
macro_rules! recount_unread_sql {
    () => {
        "UPDATE patients SET unread_messages = (SELECT COUNT(*) FROM messages \
         WHERE patient_id = $1 AND sender = 'patient' AND read_at IS NULL) WHERE id = $1"
    };
}

/// Implements `Store` for `$store`, whose connections are `$conn`.
macro_rules! impl_store {
    ($store:ty, $conn:ty) => {
        /// Writes the next version of a diary day, its audit row when given, and its escalation.
        async fn insert_diary_entry(c: &mut $conn, new: NewDiaryEntry, now: Time) -> Result<DiaryWrite> {
            lock_patient(c, &new.patient_id).await?;
            let entry = insert_entry_and_audit(c, &new, now).await?;
            let escalation = match new.escalation {
                Some(e) => insert_escalation(c, e, now).await?,
                None => None,
            };
            Ok(DiaryWrite { entry, escalation })
        }

        /// Raises an escalation on the connection of a write in progress, unless the same reason
        /// is still open for the patient. The caller holds the patient's lock (PostgreSQL) or the
        /// single writer (SQLite), so the check and the insert are one step: two requests cannot
        /// both raise it.
        async fn insert_escalation(
            c: &mut $conn,
            new: NewEscalation,
            now: Time,
        ) -> Result<Option<Escalation>> {
            let sql = concat!(
                "INSERT INTO escalations (id, patient_id, level, reason, source, source_ref, ",
                "raised_at, next_alert_at) SELECT $1, $2, $3, $4, $5, $6, $7, $7 WHERE NOT EXISTS ",
                "(SELECT 1 FROM escalations WHERE patient_id = $2 AND reason = $4 ",
                "AND acknowledged_at IS NULL) RETURNING ", escalation_cols!()
            );
            let escalation: Option<Escalation> = sqlx::query_as(sql)
                .bind(new_id())
                .bind(&new.patient_id)
                .bind(new.level)
                .bind(new.reason)
                .bind(new.source)
                .bind(new.source_ref)
                .bind(now)
                .fetch_optional(&mut *c)
                .await?;
            if escalation.is_some() {
                sqlx::query(recount_escalations_sql!())
                    .bind(&new.patient_id)
                    .execute(&mut *c)
                    .await?;
            }
            Ok(escalation)
        }

        /// After an update of an escalation's state: the escalation it returned, with the
        /// patient's board columns recounted; or why it matched nothing (`NotFound`, or
        /// `Conflict(reason)` when the escalation exists but may not change so).
        async fn escalation_changed(
            c: &mut $conn,
            row: Option<Escalation>,
            id: &str,
            reason: &str,
        ) -> Result<Escalation> {
            let Some(escalation) = row else {
                return Err(missing_or_conflict(c, "SELECT 1 FROM escalations WHERE id = $1", id, reason).await);
            };
            sqlx::query(recount_escalations_sql!())
                .bind(&escalation.patient_id)
                .execute(&mut *c)
                .await?;
            Ok(escalation)
        }

        /// Appends one audit row on the connection of a write in progress.
        async fn insert_audit(c: &mut $conn, e: NewAuditEntry) -> Result<AuditEntry> {
            Ok(bind_audit!(sqlx::query_as(insert_audit_sql!()), e)
                .fetch_one(&mut *c)
                .await?)
        }

        #[async_trait::async_trait]
        impl $crate::Tx for $conn {
            async fn purge_expired(&mut self, now: Time) -> Result<u64> {
                let c = self;
                let a = sqlx::query("DELETE FROM staff_sessions WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&mut *c)
                    .await?;
                let b = sqlx::query("DELETE FROM jwt_replay WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&mut *c)
                    .await?;
                // Feedback on a card comes within minutes; a year is far beyond any EHR's.
                let card_cutoff = now - chrono::Duration::days(crate::CDS_CARD_DAYS);
                let d = sqlx::query("DELETE FROM cds_cards WHERE issued_at < $1")
                    .bind(card_cutoff)
                    .execute(&mut *c)
                    .await?;
                let e = sqlx::query("DELETE FROM patient_sessions WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&mut *c)
                    .await?;
                Ok(a.rows_affected() + b.rows_affected() + d.rows_affected() + e.rows_affected())
            }

            async fn create_clinic(&mut self, new: NewClinic, now: Time) -> Result<Clinic> {
                let c = self;
                let id = new_id();
                let sql = concat!(
                    "INSERT INTO clinics (id, slug, name, opening_hours, created_at) ",
                    "VALUES ($1, $2, $3, $4, $5) RETURNING ", clinic_cols!()
                );
                Ok(sqlx::query_as(sql)
                    .bind(id)
                    .bind(new.slug)
                    .bind(new.name)
                    .bind(new.opening_hours)
                    .bind(now)
                    .fetch_one(&mut *c)
                    .await?)
            }

            async fn update_clinic_settings(&mut self, id: String, settings: ClinicSettings) -> Result<Clinic> {
                let c = self;
                let sql = concat!(
                    "UPDATE clinics SET name = $2, opening_hours = $3, phone = $4, ",
                    "out_of_hours_phone = $5, crisis_line = $6, emergency_number = $7, ",
                    "time_zone = $8, open_from = $9, open_until = $10, open_weekdays = $11, ",
                    "realert_emergency_minutes = $12, realert_urgent_minutes = $13, ",
                    "alert_names = $14 WHERE id = $1 RETURNING ",
                    clinic_cols!()
                );
                Ok(sqlx::query_as(sql)
                    .bind(id)
                    .bind(settings.name)
                    .bind(settings.opening_hours)
                    .bind(settings.phone)
                    .bind(settings.out_of_hours_phone)
                    .bind(settings.crisis_line)
                    .bind(settings.emergency_number)
                    .bind(settings.time_zone)
                    .bind(settings.open_from)
                    .bind(settings.open_until)
                    .bind(settings.open_weekdays)
                    .bind(settings.realert_emergency_minutes)
                    .bind(settings.realert_urgent_minutes)
                    .bind(settings.alert_names)
                    .fetch_one(&mut *c)
                    .await?)
            }

            async fn create_staff(&mut self, new: NewStaff, now: Time) -> Result<Staff> {
                let c = self;
                let id = new_id();
                let sql = concat!(
                    "INSERT INTO staff (id, clinic_id, email, display_name, role, password_hash, ",
                    "failed_logins, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING ",
                    staff_cols!()
                );
                Ok(sqlx::query_as(sql)
                    .bind(id)
                    .bind(new.clinic_id)
                    .bind(new.email.to_lowercase())
                    .bind(new.display_name)
                    .bind(new.role)
                    .bind(new.password_hash)
                    .bind(now)
                    .fetch_one(&mut *c)
                    .await?)
            }

            async fn record_login_failure(&mut self, staff_id: String) -> Result<i32> {
                let c = self;
                let sql = "UPDATE staff SET failed_logins = failed_logins + 1 \
                           WHERE id = $1 RETURNING failed_logins";
                Ok(sqlx::query_scalar(sql).bind(staff_id).fetch_one(&mut *c).await?)
            }

            async fn reset_login_failures(&mut self, staff_id: String) -> Result<()> {
                let sql = "UPDATE staff SET failed_logins = 0, locked_until = $2 WHERE id = $1";
                execute_one(self, sql, staff_id, None::<Time>).await
            }

            async fn set_locked_until(&mut self, staff_id: String, until: Option<Time>) -> Result<()> {
                let sql = "UPDATE staff SET locked_until = $2 WHERE id = $1";
                execute_one(self, sql, staff_id, until).await
            }

            async fn set_password_hash(&mut self, staff_id: String, password_hash: String) -> Result<()> {
                let sql = "UPDATE staff SET password_hash = $2 WHERE id = $1";
                execute_one(self, sql, staff_id, password_hash).await
            }

            async fn create_session(&mut self, new: NewSession, now: Time) -> Result<StaffSession> {
                let c = self;
                let sql = concat!(
                    "INSERT INTO staff_sessions (token_hash, staff_id, csrf_token, created_at, ",
                    "expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING ", session_cols!()
                );
                Ok(sqlx::query_as(sql)
                    .bind(new.token_hash)
                    .bind(new.staff_id)
                    .bind(new.csrf_token)
                    .bind(now)
                    .bind(new.expires_at)
                    .fetch_one(&mut *c)
                    .await?)
            }

            async fn delete_session(&mut self, token_hash: String) -> Result<()> {
                let sql = "DELETE FROM staff_sessions WHERE token_hash = $1";
                execute_many(self, sql, token_hash).await.map(drop)
            }

            async fn delete_sessions_for_staff(&mut self, staff_id: String) -> Result<u64> {
                let sql = "DELETE FROM staff_sessions WHERE staff_id = $1";
                execute_many(self, sql, staff_id).await
            }

            async fn create_patient(&mut self, new: NewPatient, now: Time) -> Result<Patient> {
                let c = self;
                let id = new_id();
                let sql = concat!(
                    "INSERT INTO patients (id, clinic_id, display_name, enrolment_code, link_token, ",
                    "procedure, procedure_date, delivery_date, language, open_escalations, ",
                    "unread_messages, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, $10) ",
                    "RETURNING ", patient_cols!()
                );
                Ok(sqlx::query_as(sql)
                    .bind(id)
                    .bind(new.clinic_id)
                    .bind(new.display_name)
                    .bind(new.enrolment_code)
                    .bind(new.link_token)
                    .bind(new.procedure)
                    .bind(new.procedure_date)
                    .bind(new.delivery_date)
                    .bind(new.language)
                    .bind(now)
                    .fetch_one(&mut *c)
                    .await?)
            }

            async fn create_checkin_session(&mut self, patient_id: Option<String>, answers: serde_json::Value, now: Time) -> Result<CheckinSession> {
                let c = self;
                let id = new_id();

                let sql = concat!(
                    "INSERT INTO checkin_sessions (id, patient_id, answers, created_at, updated_at) ",
                    "VALUES ($1, $2, $3, $4, $4) RETURNING ", csession_cols!()
                );
                let session = sqlx::query_as(sql)
                    .bind(id)
                    .bind(patient_id)
                    .bind(answers)
                    .bind(now)
                    .fetch_one(&mut *c)
                    .await?;
                Ok(session)
            }

            async fn update_checkin_answers(&mut self, id: String, answers: serde_json::Value, now: Time) -> Result<CheckinSession> {
                let c = self;
                let sql = concat!(
                    "UPDATE checkin_sessions SET answers = $2, updated_at = $3 ",
                    "WHERE id = $1 AND completed_checkin_id IS NULL RETURNING ", csession_cols!()
                );
                let row = sqlx::query_as(sql)
                    .bind(&id)
                    .bind(answers)
                    .bind(now)
                    .fetch_optional(&mut *c)
                    .await?;
                match row {
                    Some(row) => Ok(row),
                    None => Err(missing_or_conflict(
                        c,
                        "SELECT 1 FROM checkin_sessions WHERE id = $1",
                        &id,
                        "check-in session already completed",
                    )
                    .await),
                }
            }

            async fn insert_checkin(&mut self, new: NewCheckin, now: Time) -> Result<CheckinWrite> {
                let c = self;
                let id = new.id.clone();
                lock_patient(c, &new.patient_id).await?;
                let session_id = match &new.session {
                    SessionLink::None => None,
                    SessionLink::Complete(s) => Some(s.clone()),
                    SessionLink::Open => {
                        let sid = new_id();
                        sqlx::query(concat!(
                            "INSERT INTO checkin_sessions (id, patient_id, answers, created_at, updated_at) ",
                            "VALUES ($1, $2, $3, $4, $4)"
                        ))
                        .bind(&sid)
                        .bind(&new.patient_id)
                        .bind(&new.answers)
                        .bind(now)
                        .execute(&mut *c)
                        .await?;
                        Some(sid)
                    }
                };
                let sql = concat!(
                    "INSERT INTO checkins (id, patient_id, answers, decision, level, status, ",
                    "content_version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
                    checkin_cols!()
                );
                let checkin: Checkin = sqlx::query_as(sql)
                    .bind(&id)
                    .bind(&new.patient_id)
                    .bind(&new.answers)
                    .bind(&new.decision)
                    .bind(&new.level)
                    .bind(&new.status)
                    .bind(&new.content_version)
                    .bind(now)
                    .fetch_one(&mut *c)
                    .await?;
                sqlx::query("UPDATE patients SET last_level = $2, last_checkin_at = $3 WHERE id = $1")
                    .bind(&new.patient_id)
                    .bind(&new.level)
                    .bind(now)
                    .execute(&mut *c)
                    .await?;
                if let Some(session_id) = &session_id {
                    let done = sqlx::query(
                        "UPDATE checkin_sessions SET completed_checkin_id = $2, updated_at = $3, \
                         answers = $4 WHERE id = $1 AND completed_checkin_id IS NULL",
                    )
                    .bind(session_id)
                    .bind(&id)
                    .bind(now)
                    .bind(&new.answers)
                    .execute(&mut *c)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(missing_or_conflict(
                            c,
                            "SELECT 1 FROM checkin_sessions WHERE id = $1",
                            session_id,
                            "check-in session already completed",
                        )
                        .await);
                    }
                }
                for entry in new.audit {
                    insert_audit(c, entry).await?;
                }
                let escalation = match new.escalation {
                    Some(e) => insert_escalation(c, e, now).await?,
                    None => None,
                };
                Ok(CheckinWrite { checkin, session_id, escalation })
            }

            async fn upsert_diary_entry(&mut self, new: NewDiaryEntry, now: Time) -> Result<DiaryWrite> {
                insert_diary_entry(self, new, now).await
            }

            async fn raise_escalation(&mut self, new: NewEscalation, now: Time) -> Result<Option<Escalation>> {
                let c = self;
                lock_patient(c, &new.patient_id).await?;
                insert_escalation(c, new, now).await
            }

            async fn acknowledge_escalation(&mut self, id: String, staff_id: String, note: Option<String>, now: Time) -> Result<Escalation> {
                let c = self;
                let sql = concat!(
                    "UPDATE escalations SET acknowledged_by = $2, acknowledged_at = $3, ack_note = $4, ",
                    "next_alert_at = NULL ",
                    "WHERE id = $1 AND acknowledged_at IS NULL RETURNING ", escalation_cols!()
                );
                let row: Option<Escalation> = sqlx::query_as(sql)
                    .bind(&id)
                    .bind(staff_id)
                    .bind(now)
                    .bind(note)
                    .fetch_optional(&mut *c)
                    .await?;
                escalation_changed(c, row, &id, "escalation already acknowledged").await
            }

            async fn close_escalation(&mut self, id: String, staff_id: String, now: Time) -> Result<Escalation> {
                let c = self;
                let sql = concat!(
                    "UPDATE escalations SET closed_at = $3, closed_by = $2 ",
                    "WHERE id = $1 AND acknowledged_at IS NOT NULL AND closed_at IS NULL RETURNING ",
                    escalation_cols!()
                );
                let row: Option<Escalation> = sqlx::query_as(sql)
                    .bind(&id)
                    .bind(staff_id)
                    .bind(now)
                    .fetch_optional(&mut *c)
                    .await?;
                escalation_changed(c, row, &id, "escalation not acknowledged yet, or already closed").await
            }

            async fn set_staff_deactivated(&mut self, staff_id: String, at: Option<Time>) -> Result<()> {
                let c = self;
                execute_one(c, "UPDATE staff SET deactivated_at = $2 WHERE id = $1", staff_id.clone(), at).await?;
                if at.is_some() {
                    execute_many(c, "DELETE FROM staff_sessions WHERE staff_id = $1", staff_id).await?;
                }
                Ok(())
            }

            async fn set_patient_phone(&mut self, patient_id: String, phone: Option<String>) -> Result<()> {
                execute_one(self, "UPDATE patients SET phone = $2 WHERE id = $1", patient_id, phone).await
            }

            async fn replace_enrolment_code(&mut self, patient_id: String, code: String, now: Time) -> Result<()> {
                let c = self;
                let done = sqlx::query(
                    "UPDATE patients SET enrolment_code = $2, code_issued_at = $3, code_used_at = NULL WHERE id = $1",
                )
                .bind(patient_id)
                .bind(code)
                .bind(now)
                .execute(&mut *c)
                .await?;
                match done.rows_affected() {
                    0 => Err(StoreError::NotFound),
                    _ => Ok(()),
                }
            }

            async fn redeem_enrolment_code(&mut self, code: String, issued_after: Time, now: Time) -> Result<Option<Patient>> {
                let c = self;
                let sql = concat!(
                    "UPDATE patients SET code_used_at = $3 WHERE enrolment_code = $1 ",
                    "AND code_used_at IS NULL AND COALESCE(code_issued_at, created_at) > $2 ",
                    "RETURNING ", patient_cols!()
                );
                Ok(sqlx::query_as(sql)
                    .bind(code)
                    .bind(issued_after)
                    .bind(now)
                    .fetch_optional(&mut *c)
                    .await?)
            }

            async fn replace_link_token(&mut self, patient_id: String, token: String) -> Result<()> {
                let c = self;
                execute_one(&mut *c, "UPDATE patients SET link_token = $2 WHERE id = $1", patient_id.clone(), token)
                    .await?;
                execute_many(&mut *c, "DELETE FROM patient_sessions WHERE patient_id = $1", patient_id).await?;
                Ok(())
            }

            async fn set_staff_role(&mut self, staff_id: String, role: $crate::Role) -> Result<()> {
                execute_one(self, "UPDATE staff SET role = $2 WHERE id = $1", staff_id, role).await
            }

            async fn set_staff_language(&mut self, staff_id: String, language: Option<String>) -> Result<()> {
                execute_one(self, "UPDATE staff SET language = $2 WHERE id = $1", staff_id, language).await
            }

            async fn create_password_reset(&mut self, token_hash: String, staff_id: String, expires_at: Time, now: Time) -> Result<()> {
                let c = self;
                // A new link replaces any earlier one that was not used.
                sqlx::query("DELETE FROM staff_password_resets WHERE staff_id = $1 AND used_at IS NULL")
                    .bind(&staff_id)
                    .execute(&mut *c)
                    .await?;
                sqlx::query(
                    "INSERT INTO staff_password_resets (token_hash, staff_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(token_hash)
                .bind(staff_id)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *c)
                .await?;
                Ok(())
            }

            async fn use_password_reset(&mut self, token_hash: String, now: Time) -> Result<Option<String>> {
                Ok(sqlx::query_scalar(
                    "UPDATE staff_password_resets SET used_at = $2 WHERE token_hash = $1 \
                     AND used_at IS NULL AND expires_at > $2 RETURNING staff_id",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&mut *self)
                .await?)
            }

            async fn post_message(&mut self, new: NewMessage, now: Time) -> Result<Message> {
                let c = self;
                // The lock keeps ids in commit order within a thread,
                // so polling with `after_id` never skips a message.
                lock_patient(c, &new.patient_id).await?;
                let sql = concat!(
                    "INSERT INTO messages (patient_id, sender, staff_id, body, created_at) ",
                    "VALUES ($1, $2, $3, $4, $5) RETURNING ", message_cols!()
                );
                let message: Message = sqlx::query_as(sql)
                    .bind(&new.patient_id)
                    .bind(new.sender.as_str())
                    .bind(new.staff_id)
                    .bind(new.body)
                    .bind(now)
                    .fetch_one(&mut *c)
                    .await?;
                sqlx::query(recount_unread_sql!())
                    .bind(&new.patient_id)
                    .execute(&mut *c)
                    .await?;
                // She waits for an answer from her message until staff write back.
                sqlx::query("UPDATE patients SET awaiting_reply = $2 WHERE id = $1")
                    .bind(&new.patient_id)
                    .bind(new.sender == Side::Patient)
                    .execute(&mut *c)
                    .await?;
                notify_chat(c, &message.patient_id, message.id).await?;
                Ok(message)
            }

            async fn mark_read(&mut self, patient_id: String, reader: Side, up_to_id: i64, now: Time) -> Result<u64> {
                let c = self;
                let done = sqlx::query(
                    "UPDATE messages SET read_at = $4 WHERE patient_id = $1 AND sender = $2 \
                     AND id <= $3 AND read_at IS NULL",
                )
                .bind(&patient_id)
                .bind(reader.other().as_str())
                .bind(up_to_id)
                .bind(now)
                .execute(&mut *c)
                .await?;
                sqlx::query(recount_unread_sql!())
                    .bind(&patient_id)
                    .execute(&mut *c)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn create_contact_request(&mut self, new: NewContactRequest, now: Time) -> Result<ContactRequest> {
                let c = self;
                let id = new_id();
                let sql = concat!(
                    "INSERT INTO contact_requests (id, clinic_id, name, contact, message, consent, ",
                    "created_at, patient_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
                    contact_cols!()
                );
                Ok(sqlx::query_as(sql)
                    .bind(id)
                    .bind(new.clinic_id)
                    .bind(new.name)
                    .bind(new.contact)
                    .bind(new.message)
                    .bind(new.consent)
                    .bind(now)
                    .bind(new.patient_id)
                    .fetch_one(&mut *c)
                    .await?)
            }

            async fn mark_contact_handled(&mut self, id: String, staff_id: String, note: Option<String>, now: Time) -> Result<ContactRequest> {
                let c = self;
                let sql = concat!(
                    "UPDATE contact_requests SET handled_by = $2, handled_at = $3, reply_note = $4 ",
                    "WHERE id = $1 AND handled_at IS NULL RETURNING ", contact_cols!()
                );
                let row = sqlx::query_as(sql)
                    .bind(&id)
                    .bind(staff_id)
                    .bind(now)
                    .bind(note)
                    .fetch_optional(&mut *c)
                    .await?;
                match row {
                    Some(row) => Ok(row),
                    None => Err(missing_or_conflict(
                        c,
                        "SELECT 1 FROM contact_requests WHERE id = $1",
                        &id,
                        "contact request already handled",
                    )
                    .await),
                }
            }

            async fn create_announcement(&mut self, new: NewAnnouncement, now: Time) -> Result<Announcement> {
                let c = self;
                let id = new_id();
                let sql = concat!(
                    "INSERT INTO announcements (id, clinic_id, text_en, text_es, starts_at, ends_at, ",
                    "created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
                    announcement_cols!()
                );
                Ok(sqlx::query_as(sql)
                    .bind(id)
                    .bind(new.clinic_id)
                    .bind(new.text_en)
                    .bind(new.text_es)
                    .bind(new.starts_at)
                    .bind(new.ends_at)
                    .bind(new.created_by)
                    .bind(now)
                    .fetch_one(&mut *c)
                    .await?)
            }

            async fn append_audit(&mut self, e: NewAuditEntry) -> Result<AuditEntry> {
                insert_audit(self, e).await
            }

            async fn record_cds_feedback(&mut self, new: NewCdsFeedback, now: Time) -> Result<CdsFeedback> {
                let c = self;
                let id = new_id();
                let sql = concat!(
                    "INSERT INTO cds_feedback (id, service_id, card_id, outcome, override_reason, at, outcome_at) ",
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ", cds_cols!()
                );
                Ok(sqlx::query_as(sql)
                    .bind(id)
                    .bind(new.service_id)
                    .bind(new.card_id)
                    .bind(new.outcome)
                    .bind(new.override_reason)
                    .bind(now)
                    .bind(new.outcome_at)
                    .fetch_one(&mut *c)
                    .await?)
            }

            async fn record_cds_card(&mut self, uuid: String, service_id: String, now: Time) -> Result<()> {
                let c = self;
                sqlx::query("INSERT INTO cds_cards (uuid, service_id, issued_at) VALUES ($1, $2, $3)")
                    .bind(uuid)
                    .bind(service_id)
                    .bind(now)
                    .execute(&mut *c)
                    .await?;
                Ok(())
            }

            async fn create_patient_session(
                &mut self,
                token_hash: String,
                patient_id: String,
                link_token: Option<String>,
                now: Time,
                expires_at: Time,
            ) -> Result<bool> {
                let c = self;
                let done = sqlx::query(concat!(
                    "INSERT INTO patient_sessions (token_hash, patient_id, created_at, expires_at) ",
                    "SELECT $1, id, $3, $4 FROM patients WHERE id = $2 ",
                    "AND ($5 IS NULL OR link_token = $5)"
                ))
                .bind(token_hash)
                .bind(patient_id)
                .bind(now)
                .bind(expires_at)
                .bind(link_token)
                .execute(&mut *c)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn end_patient_session(&mut self, token_hash: String) -> Result<bool> {
                let c = self;
                let done = sqlx::query("DELETE FROM patient_sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&mut *c)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn cds_card_issued(&mut self, uuid: String, service_id: String) -> Result<bool> {
                let c = self;
                let found: Option<(String,)> =
                    sqlx::query_as("SELECT uuid FROM cds_cards WHERE uuid = $1 AND service_id = $2")
                        .bind(uuid)
                        .bind(service_id)
                        .fetch_optional(&mut *c)
                        .await?;
                Ok(found.is_some())
            }

            async fn remember_jti(&mut self, jti: String, expires_at: Time) -> Result<bool> {
                let c = self;
                let done = sqlx::query(
                    "INSERT INTO jwt_replay (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
                )
                .bind(jti)
                .bind(expires_at)
                .execute(&mut *c)
                .await?;
                Ok(done.rows_affected() == 1)
            }

        }

        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> $crate::Backend {
                Self::BACKEND
            }

            async fn ping(&self) -> Result<()> {
                self.ping_impl().await
            }

            async fn migrate(&self) -> Result<()> {
                self.migrate_impl().await
            }

            async fn backup_to(&self, path: &std::path::Path) -> Result<()> {
                self.backup_impl(path).await
            }

            async fn run(&self, work: $crate::Work) -> Result<Box<dyn std::any::Any + Send>> {
                self.write(move |c: &mut $conn| work(c)).await
            }

            // --- clinics ---------------------------------------------------

            async fn get_clinic(&self, id: &str) -> Result<Option<Clinic>> {
                let sql = concat!("SELECT ", clinic_cols!(), " FROM clinics WHERE id = $1");
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(id).fetch_optional(&mut *c).await?)
            }

            async fn get_clinic_by_slug(&self, slug: &str) -> Result<Option<Clinic>> {
                let sql = concat!("SELECT ", clinic_cols!(), " FROM clinics WHERE slug = $1");
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(slug).fetch_optional(&mut *c).await?)
            }

            async fn list_clinics(&self) -> Result<Vec<Clinic>> {
                let sql = concat!("SELECT ", clinic_cols!(), " FROM clinics ORDER BY name, id");
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).fetch_all(&mut *c).await?)
            }

            // --- staff -------------------------------------------------------

            async fn get_staff(&self, id: &str) -> Result<Option<Staff>> {
                let sql = concat!("SELECT ", staff_cols!(), " FROM staff WHERE id = $1");
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(id).fetch_optional(&mut *c).await?)
            }

            async fn get_staff_by_email(&self, email: &str) -> Result<Option<Staff>> {
                let sql = concat!("SELECT ", staff_cols!(), " FROM staff WHERE email = $1");
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql)
                    .bind(email.to_lowercase())
                    .fetch_optional(&mut *c)
                    .await?)
            }

            async fn list_staff(&self, clinic_id: &str) -> Result<Vec<Staff>> {
                let sql = concat!(
                    "SELECT ", staff_cols!(), " FROM staff WHERE clinic_id = $1 ORDER BY display_name, id"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(clinic_id).fetch_all(&mut *c).await?)
            }

            // --- staff sessions --------------------------------------------------

            async fn get_session(
                &self,
                token_hash: &str,
                now: Time,
            ) -> Result<Option<(StaffSession, Staff)>> {
                let sql = concat!(
                    "SELECT ", session_cols!(), " FROM staff_sessions ",
                    "WHERE token_hash = $1 AND expires_at > $2"
                );
                let mut c = self.reader().await?;
                let session: Option<StaffSession> = sqlx::query_as(sql)
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(&mut *c)
                    .await?;
                let Some(session) = session else { return Ok(None) };
                let sql = concat!("SELECT ", staff_cols!(), " FROM staff WHERE id = $1");
                let staff: Option<Staff> = sqlx::query_as(sql)
                    .bind(&session.staff_id)
                    .fetch_optional(&mut *c)
                    .await?;
                Ok(staff.map(|staff| (session, staff)))
            }

            // --- patients ------------------------------------------------------

            async fn get_patient(&self, id: &str) -> Result<Option<Patient>> {
                let sql = concat!("SELECT ", patient_cols!(), " FROM patients WHERE id = $1");
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(id).fetch_optional(&mut *c).await?)
            }

            async fn get_patient_by_code(&self, enrolment_code: &str) -> Result<Option<Patient>> {
                let sql =
                    concat!("SELECT ", patient_cols!(), " FROM patients WHERE enrolment_code = $1");
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(enrolment_code).fetch_optional(&mut *c).await?)
            }

            async fn get_patient_by_link_token(&self, link_token: &str) -> Result<Option<Patient>> {
                let sql = concat!("SELECT ", patient_cols!(), " FROM patients WHERE link_token = $1");
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(link_token).fetch_optional(&mut *c).await?)
            }

            async fn get_patient_by_session(&self, token_hash: &str, now: Time) -> Result<Option<Patient>> {
                let sql = concat!(
                    "SELECT ", patient_cols!(), " FROM patients WHERE id = ",
                    "(SELECT patient_id FROM patient_sessions WHERE token_hash = $1 AND expires_at > $2)"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(token_hash).bind(now).fetch_optional(&mut *c).await?)
            }

            async fn list_board(&self, clinic_id: &str, filter: BoardFilter) -> Result<Vec<Patient>> {
                // The ORDER BY matches index patients_board, so a page is an index range scan
                // however many patients the clinic has; after a cursor it starts with a seek.
                let mut c = self.reader().await?;
                let query = match &filter.after {
                    None => sqlx::query_as(board_sql!("")),
                    Some(_) => sqlx::query_as(board_sql!(board_after!())),
                };
                let query = query
                    .bind(clinic_id)
                    .bind(filter.level)
                    .bind(filter.procedure)
                    .bind(filter.limit)
                    .bind(filter.offset)
                    .bind(filter.name.as_deref().map($crate::shared::like_pattern));
                let query = match filter.after {
                    None => query,
                    Some(after) => query.bind(after.rank).bind(after.last_checkin_at).bind(after.id),
                };
                Ok(query.fetch_all(&mut *c).await?)
            }

            async fn workload(&self, clinic_id: &str) -> Result<Workload> {
                let sql = "SELECT COUNT(*) AS patients, \
                    COALESCE(SUM(open_escalations), 0) AS open_escalations, \
                    COALESCE(SUM(CASE WHEN awaiting_reply THEN 1 ELSE 0 END), 0) AS awaiting_reply, \
                    COALESCE(SUM(unread_messages), 0) AS unread_messages, \
                    (SELECT COUNT(*) FROM contact_requests \
                        WHERE clinic_id = $1 AND handled_at IS NULL) AS open_contacts, \
                    (SELECT COUNT(*) FROM appointments \
                        WHERE clinic_id = $1 AND status = 'requested') AS open_appointments, \
                    CAST(MAX(last_checkin_at) AS TEXT) AS latest_checkin \
                    FROM patients WHERE clinic_id = $1";
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(clinic_id).fetch_one(&mut *c).await?)
            }

            // --- check-in sessions ------------------------------------------------

            async fn get_checkin_session(&self, id: &str) -> Result<Option<CheckinSession>> {
                let sql = concat!("SELECT ", csession_cols!(), " FROM checkin_sessions WHERE id = $1");
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(id).fetch_optional(&mut *c).await?)
            }

            // --- check-ins -------------------------------------------------------

            async fn get_checkin(&self, id: &str) -> Result<Option<Checkin>> {
                let sql = concat!("SELECT ", checkin_cols!(), " FROM checkins WHERE id = $1");
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(id).fetch_optional(&mut *c).await?)
            }

            async fn list_checkins(&self, patient_id: &str) -> Result<Vec<Checkin>> {
                let sql = concat!(
                    "SELECT ", checkin_cols!(), " FROM checkins WHERE patient_id = $1 ",
                    "ORDER BY created_at DESC, id DESC"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(patient_id).fetch_all(&mut *c).await?)
            }

            // --- diary -----------------------------------------------------------

            async fn get_diary_entry(
                &self,
                patient_id: &str,
                day: chrono::NaiveDate,
            ) -> Result<Option<DiaryEntry>> {
                let sql = concat!(
                    "SELECT ", diary_cols!(), " FROM diary_entries WHERE patient_id = $1 AND day = $2 ",
                    "ORDER BY version DESC LIMIT 1"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(patient_id).bind(day).fetch_optional(&mut *c).await?)
            }

            async fn diary_history(
                &self,
                patient_id: &str,
                day: chrono::NaiveDate,
            ) -> Result<Vec<DiaryEntry>> {
                let sql = concat!(
                    "SELECT ", diary_cols!(), " FROM diary_entries WHERE patient_id = $1 AND day = $2 ",
                    "ORDER BY version"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(patient_id).bind(day).fetch_all(&mut *c).await?)
            }

            async fn list_diary(
                &self,
                patient_id: &str,
                from: chrono::NaiveDate,
                to: chrono::NaiveDate,
            ) -> Result<Vec<DiaryEntry>> {
                let sql = concat!(
                    "SELECT ", diary_cols!(), " FROM diary_entries d ",
                    "WHERE patient_id = $1 AND day >= $2 AND day <= $3 AND version = ",
                    "(SELECT MAX(version) FROM diary_entries v WHERE v.patient_id = d.patient_id AND v.day = d.day) ",
                    "ORDER BY day"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql)
                    .bind(patient_id)
                    .bind(from)
                    .bind(to)
                    .fetch_all(&mut *c)
                    .await?)
            }

            async fn first_diary_entry(
                &self,
                patient_id: &str,
                from: chrono::NaiveDate,
                to: chrono::NaiveDate,
            ) -> Result<Option<DiaryEntry>> {
                // Two lookups on the primary key (patient_id, day, version), however long the
                // diary and however many versions its days have.
                let sql = concat!(
                    "SELECT ", diary_cols!(), " FROM diary_entries WHERE patient_id = $1 AND day = ",
                    "(SELECT MIN(day) FROM diary_entries WHERE patient_id = $1 AND day >= $2 AND day <= $3) ",
                    "ORDER BY version DESC LIMIT 1"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql)
                    .bind(patient_id)
                    .bind(from)
                    .bind(to)
                    .fetch_optional(&mut *c)
                    .await?)
            }

            // --- escalations -------------------------------------------------------

            async fn get_escalation(&self, id: &str) -> Result<Option<Escalation>> {
                let sql = concat!("SELECT ", escalation_cols!(), " FROM escalations WHERE id = $1");
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(id).fetch_optional(&mut *c).await?)
            }

            async fn list_escalations(
                &self,
                patient_id: &str,
                open_only: bool,
            ) -> Result<Vec<Escalation>> {
                let sql = concat!(
                    "SELECT ", escalation_cols!(), " FROM escalations WHERE patient_id = $1 ",
                    "AND (NOT $2 OR acknowledged_at IS NULL) ORDER BY raised_at DESC, id DESC"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(patient_id).bind(open_only).fetch_all(&mut *c).await?)
            }

            // --- messages ------------------------------------------------------------

            async fn list_messages(
                &self,
                patient_id: &str,
                after_id: i64,
                limit: i64,
            ) -> Result<Vec<Message>> {
                let sql = concat!(
                    "SELECT ", message_cols!(), " FROM messages WHERE patient_id = $1 AND id > $2 ",
                    "ORDER BY id LIMIT $3"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql)
                    .bind(patient_id)
                    .bind(after_id)
                    .bind(limit)
                    .fetch_all(&mut *c)
                    .await?)
            }

            async fn unread_counts(&self, patient_id: &str) -> Result<UnreadCounts> {
                let sql = "SELECT \
                    COALESCE(SUM(CASE WHEN sender = 'patient' THEN 1 ELSE 0 END), 0) AS for_staff, \
                    COALESCE(SUM(CASE WHEN sender = 'staff' THEN 1 ELSE 0 END), 0) AS for_patient \
                    FROM messages WHERE patient_id = $1 AND read_at IS NULL";
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(patient_id).fetch_one(&mut *c).await?)
            }

            // --- contact requests ---------------------------------------------------

            async fn list_contact_requests(
                &self,
                clinic_id: &str,
                handled: Option<bool>,
            ) -> Result<Vec<ContactRequest>> {
                let sql = concat!(
                    "SELECT ", contact_cols!(), " FROM contact_requests WHERE clinic_id = $1 ",
                    "AND ($2 IS NULL OR (handled_at IS NOT NULL) = $2) ORDER BY created_at DESC, id DESC"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(clinic_id).bind(handled).fetch_all(&mut *c).await?)
            }

            async fn list_patient_contact_requests(&self, patient_id: &str) -> Result<Vec<ContactRequest>> {
                let sql = concat!(
                    "SELECT ", contact_cols!(), " FROM contact_requests WHERE patient_id = $1 ",
                    "ORDER BY created_at DESC, id DESC"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(patient_id).fetch_all(&mut *c).await?)
            }

            // --- announcements --------------------------------------------------------

            async fn active_announcement(
                &self,
                clinic_id: &str,
                now: Time,
            ) -> Result<Option<Announcement>> {
                let sql = concat!(
                    "SELECT ", announcement_cols!(), " FROM announcements WHERE clinic_id = $1 ",
                    "AND starts_at <= $2 AND (ends_at IS NULL OR ends_at > $2) ",
                    "ORDER BY starts_at DESC, created_at DESC LIMIT 1"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(clinic_id).bind(now).fetch_optional(&mut *c).await?)
            }

            async fn list_announcements(&self, clinic_id: &str) -> Result<Vec<Announcement>> {
                let sql = concat!(
                    "SELECT ", announcement_cols!(), " FROM announcements WHERE clinic_id = $1 ",
                    "ORDER BY starts_at DESC, created_at DESC"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(clinic_id).fetch_all(&mut *c).await?)
            }

            // --- audit ------------------------------------------------------------------

            async fn list_audit(&self, clinic_id: &str, q: AuditQuery) -> Result<Vec<AuditEntry>> {
                let sql = concat!(
                    "SELECT ", audit_cols!(), " FROM audit_log WHERE clinic_id = $1 ",
                    "AND ($2 IS NULL OR patient_id = $2) AND ($3 IS NULL OR at >= $3) ",
                    "AND ($4 IS NULL OR at < $4) ORDER BY at DESC, id DESC LIMIT $5 OFFSET $6"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql)
                    .bind(clinic_id)
                    .bind(q.patient_id)
                    .bind(q.from)
                    .bind(q.to)
                    .bind(q.limit)
                    .bind(q.offset)
                    .fetch_all(&mut *c)
                    .await?)
            }

            // --- CDS Hooks ----------------------------------------------------------------

            async fn list_cds_feedback(&self, service_id: &str, limit: i64) -> Result<Vec<CdsFeedback>> {
                let sql = concat!(
                    "SELECT ", cds_cols!(), " FROM cds_feedback WHERE service_id = $1 ",
                    "ORDER BY at DESC, id DESC LIMIT $2"
                );
                let mut c = self.reader().await?;
                Ok(sqlx::query_as(sql).bind(service_id).bind(limit).fetch_all(&mut *c).await?)
            }
        }

        /// Runs one `UPDATE … WHERE id = $1` with one more bind; `NotFound` when no row matched.
        async fn execute_one<V>(c: &mut $conn, sql: &'static str, id: String, value: V) -> Result<()>
        where
            V: for<'q> sqlx::Encode<'q, <$conn as sqlx::Connection>::Database>
                + sqlx::Type<<$conn as sqlx::Connection>::Database>
                + Send
                + 'static,
        {
            let done = sqlx::query(sql).bind(id).bind(value).execute(&mut *c).await?;
            match done.rows_affected() {
                0 => Err(StoreError::NotFound),
                _ => Ok(()),
            }
        }

        /// Runs one statement with one bind; returns rows affected.
        async fn execute_many(c: &mut $conn, sql: &'static str, key: String) -> Result<u64> {
            let done = sqlx::query(sql).bind(key).execute(&mut *c).await?;
            Ok(done.rows_affected())
        }

        /// After an update matched nothing: `NotFound` if the row is
        /// missing, otherwise `Conflict(reason)` (it exists but may no
        /// longer change).
        async fn missing_or_conflict(
            c: &mut $conn,
            exists_sql: &'static str,
            id: &str,
            reason: &str,
        ) -> StoreError {
            match sqlx::query(exists_sql).bind(id).fetch_optional(&mut *c).await {
                Ok(Some(_)) => StoreError::Conflict(reason.to_string()),
                Ok(None) => StoreError::NotFound,
                Err(e) => e.into(),
            }
        }
    };
}
