//! What CDS Hooks calls store: the ids of tokens already seen (a replayed token is refused) and
//! the EHR's feedback on cards, each with its audit row.

use aftercare_store::{CdsFeedback, NewCdsFeedback};
use chrono::{DateTime, Utc};

use crate::audit::{entry, Action, Actor, Subject};
use crate::{App, Result};

pub struct Cds<'a>(pub(crate) &'a App);

impl Cds<'_> {
    /// Remembers a token id until `expires_at`; `false` when it was already seen (a replay).
    pub async fn first_use(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<bool> {
        let jti = jti.to_string();
        Ok(self
            .0
            .store
            .transaction(move |tx| tx.remember_jti(jti.clone(), expires_at))
            .await?)
    }

    /// Records a card sent by `service_id` and the audit row of the call that made it, in one
    /// commit: the card's feedback can then be told from a made-up card id.
    pub async fn issued(
        &self,
        actor: &Actor,
        uuid: &str,
        service_id: &str,
        action: Action,
        subject: Subject<'_>,
    ) -> Result<()> {
        let now = self.0.now();
        let (uuid, service_id) = (uuid.to_string(), service_id.to_string());
        let entry = entry(actor, action, subject, now);
        Ok(self
            .0
            .store
            .transaction(move |tx| {
                let (uuid, service_id, entry) = (uuid.clone(), service_id.clone(), entry.clone());
                Box::pin(async move {
                    tx.record_cds_card(uuid, service_id, now).await?;
                    tx.append_audit(entry).await?;
                    Ok(())
                })
            })
            .await?)
    }

    /// Whether `service_id` sent the card `uuid`.
    pub async fn card_issued(&self, uuid: &str, service_id: &str) -> Result<bool> {
        let (uuid, service_id) = (uuid.to_string(), service_id.to_string());
        Ok(self
            .0
            .store
            .transaction(move |tx| tx.cds_card_issued(uuid.clone(), service_id.clone()))
            .await?)
    }

    /// Stores the feedback items of one call, each with its audit row, in one commit.
    pub async fn feedback(
        &self,
        actor: &Actor,
        items: Vec<NewCdsFeedback>,
    ) -> Result<Vec<CdsFeedback>> {
        let now = self.0.now();
        let actor = actor.clone();
        Ok(self
            .0
            .store
            .transaction(move |tx| {
                let (items, actor) = (items.clone(), actor.clone());
                Box::pin(async move {
                    let mut stored = Vec::with_capacity(items.len());
                    for item in items {
                        let row = tx.record_cds_feedback(item, now).await?;
                        let subject = Subject {
                            detail: Some(format!("card {}: {}", row.card_id, row.outcome)),
                            ..Subject::default()
                        };
                        tx.append_audit(entry(&actor, Action::CdsFeedback, subject, now))
                            .await?;
                        stored.push(row);
                    }
                    Ok(stored)
                })
            })
            .await?)
    }
}
