//! The JSON API under `/api/v1`. Every route is registered through the OpenAPI router, so a
//! route cannot exist without its documentation; `/api/v1/openapi.json` serves the document.

pub mod checkins;
pub mod diary;
pub mod questions;
pub mod recovery;
pub mod triage;

use crate::staff;
use crate::state::AppState;
use axum::routing::get;
use axum::Json;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aftercare API",
        description = "Triage, check-ins and a recovery diary for back pain after an epidural. Errors are RFC 9457 problem details (application/problem+json) naming the field at fault.",
        license(name = "AGPL-3.0-only")
    ),
    tags(
        (name = "triage", description = "Decisions on a case, nothing stored"),
        (name = "check-ins", description = "The questionnaire, driven by the engine; final decisions are stored"),
        (name = "diary", description = "The recovery diary and summary"),
        (name = "chat", description = "The patient's thread with her clinic (not for emergencies)"),
        (name = "clinic", description = "The clinic workspace: staff session, board, patients, chat, contact requests, audit log. Cookie session; writes need the session's CSRF token in `x-csrf-token`"),
        (name = "operations", description = "The API document itself")
    ),
    modifiers(&PatientLink)
)]
struct ApiDoc;

/// The API routes with their OpenAPI document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(triage::triage))
        .routes(routes!(questions::list))
        .routes(routes!(checkins::start, checkins::list))
        .routes(routes!(checkins::answer, checkins::get))
        .routes(routes!(diary::put, diary::get))
        .routes(routes!(diary::list))
        .routes(routes!(recovery::summary))
        .routes(routes!(
            staff::chat::api_patient_list,
            staff::chat::api_patient_post
        ))
        .routes(routes!(staff::chat::api_patient_events))
        .merge(clinic())
}

/// The clinic workspace's JSON routes (cookie session; writes need `x-csrf-token`).
fn clinic() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            staff::auth::api_login,
            staff::auth::api_whoami,
            staff::auth::api_logout
        ))
        .routes(routes!(staff::auth::api_change_password))
        .routes(routes!(staff::board::api_board, staff::board::api_enrol))
        .routes(routes!(staff::patient::api_view))
        .routes(routes!(staff::patient::api_acknowledge))
        .routes(routes!(
            staff::chat::api_staff_list,
            staff::chat::api_staff_post
        ))
        .routes(routes!(staff::contact::api_inbox))
        .routes(routes!(staff::contact::api_mark_handled))
        .routes(routes!(staff::audit_log::api_list))
}

/// The API routes plus the route that serves their document.
pub fn router_with_document() -> axum::Router<AppState> {
    let (router, mut document) = router().split_for_parts();
    document.paths.paths.insert(
        "/api/v1/openapi.json".into(),
        utoipa::openapi::path::PathItem::new(
            utoipa::openapi::HttpMethod::Get,
            utoipa::openapi::path::OperationBuilder::new()
                .tag("operations")
                .summary(Some("This OpenAPI 3.1 document"))
                .operation_id(Some("openapi"))
                .response("200", utoipa::openapi::Response::new("The document")),
        ),
    );
    let document = std::sync::Arc::new(document);
    router.route(
        "/api/v1/openapi.json",
        get(move || {
            let d = document.clone();
            async move { Json((*d).clone()) }
        }),
    )
}

/// Patients authenticate with the secret token of their personal link.
struct PatientLink;

impl utoipa::Modify for PatientLink {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "patient_link",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The token of the patient's personal link"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "staff_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                staff::auth::SESSION_COOKIE,
                "The staff session cookie set by POST /api/v1/clinic/session (HttpOnly, Secure, SameSite=Strict)",
            ))),
        );
    }
}
