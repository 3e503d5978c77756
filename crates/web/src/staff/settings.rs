//! What a clinic's admin runs: the clinic's name and opening hours (shown to patients next to
//! the chat, so they know when an answer can come), and the staff accounts. Creating an
//! account is shared with `aftercare admin create-user`, so the command line and the page make
//! the same checks.

use super::auth::{self, StaffUser};
use crate::error::{AppError, Problem};
use crate::state::AppState;
use aftercare_app::text::Name;
use aftercare_store::{Clinic, Staff};
use serde_json::json;

pub use aftercare_app::clinics::{phone_number, Changes, TEXT_LIMIT, WEEKDAYS};
pub use aftercare_app::staff::check_email;

/// Creates an account of the admin's clinic, audited.
pub async fn add_staff(
    state: &AppState,
    admin: &StaffUser,
    email: &str,
    display_name: &str,
    role: &str,
    password: &str,
) -> Result<Staff, AppError> {
    let account = aftercare_app::staff::NewAccount {
        clinic_id: admin.clinic_id(),
        email,
        display_name: Name::new("display_name", display_name)?,
        role,
        password,
    };
    Ok(state.app.staff().create(&admin.actor, account).await?)
}

pub use aftercare_app::clinics::dial;

/// Saves the clinic's settings page: every field is given (a box left empty clears it).
pub async fn save(
    state: &AppState,
    admin: &StaffUser,
    changes: Changes,
) -> Result<Clinic, AppError> {
    let app = &state.app;
    let clinic = app
        .clinics()
        .get(admin.clinic_id())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(app
        .clinics()
        .change(&admin.actor, &clinic, changes, None)
        .await?)
}

// --- pages -------------------------------------------------------------------------------------

use super::auth::Admin;
use super::view::{see_other, StaffPage};
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
        "emergency_number": clinic.emergency_number,
        "default_emergency": state.settings.emergency_number,
        "time_zone": clinic.time_zone,
        "open_from": clinic.open_from.map(|h| format!("{h:02}:00")),
        "open_until": clinic.open_until.map(|h| format!("{h:02}:00")),
        "days": WEEKDAYS.iter().enumerate().map(|(i, d)| json!({
            "id": d,
            "on": clinic.open_weekdays & (1 << i) != 0,
        })).collect::<Vec<_>>(),
        "realert_emergency_minutes": clinic.realert_emergency_minutes,
        "realert_urgent_minutes": clinic.realert_urgent_minutes,
        "alert_names": clinic.alert_names,
        "clinician_second_factor": clinic.clinician_second_factor,
    })
}

