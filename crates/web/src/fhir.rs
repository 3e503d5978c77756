//! FHIR R4 over HTTP: the Questionnaire (public), a patient's record as a Bundle
//! (`Patient/{id}/$everything`), and `QuestionnaireResponse/$triage`, which lets an EHR or a
//! forms tool drive Aftercare. The mapping itself is in `aftercare-fhir`; this module reads the
//! store, checks who asks, writes the audit log and answers `application/fhir+json`, with errors
//! as OperationOutcome (see [`FhirError`]).
//!
//! Who may read a record: for now the patient herself, with the bearer token of her personal link
//! (the same as the patient API). Staff access will use staff sessions once they exist. Every
//! read is audited.

use crate::error::{AppError, FhirError};
use crate::extract::ValidJson;
use crate::patient::PatientAuth;
use crate::state::AppState;
use aftercare_core::triage;
use aftercare_fhir::assessment::{self, Assessment, Context};
use aftercare_fhir::bundle::{self};
use aftercare_fhir::{definitions, import, questionnaire, Canonical};
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

/// The FHIR JSON media type.
pub const FHIR_JSON: &str = "application/fhir+json";

/// A FHIR resource as a response.
pub struct Fhir(pub Value);

impl IntoResponse for Fhir {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        ([(header::CONTENT_TYPE, FHIR_JSON)], body).into_response()
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/fhir/metadata", get(metadata))
        .route("/fhir/Questionnaire", get(search_questionnaire))
        .route("/fhir/Questionnaire/aftercare", get(questionnaire))
        .route("/fhir/CodeSystem", get(search_code_systems))
        .route("/fhir/CodeSystem/{id}", get(code_system))
        .route("/fhir/OperationDefinition/triage", get(triage_operation))
        .route("/fhir/Patient/{id}/$everything", get(everything))
        .route("/fhir/Patient", get(search_of("Patient")))
        .route("/fhir/Patient/{id}", get(read_of("Patient")))
        .route(
            "/fhir/QuestionnaireResponse",
            get(search_of("QuestionnaireResponse")),
        )
        .route(
            "/fhir/QuestionnaireResponse/{id}",
            get(read_of("QuestionnaireResponse")),
        )
        .route("/fhir/RiskAssessment", get(search_of("RiskAssessment")))
        .route("/fhir/RiskAssessment/{id}", get(read_of("RiskAssessment")))
        .route("/fhir/CarePlan", get(search_of("CarePlan")))
        .route("/fhir/CarePlan/{id}", get(read_of("CarePlan")))
        .route("/fhir/Observation", get(search_of("Observation")))
        .route("/fhir/Observation/{id}", get(read_of("Observation")))
        .route("/fhir/QuestionnaireResponse/$triage", post(triage_response))
        // Anything else under /fhir is a FHIR error, not the API's problem body.
        .route("/fhir", axum::routing::any(unknown))
        .route("/fhir/{*rest}", axum::routing::any(unknown))
        .layer(axum::middleware::from_fn(json_only))
}

/// `GET /fhir/metadata`: what this server does, as a CapabilityStatement, so FHIR clients
/// recognise it. It lists only what is served.
async fn metadata(State(state): State<AppState>) -> Fhir {
    let canonical = canonical(&state);
    let server = canonical.server().to_string();
    Fhir(json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-01",
        "publisher": "Aftercare",
        "kind": "instance",
        "software": { "name": "Aftercare", "version": env!("CARGO_PKG_VERSION") },
        "implementation": {
            "description": "Aftercare: triage and recovery after an epidural, spinal or epidural steroid injection",
            "url": server,
        },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "description": "A patient's record (Patient/{id}/$everything, and read and search of Patient, QuestionnaireResponse, RiskAssessment, CarePlan and Observation) needs her own bearer token (her personal link) and shows only her record; the Questionnaire and our definitions are public; QuestionnaireResponse/$triage stores nothing.",
            },
            "resource": [
                searchable("Questionnaire", "url", "uri"),
                searchable("CodeSystem", "url", "uri"),
                {
                    "type": "OperationDefinition",
                    "interaction": [{ "code": "read" }],
                },
                {
                    "type": "Patient",
                    "interaction": [{ "code": "read" }, { "code": "search-type" }],
                    "searchParam": [{ "name": "_id", "type": "token" }],
                    "operation": [{
                        "name": "everything",
                        "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                    }],
                },
                {
                    "type": "QuestionnaireResponse",
                    "interaction": [{ "code": "read" }, { "code": "search-type" }],
                    "searchParam": [{ "name": "patient", "type": "reference" }],
                    "operation": [{
                        "name": "triage",
                        "definition": canonical.triage_operation(),
                    }],
                },
                searchable("RiskAssessment", "patient", "reference"),
                searchable("CarePlan", "patient", "reference"),
                searchable("Observation", "patient", "reference"),
            ],
        }],
    }))
}

/// A CapabilityStatement resource entry: read, and search by one parameter.
fn searchable(kind: &str, param: &str, param_type: &str) -> Value {
    json!({
        "type": kind,
        "interaction": [{ "code": "read" }, { "code": "search-type" }],
        "searchParam": [{ "name": param, "type": param_type }],
    })
}

