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
/// The clinic's telephone numbers, as an admin types them.
#[derive(Debug, Clone, Default)]
pub struct Numbers {
    pub phone: String,
    pub out_of_hours_phone: String,
    pub crisis_line: String,
}

/// A telephone number as a patient's phone dials it: digits, spaces, `+`, `-`, `.`, `(`, `)`,
/// at least three digits and at most 32 characters. Empty: not given.
pub fn phone_number(field: &str, raw: &str) -> Result<Option<String>, AppError> {
    let n = raw.trim();
    if n.is_empty() {
        return Ok(None);
    }
    let allowed = n
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')'));
    let digits = n.chars().filter(char::is_ascii_digit).count();
    if !allowed || digits < 3 || n.chars().count() > 32 {
        return Err(AppError::bad_field(
            field,
            format!("{field}: a telephone number, such as +34 912 345 678"),
        ));
    }
    Ok(Some(n.to_string()))
}

/// The number for a `tel:` link: `+` and digits only.
pub fn dial(number: &str) -> String {
    number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

pub async fn save(
    state: &AppState,
    admin: &StaffUser,
    name: &str,
    hours: &[(String, String)],
    numbers: &Numbers,
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
                phone: phone_number("phone", &numbers.phone)?,
                out_of_hours_phone: phone_number(
                    "out_of_hours_phone",
                    &numbers.out_of_hours_phone,
                )?,
                crisis_line: phone_number("crisis_line", &numbers.crisis_line)?,
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

// --- pages -------------------------------------------------------------------------------------

use super::auth::Admin;
use super::view::StaffPage;
use crate::pages::form::Form;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

fn settings_form(state: &AppState, clinic: &Clinic) -> Value {
    let hours: Vec<Value> = state
        .content
        .languages()
        .map(|(code, name)| {
            json!({
                "code": code,
                "name": name,
                "text": clinic.opening_hours.get(code).and_then(|v| v.as_str()).unwrap_or_default(),
            })
        })
        .collect();
    json!({
        "name": clinic.name,
        "hours": hours,
        "phone": clinic.phone,
        "out_of_hours_phone": clinic.out_of_hours_phone,
        "crisis_line": clinic.crisis_line,
    })
}

/// `GET /clinic/settings`.
pub async fn page(page: StaffPage, Admin(user): Admin) -> Result<Response, AppError> {
    let clinic = page
        .state
        .store
        .get_clinic(user.clinic_id())
        .await?
        .ok_or(AppError::NotFound)?;
    let form = settings_form(&page.state, &clinic);
    page.render(
        "staff/settings.html",
        json!({"form": form, "saved": false, "error": null}),
    )
    .await
}

/// `POST /clinic/settings`.
pub async fn submit(page: StaffPage, Admin(user): Admin, form: Form) -> Result<Response, AppError> {
    let hours: Vec<(String, String)> = page
        .state
        .content
        .languages()
        .map(|(code, _)| (code.to_string(), form.text(&format!("hours_{code}"))))
        .collect();
    let numbers = Numbers {
        phone: form.text("phone"),
        out_of_hours_phone: form.text("out_of_hours_phone"),
        crisis_line: form.text("crisis_line"),
    };
    match save(&page.state, &user, &form.text("name"), &hours, &numbers).await {
        Ok(clinic) => {
            let f = settings_form(&page.state, &clinic);
            page.render(
                "staff/settings.html",
                json!({"form": f, "saved": true, "error": null}),
            )
            .await
        }
        Err(AppError::BadRequest { detail, .. }) => {
            let clinic = page
                .state
                .store
                .get_clinic(user.clinic_id())
                .await?
                .ok_or(AppError::NotFound)?;
            let f = settings_form(&page.state, &clinic);
            page.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "staff/settings.html",
                json!({"form": f, "saved": false, "error": detail}),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn render_staff(
    page: &StaffPage,
    user: &StaffUser,
    form: Value,
    added: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let now = page.state.now();
    let list: Vec<Value> = page
        .state
        .store
        .list_staff(user.clinic_id())
        .await?
        .iter()
        .map(|s| {
            json!({
                "display_name": s.display_name,
                "email": s.email,
                "role": s.role,
                "locked": s.locked_until.is_some_and(|t| t > now),
            })
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page.render_status(
        status,
        "staff/staff.html",
        json!({"staff_list": list, "form": form, "added": added, "error": error, "min": auth::MIN_PASSWORD}),
    )
    .await
}

/// `GET /clinic/staff`.
pub async fn staff_page(page: StaffPage, Admin(user): Admin) -> Result<Response, AppError> {
    let form = json!({"display_name": "", "email": "", "role": "clinician"});
    render_staff(&page, &user, form, None, None).await
}

/// `POST /clinic/staff`.
pub async fn staff_submit(
    page: StaffPage,
    Admin(user): Admin,
    form: Form,
) -> Result<Response, AppError> {
    let result = add_staff(
        &page.state,
        &user,
        &form.text("email"),
        &form.text("display_name"),
        &form.text("role"),
        form.get("password").unwrap_or_default(),
    )
    .await;
    let empty = json!({"display_name": "", "email": "", "role": "clinician"});
    match result {
        Ok(s) => render_staff(&page, &user, empty, Some(s.email), None).await,
        Err(AppError::BadRequest { detail, .. }) => {
            let values = json!({"display_name": form.text("display_name"), "email": form.text("email"), "role": form.text("role")});
            render_staff(&page, &user, values, None, Some(detail)).await
        }
        Err(AppError::Conflict(what)) => {
            let values = json!({"display_name": form.text("display_name"), "email": form.text("email"), "role": form.text("role")});
            render_staff(&page, &user, values, None, Some(what)).await
        }
        Err(e) => Err(e),
    }
}