/// `GET /clinic/settings`.
pub async fn page(page: StaffPage, Admin(user): Admin) -> Result<Response, AppError> {
    let clinic = page
        .state
        .app
        .clinics()
        .get(user.clinic_id())
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
    let changes = Changes {
        name: Some(form.text("name")),
        hours: Some(hours),
        phone: Some(form.text("phone")),
        out_of_hours_phone: Some(form.text("out_of_hours_phone")),
        crisis_line: Some(form.text("crisis_line")),
        emergency_number: Some(form.text("emergency_number")),
        time_zone: Some(form.text("time_zone")),
        open_from: Some(form.text("open_from")),
        open_until: Some(form.text("open_until")),
        // Unticked boxes send nothing: the days are read only from a form that showed them.
        open_days: form.get("open_days_shown").map(|_| {
            form.0
                .iter()
                .filter(|(k, _)| k == "open_days")
                .map(|(_, v)| v.clone())
                .collect()
        }),
        realert_emergency_minutes: form.get("realert_emergency_minutes").map(str::to_string),
        realert_urgent_minutes: form.get("realert_urgent_minutes").map(str::to_string),
        alert_names: form
            .get("alert_names_shown")
            .map(|_| form.get("alert_names") == Some("yes")),
        clinician_second_factor: form
            .get("second_factor_shown")
            .map(|_| form.get("clinician_second_factor") == Some("yes")),
    };
    match save(&page.state, &user, changes).await {
        Ok(clinic) => {
            let f = settings_form(&page.state, &clinic);
            page.render(
                "staff/settings.html",
                json!({"form": f, "saved": true, "error": null}),
            )
            .await
        }
        Err(AppError::BadRequest { field, detail }) => {
            let detail = page.form_error(field.as_deref(), detail);
            let clinic = page
                .state
                .app
                .clinics()
                .get(user.clinic_id())
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
    render_staff_with(page, user, form, added, error, None).await
}

async fn render_staff_with(
    page: &StaffPage,
    user: &StaffUser,
    form: Value,
    added: Option<String>,
    error: Option<String>,
    reset: Option<Value>,
) -> Result<Response, AppError> {
    let now = page.state.now();
    let list: Vec<Value> = page
        .state
        .app
        .staff()
        .list(user.clinic_id())
        .await?
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "display_name": s.display_name,
                "email": s.email,
                "role": s.role,
                "role_label": super::view::role_label(page.texts(), s.role),
                "locked": s.locked_until.is_some_and(|t| t > now),
                "deactivated": s.deactivated_at.is_some(),
                // A burst of failed sign-ins since the last success: someone may be guessing.
                "failures": s.failed_logins,
                "burst": s.failed_logins >= auth::MAX_FAILURES,
                "second_factor": s.totp_secret.is_some(),
                "me": s.id == user.staff.id,
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
        json!({"staff_list": list, "form": form, "added": added, "error": error, "min": auth::MIN_PASSWORD, "reset": reset}),
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
        Err(AppError::BadRequest { field, detail }) => {
            let detail = page.form_error(field.as_deref(), detail);
            let values = json!({"display_name": form.text("display_name"), "email": form.text("email"), "role": form.text("role")});
            render_staff(&page, &user, values, None, Some(detail)).await
        }
        Err(AppError::Conflict(what)) => {
            let values = json!({"display_name": form.text("display_name"), "email": form.text("email"), "role": form.text("role")});
            let why = page.form_error(None, what);
            render_staff(&page, &user, values, None, Some(why)).await
        }
        Err(e) => Err(e),
    }
}

// --- the JSON API ------------------------------------------------------------------------------

use crate::extract::ValidJson;
use axum::extract::State;
use axum::Json;

/// The clinic's settings as the API shows them.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ClinicSettingsView {
    pub slug: String,
    pub name: String,
    /// Opening hours as patients read them, by language code.
    pub opening_hours: std::collections::BTreeMap<String, String>,
    pub phone: Option<String>,
    pub out_of_hours_phone: Option<String>,
    pub crisis_line: Option<String>,
    /// The clinic's own emergency number; `null`: the server's (`server_emergency_number`).
    pub emergency_number: Option<String>,
    pub server_emergency_number: String,
    /// An IANA time zone; `null`: UTC.
    pub time_zone: Option<String>,
    /// The local hours the daytime number answers (`null`: at any time).
    pub open_from: Option<i32>,
    pub open_until: Option<i32>,
    /// The days it answers: `mon` ... `sun`.
    pub open_days: Vec<String>,
    pub realert_emergency_minutes: i32,
    pub realert_urgent_minutes: i32,
    /// Whether alerts may carry the patient's name.
    pub alert_names: bool,
    /// Whether clinicians must sign in with a second factor (admins always must).
    pub clinician_second_factor: bool,
}

