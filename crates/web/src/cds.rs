//! The CDS Hooks 2.0 service over HTTP: discovery, the `patient-view` and `encounter-discharge`
//! services, and feedback. The cards come from `aftercare_fhir::cds`; this module checks the
//! EHR's token (when a trust file is configured, see [`crate::cds_trust`]), fetches prefetch
//! the request lacks from an allow-listed `fhirServer` (see [`crate::cds_fetch`]), links to the
//! patient's page when she is one of ours, stores feedback and audits every call as actor `ehr`.
//!
//! Without a trust file the service accepts calls without a token (development and EHR
//! sandboxes); the server logs a warning at start.

use crate::audit::{self, Actor, ClientAddress};
use crate::cds_fetch::{self, FhirAuthorization, Source};
use crate::error::AppError;
use crate::extract::ValidJson;
use crate::fhir::canonical;
use crate::lang;
use crate::state::AppState;
use aftercare_core::triage;
use aftercare_fhir::cds::{self, CardContext, PrefetchError};
use aftercare_fhir::Assessment;
use aftercare_store::NewCdsFeedback;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cds-services", get(discovery))
        .route("/cds-services/{id}", post(call))
        .route("/cds-services/{id}/feedback", post(feedback))
        .layer(axum::extract::DefaultBodyLimit::max(CDS_BODY_LIMIT))
        .layer(cors())
}

/// A CDS request carries the EHR's prefetch: a chart with a few hundred Procedures and its
/// responses, far more than the 64 KiB other requests may send.
pub const CDS_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// CORS as CDS Hooks asks of a service, so browser-based CDS clients (the CDS Hooks sandbox, an
/// EHR's web client) can call it: any origin, since a call is authorised by its bearer token,
/// never by a cookie (credentials are not allowed).
fn cors() -> tower_http::cors::CorsLayer {
    use axum::http::{header, Method};
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([header::WWW_AUTHENTICATE])
        .max_age(std::time::Duration::from_secs(600))
}

async fn discovery(State(state): State<AppState>) -> Json<Value> {
    Json(cds::discovery(&canonical(&state)))
}

/// A hook request (CDS Hooks 2.0 §"HTTP Request"); other members are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HookRequest {
    hook: String,
    #[serde(default)]
    context: Map<String, Value>,
    prefetch: Option<Value>,
    /// Where missing prefetch may be fetched from (only if on the allow-list).
    fhir_server: Option<String>,
    fhir_authorization: Option<FhirAuthorization>,
}

fn hook_of(id: &str) -> Result<&'static str, AppError> {
    cds::SERVICES
        .iter()
        .find(|(sid, _)| *sid == id)
        .map(|(_, hook)| *hook)
        .ok_or(AppError::NotFound)
}

fn service_url(state: &AppState, id: &str) -> String {
    format!(
        "{}/cds-services/{id}",
        state.settings.public_url.trim_end_matches('/')
    )
}

/// The longest a CDS Hooks token may claim to live: five minutes, as the specification
/// recommends.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 300;