/// An address under `/fhir` that nothing serves: 404 as an OperationOutcome.
async fn unknown() -> FhirError {
    AppError::NotFound.into()
}

/// This server speaks FHIR JSON only: a client that accepts only XML gets 406 with an
/// OperationOutcome, before any work is done.
async fn json_only(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let format = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("_format=")))
        .unwrap_or("")
        .to_ascii_lowercase();
    let wants_xml = format.contains("xml")
        || (accept.contains("xml") && !accept.contains("json") && !accept.contains("*/*"));
    if wants_xml {
        let outcome = aftercare_fhir::outcome::operation_outcome(
            aftercare_fhir::outcome::IssueCode::NotSupported,
            "this server answers FHIR JSON only (application/fhir+json)",
            None,
        );
        let body = serde_json::to_vec(&outcome).unwrap_or_default();
        return (
            axum::http::StatusCode::NOT_ACCEPTABLE,
            [(header::CONTENT_TYPE, FHIR_JSON)],
            body,
        )
            .into_response();
    }
    next.run(req).await
}

/// Our canonical base, from the public URL.
pub fn canonical(state: &AppState) -> Canonical {
    Canonical::new(&state.settings.public_url)
}

/// `GET /fhir/Questionnaire/aftercare`: public, no patient data.
async fn questionnaire(State(state): State<AppState>) -> Fhir {
    Fhir(questionnaire::questionnaire(
        &state.content,
        &canonical(&state),
    ))
}

/// `GET /fhir/Questionnaire?url=...`: the Questionnaire, found by its canonical URL.
async fn search_questionnaire(State(state): State<AppState>, RawQuery(query): RawQuery) -> Fhir {
    let q = questionnaire::questionnaire(&state.content, &canonical(&state));
    Fhir(searchset(&state, vec![q], query.as_deref()))
}

