//! How a patient is known to the pages: her personal link `/p/{token}` (after its confirmation
//! button) or her enrolment code starts a server-side session, and an HttpOnly, Secure,
//! SameSite=Lax cookie holds the session's random token (only its hash is stored). Every page
//! looks her up from it; signing out ends the session, so the old cookie opens nothing. The
//! link's own token never goes into a cookie. Also the two landing pages: the site's home and
//! the patient's.

use super::cookie::{self, CookieOptions};
use super::form::Form;
use super::layout::Ctx;
use crate::audit;
use crate::error::AppError;
use crate::lang;
use crate::patient::find_by_token;
use crate::state::AppState;
use aftercare_app::patients::Credential;
use aftercare_core::Level;
use aftercare_store::Patient;
use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};

pub const COOKIE: &str = "aftercare_patient";

/// How long a browser stays signed in (the session lasts as long).
const MAX_AGE: i64 = aftercare_app::patients::SESSION_DAYS * 24 * 3600;

/// The patient whose open session the cookie holds; `None` without a cookie, or for a session
/// that ended or expired.
pub async fn patient_from_cookie(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Patient>, AppError> {
    let Some(token) = lang::cookie(headers, COOKIE).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    Ok(state.app.patients().by_session(&token).await?)
}

/// Signs her in with her link or code (the session and its audit row, one commit); `None` when
/// the credential opens nothing.
pub async fn sign_in_with(
    ctx: &Ctx,
    credential: Credential<'_>,
) -> Result<Option<(Patient, Response)>, AppError> {
    let address = ctx.actor.address.as_deref();
    let Some((patient, token)) = ctx
        .state
        .app
        .patients()
        .sign_in(address, credential)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((patient, with_session(&ctx.state, &token, "/me"))))
}

/// A redirect to `to` that sets the session cookie.
fn with_session(state: &AppState, token: &str, to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    let opts = CookieOptions {
        secure: state.settings.secure_cookies,
        max_age: Some(MAX_AGE),
        same_site: "Lax",
    };
    if let Some(v) = cookie::set(COOKIE, token, opts) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `POST /p/{token}`: the personal link's button signs her in.
pub async fn open_link(ctx: Ctx, Path(token): Path<String>) -> Result<Response, AppError> {
    match sign_in_with(&ctx, Credential::Link(&token)).await? {
        Some((_, response)) => Ok(response),
        None => Err(AppError::NotFound),
    }
}

/// `GET /p/{token}`: opening the link changes nothing. It names whose record the link opens
/// and asks her to go on (a `POST`), so a page elsewhere that sends her browser to someone
/// else's link cannot sign her in as that person. Already signed in with this link's record,
/// she goes straight to her page.
pub async fn link_page(ctx: Ctx, Path(token): Path<String>) -> Result<Response, AppError> {
    let patient = link_owner(&ctx, &token).await?;
    if ctx.patient.as_ref().is_some_and(|p| p.id == patient.id) {
        return Ok(Redirect::to("/me").into_response());
    }
    // The page names her: a read of her record, audited before it is shown, by the holder of
    // her link (as the sign-in that may follow is).
    audit::record(
        &ctx.state,
        &holder(ctx.actor.address.as_deref(), &patient),
        crate::audit::Action::PatientLinkOpened,
        Some(&patient.id),
        Some(&patient.clinic_id),
        None,
    )
    .await?;
    let clinic = ctx.state.app.clinics().get(&patient.clinic_id).await?;
    ctx.render(
        "link_open.html",
        json!({
            "name": patient.display_name,
            "clinic_name": clinic.map(|c| c.name).unwrap_or_default(),
            "action": format!("/p/{token}"),
            "switching": ctx.patient.is_some(),
        }),
    )
    .await
}

/// Whoever holds her link or her code acts as her, in the audit log.
fn holder(address: Option<&str>, patient: &Patient) -> audit::Actor {
    audit::Actor {
        kind: crate::audit::ActorKind::Patient,
        id: Some(patient.id.to_string()),
        address: address.map(str::to_string),
    }
}

/// The patient a link belongs to. An unknown link is "not found"; a store that cannot answer
/// is not: she is told to try again shortly (503), never that her link does not exist.
async fn link_owner(ctx: &Ctx, token: &str) -> Result<Patient, AppError> {
    find_by_token(&ctx.state, token).await.map_err(|e| match e {
        AppError::Unauthorized => AppError::NotFound,
        other => other,
    })
}

/// `GET /`: what Aftercare is and the ways in.
pub async fn home(ctx: Ctx) -> Result<Response, AppError> {
    ctx.render(
        "home.html",
        json!({ "education": super::education::links(&ctx) }),
    )
    .await
}

/// `GET /start`: the enrolment code form.
pub async fn start_form(ctx: Ctx) -> Result<Response, AppError> {
    ctx.render("start.html", json!({ "code": "", "error": null }))
        .await
}

/// `POST /start`: exchanges an enrolment code for the session cookie.
pub async fn start(ctx: Ctx, form: Form) -> Result<Response, AppError> {
    let code = normalise_code(form.get("code").unwrap_or_default());
    let address = ctx.actor.address.clone().unwrap_or_default();
    if !ctx
        .state
        .pages
        .code_limit
        .allow(&ctx.state.app, &address, &code)
        .await?
    {
        return ctx
            .render_status(
                StatusCode::TOO_MANY_REQUESTS,
                "start.html",
                json!({ "code": code, "error": ctx.t("error_rate_limited") }),
            )
            .await;
    }
    match sign_in_with(&ctx, Credential::Code(&code)).await? {
        Some((_, response)) => Ok(response),
        None => {
            ctx.render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "start.html",
                json!({ "code": code, "error": ctx.t("code_unknown") }),
            )
            .await
        }
    }
}

