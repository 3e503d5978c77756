//! What expires: sessions, the JWT replay cache, and the record of sent CDS cards.

use async_trait::async_trait;

use crate::records::Time;
use crate::sql::{Conn, Statement};
use crate::{Result, CDS_CARD_DAYS};

/// Writes, inside a unit of work.
#[async_trait]
pub trait HousekeepingTx: Send {
    /// Deletes expired staff and patient sessions, replay-cache entries and CDS cards older than
    /// [`CDS_CARD_DAYS`]; returns how many rows went.
    async fn purge_expired(&mut self, now: Time) -> Result<u64>;
}

#[async_trait]
impl<C: Conn> HousekeepingTx for C {
    async fn purge_expired(&mut self, now: Time) -> Result<u64> {
        // Feedback on a card comes within minutes; a year is far beyond any EHR's.
        let card_cutoff = now - chrono::Duration::days(CDS_CARD_DAYS);
        let purges = [
            Statement::new("DELETE FROM staff_sessions WHERE expires_at <= $1").bind(now),
            Statement::new("DELETE FROM patient_sessions WHERE expires_at <= $1").bind(now),
            Statement::new("DELETE FROM jwt_replay WHERE expires_at <= $1").bind(now),
            Statement::new("DELETE FROM cds_cards WHERE issued_at < $1").bind(card_cutoff),
        ];
        let mut gone = 0;
        for purge in purges {
            gone += self.execute(purge).await?;
        }
        Ok(gone)
    }
}