/// `GET /fhir/CodeSystem/{id}`: one of our code systems.
async fn code_system(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Fhir, FhirError> {
    definitions::code_systems(&state.content, &canonical(&state))
        .into_iter()
        .find(|cs| definitions::id_of(cs) == id)
        .map(Fhir)
        .ok_or_else(|| AppError::NotFound.into())
}

/// `GET /fhir/CodeSystem?url=...`: our code systems, all or the one with that canonical URL.
async fn search_code_systems(State(state): State<AppState>, RawQuery(query): RawQuery) -> Fhir {
    let all = definitions::code_systems(&state.content, &canonical(&state));
    Fhir(searchset(&state, all, query.as_deref()))
}

/// `GET /fhir/OperationDefinition/triage`.
async fn triage_operation(State(state): State<AppState>) -> Fhir {
    Fhir(definitions::triage_operation(&canonical(&state)))
}

/// A searchset of the definitions whose `url` (and `version`, given as `url|version`) match the
/// query's `url`; all of them without one.
fn searchset(state: &AppState, resources: Vec<Value>, query: Option<&str>) -> Value {
    let params: Vec<(String, String)> = query
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let wanted = params
        .iter()
        .find(|(k, _)| k == "url")
        .map(|(_, v)| v.as_str());
    let found = resources.into_iter().filter(|r| {
        let Some(w) = wanted else { return true };
        let (url, version) = w.split_once('|').map_or((w, None), |(u, v)| (u, Some(v)));
        r["url"].as_str() == Some(url) && version.is_none_or(|v| r["version"].as_str() == Some(v))
    });
    matches(state, found)
}

/// A searchset Bundle of these resources, each a match, with its `fullUrl` on this server.
fn matches(state: &AppState, resources: impl Iterator<Item = Value>) -> Value {
    let server = canonical(state).server().to_string();
    let entries: Vec<Value> = resources
        .map(|r| {
            let full = format!(
                "{server}/{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            );
            json!({ "fullUrl": full, "resource": r, "search": { "mode": "match" } })
        })
        .collect();
    let mut bundle =
        json!({ "resourceType": "Bundle", "type": "searchset", "total": entries.len() });
    if !entries.is_empty() {
        bundle["entry"] = json!(entries);
    }
    bundle
}

/// `GET /fhir/Patient/{id}/$everything`: her own record, as a Bundle.
async fn everything(
    State(state): State<AppState>,
    auth: Result<PatientAuth, AppError>,
    Path(id): Path<String>,
) -> Result<Fhir, FhirError> {
    let auth = auth?;
    // Another patient's record is as invisible as a missing one.
    if auth.patient.id != id {
        return Err(AppError::NotFound.into());
    }
    let bundle = state
        .app
        .export()
        .patient_bundle(&auth.actor, &canonical(&state), &auth.patient, None)
        .await?;
    Ok(Fhir(bundle))
}

/// The resources of her record of one type, from the same export as `$everything` (and audited
/// as it is): a patient's token reads her own record only.
async fn her_resources(
    state: &AppState,
    auth: &PatientAuth,
    kind: &str,
) -> Result<Vec<Value>, FhirError> {
    let bundle = state
        .app
        .export()
        .patient_bundle(&auth.actor, &canonical(state), &auth.patient, None)
        .await?;
    Ok(bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"].clone())
        .filter(|r| r["resourceType"] == kind)
        .collect())
}

/// `GET /fhir/{kind}/{id}`: one resource of her record; another's, or none, is 404.
fn read_of(
    kind: &'static str,
) -> impl Fn(State<AppState>, Result<PatientAuth, AppError>, Path<String>) -> ReadFuture + Clone {
    move |State(state), auth, Path(id)| {
        Box::pin(async move {
            let auth = auth?;
            her_resources(&state, &auth, kind)
                .await?
                .into_iter()
                .find(|r| r["id"].as_str() == Some(id.as_str()))
                .map(Fhir)
                .ok_or_else(|| AppError::NotFound.into())
        })
    }
}

type ReadFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Fhir, FhirError>> + Send>>;

/// `GET /fhir/{kind}?patient=...`: a searchset of her resources of that kind. `patient`,
/// `subject` (`Patient/{id}`) and, for Patient, `_id` narrow it; naming anyone else finds
/// nothing.
fn search_of(
    kind: &'static str,
) -> impl Fn(State<AppState>, Result<PatientAuth, AppError>, RawQuery) -> ReadFuture + Clone {
    move |State(state), auth, RawQuery(query)| {
        Box::pin(async move {
            let auth = auth?;
            let params: Vec<(String, String)> = query
                .as_deref()
                .and_then(|q| serde_urlencoded::from_str(q).ok())
                .unwrap_or_default();
            // Only these parameters are understood; any other would be silently ignored and
            // every resource returned as a match, so it is refused.
            if let Some((k, _)) = params
                .iter()
                .find(|(k, _)| !matches!(k.as_str(), "patient" | "subject" | "_id" | "_format"))
            {
                return Err(AppError::bad_field(
                    k.clone(),
                    format!(
                        "{k}: not a search parameter this server supports (patient, subject, _id)"
                    ),
                )
                .into());
            }
            let her = auth.patient.id.clone();
            // `Patient/123` or a full URL ending in it.
            let reference = |v: &str| v.rsplit("Patient/").next().unwrap_or(v).to_string();
            let names_her = params.iter().all(|(k, v)| match k.as_str() {
                "patient" | "subject" => reference(v) == her,
                "_id" if kind == "Patient" => *v == her,
                _ => true,
            });
            let wanted_id = params
                .iter()
                .find(|(k, _)| k == "_id")
                .map(|(_, v)| v.clone());
            let found: Vec<Value> = if names_her {
                her_resources(&state, &auth, kind)
                    .await?
                    .into_iter()
                    .filter(|r| {
                        wanted_id
                            .as_deref()
                            .is_none_or(|id| r["id"].as_str() == Some(id))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok(Fhir(matches(&state, found.into_iter())))
        })
    }
}

/// `POST /fhir/QuestionnaireResponse/$triage`: a response to our Questionnaire in, a FHIR
/// Parameters out with the RiskAssessment, the CarePlan (when there is one) and the decision as
/// Aftercare's own JSON. Nothing is stored. A wrong answer is a 422 OperationOutcome naming the
/// item.
async fn triage_response(
    State(state): State<AppState>,
    body: Result<ValidJson<Value>, AppError>,
) -> Result<Fhir, FhirError> {
    let ValidJson(body) = body?;
    let content = &state.content;
    let canonical = canonical(&state);
    let (case, _) = import::from_response(content, &canonical, &body)?;
    let decision = triage(content, &case);
    state.metrics.observe_decision(decision.level);
    let lang = body
        .get("language")
        .and_then(Value::as_str)
        .and_then(|l| content.lang(l.split('-').next().unwrap_or(l)))
        .unwrap_or_else(|| content.default_lang());
    let view = aftercare_core::DecisionView::new(content, &decision, lang);
    let view_json = serde_json::to_value(&view).map_err(|e| AppError::Internal(e.to_string()))?;
    let a = Assessment::from_stored(&view_json);
    let at = bundle::instant(state.now());
    let subject = body.pointer("/subject/reference").and_then(Value::as_str);
    let ctx = Context {
        id: "triage",
        subject,
        at: Some(&at),
        basis: None,
    };
    let mut parameters = vec![
        json!({ "name": "riskAssessment", "resource": assessment::risk_assessment(&canonical, &a, &ctx) }),
        json!({ "name": "level", "valueCode": decision.level.as_str() }),
        json!({ "name": "decision", "valueString": view_json.to_string() }),
    ];
    let plan_ctx = Context {
        id: "triage-plan",
        ..ctx
    };
    if let Some(plan) = assessment::care_plan(
        &canonical,
        &a,
        &plan_ctx,
        Some(state.now().date_naive()),
        None,
    ) {
        parameters.push(json!({ "name": "carePlan", "resource": plan }));
    }
    Ok(Fhir(
        json!({ "resourceType": "Parameters", "parameter": parameters }),
    ))
}
