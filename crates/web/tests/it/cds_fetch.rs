//! CDS Hooks calls without prefetch, with a `fhirServer`: the service fetches the data itself
//! from a real (small) FHIR server started here on 127.0.0.1, which checks the bearer token and
//! records every request it receives, so a test can prove a server was never contacted.

use crate::support;

use aftercare_web::cds_fetch::{FhirFetcher, Limits};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::TestApp;

/// The app's public URL: the canonical of the Questionnaire the responses answer.
const PUBLIC: &str = "https://aftercare.test";
const TOKEN: &str = "ehr-access-token-0123456789";
const PATIENT: &str = "ehr-42";
const SERVICE: &str = "/cds-services/aftercare-patient-view";

/// How the fake FHIR server answers the Observation search (the other searches are normal).
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Normal,
    /// 1.5 MiB with a Content-Length.
    Oversized,
    /// 1.5 MiB streamed in chunks, no Content-Length.
    OversizedStreamed,
    Html,
    /// JSON, but no FHIR resource.
    PlainJson,
    /// Answers after 3 s.
    Slow,
}

#[derive(Clone)]
struct Fake {
    mode: Mode,
    records: Arc<Records>,
    /// Each request received: path and query, and the Authorization header.
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

/// The patient's record on the fake EHR: her Patient and the three searchsets.
struct Records {
    patient: Value,
    procedures: Value,
    responses: Value,
    observations: Value,
}

struct FakeServer {
    /// The FHIR base, `http://127.0.0.1:PORT/fhir`.
    base: String,
    origin: String,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeServer {
    async fn start(mode: Mode) -> FakeServer {
        let fake = Fake {
            mode,
            records: Arc::new(records()),
            seen: Arc::default(),
        };
        let seen = fake.seen.clone();
        let router = axum::Router::new().fallback(answer).with_state(fake);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        FakeServer {
            base: format!("{origin}/fhir"),
            origin,
            seen,
        }
    }

    fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn paths(&self) -> Vec<String> {
        let mut p: Vec<String> = self.seen().into_iter().map(|(p, _)| p).collect();
        p.sort();
        p
    }
}

fn fhir(v: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/fhir+json")],
        v.to_string(),
    )
        .into_response()
}

fn searchset(resources: Vec<Value>) -> Value {
    let entry: Vec<Value> = resources
        .into_iter()
        .map(|r| json!({ "resource": r, "search": { "mode": "match" } }))
        .collect();
    // A next link the service must not follow (it points nowhere).
    json!({ "resourceType": "Bundle", "type": "searchset", "total": entry.len(), "entry": entry,
            "link": [{ "relation": "next", "url": "http://127.0.0.1:9/fhir/next-page" }] })
}

async fn answer(State(fake): State<Fake>, uri: Uri, headers: HeaderMap) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let target = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    if let Ok(mut seen) = fake.seen.lock() {
        seen.push((target, authorization.clone()));
    }
    if authorization != format!("Bearer {TOKEN}") {
        let outcome = json!({ "resourceType": "OperationOutcome", "issue": [{ "severity": "error", "code": "login" }] });
        return (StatusCode::UNAUTHORIZED, fhir(&outcome)).into_response();
    }
    let r = &fake.records;
    match uri.path() {
        p if p == format!("/fhir/Patient/{PATIENT}") => fhir(&r.patient),
        "/fhir/Procedure" => fhir(&r.procedures),
        "/fhir/QuestionnaireResponse" => fhir(&r.responses),
        "/fhir/Observation" => match fake.mode {
            Mode::Normal => fhir(&r.observations),
            Mode::Oversized => fhir(&json!({ "resourceType": "Bundle", "type": "searchset",
                "entry": [{ "resource": { "resourceType": "Basic", "text": "x".repeat(1536 * 1024) } }] })),
            Mode::OversizedStreamed => {
                let chunks =
                    (0..24).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 64 * 1024])));
                (
                    [(header::CONTENT_TYPE, "application/fhir+json")],
                    Body::from_stream(futures_util::stream::iter(chunks)),
                )
                    .into_response()
            }
            Mode::Html => {
                ([(header::CONTENT_TYPE, "text/html")], "<html>login</html>").into_response()
            }
            Mode::PlainJson => axum::Json(json!({ "hello": "world" })).into_response(),
            Mode::Slow => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                fhir(&r.observations)
            }
        },
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// An emergency (V16, both legs weak and numb hours after the epidural) as the EHR holds it.
fn records() -> Records {
    let case = support::vignette("V16");
    let content = aftercare_core::Content::bundled().expect("content");
    let canonical = aftercare_fhir::Canonical::new(PUBLIC);
    let answers = case.as_object().cloned().expect("case object");
    let subject = format!("Patient/{PATIENT}");
    let meta = aftercare_fhir::import::ResponseMeta {
        id: "qr1",
        subject: Some(&subject),
        authored: Some("2025-03-04T08:00:00Z"),
    };
    let response = aftercare_fhir::import::to_response(&content, &canonical, &answers, &meta);
    Records {
        patient: json!({ "resourceType": "Patient", "id": PATIENT }),
        procedures: searchset(vec![json!({
            "resourceType": "Procedure", "id": "pr1", "status": "completed",
            "subject": { "reference": subject },
            "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "18946005" }] },
            "performedDateTime": "2025-03-04T02:00:00Z",
        })]),
        responses: searchset(vec![response]),
        observations: searchset(vec![json!({
            "resourceType": "Observation", "id": "o1", "status": "final",
            "code": { "coding": [{ "system": "http://loinc.org", "code": "72514-3" }] },
            "subject": { "reference": subject },
            "effectiveDateTime": "2025-03-04T07:00:00Z",
            "valueQuantity": { "value": 6, "unit": "{score}", "system": "http://unitsofmeasure.org", "code": "{score}" },
        })]),
    }
}