impl ClinicSettingsView {
    fn new(state: &AppState, c: &Clinic) -> ClinicSettingsView {
        let opening_hours = c
            .opening_hours
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|t| (k.clone(), t.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        ClinicSettingsView {
            slug: c.slug.clone(),
            name: c.name.clone(),
            opening_hours,
            phone: c.phone.clone(),
            out_of_hours_phone: c.out_of_hours_phone.clone(),
            crisis_line: c.crisis_line.clone(),
            emergency_number: c.emergency_number.clone(),
            server_emergency_number: state.settings.emergency_number.clone(),
            time_zone: c.time_zone.clone(),
            open_from: c.open_from,
            open_until: c.open_until,
            open_days: WEEKDAYS
                .iter()
                .enumerate()
                .filter(|(i, _)| c.open_weekdays & (1 << i) != 0)
                .map(|(_, d)| d.to_string())
                .collect(),
            realert_emergency_minutes: c.realert_emergency_minutes,
            realert_urgent_minutes: c.realert_urgent_minutes,
            alert_names: c.alert_names,
            clinician_second_factor: c.clinician_second_factor,
        }
    }
}

/// A change to the clinic's settings: every field optional (left out: kept; an empty text
/// removes an optional value).
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClinicSettingsChange {
    pub name: Option<String>,
    /// Opening hours by language code.
    pub opening_hours: Option<std::collections::BTreeMap<String, String>>,
    pub phone: Option<String>,
    pub out_of_hours_phone: Option<String>,
    pub crisis_line: Option<String>,
    pub emergency_number: Option<String>,
    pub time_zone: Option<String>,
    /// `08:00` or `8`; empty: no hours.
    pub open_from: Option<String>,
    pub open_until: Option<String>,
    pub open_days: Option<Vec<String>>,
    pub realert_emergency_minutes: Option<i32>,
    pub realert_urgent_minutes: Option<i32>,
    pub alert_names: Option<bool>,
    pub clinician_second_factor: Option<bool>,
}

async fn own_clinic(state: &AppState, user: &StaffUser) -> Result<Clinic, AppError> {
    state
        .app
        .clinics()
        .get(user.clinic_id())
        .await?
        .ok_or(AppError::NotFound)
}

/// The admin's clinic settings.
#[utoipa::path(get, path = "/api/v1/clinic/settings", tag = "clinic",
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "The clinic's settings", body = ClinicSettingsView),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_get(
    State(state): State<AppState>,
    Admin(user): Admin,
) -> Result<Json<ClinicSettingsView>, AppError> {
    let clinic = own_clinic(&state, &user).await?;
    Ok(Json(ClinicSettingsView::new(&state, &clinic)))
}

