//! CDS Hooks: the cards the service sent (so feedback can be told from a made-up card id),
//! the feedback on them, and the JWT ids already seen (replay protection).

use async_trait::async_trait;

use crate::records::{CdsFeedback, NewCdsFeedback, Time};
use crate::sql::{new_id, Conn, Statement};
use crate::{Engine, Result};

/// Writes, inside a unit of work.
#[async_trait]
pub trait CdsTx: Send {
    async fn record_cds_feedback(&mut self, new: NewCdsFeedback, now: Time) -> Result<CdsFeedback>;
    /// Records a JWT id; `false` when it was already seen (a replay).
    async fn remember_jti(&mut self, jti: String, expires_at: Time) -> Result<bool>;
    /// Records a card the service sent, so its feedback can be told from a made-up card id.
    async fn record_cds_card(&mut self, uuid: String, service_id: String, now: Time) -> Result<()>;
    /// Whether `service_id` sent the card `uuid`.
    async fn cds_card_issued(&mut self, uuid: String, service_id: String) -> Result<bool>;
}

/// Reads.
#[async_trait]
pub trait CdsRead: Send + Sync {
    /// Newest first.
    async fn list_cds_feedback(&self, service_id: &str, limit: i64) -> Result<Vec<CdsFeedback>>;
}

#[async_trait]
impl<C: Conn> CdsTx for C {
    async fn record_cds_feedback(&mut self, new: NewCdsFeedback, now: Time) -> Result<CdsFeedback> {
        let insert = Statement::new(
            "INSERT INTO cds_feedback (id, service_id, card_id, outcome, override_reason, at, \
             outcome_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        )
        .bind(new_id())
        .bind(new.service_id)
        .bind(new.card_id)
        .bind(new.outcome)
        .bind(new.override_reason)
        .bind(now)
        .bind(new.outcome_at);
        self.fetch_one(insert).await
    }

    async fn remember_jti(&mut self, jti: String, expires_at: Time) -> Result<bool> {
        let insert = Statement::new(
            "INSERT INTO jwt_replay (jti, expires_at) VALUES ($1, $2) \
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(expires_at);
        Ok(self.execute(insert).await? == 1)
    }

    async fn record_cds_card(&mut self, uuid: String, service_id: String, now: Time) -> Result<()> {
        let insert = Statement::new(
            "INSERT INTO cds_cards (uuid, service_id, issued_at) VALUES ($1, $2, $3)",
        )
        .bind(uuid)
        .bind(service_id)
        .bind(now);
        self.execute(insert).await.map(drop)
    }

    async fn cds_card_issued(&mut self, uuid: String, service_id: String) -> Result<bool> {
        let select =
            Statement::new("SELECT uuid FROM cds_cards WHERE uuid = $1 AND service_id = $2")
                .bind(uuid)
                .bind(service_id);
        let found: Option<(String,)> = self.fetch_optional(select).await?;
        Ok(found.is_some())
    }
}

#[async_trait]
impl<E: Engine> CdsRead for E {
    async fn list_cds_feedback(&self, service_id: &str, limit: i64) -> Result<Vec<CdsFeedback>> {
        let select = Statement::new(
            "SELECT * FROM cds_feedback WHERE service_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(service_id)
        .bind(limit);
        self.reader().await?.fetch_all(select).await
    }
}
