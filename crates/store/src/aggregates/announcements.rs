//! Announcements: a notice the clinic shows its patients for a while, in both languages.

use async_trait::async_trait;

use crate::records::{Announcement, NewAnnouncement, Time};
use crate::sql::{new_id, Conn, Statement};
use crate::{Engine, Result};

/// Writes, inside a unit of work.
#[async_trait]
pub trait AnnouncementTx: Send {
    async fn create_announcement(
        &mut self,
        new: NewAnnouncement,
        now: Time,
    ) -> Result<Announcement>;
}

/// Reads.
#[async_trait]
pub trait AnnouncementRead: Send + Sync {
    /// The most recently started announcement in force at `now`.
    async fn active_announcement(&self, clinic_id: &str, now: Time)
        -> Result<Option<Announcement>>;
    /// Newest start first.
    async fn list_announcements(&self, clinic_id: &str) -> Result<Vec<Announcement>>;
}

#[async_trait]
impl<C: Conn> AnnouncementTx for C {
    async fn create_announcement(
        &mut self,
        new: NewAnnouncement,
        now: Time,
    ) -> Result<Announcement> {
        let insert = Statement::new(
            "INSERT INTO announcements (id, clinic_id, text_en, text_es, starts_at, ends_at, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(new_id())
        .bind(new.clinic_id)
        .bind(new.text_en)
        .bind(new.text_es)
        .bind(new.starts_at)
        .bind(new.ends_at)
        .bind(new.created_by)
        .bind(now);
        self.fetch_one(insert).await
    }
}

#[async_trait]
impl<E: Engine> AnnouncementRead for E {
    async fn active_announcement(
        &self,
        clinic_id: &str,
        now: Time,
    ) -> Result<Option<Announcement>> {
        let select = Statement::new(
            "SELECT * FROM announcements WHERE clinic_id = $1 \
             AND starts_at <= $2 AND (ends_at IS NULL OR ends_at > $2) \
             ORDER BY starts_at DESC, created_at DESC LIMIT 1",
        )
        .bind(clinic_id)
        .bind(now);
        self.reader().await?.fetch_optional(select).await
    }

    async fn list_announcements(&self, clinic_id: &str) -> Result<Vec<Announcement>> {
        let select = Statement::new(
            "SELECT * FROM announcements WHERE clinic_id = $1 \
             ORDER BY starts_at DESC, created_at DESC",
        )
        .bind(clinic_id);
        self.reader().await?.fetch_all(select).await
    }
}
