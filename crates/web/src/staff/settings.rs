//! What a clinic's admin runs: the clinic's name and opening hours (shown to patients next to
//! the chat, so they know when an answer can come), and the staff accounts. Creating an
//! account is shared with `aftercare admin create-user`, so the command line and the page make
//! the same checks.

use super::auth::{self, Role, StaffUser};
use crate::audit;
use crate::error::AppError;
use crate::state::AppState;
use aftercare_store::{Clinic, ClinicSettings, NewStaff, Staff, Store};
use chrono::{DateTime, Utc};
use serde_json::json;

/// The longest clinic name and opening-hours text.
pub const TEXT_LIMIT: usize = 300;

/// Checks an email address enough to catch typos (the login is the real test).
pub fn check_email(email: &str) -> Result<String, AppError> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if ok {
        Ok(email)
    } else {
        Err(AppError::bad_field("email", "email: not an email address"))
    }
}

/// Creates a staff account with a hashed password.
pub async fn create_staff(
    store: &dyn Store,
    clinic_id: &str,
    email: &str,
    display_name: &str,
    role: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Staff, AppError> {
    let email = check_email(email)?;
    let name = display_name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad_field(
            "display_name",
            "display_name: 1 to 100 characters",
        ));
    }
    let role =
        Role::parse(role).ok_or_else(|| AppError::bad_field("role", "role: admin or clinician"))?;
    auth::check_new_password("password", password)?;
    let password_hash = auth::hash_password(password.to_string()).await?;
    Ok(store
        .create_staff(
            NewStaff {
                clinic_id: clinic_id.to_string(),
                email,
                display_name: name.to_string(),
                role: role.as_str().to_string(),
                password_hash,
            },
            now,
        )
        .await?)
}

/// Creates an account of the admin's clinic, audited.
pub async fn add_staff(
    state: &AppState,
    admin: &StaffUser,
    email: &str,
    display_name: &str,
    role: &str,
    password: &str,
) -> Result<Staff, AppError> {
    let staff = create_staff(
        state.store.as_ref(),
        admin.clinic_id(),
        email,
        display_name,
        role,
        password,
        state.now(),
    )
    .await?;
    audit::record(
        state,
        &admin.actor,
        "staff.create",
        None,
        Some(admin.clinic_id()),
        Some(format!("{} {}", staff.id, staff.role)),
    )
    .await?;
    Ok(staff)
}

/// Saves the clinic's name and opening hours (one text per language).
pub async fn save(
    state: &AppState,
    admin: &StaffUser,
    name: &str,
    hours: &[(String, String)],
) -> Result<Clinic, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > TEXT_LIMIT {
        return Err(AppError::bad_field(
            "name",
            format!("name: 1 to {TEXT_LIMIT} characters"),
        ));
    }
    let mut opening = serde_json::Map::new();
    for (lang, text) in hours {
        let text = text.trim();
        if text.chars().count() > TEXT_LIMIT {
            return Err(AppError::bad_field(
                format!("hours_{lang}"),
                format!("hours_{lang}: at most {TEXT_LIMIT} characters"),
            ));
        }
        if state.content.lang(lang).is_some() && !text.is_empty() {
            opening.insert(lang.clone(), json!(text));
        }
    }
    let clinic = state
        .store
        .update_clinic_settings(
            admin.clinic_id(),
            ClinicSettings {
                name: name.to_string(),
                opening_hours: serde_json::Value::Object(opening),
            },
        )
        .await?;
    audit::record(
        state,
        &admin.actor,
        "clinic.settings",
        None,
        Some(admin.clinic_id()),
        None,
    )
    .await?;
    Ok(clinic)
}