/// The full prefetch, as an EHR that prefetches sends it.
fn full_prefetch() -> Value {
    let r = records();
    json!({ "patient": r.patient, "procedures": r.procedures,
            "questionnaireResponses": r.responses, "painObservations": r.observations })
}

/// A patient-view request naming `server`, with `token`, and `prefetch` if given.
fn hook_request(server: &str, token: &str, prefetch: Option<Value>) -> Value {
    let mut v = json!({
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "hook": "patient-view",
        "fhirServer": server,
        "fhirAuthorization": { "access_token": token, "token_type": "Bearer", "expires_in": 300,
            "scope": "user/Patient.read user/Procedure.read user/QuestionnaireResponse.read user/Observation.read",
            "subject": "aftercare-cds" },
        "context": { "userId": "Practitioner/example", "patientId": PATIENT },
    });
    if let Some(p) = prefetch {
        v["prefetch"] = p;
    }
    v
}

/// An app whose allow-list is `bases`; `None`: no allow-list at all.
async fn app(bases: Option<Vec<String>>, limits: Limits) -> TestApp {
    let fetcher = bases.map(|b| Arc::new(FhirFetcher::new(&b, limits).expect("allow-list")));
    TestApp::sqlite_with(move |s| {
        s.public_url = PUBLIC.into();
        s.cds_fhir_servers = fetcher;
        // These tests are about fetching, not tokens.
        s.cds_unauthenticated = true;
    })
    .await
}

/// The queries of the discovery document's prefetch templates for our patient, as the FHIR
/// server sees them.
async fn discovery_queries(app: &TestApp, keys: &[&str]) -> Vec<String> {
    let (status, discovery) = app.get("/cds-services", None).await;
    assert_eq!(status, 200);
    let templates = &discovery["services"][0]["prefetch"];
    let mut q: Vec<String> = keys
        .iter()
        .map(|k| {
            let t = templates[*k].as_str().expect("a template");
            let year_ago = (chrono::Utc::now() - chrono::Duration::days(365)).format("%Y-%m-%d");
            let t = t
                .replace("{{context.patientId}}", PATIENT)
                .replace("{{today() - 365 days}}", &year_ago.to_string());
            format!("/fhir/{t}")
        })
        .collect();
    q.sort();
    q
}