/// The EHR behind a request, verified against the trust file. Without one the call is refused,
/// unless the server runs with the development flag `cds_unauthenticated`.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    address: Option<String>,
    audiences: Vec<String>,
) -> Result<Actor, AppError> {
    let mut actor = Actor {
        kind: crate::audit::ActorKind::Ehr,
        id: None,
        address,
    };
    let Some(trust) = state.settings.cds_trust.clone() else {
        if state.settings.cds_unauthenticated {
            return Ok(actor);
        }
        tracing::info!("CDS Hooks call refused: no trust file (AFTERCARE_CDS_TRUST)");
        return Err(AppError::Unauthorized);
    };
    let token = crate::extract::bearer(headers)
        .filter(|t| t.len() <= 16 * 1024)
        .ok_or(AppError::Unauthorized)?
        .to_string();
    // Signature checks are CPU work: off the async executor.
    let verified = tokio::task::spawn_blocking(move || trust.verify(&token, &audiences))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let claims = verified.map_err(|why| {
        tracing::info!(why, "CDS Hooks token refused");
        AppError::Unauthorized
    })?;
    let now = state.now().timestamp();
    if claims.iat > now + crate::cds_trust::LEEWAY_SECS {
        tracing::info!("CDS Hooks token refused: issued in the future");
        return Err(AppError::Unauthorized);
    }
    if claims.exp + crate::cds_trust::LEEWAY_SECS < now {
        tracing::info!("CDS Hooks token refused: expired");
        return Err(AppError::Unauthorized);
    }
    // CDS Hooks asks for short-lived tokens; a long one would also sit in the replay cache
    // for as long as it claims to live.
    if claims.exp > now + MAX_TOKEN_LIFETIME_SECS + crate::cds_trust::LEEWAY_SECS {
        tracing::info!("CDS Hooks token refused: expires too far ahead");
        return Err(AppError::Unauthorized);
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(AppError::Unauthorized)?;
    let expires = chrono::DateTime::from_timestamp(claims.exp + crate::cds_trust::LEEWAY_SECS, 0)
        .ok_or(AppError::Unauthorized)?;
    if !state
        .app
        .cds()
        .first_use(&format!("{}|{jti}", claims.iss), expires)
        .await?
    {
        tracing::info!("CDS Hooks token refused: replayed jti");
        return Err(AppError::Unauthorized);
    }
    actor.id = Some(claims.iss);
    Ok(actor)
}

/// `POST /cds-services/{id}`: the cards for the patient in the prefetch.
async fn call(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    ValidJson(body): ValidJson<HookRequest>,
) -> Result<Json<Value>, AppError> {
    let hook = hook_of(&id)?;
    let action = audit::Action::cds_hook(hook).ok_or(AppError::NotFound)?;
    let actor = authenticate(&state, &headers, address, vec![service_url(&state, &id)]).await?;
    if body.hook != hook {
        return Err(AppError::bad_field(
            "hook",
            format!("hook: this service answers {hook}"),
        ));
    }
    let content = &state.content;
    let canonical = canonical(&state);
    let source = Source {
        fhir_server: body.fhir_server.as_deref(),
        authorization: body.fhir_authorization.as_ref(),
        context: &body.context,
        today: state.now().date_naive(),
    };
    let completed = cds_fetch::complete(
        state.settings.cds_fhir_servers.as_deref(),
        &canonical,
        source,
        body.prefetch.as_ref(),
    )
    .await?;
    let prefetch = &completed.prefetch;
    let found =
        cds::case_from_prefetch(content, &canonical, Some(prefetch), state.now()).map_err(|e| {
            match e {
                PrefetchError::Missing(_) => AppError::PreconditionFailed(e.to_string()),
                PrefetchError::Invalid(i) => AppError::Import(i),
            }
        })?;
    let now = state.now();
    if !found.concerns_us(now) {
        // No recent neuraxial procedure and no Aftercare answers: nothing to say, no card.
        audit::record(
            &state,
            &actor,
            action,
            None,
            None,
            Some("no card: no recent neuraxial procedure and no Aftercare answers".into()),
        )
        .await?;
        return Ok(Json(json!({ "cards": [] })));
    }
    let decision = triage(content, &found.case);
    state.metrics.observe_decision(decision.level);
    let ours = known_patient(&state, &body, prefetch, found.patient_id.as_deref()).await?;
    let link = ours.as_ref().map(|p| {
        format!(
            "{}/clinic/patients/{}",
            state.settings.public_url.trim_end_matches('/'),
            p.id
        )
    });
    // An EHR that sends Accept-Language gets its cards in that language when we have it.
    let a = Assessment::of(content, &decision, lang::negotiate(content, None, &headers));
    let uuid = uuid::Uuid::new_v4().to_string();
    // Answers older than the level's check-in interval are marked stale on the card.
    let interval = content
        .level_info(decision.level)
        .check_in_again_hours
        .unwrap_or(12);
    let answered = found.answered_at.map(|at| {
        (
            at.format("%Y-%m-%d %H:%M UTC").to_string(),
            now - at > chrono::Duration::hours(i64::from(interval)),
        )
    });
    let card = cds::card(
        content,
        &a,
        &CardContext {
            answered,
            ignored_responses: found.ignored_responses,
            ..CardContext::new(&uuid, link.as_deref())
        },
    );
    let subject = aftercare_app::Subject {
        patient_id: ours.as_ref().map(|p| p.id.as_str()),
        clinic_id: ours.as_ref().map(|p| p.clinic_id.as_str()),
        detail: Some(audit_detail(&uuid, decision.level, &completed.fetched)),
    };
    state
        .app
        .cds()
        .issued(&actor, &uuid, &id, action, subject)
        .await?;
    Ok(Json(json!({ "cards": [card] })))
}

/// The audit row's detail: the card, its level, and which prefetch keys we fetched ourselves.
fn audit_detail(uuid: &str, level: impl std::fmt::Display, fetched: &[&str]) -> String {
    if fetched.is_empty() {
        format!("card {uuid}: {level}")
    } else {
        format!(
            "card {uuid}: {level}; fetched from fhirServer: {}",
            fetched.join(", ")
        )
    }
}

/// The patient of the request, when she is one of ours: by our identifier on the Patient, or by
/// the Patient id (records we exported keep our ids).
async fn known_patient(
    state: &AppState,
    body: &HookRequest,
    prefetch: &Value,
    prefetch_id: Option<&str>,
) -> Result<Option<aftercare_store::Patient>, AppError> {
    let system = canonical(state).patient_ids();
    let mut candidates: Vec<String> = prefetch
        .pointer("/patient/identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| i.get("system").and_then(Value::as_str) == Some(system.as_str()))
        .filter_map(|i| i.get("value").and_then(Value::as_str).map(str::to_string))
        .collect();
    candidates.extend(prefetch_id.map(str::to_string));
    candidates.extend(
        body.context
            .get("patientId")
            .and_then(Value::as_str)
            .map(str::to_string),
    );
    for id in candidates.iter().filter(|c| c.len() <= 64) {
        if let Some(p) = state.app.patients().get(id).await? {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

#[derive(Debug, Deserialize)]
struct FeedbackBody {
    feedback: Vec<FeedbackItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedbackItem {
    card: String,
    outcome: String,
    override_reason: Option<Value>,
    /// When the clinician acted (CDS Hooks 2.0: required).
    outcome_timestamp: Option<String>,
}

/// `POST /cds-services/{id}/feedback`: accepted and overridden cards, with the override reason.
async fn feedback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    ValidJson(body): ValidJson<FeedbackBody>,
) -> Result<StatusCode, AppError> {
    hook_of(&id)?;
    let url = service_url(&state, &id);
    let actor = authenticate(
        &state,
        &headers,
        address,
        vec![url.clone(), format!("{url}/feedback")],
    )
    .await?;
    if body.feedback.is_empty() {
        return Err(AppError::bad_field(
            "feedback",
            "feedback: at least one item",
        ));
    }
    for (i, item) in body.feedback.iter().enumerate() {
        if item.card.is_empty() || !aftercare_app::limits::plausible_key(&item.card) {
            return Err(AppError::bad_field(
                format!("feedback[{i}].card"),
                "card: the card's uuid",
            ));
        }
        if !matches!(item.outcome.as_str(), "accepted" | "overridden") {
            return Err(AppError::bad_field(
                format!("feedback[{i}].outcome"),
                "outcome: accepted or overridden",
            ));
        }
        let when = item
            .outcome_timestamp
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        if when.is_none() {
            return Err(AppError::bad_field(
                format!("feedback[{i}].outcomeTimestamp"),
                "outcomeTimestamp: when the card was acted on, as an instant (RFC 3339)",
            ));
        }
        // Feedback on a card this service never sent would record a decision nobody saw.
        if !state.app.cds().card_issued(&item.card, &id).await? {
            return Err(AppError::bad_field(
                format!("feedback[{i}].card"),
                "card: not a card this service sent",
            ));
        }
    }
    let items = body
        .feedback
        .into_iter()
        .map(|item| NewCdsFeedback {
            service_id: id.clone(),
            card_id: item.card,
            outcome: item.outcome,
            override_reason: item.override_reason.filter(|r| !r.is_null()),
            outcome_at: (item.outcome_timestamp.as_deref())
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc)),
        })
        .collect();
    state.app.cds().feedback(&actor, items).await?;
    Ok(StatusCode::OK)
}
