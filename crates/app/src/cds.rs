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
