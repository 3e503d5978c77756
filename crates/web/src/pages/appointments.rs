//! Her appointments: what she has asked the clinic for and its answers (`GET /me/appointments`),
//! a request from a `soon` or `self_care` decision (`POST /me/appointments`), accepting a time
//! the clinic proposed and cancelling. Every form posts and redirects (post/redirect/get), so
//! Back and reload never send anything twice.

use super::form::Form;
use super::Ctx;
use crate::audit;
use crate::error::AppError;
use aftercare_app::appointments::{offered, CancelledBy, Request};
use aftercare_app::text::AppointmentText;
use aftercare_core::Level;
use aftercare_store::{Appointment, AppointmentStatus};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// The check-in whose decision she asks from.
    pub checkin: Option<String>,
    /// Set after a change, to say so (post/redirect/get).
    pub done: Option<String>,
}

/// Whom she would see, in her language.
fn who(ctx: &Ctx, kind: &str) -> String {
    aftercare_app::appointments::who(&ctx.state.content, ctx.texts(), kind)
}

/// Her appointments as the page shows them.
pub fn rows(ctx: &Ctx, list: &[Appointment], zone: Option<&str>) -> Vec<Value> {
    let t = ctx.texts();
    list.iter()
        .map(|a| {
            let time = a
                .starts_at
                .map(|s| aftercare_app::clinics::local_time(zone, s))
                .unwrap_or_default();
            let state = match a.status {
                AppointmentStatus::Requested => t.ui("appt_status_requested").to_string(),
                AppointmentStatus::Proposed => {
                    t.ui("appt_status_proposed").replace("{time}", &time)
                }
                AppointmentStatus::Confirmed => {
                    t.ui("appt_status_confirmed").replace("{time}", &time)
                }
                AppointmentStatus::Cancelled => t.ui("appt_status_cancelled").to_string(),
            };
            json!({
                "id": a.id,
                "who": who(ctx, &a.kind),
                "status": a.status.as_str(),
                "state": state,
                "preferred": a.preferred,
                "note": a.clinic_note,
                // The change this page shows, so a later one is not acted on blindly.
                "seen": a.updated_at.to_rfc3339(),
                "can_accept": a.status == AppointmentStatus::Proposed,
                "can_cancel": a.status != AppointmentStatus::Cancelled,
            })
        })
        .collect()
}

/// When a form says which change of the appointment its page showed.
pub fn seen(form: &Form) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(&form.text("seen"))
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The kinds she may ask for now: after the decision she came from, or her latest; none when
/// her answers ask her to call (`call_instead`): that decision, her latest, or an open episode
/// is urgent or an emergency.
async fn offer(
    ctx: &Ctx,
    checkin: Option<&str>,
) -> Result<(Vec<Value>, bool, Option<String>), AppError> {
    let patient = ctx.require_patient()?;
    let app = &ctx.state.app;
    let chosen = match checkin {
        Some(id) => Some(app.checkins().get(patient, id).await?),
        None => app.checkins().list(patient).await?.into_iter().next(),
    };
    let content = &ctx.state.content;
    let (level, actions): (Level, Vec<String>) = match &chosen {
        Some(c) => (
            Level::parse(&c.level).unwrap_or(Level::Emergency),
            c.decision
                .get("actions")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        None => (Level::SelfCare, Vec::new()),
    };
    let names: Vec<&str> = actions.iter().map(String::as_str).collect();
    let kinds: Vec<Value> = offered(content, level, &names)
        .into_iter()
        .map(|k| json!({"value": k, "label": who(ctx, k)}))
        .collect();
    let call = app
        .appointments()
        .calls_for_calling(patient, checkin)
        .await?
        || level > Level::Soon;
    Ok((kinds, call, chosen.map(|c| c.id)))
}

async fn render(
    ctx: &Ctx,
    status: StatusCode,
    q: &PageQuery,
    error: Option<String>,
    typed: Value,
) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?;
    let app = &ctx.state.app;
    let list = app.appointments().of_patient(patient).await?;
    audit::record(
        &ctx.state,
        &ctx.actor,
        crate::audit::Action::AppointmentList,
        Some(&patient.id),
        Some(&patient.clinic_id),
        Some(format!("{} appointments", list.len())),
    )
    .await?;
    let zone = app.clinics().zone_of(&patient.clinic_id).await?;
    let (kinds, call_instead, checkin) = offer(ctx, q.checkin.as_deref()).await?;
    let done = q.done.as_deref().and_then(|d| match d {
        "asked" => Some(ctx.texts().ui("appt_done_asked")),
        "accepted" => Some(ctx.texts().ui("appt_done_accepted")),
        "cancelled" => Some(ctx.texts().ui("appt_done_cancelled")),
        _ => None,
    });
    ctx.render_status(
        status,
        "appointments.html",
        json!({
            "appointments": rows(ctx, &list, zone.as_deref()),
            "kinds": kinds,
            "call_instead": call_instead,
            "checkin": checkin,
            "done": done,
            "error": error,
            "typed": typed,
        }),
    )
    .await
}

/// `GET /me/appointments`.
pub async fn page(
    ctx: Ctx,
    crate::extract::ValidQuery(q): crate::extract::ValidQuery<PageQuery>,
) -> Result<Response, AppError> {
    let typed = json!({"kind": null, "preferred": ""});
    render(&ctx, StatusCode::OK, &q, None, typed).await
}

/// `POST /me/appointments`: her request.
pub async fn request(ctx: Ctx, form: Form) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?.clone();
    let checkin = Some(form.text("checkin")).filter(|c| !c.is_empty());
    let asked = match AppointmentText::new("preferred", &form.text("preferred")) {
        Ok(preferred) => {
            let r = Request {
                kind: form.text("kind"),
                preferred,
                checkin_id: checkin.clone(),
            };
            let app = ctx.state.app.appointments();
            app.request(&ctx.actor, &patient, r).await
        }
        Err(e) => Err(e),
    };
    match asked {
        Ok(_) => Ok(Redirect::to("/me/appointments?done=asked").into_response()),
        Err(aftercare_app::Error::Invalid { field, .. }) => {
            let key = match field.as_str() {
                "preferred" => "appt_error_preferred",
                "checkin" => "appt_call_instead",
                _ => "appt_error_kind",
            };
            let error = ctx.texts().ui(key).to_string();
            let q = PageQuery {
                checkin,
                done: None,
            };
            let typed = json!({"kind": form.text("kind"), "preferred": form.text("preferred")});
            render(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                &q,
                Some(error),
                typed,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /me/appointments/{appointment}/accept`.
pub async fn accept(ctx: Ctx, Path(id): Path<String>, form: Form) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?.clone();
    ctx.state
        .app
        .appointments()
        .accept(&ctx.actor, &patient, &id, seen(&form))
        .await?;
    Ok(Redirect::to("/me/appointments?done=accepted").into_response())
}

/// `POST /me/appointments/{appointment}/cancel`.
pub async fn cancel(ctx: Ctx, Path(id): Path<String>, form: Form) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?.clone();
    let app = &ctx.state.app;
    let current = app.appointments().hers_by_id(&patient, &id).await?;
    app.appointments()
        .cancel(&ctx.actor, CancelledBy::Patient, current, seen(&form))
        .await?;
    Ok(Redirect::to("/me/appointments?done=cancelled").into_response())
}
