//! Staff second factors: a TOTP secret per account (pending until its first code confirms
//! it) and one-time recovery codes, kept as digests.

use async_trait::async_trait;

use crate::records::{Time, TotpSecret};
use crate::sql::{one_row, Conn, Statement};
use crate::{Engine, Result};

/// Writes, inside a unit of work.
#[async_trait]
pub trait SecondFactorTx: Send {
    /// Keeps a secret being set up (replacing an earlier one not confirmed).
    async fn set_totp_pending(&mut self, staff_id: String, secret: TotpSecret) -> Result<()>;
    /// Makes the pending secret her second factor, if it is still `secret`, with `step` as the
    /// last code used and these recovery code digests instead of any earlier ones. `false`
    /// when the pending secret has changed since it was read (another setup started).
    async fn confirm_totp(
        &mut self,
        staff_id: String,
        secret: TotpSecret,
        step: i64,
        recovery_hashes: Vec<String>,
        now: Time,
    ) -> Result<bool>;
    /// Uses the code of time step `step`: `false` when that step or a later one was already
    /// used (a code is good once, even on two servers at the same moment).
    async fn use_totp_step(&mut self, staff_id: String, step: i64) -> Result<bool>;
    /// Uses a recovery code by its digest: `false` when unknown or used.
    async fn use_recovery_code(
        &mut self,
        staff_id: String,
        hash: String,
        now: Time,
    ) -> Result<bool>;
    /// Replaces her recovery codes.
    async fn replace_recovery_codes(
        &mut self,
        staff_id: String,
        hashes: Vec<String>,
        now: Time,
    ) -> Result<()>;
    /// Removes her second factor and its recovery codes (a lost phone; an admin's reset).
    async fn clear_second_factor(&mut self, staff_id: String) -> Result<()>;
}

/// Reads.
#[async_trait]
pub trait SecondFactorRead: Send + Sync {
    /// How many of her recovery codes are still unused.
    async fn unused_recovery_codes(&self, staff_id: &str) -> Result<i64>;
}

async fn insert_codes<C: Conn>(
    c: &mut C,
    staff_id: &str,
    hashes: Vec<String>,
    now: Time,
) -> Result<()> {
    let delete =
        Statement::new("DELETE FROM staff_recovery_codes WHERE staff_id = $1").bind(staff_id);
    c.execute(delete).await?;
    for hash in hashes {
        let insert = Statement::new(
            "INSERT INTO staff_recovery_codes (staff_id, code_hash, created_at) \
             VALUES ($1, $2, $3)",
        )
        .bind(staff_id)
        .bind(hash)
        .bind(now);
        c.execute(insert).await?;
    }
    Ok(())
}

#[async_trait]
impl<C: Conn> SecondFactorTx for C {
    async fn set_totp_pending(&mut self, staff_id: String, secret: TotpSecret) -> Result<()> {
        let update = Statement::new("UPDATE staff SET totp_pending = $2 WHERE id = $1")
            .bind(staff_id)
            .bind(secret.expose());
        one_row(self.execute(update).await?)
    }

    async fn confirm_totp(
        &mut self,
        staff_id: String,
        secret: TotpSecret,
        step: i64,
        recovery_hashes: Vec<String>,
        now: Time,
    ) -> Result<bool> {
        let update = Statement::new(
            "UPDATE staff SET totp_secret = totp_pending, totp_pending = NULL, \
             totp_last_step = $3 WHERE id = $1 AND totp_pending = $2",
        )
        .bind(&staff_id)
        .bind(secret.expose())
        .bind(step);
        if self.execute(update).await? != 1 {
            return Ok(false);
        }
        insert_codes(self, &staff_id, recovery_hashes, now).await?;
        Ok(true)
    }

    async fn use_totp_step(&mut self, staff_id: String, step: i64) -> Result<bool> {
        let update = Statement::new(
            "UPDATE staff SET totp_last_step = $2 WHERE id = $1 AND totp_secret IS NOT NULL \
             AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(staff_id)
        .bind(step);
        Ok(self.execute(update).await? == 1)
    }

    async fn use_recovery_code(
        &mut self,
        staff_id: String,
        hash: String,
        now: Time,
    ) -> Result<bool> {
        let update = Statement::new(
            "UPDATE staff_recovery_codes SET used_at = $3 \
             WHERE staff_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(staff_id)
        .bind(hash)
        .bind(now);
        Ok(self.execute(update).await? == 1)
    }

    async fn replace_recovery_codes(
        &mut self,
        staff_id: String,
        hashes: Vec<String>,
        now: Time,
    ) -> Result<()> {
        insert_codes(self, &staff_id, hashes, now).await
    }

    async fn clear_second_factor(&mut self, staff_id: String) -> Result<()> {
        let update = Statement::new(
            "UPDATE staff SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL \
             WHERE id = $1",
        )
        .bind(&staff_id);
        one_row(self.execute(update).await?)?;
        let delete =
            Statement::new("DELETE FROM staff_recovery_codes WHERE staff_id = $1").bind(staff_id);
        self.execute(delete).await.map(drop)
    }
}

#[async_trait]
impl<E: Engine> SecondFactorRead for E {
    async fn unused_recovery_codes(&self, staff_id: &str) -> Result<i64> {
        let select = Statement::new(
            "SELECT COUNT(*) FROM staff_recovery_codes WHERE staff_id = $1 AND used_at IS NULL",
        )
        .bind(staff_id);
        let (n,): (i64,) = self.reader().await?.fetch_one(select).await?;
        Ok(n)
    }
}