/// Codes are read aloud and typed on phones: ignore case, spaces and dashes.
pub fn normalise_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .take(32)
        .collect()
}

/// `POST /signout`.
pub async fn sign_out(ctx: Ctx, headers: HeaderMap) -> Result<Response, AppError> {
    if let Some(token) = lang::cookie(&headers, COOKIE).filter(|t| !t.is_empty()) {
        ctx.state.app.patients().end_session(&token).await?;
    }
    let mut response = Redirect::to("/").into_response();
    if let Some(v) = cookie::clear(COOKIE, ctx.state.settings.secure_cookies) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// `GET /me`: her home: how she is doing, and the ways on.
pub async fn me(
    ctx: Ctx,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, AppError> {
    // After a save, the redirect says so (post/redirect/get).
    let saved = query.is_some_and(|q| q.split('&').any(|p| p == "email=saved"));
    render_me(&ctx, StatusCode::OK, json!({"saved": saved, "error": null})).await
}

/// Her home page with the state of her email form (`saved`, `error`, what she typed).
async fn render_me(ctx: &Ctx, status: StatusCode, email_form: Value) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?;
    audit::record(
        &ctx.state,
        &ctx.actor,
        crate::audit::Action::PatientHome,
        Some(&patient.id),
        Some(&patient.clinic_id),
        None,
    )
    .await?;
    let app = &ctx.state.app;
    let checkins = app.checkins().list(patient).await?;
    let texts = ctx.texts();
    let last = checkins.first().map(|c| {
        let level = Level::parse(&c.level).unwrap_or(Level::SelfCare);
        json!({
            "id": c.id,
            "level": level.as_str(),
            "headline": texts.levels[level.index()].title,
            "date": super::decision::format_date(texts, c.created_at.date_naive()),
        })
    });
    let email = app.patient_emails().get(patient).await?;
    let unread = app.chat().unread(patient).await?.for_patient;
    let today = crate::patient::today(ctx.state.now());
    let hours: Vec<Value> = (5..=22)
        .map(|h| json!({"value": h, "label": format!("{h:02}:00")}))
        .collect();
    let mut form = json!({
        "email": email.as_ref().map(|e| e.email.clone()),
        "hour": email.as_ref().and_then(|e| e.reminder_hour),
        "stopped": email.as_ref().is_some_and(|e| e.emails_stopped_at.is_some()),
        // Ticked only while her consent stands: after she unsubscribed, saving again must be
        // a new, deliberate tick.
        "consent": email.as_ref().is_some_and(|e| e.emails_stopped_at.is_none()),
        "hours": hours,
    });
    if let (Value::Object(f), Value::Object(given)) = (&mut form, email_form) {
        f.extend(given);
    }
    ctx.render_status(
        status,
        "me.html",
        json!({
            "name": patient.display_name,
            "days_since_procedure": (today - patient.procedure_date).num_days(),
            "last": last,
            "education": super::education::links(ctx),
            "email_form": form,
            "unread": unread,
        }),
    )
    .await
}

/// `POST /me/email`: her email address, reminder hour and consent.
pub async fn save_email(ctx: Ctx, form: Form) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?.clone();
    let settings = aftercare_app::patient_email::EmailSettings {
        email: form.text("email"),
        reminder_hour: form.text("reminder_hour").parse().ok(),
        consent: form.get("consent") == Some("yes"),
    };
    let (typed, hour, consent) = (
        settings.email.clone(),
        settings.reminder_hour,
        settings.consent,
    );
    match ctx
        .state
        .app
        .patient_emails()
        .set(&ctx.actor, &patient, settings)
        .await
    {
        Ok(()) => Ok(Redirect::to("/me?email=saved#email").into_response()),
        Err(aftercare_app::Error::Invalid { field, .. }) => {
            let key = if field == "consent" {
                "me_email_need_consent"
            } else {
                "me_email_invalid"
            };
            let error = ctx.texts().ui(key).to_string();
            // What she sent, as she sent it: the box stays as she left it.
            let given = json!({
                "saved": false, "error": error, "email": typed, "hour": hour, "consent": consent,
            });
            render_me(&ctx, StatusCode::UNPROCESSABLE_ENTITY, given).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /unsubscribe/{token}`: asks her to confirm (a mail client's link preview must not
/// unsubscribe her).
pub async fn unsubscribe_page(ctx: Ctx, Path(token): Path<String>) -> Result<Response, AppError> {
    ctx.render("unsubscribe.html", json!({"token": token, "done": null}))
        .await
}

/// `POST /unsubscribe/{token}`: stops her emails; also the one-click `List-Unsubscribe-Post`
/// of RFC 8058, which carries no CSRF token (the secret in the path is the proof).
pub async fn unsubscribe(ctx: Ctx, Path(token): Path<String>) -> Result<Response, AppError> {
    let done = ctx
        .state
        .app
        .patient_emails()
        .unsubscribe(&ctx.actor, &token)
        .await?;
    let status = if done {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    ctx.render_status(
        status,
        "unsubscribe.html",
        json!({"token": token, "done": done}),
    )
    .await
}
