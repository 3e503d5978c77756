//! Staff accounts, their sessions and their one-time password links.

use async_trait::async_trait;

use crate::records::{NewSession, NewStaff, Staff, StaffSession, Time};
use crate::sql::{new_id, one_row, Conn, Statement};
use crate::{Engine, Result, Role};

/// Writes, inside a unit of work.
#[async_trait]
pub trait StaffTx: Send {
    /// The email is stored lowercased.
    async fn create_staff(&mut self, new: NewStaff, now: Time) -> Result<Staff>;
    /// Adds one failed login; returns the new count.
    async fn record_login_failure(&mut self, staff_id: String) -> Result<i32>;
    /// Clears failed logins and any lock.
    async fn reset_login_failures(&mut self, staff_id: String) -> Result<()>;
    async fn set_locked_until(&mut self, staff_id: String, until: Option<Time>) -> Result<()>;
    /// Deactivates (`Some(now)`) or reactivates (`None`) an account; deactivating ends every
    /// session of it in the same commit.
    async fn set_staff_deactivated(&mut self, staff_id: String, at: Option<Time>) -> Result<()>;
    async fn set_staff_role(&mut self, staff_id: String, role: Role) -> Result<()>;
    /// Sets the workspace language a member of staff prefers (`None`: her browser's).
    async fn set_staff_language(
        &mut self,
        staff_id: String,
        language: Option<String>,
    ) -> Result<()>;
    async fn set_password_hash(&mut self, staff_id: String, password_hash: String) -> Result<()>;
    /// Stores the digest of a one-time password link (replacing an unused earlier one).
    async fn create_password_reset(
        &mut self,
        token_hash: String,
        staff_id: String,
        expires_at: Time,
        now: Time,
    ) -> Result<()>;
    /// Uses a one-time password link: its account, or `None` when unknown, used or expired.
    async fn use_password_reset(&mut self, token_hash: String, now: Time)
        -> Result<Option<String>>;
    async fn create_session(&mut self, new: NewSession, now: Time) -> Result<StaffSession>;
    async fn delete_session(&mut self, token_hash: String) -> Result<()>;
    /// Logs a staff member out everywhere; returns how many sessions went.
    async fn delete_sessions_for_staff(&mut self, staff_id: String) -> Result<u64>;
}

/// Reads.
#[async_trait]
pub trait StaffRead: Send + Sync {
    async fn get_staff(&self, id: &str) -> Result<Option<Staff>>;
    /// Case-insensitive (the email is lowercased before lookup).
    async fn get_staff_by_email(&self, email: &str) -> Result<Option<Staff>>;
    /// By name.
    async fn list_staff(&self, clinic_id: &str) -> Result<Vec<Staff>>;
    /// The session and its staff member, or `None` when unknown or expired.
    async fn get_session(
        &self,
        token_hash: &str,
        now: Time,
    ) -> Result<Option<(StaffSession, Staff)>>;
}

/// Sets one column of a staff row.
fn set_column(sql: &'static str, staff_id: String, value: impl Into<crate::sql::Arg>) -> Statement {
    Statement::new(sql).bind(staff_id).bind(value)
}

#[async_trait]
impl<C: Conn> StaffTx for C {
    async fn create_staff(&mut self, new: NewStaff, now: Time) -> Result<Staff> {
        let insert = Statement::new(
            "INSERT INTO staff (id, clinic_id, email, display_name, role, password_hash, \
             failed_logins, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING *",
        )
        .bind(new_id())
        .bind(new.clinic_id)
        .bind(new.email.to_lowercase())
        .bind(new.display_name)
        .bind(new.role)
        .bind(new.password_hash)
        .bind(now);
        self.fetch_one(insert).await
    }

    async fn record_login_failure(&mut self, staff_id: String) -> Result<i32> {
        let update = Statement::new(
            "UPDATE staff SET failed_logins = failed_logins + 1 \
             WHERE id = $1 RETURNING failed_logins",
        )
        .bind(staff_id);
        let (count,): (i32,) = self.fetch_one(update).await?;
        Ok(count)
    }

    async fn reset_login_failures(&mut self, staff_id: String) -> Result<()> {
        let sql = "UPDATE staff SET failed_logins = 0, locked_until = $2 WHERE id = $1";
        one_row(
            self.execute(set_column(sql, staff_id, None::<Time>))
                .await?,
        )
    }

    async fn set_locked_until(&mut self, staff_id: String, until: Option<Time>) -> Result<()> {
        let sql = "UPDATE staff SET locked_until = $2 WHERE id = $1";
        one_row(self.execute(set_column(sql, staff_id, until)).await?)
    }

