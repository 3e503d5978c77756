//! The site-wide banner: an admin writes it in English and Spanish with a start and an optional
//! end; the pages show the one in force (the store's `active_announcement`) in the visitor's
//! language. Announcements are never edited: a new one replaces the old from its start.

use super::auth::StaffUser;
use crate::audit;
use crate::error::AppError;
use crate::state::AppState;
use aftercare_store::{Announcement, NewAnnouncement};
use chrono::{DateTime, Utc};

/// The longest banner text, per language.
pub const TEXT_LIMIT: usize = 500;

/// A new announcement, checked.
pub async fn create(
    state: &AppState,
    user: &StaffUser,
    text_en: &str,
    text_es: &str,
    starts_at: DateTime<Utc>,
    ends_at: Option<DateTime<Utc>>,
) -> Result<Announcement, AppError> {
    let text_en = text_en.trim();
    let text_es = text_es.trim();
    for (field, text) in [("text_en", text_en), ("text_es", text_es)] {
        if text.is_empty() || text.chars().count() > TEXT_LIMIT {
            return Err(AppError::bad_field(
                field,
                format!("{field}: 1 to {TEXT_LIMIT} characters"),
            ));
        }
    }
    if ends_at.is_some_and(|e| e <= starts_at) {
        return Err(AppError::bad_field("ends_at", "ends_at: before the start"));
    }
    let a = state
        .store
        .create_announcement(
            NewAnnouncement {
                clinic_id: user.clinic_id().to_string(),
                text_en: text_en.to_string(),
                text_es: text_es.to_string(),
                starts_at,
                ends_at,
                created_by: user.staff.id.clone(),
            },
            state.now(),
        )
        .await?;
    audit::record(
        state,
        &user.actor,
        "announcement.create",
        None,
        Some(user.clinic_id()),
        Some(a.id.clone()),
    )
    .await?;
    Ok(a)
}

/// Parses a `datetime-local` form value (`YYYY-MM-DDTHH:MM`, taken as UTC) or RFC 3339.
pub fn parse_time(field: &str, s: &str) -> Result<Option<DateTime<Utc>>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, format) {
            return Ok(Some(t.and_utc()));
        }
    }
    Err(AppError::bad_field(
        field,
        format!("{field}: not a date and time (YYYY-MM-DDTHH:MM, UTC)"),
    ))
}