fn assert_precondition_failed(status: u16, body: &Value, says: &str) {
    assert_eq!(status, 412, "{body}");
    assert_eq!(body["type"], "/problems/precondition-failed", "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(says), "{detail:?} should say {says:?}");
    assert!(!detail.contains(TOKEN), "the token must not be echoed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_fetched_from_the_fhir_server_gets_the_same_critical_card_as_prefetched() {
    let fake = FakeServer::start(Mode::Normal).await;
    let app = app(Some(vec![fake.base.clone()]), Limits::default()).await;

    let (status, prefetched) = app
        .post_json(
            SERVICE,
            None,
            &hook_request(&fake.base, TOKEN, Some(full_prefetch())),
        )
        .await;
    assert_eq!(status, 200, "{prefetched}");
    assert!(fake.seen().is_empty(), "a full prefetch needs no fetch");

    let (status, fetched) = app
        .post_json(SERVICE, None, &hook_request(&fake.base, TOKEN, None))
        .await;
    assert_eq!(status, 200, "{fetched}");
    let (a, b) = (&prefetched["cards"][0], &fetched["cards"][0]);
    assert_eq!(b["indicator"], "critical", "{b}");
    assert_eq!(a["summary"], b["summary"]);
    assert_eq!(
        a["detail"], b["detail"],
        "the same reasons, actions and version"
    );

    let keys = [
        "patient",
        "procedures",
        "questionnaireResponses",
        "painObservations",
    ];
    assert_eq!(fake.paths(), discovery_queries(&app, &keys).await);
    assert!(fake
        .seen()
        .iter()
        .all(|(_, auth)| auth == &format!("Bearer {TOKEN}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_prefetch_fetches_only_the_missing_keys() {
    let fake = FakeServer::start(Mode::Normal).await;
    let app = app(Some(vec![fake.base.clone()]), Limits::default()).await;
    let full = full_prefetch();
    let partial = json!({ "patient": full["patient"], "procedures": full["procedures"] });
    let (status, answer) = app
        .post_json(
            SERVICE,
            None,
            &hook_request(&fake.base, TOKEN, Some(partial)),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["cards"][0]["indicator"], "critical");
    assert_eq!(
        fake.paths(),
        discovery_queries(&app, &["questionnaireResponses", "painObservations"]).await
    );

    // A null is the EHR saying it has no data: not fetched either.
    let fake = FakeServer::start(Mode::Normal).await;
    let app2 = self::app(Some(vec![fake.base.clone()]), Limits::default()).await;
    let with_null = json!({ "patient": full["patient"], "questionnaireResponses": full["questionnaireResponses"],
                            "procedures": null, "painObservations": null });
    let (status, _) = app2
        .post_json(
            SERVICE,
            None,
            &hook_request(&fake.base, TOKEN, Some(with_null)),
        )
        .await;
    assert_eq!(status, 200);
    assert!(fake.seen().is_empty(), "{:?}", fake.seen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fhir_server_not_on_the_allow_list_is_never_contacted() {
    let fake = FakeServer::start(Mode::Normal).await;
    let tenant = format!("{}/tenant-a", fake.base);
    let app = app(
        Some(vec!["https://ehr.example.org/fhir".into(), tenant.clone()]),
        Limits::default(),
    )
    .await;
    let port = fake.origin.rsplit(':').next().unwrap_or_default();
    for server in [
        fake.base.clone(),                                // the parent of an allowed base
        format!("{tenant}b"),                             // not at a segment boundary
        format!("{tenant}/../tenant-b"),                  // out of it after normalising
        format!("http://localhost:{port}/fhir/tenant-a"), // another host name
        format!("{tenant}?x=1"),
        // Paths that a FHIR server behind a proxy may read as going up: refused before parsing.
        format!("{tenant}/..;/admin"),
        format!("{tenant}/%2e%2e%2fadmin"),
        format!("{tenant}/..%5cadmin"),
        format!("{tenant}\\..\\admin"),
        format!("{tenant};jsessionid=1"),
        "https://ehr.example.org.evil.test/fhir".into(),
        "file:///etc/passwd".into(),
        "not a url".into(),
    ] {
        let (status, body) = app
            .post_json(SERVICE, None, &hook_request(&server, TOKEN, None))
            .await;
        assert_precondition_failed(status, &body, "allow-list");
    }
    assert!(fake.seen().is_empty(), "contacted: {:?}", fake.seen());

    // With no allow-list at all, nothing is ever fetched, and the message says so.
    let app = self::app(None, Limits::default()).await;
    let (status, body) = app
        .post_json(SERVICE, None, &hook_request(&fake.base, TOKEN, None))
        .await;
    assert_precondition_failed(status, &body, "not configured to fetch");
    assert!(fake.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_a_clear_precondition_failure() {
    let fake = FakeServer::start(Mode::Normal).await;
    let app = app(Some(vec![fake.base.clone()]), Limits::default()).await;
    let (status, body) = app
        .post_json(
            SERVICE,
            None,
            &hook_request(&fake.base, "wrong-token", None),
        )
        .await;
    assert_precondition_failed(status, &body, "answered 401");
    assert!(body["detail"]
        .as_str()
        .is_some_and(|d| d.contains("fhirAuthorization")));
    let seen = fake.seen();
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|(_, auth)| auth == "Bearer wrong-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_type_or_patient_id_is_refused_before_any_fetch() {
    let fake = FakeServer::start(Mode::Normal).await;
    let app = app(Some(vec![fake.base.clone()]), Limits::default()).await;
    let mut mac = hook_request(&fake.base, TOKEN, None);
    mac["fhirAuthorization"]["token_type"] = json!("MAC");
    let (status, body) = app.post_json(SERVICE, None, &mac).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "fhirAuthorization.token_type");
    let mut traversal = hook_request(&fake.base, TOKEN, None);
    traversal["context"]["patientId"] = json!("../Admin");
    let (status, body) = app.post_json(SERVICE, None, &traversal).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "context.patientId");
    assert!(fake.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_answer_is_refused() {
    for mode in [Mode::Oversized, Mode::OversizedStreamed] {
        let fake = FakeServer::start(mode).await;
        let app = app(Some(vec![fake.base.clone()]), Limits::default()).await;
        let (status, body) = app
            .post_json(SERVICE, None, &hook_request(&fake.base, TOKEN, None))
            .await;
        assert_precondition_failed(status, &body, "larger than 1048576 bytes");
        assert!(body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("painObservations")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_other_way_a_fhir_server_fails_is_a_clear_precondition_failure() {
    let short = Limits {
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    for (mode, says) in [
        (Mode::Html, "not FHIR JSON"),
        (Mode::PlainJson, "not a FHIR Bundle"),
        (Mode::Slow, "did not answer within 300 ms"),
    ] {
        let fake = FakeServer::start(mode).await;
        let app = app(Some(vec![fake.base.clone()]), short).await;
        let (status, body) = app
            .post_json(SERVICE, None, &hook_request(&fake.base, TOKEN, None))
            .await;
        assert_precondition_failed(status, &body, says);
    }
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/fhir", l.local_addr().expect("address"))
    };
    let app = app(Some(vec![closed.clone()]), short).await;
    let (status, body) = app
        .post_json(SERVICE, None, &hook_request(&closed, TOKEN, None))
        .await;
    assert_precondition_failed(status, &body, "could not be reached");
}