    async fn set_staff_deactivated(&mut self, staff_id: String, at: Option<Time>) -> Result<()> {
        let sql = "UPDATE staff SET deactivated_at = $2 WHERE id = $1";
        one_row(self.execute(set_column(sql, staff_id.clone(), at)).await?)?;
        if at.is_some() {
            self.delete_sessions_for_staff(staff_id).await?;
        }
        Ok(())
    }

    async fn set_staff_role(&mut self, staff_id: String, role: Role) -> Result<()> {
        let sql = "UPDATE staff SET role = $2 WHERE id = $1";
        one_row(self.execute(set_column(sql, staff_id, role)).await?)
    }

    async fn set_staff_language(
        &mut self,
        staff_id: String,
        language: Option<String>,
    ) -> Result<()> {
        let sql = "UPDATE staff SET language = $2 WHERE id = $1";
        one_row(self.execute(set_column(sql, staff_id, language)).await?)
    }

    async fn set_password_hash(&mut self, staff_id: String, password_hash: String) -> Result<()> {
        let sql = "UPDATE staff SET password_hash = $2 WHERE id = $1";
        one_row(
            self.execute(set_column(sql, staff_id, password_hash))
                .await?,
        )
    }

    async fn create_password_reset(
        &mut self,
        token_hash: String,
        staff_id: String,
        expires_at: Time,
        now: Time,
    ) -> Result<()> {
        // A new link replaces any earlier one that was not used.
        let earlier = Statement::new(
            "DELETE FROM staff_password_resets WHERE staff_id = $1 AND used_at IS NULL",
        )
        .bind(&staff_id);
        self.execute(earlier).await?;
        let insert = Statement::new(
            "INSERT INTO staff_password_resets (token_hash, staff_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(staff_id)
        .bind(now)
        .bind(expires_at);
        self.execute(insert).await.map(drop)
    }

    async fn use_password_reset(
        &mut self,
        token_hash: String,
        now: Time,
    ) -> Result<Option<String>> {
        let update = Statement::new(
            "UPDATE staff_password_resets SET used_at = $2 WHERE token_hash = $1 \
             AND used_at IS NULL AND expires_at > $2 RETURNING staff_id",
        )
        .bind(token_hash)
        .bind(now);
        let used: Option<(String,)> = self.fetch_optional(update).await?;
        Ok(used.map(|(staff_id,)| staff_id))
    }

    async fn create_session(&mut self, new: NewSession, now: Time) -> Result<StaffSession> {
        let insert = Statement::new(
            "INSERT INTO staff_sessions (token_hash, staff_id, csrf_token, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING *",
        )
        .bind(new.token_hash)
        .bind(new.staff_id)
        .bind(new.csrf_token)
        .bind(now)
        .bind(new.expires_at);
        self.fetch_one(insert).await
    }

    async fn delete_session(&mut self, token_hash: String) -> Result<()> {
        let delete =
            Statement::new("DELETE FROM staff_sessions WHERE token_hash = $1").bind(token_hash);
        self.execute(delete).await.map(drop)
    }

    async fn delete_sessions_for_staff(&mut self, staff_id: String) -> Result<u64> {
        let delete =
            Statement::new("DELETE FROM staff_sessions WHERE staff_id = $1").bind(staff_id);
        self.execute(delete).await
    }
}

#[async_trait]
impl<E: Engine> StaffRead for E {
    async fn get_staff(&self, id: &str) -> Result<Option<Staff>> {
        let select = Statement::new("SELECT * FROM staff WHERE id = $1").bind(id);
        self.reader().await?.fetch_optional(select).await
    }

    async fn get_staff_by_email(&self, email: &str) -> Result<Option<Staff>> {
        let select =
            Statement::new("SELECT * FROM staff WHERE email = $1").bind(email.to_lowercase());
        self.reader().await?.fetch_optional(select).await
    }

    async fn list_staff(&self, clinic_id: &str) -> Result<Vec<Staff>> {
        let select =
            Statement::new("SELECT * FROM staff WHERE clinic_id = $1 ORDER BY display_name, id")
                .bind(clinic_id);
        self.reader().await?.fetch_all(select).await
    }

    async fn get_session(
        &self,
        token_hash: &str,
        now: Time,
    ) -> Result<Option<(StaffSession, Staff)>> {
        let mut c = self.reader().await?;
        let select = Statement::new(
            "SELECT * FROM staff_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now);
        let Some(session) = c.fetch_optional::<StaffSession>(select).await? else {
            return Ok(None);
        };
        let select = Statement::new("SELECT * FROM staff WHERE id = $1").bind(&session.staff_id);
        let staff: Option<Staff> = c.fetch_optional(select).await?;
        Ok(staff.map(|staff| (session, staff)))
    }
}