/// Changes the clinic's settings (audited); fields left out keep their value.
#[utoipa::path(patch, path = "/api/v1/clinic/settings", tag = "clinic",
    params(("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    request_body = ClinicSettingsChange,
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "The settings now", body = ClinicSettingsView),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is not valid; the problem names it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_change(
    State(state): State<AppState>,
    Admin(user): Admin,
    headers: axum::http::HeaderMap,
    ValidJson(body): ValidJson<ClinicSettingsChange>,
) -> Result<Json<ClinicSettingsView>, AppError> {
    user.check_csrf(&headers)?;
    let clinic = own_clinic(&state, &user).await?;
    let changes = Changes {
        name: body.name,
        hours: body.opening_hours.map(|m| m.into_iter().collect()),
        phone: body.phone,
        out_of_hours_phone: body.out_of_hours_phone,
        crisis_line: body.crisis_line,
        emergency_number: body.emergency_number,
        time_zone: body.time_zone,
        open_from: body.open_from,
        open_until: body.open_until,
        open_days: body.open_days,
        realert_emergency_minutes: body.realert_emergency_minutes.map(|m| m.to_string()),
        realert_urgent_minutes: body.realert_urgent_minutes.map(|m| m.to_string()),
        alert_names: body.alert_names,
        clinician_second_factor: body.clinician_second_factor,
    };
    let updated = state
        .app
        .clinics()
        .change(&user.actor, &clinic, changes, Some("api"))
        .await?;
    Ok(Json(ClinicSettingsView::new(&state, &updated)))
}

// --- staff administration ----------------------------------------------------------------------

use aftercare_app::staff::AccountChange;

async fn change_account(
    page: StaffPage,
    user: StaffUser,
    id: &str,
    change: AccountChange,
) -> Result<Response, AppError> {
    let empty = json!({"display_name": "", "email": "", "role": "clinician"});
    match page
        .state
        .app
        .staff()
        .change_account(&user.actor, user.clinic_id(), id, change)
        .await
    {
        Ok(_) => Ok(see_other("/clinic/staff")),
        Err(aftercare_app::Error::Conflict(why)) => {
            let why = page.form_error(None, why);
            render_staff(&page, &user, empty, None, Some(why)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /clinic/staff/{staff}/deactivate`: the account's sessions end; it cannot sign in.
pub async fn deactivate(
    page: StaffPage,
    Admin(user): Admin,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    change_account(page, user, &id, AccountChange::Deactivate).await
}

/// `POST /clinic/staff/{staff}/reactivate`.
pub async fn reactivate(
    page: StaffPage,
    Admin(user): Admin,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    change_account(page, user, &id, AccountChange::Reactivate).await
}

/// `POST /clinic/staff/{staff}/role`: `role` is `admin` or `clinician`.
pub async fn change_role(
    page: StaffPage,
    Admin(user): Admin,
    axum::extract::Path(id): axum::extract::Path<String>,
    form: Form,
) -> Result<Response, AppError> {
    // Another clinic's account is not found, whatever the form says.
    let ours = page.state.app.staff().list(user.clinic_id()).await?;
    if !ours.iter().any(|s| s.id == id) {
        return Err(AppError::NotFound);
    }
    let Some(role) = aftercare_store::Role::parse(&form.text("role")) else {
        return Err(AppError::bad_field("role", "role: admin or clinician"));
    };
    change_account(page, user, &id, AccountChange::Role(role)).await
}

/// `POST /clinic/staff/{staff}/reset`: shows a one-time link for the account's owner to set a
/// new password (the admin never sees or sets the password).
pub async fn issue_reset(
    page: StaffPage,
    Admin(user): Admin,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    let empty = json!({"display_name": "", "email": "", "role": "clinician"});
    match page
        .state
        .app
        .staff()
        .issue_reset(&user.actor, user.clinic_id(), &id)
        .await
    {
        Ok(token) => {
            let link = format!("{}/clinic/reset/{token}", page.state.settings.public_url);
            let hours = aftercare_app::staff::RESET_HOURS;
            let reset = json!({"link": link, "hours": hours});
            render_staff_with(&page, &user, empty, None, None, Some(reset)).await
        }
        Err(aftercare_app::Error::Conflict(why)) => {
            let why = page.form_error(None, why);
            render_staff(&page, &user, empty, None, Some(why)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /clinic/reset/{token}`: the owner of a one-time link sets a new password.
pub async fn reset_form(
    page: StaffPage,
    axum::extract::Path(_token): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    page.render(
        "staff/reset.html",
        json!({"min": auth::MIN_PASSWORD, "done": false, "error": null}),
    )
    .await
}

/// `POST /clinic/reset/{token}`.
pub async fn reset_submit(
    page: StaffPage,
    axum::extract::Path(token): axum::extract::Path<String>,
    address: crate::audit::ClientAddress,
    form: Form,
) -> Result<Response, AppError> {
    let new = form.get("new_password").unwrap_or_default();
    let result = page
        .state
        .app
        .staff()
        .complete_reset(&token, new, address.0.as_deref())
        .await;
    let (status, done, error) = match result {
        Ok(()) => (StatusCode::OK, true, None),
        Err(aftercare_app::Error::Invalid { field, detail }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            Some(page.form_error(Some(&field), detail)),
        ),
        Err(aftercare_app::Error::NotFound) => (
            StatusCode::NOT_FOUND,
            false,
            Some(page.ws("reset_link_invalid")),
        ),
        Err(e) => return Err(e.into()),
    };
    page.render_status(
        status,
        "staff/reset.html",
        json!({"min": auth::MIN_PASSWORD, "done": done, "error": error}),
    )
    .await
}
