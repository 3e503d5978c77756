//! The admin's alerts page: where the clinic's alerts go (email addresses and webhooks, by
//! level and tier), a test alert per target, and the delivery log with its failures. A
//! webhook's signing secret is shown once, on the page that adds it.

use aftercare_app::alerts::NewTarget;
use aftercare_core::Level;
use aftercare_store::{Channel, DeliveryStatus};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::auth::{Admin, StaffUser};
use super::view::{see_other, word, StaffPage};
use crate::error::AppError;
use crate::pages::form::Form;

/// Entries of the delivery log shown.
const LOG_LENGTH: i64 = 100;

async fn render(
    page: &StaffPage,
    user: &StaffUser,
    added: Option<Value>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let app = &page.state.app;
    let texts = page.texts();
    let clinic = user.clinic_id();
    let targets: Vec<Value> = app
        .alerts()
        .targets(clinic)
        .await?
        .iter()
        .map(|t| {
            json!({
                "id": t.id, "channel": t.channel, "address": t.address,
                "min_level": t.min_level, "tier": t.tier,
                "channel_label": word(texts, "channel", t.channel.as_str()),
                "min_level_label": super::board::level_label(texts, Some(&t.min_level)),
            })
        })
        .collect();
    let zone = page.zone().await?;
    let log: Vec<Value> = app
        .alerts()
        .deliveries(&user.actor, clinic, LOG_LENGTH)
        .await?
        .iter()
        .map(|m| {
            json!({
                "created_at": aftercare_app::clinics::local_time(zone.as_deref(), m.created_at),
                "purpose": m.purpose, "channel": m.channel, "address": m.address,
                "status": m.status, "attempts": m.attempts, "error": m.last_error,
                "purpose_label": word(texts, "purpose", m.purpose.as_str()),
                "status_label": word(texts, "delivery", m.status.as_str()),
                "failed": m.status == DeliveryStatus::Failed,
            })
        })
        .collect();
    let failures = log.iter().filter(|m| m["failed"] == true).count();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page.render_status(
        status,
        "staff/alerts.html",
        json!({
            "targets": targets, "log": log, "failures": failures,
            "added": added, "error": error,
        }),
    )
    .await
}

/// `GET /clinic/alerts`.
pub async fn page(page: StaffPage, Admin(user): Admin) -> Result<Response, AppError> {
    render(&page, &user, None, None).await
}

/// `POST /clinic/alerts`: adds a target.
pub async fn add(page: StaffPage, Admin(user): Admin, form: Form) -> Result<Response, AppError> {
    let channel = Channel::parse(&form.text("channel"));
    let level = Level::parse(&form.text("min_level"));
    let tier = form.text("tier").parse::<i32>().ok();
    let (Some(channel), Some(min_level), Some(tier)) = (channel, level, tier) else {
        let why = page.ws("alerts_error_choose");
        return render(&page, &user, None, Some(why)).await;
    };
    let target = NewTarget {
        channel,
        address: form.text("address"),
        min_level,
        tier,
    };
    match page
        .state
        .app
        .alerts()
        .add_target(&user.actor, user.clinic_id(), target)
        .await
    {
        Ok(t) => {
            let added = json!({"address": t.address, "secret": t.secret});
            render(&page, &user, Some(added), None).await
        }
        Err(aftercare_app::Error::Invalid { field, detail }) => {
            let why = page.form_error(Some(&field), detail);
            render(&page, &user, None, Some(why)).await
        }
        Err(aftercare_app::Error::Conflict(_)) => {
            let why = page.ws("alerts_error_duplicate");
            render(&page, &user, None, Some(why)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /clinic/alerts/{target}/remove`.
pub async fn remove(
    page: StaffPage,
    Admin(user): Admin,
    Path(target): Path<String>,
) -> Result<Response, AppError> {
    page.state
        .app
        .alerts()
        .remove_target(&user.actor, user.clinic_id(), &target)
        .await?;
    Ok(see_other("/clinic/alerts"))
}

/// `POST /clinic/alerts/{target}/test`: queues a test alert; the log shows how it went.
pub async fn test(
    page: StaffPage,
    Admin(user): Admin,
    Path(target): Path<String>,
) -> Result<Response, AppError> {
    page.state
        .app
        .alerts()
        .send_test(&user.actor, user.clinic_id(), &target)
        .await?;
    Ok(see_other("/clinic/alerts"))
}
