//! Announcements: a clinic's notice to its patients (a holiday closure, a new number), shown on
//! the pages while in force. Creating one and its audit row are one commit.

use crate::text::AnnouncementText;
use aftercare_store::{Announcement, NewAnnouncement};
use chrono::{DateTime, Utc};

use crate::audit::{entry, Action, Actor, Subject};
use crate::{App, Error, Result};

/// The longest announcement text per language, in characters.
pub const TEXT_LIMIT: usize = AnnouncementText::MAX;

/// What an admin posts.
pub struct Draft {
    pub text_en: AnnouncementText,
    pub text_es: AnnouncementText,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
}

pub struct Announcements<'a>(pub(crate) &'a App);

impl Announcements<'_> {
    pub async fn create(
        &self,
        actor: &Actor,
        clinic_id: &str,
        staff_id: &str,
        draft: Draft,
    ) -> Result<Announcement> {
        if draft.ends_at.is_some_and(|e| e <= draft.starts_at) {
            return Err(Error::invalid("ends_at", "ends_at: before the start"));
        }
        let now = self.0.now();
        let new = NewAnnouncement {
            clinic_id: clinic_id.to_string(),
            text_en: draft.text_en.into_string(),
            text_es: draft.text_es.into_string(),
            starts_at: draft.starts_at,
            ends_at: draft.ends_at,
            created_by: staff_id.to_string(),
        };
        let actor = actor.clone();
        self.0
            .write_audited(
                move |tx| tx.create_announcement(new.clone(), now),
                move |a: &Announcement| {
                    let subject = Subject::clinic(&a.clinic_id).detail(a.id.clone());
                    entry(&actor, Action::AnnouncementCreate, subject, now)
                },
            )
            .await
    }

    /// The announcement in force now, if any.
    pub async fn active(&self, clinic_id: &str) -> Result<Option<Announcement>> {
        Ok(self
            .0
            .store
            .active_announcement(clinic_id, self.0.now())
            .await?)
    }

    /// Newest start first.
    pub async fn list(&self, clinic_id: &str) -> Result<Vec<Announcement>> {
        Ok(self.0.store.list_announcements(clinic_id).await?)
    }
}
