//! The JSON API under `/api/v1`. Every route is registered through the OpenAPI router, so a
//! route cannot exist without its documentation; `/api/v1/openapi.json` serves the document.

pub mod checkins;
pub mod diary;
pub mod questions;
pub mod recovery;
pub mod triage;
pub mod views;

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
        .routes(routes!(
            staff::settings::api_get,
            staff::settings::api_change
        ))
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
    let mut document = serde_json::to_value(&document).unwrap_or_default();
    complete_responses(&mut document);
    let document = std::sync::Arc::new(document);
    router.route(
        "/api/v1/openapi.json",
        get(move || {
            let d = document.clone();
            async move { Json((*d).clone()) }
        }),
    )
}

/// Adds the error answers every operation can give to the ones its handler documents, so the
/// document promises what the server does (checked by `scripts/schemathesis.sh`): 401 where
/// credentials are required, 403 where a staff session is (role, CSRF token), 413/415/422 where
/// there is a body, 422 where there are parameters, 503 where the database is used. All are
/// problem bodies. Handlers keep documenting their own specific answers.
fn complete_responses(document: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let problem = |description: &str| {
        json!({
            "description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        })
    };
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (_, op) in item.iter_mut() {
            let schemes: Vec<String> = op
                .get("security")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .flat_map(|o| o.keys().cloned())
                .collect();
            let has_body = op.get("requestBody").is_some();
            let has_params = op
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|p| !p.is_empty());
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status.to_string())
                    .or_insert_with(|| problem(description));
            };
            if !schemes.is_empty() {
                add("401", "No credentials, or unknown or expired ones");
                add(
                    "503",
                    "The database is unreachable for now; retry after `Retry-After` seconds",
                );
            }
            if schemes.iter().any(|s| s == "staff_session") {
                add(
                    "403",
                    "Not allowed for this role, or the session's CSRF token is missing",
                );
            }
            if has_body {
                add("413", "The body is over 64 KiB");
                add("415", "The body is not JSON");
                add(
                    "422",
                    "Malformed JSON or an invalid field; `field` names it",
                );
            }
            if has_params || path.contains('{') {
                add("422", "An invalid parameter; `field` names it");
            }
        }
    }
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
