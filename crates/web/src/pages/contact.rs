//! Contact the clinic: name, how to reach her, a message and consent to be contacted, stored as
//! a contact request for the clinic's team. Bots are kept out by a honeypot field (a filled one
//! is answered like a success and dropped) and a per-address rate limit; a person who makes a
//! mistake gets the form back with what she typed and what to fix.

use super::form::Form;
use super::layout::Ctx;
use crate::error::AppError;
use aftercare_app::contacts::Request;
use aftercare_app::text::{ContactDetail, RequestText};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The hidden field only a bot fills.
pub const HONEYPOT: &str = "website";

const FIELD_ORDER: [&str; 6] = ["form", "clinic", "name", "contact", "message", "consent"];

fn clinics_model(all: &[aftercare_store::Clinic]) -> Vec<Value> {
    all.iter()
        .map(|c| json!({ "slug": c.slug, "name": c.name }))
        .collect()
}

/// `GET /contact`.
pub async fn form(ctx: Ctx) -> Result<Response, AppError> {
    let clinic = ctx.clinic().await?;
    let clinics = if clinic.is_none() {
        clinics_model(&ctx.state.app.clinics().list().await?)
    } else {
        Vec::new()
    };
    let name = ctx
        .patient
        .as_ref()
        .map(|p| p.display_name.clone())
        .unwrap_or_default();
    ctx.render(
        "contact.html",
        json!({
            "values": { "name": name, "contact": "", "message": "", "consent": false },
            "field_errors": {},
            "errors": [],
            "clinics": clinics,
            "clinic_slug": clinic.as_ref().map(|c| c.slug.clone()),
        }),
    )
    .await
}

/// `POST /contact`.
pub async fn submit(mut ctx: Ctx, form: Form) -> Result<Response, AppError> {
    if ctx.clinic_slug.is_none() {
        ctx.clinic_slug = form
            .get("clinic")
            .map(str::to_string)
            .filter(|s| s.len() <= 64);
    }
    let address = ctx.actor.address.clone().unwrap_or_default();
    let values = json!({
        "name": form.text("name"),
        "contact": form.text("contact"),
        "message": form.text("message"),
        "consent": form.get("consent") == Some("yes"),
    });
    let clinic = ctx.clinic().await?;
    let render_form = |ctx: &Ctx,
                       status: StatusCode,
                       errors: BTreeMap<&'static str, &'static str>,
                       clinics: Vec<Value>| {
        // In the order of the form, so the summary reads like the page.
        let list: Vec<Value> = FIELD_ORDER
            .iter()
            .filter_map(|field| {
                errors
                    .get(field)
                    .map(|key| json!({ "field": field, "message": ctx.t(key) }))
            })
            .collect();
        let by_field: Map<String, Value> = errors
            .iter()
            .map(|(field, key)| (field.to_string(), json!(ctx.t(key))))
            .collect();
        json!({
            "status": status.as_u16(),
            "values": values,
            "field_errors": by_field,
            "errors": list,
            "clinics": clinics,
            "clinic_slug": clinic.as_ref().map(|c| c.slug.clone()),
        })
    };
    let contact_limit = [(&ctx.state.pages.contact_limit, address.as_str())];
    if !crate::limit::take(&ctx.state.app, &contact_limit).await? {
        let mut errors = BTreeMap::new();
        errors.insert("form", "error_rate_limited");
        let page = render_form(&ctx, StatusCode::TOO_MANY_REQUESTS, errors, Vec::new());
        return ctx
            .render_status(StatusCode::TOO_MANY_REQUESTS, "contact.html", page)
            .await;
    }
    if !form.text(HONEYPOT).is_empty() {
        // A bot: look like a success, keep nothing.
        tracing::info!("contact form honeypot filled; dropped");
        return ctx.render("contact_sent.html", json!({})).await;
    }
    let consent = form.get("consent") == Some("yes");
    let mut errors = BTreeMap::new();
    // Each text is bounded by its kind; a blank one and a long one get different words.
    let mut field = |name: &'static str, required: &'static str| {
        let text = form.text(name);
        let bounded = ContactDetail::new(name, &text).ok();
        if bounded.is_none() {
            errors.insert(
                name,
                if text.trim().is_empty() {
                    required
                } else {
                    "contact_too_long"
                },
            );
        }
        bounded
    };
    let name = field("name", "contact_name_required");
    let contact = field("contact", "contact_contact_required");
    let text = form.text("message");
    let message = RequestText::new("message", &text).ok();
    if message.is_none() {
        errors.insert(
            "message",
            if text.trim().is_empty() {
                "contact_message_required"
            } else {
                "contact_too_long"
            },
        );
    }
    if !consent {
        errors.insert("consent", "contact_consent_required");
    }
    let clinics = if clinic.is_none() {
        errors.insert("clinic", "contact_clinic_required");
        clinics_model(&ctx.state.app.clinics().list().await?)
    } else {
        Vec::new()
    };
    let (Some(clinic), Some(name), Some(contact), Some(message)) = (
        clinic.clone().filter(|_| errors.is_empty()),
        name,
        contact,
        message,
    ) else {
        let page = render_form(&ctx, StatusCode::UNPROCESSABLE_ENTITY, errors, clinics);
        return ctx
            .render_status(StatusCode::UNPROCESSABLE_ENTITY, "contact.html", page)
            .await;
    };
    let patient_id = ctx.patient.as_ref().map(|p| p.id.clone());
    ctx.state
        .app
        .contacts()
        .create(
            &ctx.actor,
            patient_id.as_deref(),
            Request {
                clinic_id: clinic.id.clone(),
                // Hers only when she writes to her own clinic.
                patient_id: ctx
                    .patient
                    .as_ref()
                    .filter(|p| p.clinic_id == clinic.id)
                    .map(|p| p.id.clone()),
                name,
                contact,
                message,
                consent,
            },
        )
        .await?;
    ctx.render("contact_sent.html", json!({})).await
}
