//! FHIR and CDS Hooks over a real port, with a fresh SQLite store per test: what an EHR, a forms
//! tool and a patient exporting her record see.
//!
//! The validator test runs when `AFTERCARE_FHIR_PYTHON` names a Python with
//! `requirements-fhir.txt` installed; otherwise it prints why it skipped.

use aftercare_core::{triage, Case, Content};
use aftercare_store::Autocommit as _;
use aftercare_store::{NewClinic, NewMessage, NewPatient, Side, Store};
use aftercare_web::cds_trust::CdsTrust;
use aftercare_web::{AppState, Settings};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct TestApp {
    base: String,
    store: Arc<dyn Store>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl TestApp {
    async fn start(trust: Option<CdsTrust>) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            aftercare_store::connect(&format!("sqlite:{}", dir.path().join("a.db").display()))
                .await
                .expect("store opens");
        store.migrate().await.expect("migrations apply");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let settings = Settings {
            public_url: base.clone(),
            // Without a trust file the tests run the service as a developer would.
            cds_unauthenticated: trust.is_none(),
            cds_trust: trust.map(Arc::new),
            ..Settings::default()
        };
        let state = AppState::new(
            Content::bundled().expect("content"),
            store.clone(),
            settings,
        );
        tokio::spawn(aftercare_web::serve(
            listener,
            state,
            std::future::pending(),
        ));
        TestApp {
            base,
            store,
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A clinic and a patient who had a labour epidural two days ago; returns (id, link token).
    async fn patient(&self) -> (String, String) {
        let now = Utc::now();
        let clinic = self
            .store
            .create_clinic(
                NewClinic {
                    slug: "south".into(),
                    name: "South".into(),
                    opening_hours: json!({}),
                },
                now,
            )
            .await
            .expect("clinic");
        let day = now.date_naive() - Duration::days(2);
        let p = self
            .store
            .create_patient(
                NewPatient {
                    clinic_id: clinic.id,
                    display_name: "Ana".into(),
                    enrolment_code: "ANA-1".into(),
                    link_token: "link-token-ana-0123456789".into(),
                    procedure: "labour_epidural".into(),
                    procedure_date: day,
                    delivery_date: Some(day),
                    language: "en".into(),
                },
                now,
            )
            .await
            .expect("patient");
        (p.id.into(), p.link_token.expose().to_string())
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }
}

fn vignettes() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(root().join("tests/vignettes"))
        .expect("vignettes")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).expect("readable"))
                .expect("JSON");
            (
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                v,
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A vignette's case as a QuestionnaireResponse to our Questionnaire (what a forms tool sends).
fn response_of(base: &str, case: &Value) -> Value {
    let content = Content::bundled().expect("content");
    let canonical = aftercare_fhir::Canonical::new(base);
    let answers = case.as_object().cloned().expect("case object");
    let meta = aftercare_fhir::import::ResponseMeta {
        id: "qr1",
        subject: Some("Patient/ehr-42"),
        authored: Some("2025-03-04T08:00:00Z"),
    };
    aftercare_fhir::import::to_response(&content, &canonical, &answers, &meta)
}

#[tokio::test]
async fn a_patient_exports_her_record_as_a_bundle_that_passes_the_validator() {
    let app = TestApp::start(None).await;
    let (id, token) = app.patient().await;
    let checkin = json!({ "answers": vignettes()[0].1["case"].clone() });
    let r = app
        .client
        .post(app.url("/api/v1/checkins"))
        .bearer_auth(&token)
        .json(&checkin)
        .send()
        .await
        .expect("check-in");
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let today = Utc::now().date_naive();
    let r = app
        .client
        .put(app.url(&format!("/api/v1/diary/{today}")))
        .bearer_auth(&token)
        .json(&json!({ "pain": 4 }))
        .send()
        .await
        .expect("diary");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    app.store
        .post_message(
            NewMessage {
                patient_id: id.clone().into(),
                sender: Side::Patient,
                staff_id: None,
                body: "Is this normal?".into(),
            },
            Utc::now(),
        )
        .await
        .expect("message");

    let r = app
        .client
        .get(app.url(&format!("/fhir/Patient/{id}/$everything")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), 200);
    assert_eq!(content_type(&r), "application/fhir+json");
    let bundle: Value = r.json().await.expect("JSON");
    let kinds: Vec<&str> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["resource"]["resourceType"].as_str())
        .collect();
    for kind in [
        "Patient",
        "Procedure",
        "QuestionnaireResponse",
        "Observation",
        "RiskAssessment",
        "CarePlan",
        "Communication",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    let audit = app
        .store
        .list_audit(
            &app.store
                .get_patient(&id.clone().into())
                .await
                .expect("read")
                .expect("patient")
                .clinic_id,
            Default::default(),
        )
        .await
        .expect("audit");
    assert!(audit
        .iter()
        .any(|a| a.action == "fhir.export" && a.patient_id.as_deref() == Some(id.as_str())));

    let Some(python) = std::env::var_os("AFTERCARE_FHIR_PYTHON") else {
        println!("validator skipped: set AFTERCARE_FHIR_PYTHON to a Python with requirements-fhir.txt installed");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("bundle.json"), bundle.to_string()).expect("written");
    let q: Value = app
        .client
        .get(app.url("/fhir/Questionnaire/aftercare"))
        .send()
        .await
        .expect("q")
        .json()
        .await
        .expect("JSON");
    std::fs::write(dir.path().join("questionnaire.json"), q.to_string()).expect("written");
    let meta: Value = app
        .client
        .get(app.url("/fhir/metadata"))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("JSON");
    std::fs::write(dir.path().join("metadata.json"), meta.to_string()).expect("written");
    let out = std::process::Command::new(python)
        .arg(root().join("scripts/validate-fhir.py"))
        .arg(dir.path())
        .output()
        .expect("validator runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The npm validators (@medplum/core, fhirpath.js on every R4 invariant), when installed.
    if let Some(folder) = std::env::var_os("AFTERCARE_FHIR_NODE_VALIDATORS") {
        let out = std::process::Command::new("node")
            .arg(Path::new(&folder).join("validate.mjs"))
            .arg(dir.path())
            .output()
            .expect("node runs");
        assert!(
            out.status.success(),
            "npm validators refused:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn a_record_is_only_exported_to_its_own_patient() {
    let app = TestApp::start(None).await;
    let (id, token) = app.patient().await;
    let r = app
        .client
        .get(app.url(&format!("/fhir/Patient/{id}/$everything")))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);
    assert_eq!(content_type(&r), "application/fhir+json");
    let outcome: Value = r.json().await.expect("JSON");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let r = app
        .client
        .get(app.url("/fhir/Patient/someone-else/$everything"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 404);
}

/// Read and search of her record's resources, as FHIR clients expect them: hers with her token,
/// nothing of anyone else's, 401 without a token.
#[tokio::test]
async fn her_resources_can_be_read_and_searched_with_her_token_only() {
    let app = TestApp::start(None).await;
    let (id, token) = app.patient().await;
    let west = app
        .store
        .create_clinic(
            NewClinic {
                slug: "west".into(),
                name: "West".into(),
                opening_hours: json!({}),
            },
            Utc::now(),
        )
        .await
        .expect("clinic");
    let day = Utc::now().date_naive() - Duration::days(2);
    let other = app
        .store
        .create_patient(
            NewPatient {
                clinic_id: west.id,
                display_name: "Bea".into(),
                enrolment_code: "BEA-1".into(),
                link_token: "link-token-bea-0123456789".into(),
                procedure: "labour_epidural".into(),
                procedure_date: day,
                delivery_date: Some(day),
                language: "en".into(),
            },
            Utc::now(),
        )
        .await
        .expect("patient");
    let (other_id, other_token) = (other.id.clone(), other.link_token.expose().to_string());
    let checkin = json!({ "answers": vignettes()[0].1["case"].clone() });
    let r = app
        .client
        .post(app.url("/api/v1/checkins"))
        .bearer_auth(&token)
        .json(&checkin)
        .send()
        .await
        .expect("check-in");
    assert_eq!(r.status(), 201);
    let get = |path: String, token: Option<String>| {
        let mut req = app.client.get(app.url(&path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let r = req.send().await.expect("request");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("JSON"))
        }
    };
    let mine = Some(token.clone());
    let (status, patient) = get(format!("/fhir/Patient/{id}"), mine.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(patient["resourceType"], "Patient");
    for kind in ["QuestionnaireResponse", "RiskAssessment"] {
        let (status, found) = get(format!("/fhir/{kind}?patient={id}"), mine.clone()).await;
        assert_eq!(status, 200, "{kind}");
        assert_eq!(found["type"], "searchset");
        assert!(found["total"].as_u64().unwrap_or(0) >= 1, "{kind}: {found}");
        let one = &found["entry"][0]["resource"];
        assert_eq!(one["resourceType"], kind);
        let rid = one["id"].as_str().expect("an id");
        let (status, read) = get(format!("/fhir/{kind}/{rid}"), mine.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(&read, one);
        // Someone else's token does not see it; a search naming someone else finds nothing.
        let (status, outcome) = get(format!("/fhir/{kind}/{rid}"), Some(other_token.clone())).await;
        assert_eq!(status, 404);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        let (_, none) = get(format!("/fhir/{kind}?patient={other_id}"), mine.clone()).await;
        assert_eq!(none["total"], 0);
        let (status, _) = get(format!("/fhir/{kind}?patient={id}"), None).await;
        assert_eq!(status, 401);
    }
    let (status, _) = get(format!("/fhir/Patient/{id}"), Some(other_token)).await;
    assert_eq!(status, 404);
    // A parameter it does not support is refused, not silently ignored; a full reference works.
    let (status, outcome) = get(
        format!("/fhir/Observation?patient={id}&_count=1"),
        mine.clone(),
    )
    .await;
    assert!(status >= 400, "{status}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let full = format!("{}/fhir/Patient/{id}", app.base);
    let (_, by_url) = get(format!("/fhir/RiskAssessment?subject={}", enc(&full)), mine).await;
    assert!(by_url["total"].as_u64().unwrap_or(0) >= 1, "{by_url}");
}

#[tokio::test]
async fn every_vignette_imported_as_a_questionnaire_response_gets_the_same_decision() {
    let app = TestApp::start(None).await;
    let content = Content::bundled().expect("content");
    for (name, v) in vignettes() {
        let direct = triage(
            &content,
            &Case::from_json(&content, &v["case"]).expect("case"),
        );
        let r = app
            .post(
                "/fhir/QuestionnaireResponse/$triage",
                &response_of(&app.base, &v["case"]),
            )
            .await;
        assert_eq!(r.status(), 200, "{name}");
        assert_eq!(content_type(&r), "application/fhir+json");
        let p: Value = r.json().await.expect("JSON");
        let param = |n: &str| {
            p["parameter"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|x| x["name"] == n)
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(param("level")["valueCode"], direct.level.as_str(), "{name}");
        let decision: Value =
            serde_json::from_str(param("decision")["valueString"].as_str().unwrap_or("null"))
                .expect("decision JSON");
        let fired: Vec<&str> = decision["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["rule"].as_str())
            .collect();
        let expected: Vec<&str> = direct
            .fired
            .iter()
            .map(|&i| content.rules[i].id.as_str())
            .collect();
        assert_eq!(fired, expected, "{name}");
        assert_eq!(
            param("riskAssessment")["resource"]["resourceType"],
            "RiskAssessment"
        );
    }
}

#[tokio::test]
async fn a_wrong_answer_gets_an_operation_outcome_naming_the_item() {
    let app = TestApp::start(None).await;
    let qr = json!({ "resourceType": "QuestionnaireResponse", "status": "completed",
        "item": [{ "linkId": "back_pain", "answer": [{ "valueBoolean": true }] },
                 { "linkId": "pain_site", "answer": [{ "valueCoding": { "code": "elbow" } }] }] });
    let r = app.post("/fhir/QuestionnaireResponse/$triage", &qr).await;
    assert_eq!(r.status(), 422);
    assert_eq!(content_type(&r), "application/fhir+json");
    let o: Value = r.json().await.expect("JSON");
    assert_eq!(o["resourceType"], "OperationOutcome");
    assert!(
        o["issue"][0]["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("pain_site")),
        "{o}"
    );
    assert_eq!(
        o["issue"][0]["expression"][0],
        "QuestionnaireResponse.item[1].answer[0]"
    );
}

/// The spec's style of patient-view request, with prefetch.
fn patient_view(base: &str, patient: Value, case: &Value) -> Value {
    json!({
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "https://ehr.example.org/fhir",
        "hook": "patient-view",
        "context": { "userId": "Practitioner/example", "patientId": patient["id"] },
        "prefetch": {
            "patient": patient,
            "questionnaireResponses": { "resourceType": "Bundle", "type": "searchset", "entry": [{ "resource": response_of(base, case) }] },
            "procedures": null,
            "painObservations": null,
        },
    })
}

fn emergency_case() -> Value {
    vignettes()
        .into_iter()
        .find(|(_, v)| v["expect"]["level"] == "emergency")
        .map(|(_, v)| v["case"].clone())
        .expect("an emergency vignette")
}

#[tokio::test]
async fn an_emergency_patient_view_gets_a_critical_card_with_its_reasons() {
    let app = TestApp::start(None).await;
    let discovery: Value = app
        .client
        .get(app.url("/cds-services"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("JSON");
    assert_eq!(discovery["services"][0]["hook"], "patient-view");
    let body = patient_view(
        &app.base,
        json!({ "resourceType": "Patient", "id": "ehr-42" }),
        &emergency_case(),
    );
    let r = app
        .post("/cds-services/aftercare-patient-view", &body)
        .await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.expect("JSON");
    let card = &answer["cards"][0];
    assert_eq!(card["indicator"], "critical");
    assert!(card["summary"]
        .as_str()
        .is_some_and(|s| s.chars().count() <= 140));
    let detail = card["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("Source:"), "{detail}");
    assert!(card["source"]["label"]
        .as_str()
        .is_some_and(|l| l.contains("content")));
    assert!(
        card.get("links").is_none(),
        "no link for a patient who is not ours"
    );
    assert_eq!(aftercare_fhir::cds::first_empty(&answer, ""), None);

    // An EHR that asks for Spanish gets the same card in Spanish.
    let es: Value = app
        .client
        .post(app.url("/cds-services/aftercare-patient-view"))
        .header("accept-language", "es-ES,es;q=0.9,en;q=0.5")
        .json(&body)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let card_es = &es["cards"][0];
    assert_eq!(card_es["indicator"], "critical");
    let summary_es = card_es["summary"].as_str().unwrap_or_default();
    assert!(summary_es.contains("URGENCIA VITAL"), "{summary_es}");
    let detail_es = card_es["detail"].as_str().unwrap_or_default();
    assert!(detail_es.contains("Fuente:"), "{detail_es}");
    assert_ne!(detail_es, detail);
    assert_eq!(aftercare_fhir::cds::first_empty(&es, ""), None);
}

#[tokio::test]
async fn a_patient_of_ours_gets_a_link_to_her_page_and_feedback_is_stored() {
    let app = TestApp::start(None).await;
    let (id, _) = app.patient().await;
    let body = patient_view(
        &app.base,
        json!({ "resourceType": "Patient", "id": id }),
        &vignettes()[0].1["case"],
    );
    let answer: Value = app
        .post("/cds-services/aftercare-patient-view", &body)
        .await
        .json()
        .await
        .expect("JSON");
    let card = &answer["cards"][0];
    assert_eq!(
        card["links"][0]["url"],
        format!("{}/clinic/patients/{id}", app.base)
    );
    let uuid = card["uuid"].as_str().expect("uuid");
    let feedback = json!({ "feedback": [
        { "card": uuid, "outcome": "overridden", "overrideReason": { "reason": { "code": "already-addressed", "display": "Already seen today" }, "userComment": "Reviewed in clinic" }, "outcomeTimestamp": "2025-03-04T08:00:00Z" },
    ] });
    let r = app
        .post("/cds-services/aftercare-patient-view/feedback", &feedback)
        .await;
    assert_eq!(r.status(), 200);
    let stored = app
        .store
        .list_cds_feedback("aftercare-patient-view", 10)
        .await
        .expect("feedback");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].outcome, "overridden");
    assert_eq!(
        stored[0]
            .override_reason
            .as_ref()
            .map(|r| r["userComment"].clone()),
        Some(json!("Reviewed in clinic"))
    );
    assert_eq!(
        stored[0].outcome_at.map(|t| t.to_rfc3339()),
        Some("2025-03-04T08:00:00+00:00".to_string()),
        "when the card was acted on is kept"
    );

    // A card this service never sent, the same card for the other service, and feedback
    // without its outcomeTimestamp are refused; nothing more is stored.
    let refused = [
        json!({ "card": "7b0e1f4e-0000-4000-8000-000000000000", "outcome": "accepted", "outcomeTimestamp": "2025-03-04T08:00:00Z" }),
        json!({ "card": uuid, "outcome": "accepted" }),
    ];
    for item in refused {
        let r = app
            .post(
                "/cds-services/aftercare-patient-view/feedback",
                &json!({ "feedback": [item] }),
            )
            .await;
        assert_eq!(r.status(), 422, "{item}");
    }
    let elsewhere = json!({ "feedback": [
        { "card": uuid, "outcome": "accepted", "outcomeTimestamp": "2025-03-04T08:00:00Z" },
    ] });
    let r = app
        .post("/cds-services/aftercare-discharge/feedback", &elsewhere)
        .await;
    assert_eq!(r.status(), 422, "a card of the other service");
    assert_eq!(
        app.store
            .list_cds_feedback("aftercare-patient-view", 10)
            .await
            .expect("feedback")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_request_without_the_prefetch_we_need_is_a_precondition_failure() {
    let app = TestApp::start(None).await;
    let body =
        json!({ "hook": "patient-view", "hookInstance": "x", "context": { "patientId": "1" } });
    let r = app
        .post("/cds-services/aftercare-patient-view", &body)
        .await;
    assert_eq!(r.status(), 412);
}

/// A browser-based CDS client (the CDS Hooks sandbox) is let in by CORS: the preflight for a
/// service call with a bearer token is answered, and the answers carry the origin header.
#[tokio::test]
async fn a_browser_based_cds_client_passes_the_cors_preflight() {
    let app = TestApp::start(None).await;
    let origin = "https://sandbox.cds-hooks.org";
    let pre = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/cds-services/aftercare-patient-view"),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("preflight");
    assert!(pre.status().is_success(), "{}", pre.status());
    let h = pre.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    let methods = h["access-control-allow-methods"]
        .to_str()
        .unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    let discovery = app
        .client
        .get(app.url("/cds-services"))
        .header("origin", origin)
        .send()
        .await
        .expect("discovery");
    assert_eq!(discovery.status(), 200);
    assert_eq!(discovery.headers()["access-control-allow-origin"], "*");
}

// --- request tokens -------------------------------------------------------------------------

const ISS: &str = "https://ehr.example.org";
const JKU: &str = "https://ehr.example.org/jwks.json";

struct Keys {
    es: EncodingKey,
    rs: EncodingKey,
    other: EncodingKey,
    trust: String,
}

fn keys() -> Keys {
    use p384::pkcs8::EncodePrivateKey;
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let mut rng = rand::rngs::OsRng;
    let es = p384::SecretKey::random(&mut rng);
    let other = p384::SecretKey::random(&mut rng);
    let rs = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key");
    let mut es_jwk: Value = serde_json::from_str(&es.public_key().to_jwk_string()).expect("JWK");
    es_jwk["kid"] = json!("es");
    es_jwk["alg"] = json!("ES384");
    let rs_jwk = json!({
        "kty": "RSA", "kid": "rs", "alg": "RS384",
        "n": URL_SAFE_NO_PAD.encode(rs.n().to_bytes_be()), "e": URL_SAFE_NO_PAD.encode(rs.e().to_bytes_be()),
    });
    let der =
        |k: &p384::SecretKey| EncodingKey::from_ec_der(k.to_pkcs8_der().expect("DER").as_bytes());
    Keys {
        es: der(&es),
        rs: EncodingKey::from_rsa_der(rs.to_pkcs1_der().expect("DER").as_bytes()),
        other: der(&other),
        trust: json!([{ "iss": ISS, "jwks": { "keys": [es_jwk, rs_jwk] }, "jku": [JKU] }])
            .to_string(),
    }
}

fn claims(aud: &str, iss: &str, exp_in: i64, jti: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({ "iss": iss, "sub": "client", "aud": aud, "exp": now + exp_in, "iat": now, "jti": jti })
}

fn sign(alg: Algorithm, kid: &str, jku: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    header.jku = jku.map(str::to_string);
    jsonwebtoken::encode(&header, claims, key).expect("signed")
}

#[tokio::test]
async fn request_tokens_are_verified_and_every_way_to_break_them_is_refused() {
    let k = keys();
    let app = TestApp::start(Some(CdsTrust::from_json(&k.trust).expect("trust"))).await;
    let path = "/cds-services/aftercare-patient-view";
    let aud = app.url(path);
    let body = patient_view(
        &app.base,
        json!({ "resourceType": "Patient", "id": "ehr-1" }),
        &vignettes()[0].1["case"],
    );
    let call = |token: String| {
        let req = app
            .client
            .post(app.url(path))
            .bearer_auth(token)
            .json(&body);
        async move { req.send().await.expect("request").status().as_u16() }
    };

    let good = sign(
        Algorithm::ES384,
        "es",
        None,
        &k.es,
        &claims(&aud, ISS, 300, "j1"),
    );
    assert_eq!(call(good.clone()).await, 200, "a good ES384 token");
    assert_eq!(
        call(sign(
            Algorithm::RS384,
            "rs",
            Some(JKU),
            &k.rs,
            &claims(&aud, ISS, 300, "j2")
        ))
        .await,
        200,
        "a good RS384 token"
    );

    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(&aud, ISS, 300, "n1").to_string())
    );
    let hs = sign(
        Algorithm::HS256,
        "es",
        None,
        &EncodingKey::from_secret(b"shared"),
        &claims(&aud, ISS, 300, "n2"),
    );
    let broken = [
        ("alg none", unsigned),
        ("HS256", hs),
        (
            "wrong aud",
            sign(
                Algorithm::ES384,
                "es",
                None,
                &k.es,
                &claims("https://elsewhere.test/cds-services/x", ISS, 300, "n3"),
            ),
        ),
        (
            "expired",
            sign(
                Algorithm::ES384,
                "es",
                None,
                &k.es,
                &claims(&aud, ISS, -3600, "n4"),
            ),
        ),
        (
            "expiring in ten years",
            sign(
                Algorithm::ES384,
                "es",
                None,
                &k.es,
                &claims(&aud, ISS, 10 * 365 * 24 * 3600, "n4b"),
            ),
        ),
        ("replayed jti", good),
        (
            "unknown issuer",
            sign(
                Algorithm::ES384,
                "es",
                None,
                &k.es,
                &claims(&aud, "https://rogue.test", 300, "n5"),
            ),
        ),
        (
            "bad signature",
            sign(
                Algorithm::ES384,
                "es",
                None,
                &k.other,
                &claims(&aud, ISS, 300, "n6"),
            ),
        ),
        (
            "jku not allowed",
            sign(
                Algorithm::ES384,
                "es",
                Some("https://rogue.test/jwks.json"),
                &k.es,
                &claims(&aud, ISS, 300, "n7"),
            ),
        ),
        (
            "no jti",
            sign(
                Algorithm::ES384,
                "es",
                None,
                &k.es,
                &json!({ "iss": ISS, "aud": aud, "exp": Utc::now().timestamp() + 300 }),
            ),
        ),
        (
            "no iat",
            sign(
                Algorithm::ES384,
                "es",
                None,
                &k.es,
                &json!({ "iss": ISS, "aud": aud, "exp": Utc::now().timestamp() + 300, "jti": "n8" }),
            ),
        ),
        (
            "issued an hour from now",
            sign(
                Algorithm::ES384,
                "es",
                None,
                &k.es,
                &json!({ "iss": ISS, "aud": aud, "exp": Utc::now().timestamp() + 300,
                    "iat": Utc::now().timestamp() + 3600, "jti": "n9" }),
            ),
        ),
        ("no kid", {
            let mut header = Header::new(Algorithm::ES384);
            header.kid = None;
            jsonwebtoken::encode(&header, &claims(&aud, ISS, 300, "n10"), &k.es).expect("signed")
        }),
        (
            "a kid of another key",
            sign(
                Algorithm::ES384,
                "rs",
                None,
                &k.es,
                &claims(&aud, ISS, 300, "n11"),
            ),
        ),
        ("typ other than JWT", {
            let mut header = Header::new(Algorithm::ES384);
            header.kid = Some("es".into());
            header.typ = Some("at+jwt".into());
            jsonwebtoken::encode(&header, &claims(&aud, ISS, 300, "n12"), &k.es).expect("signed")
        }),
        ("garbage", "not-a-token".to_string()),
    ];
    for (why, token) in broken {
        assert_eq!(call(token).await, 401, "{why} must be refused");
    }
    let r = app
        .client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401, "no token at all");
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer realm=\"aftercare\"",
        "a 401 names the scheme"
    );
}

fn procedure(id: &str, coding: Value, text: &str, days_ago: i64, status: &str) -> Value {
    let at = (chrono::Utc::now() - chrono::Duration::days(days_ago)).to_rfc3339();
    json!({
        "resourceType": "Procedure", "id": id, "status": status,
        "subject": { "reference": "Patient/ehr-42" },
        "code": { "coding": [coding], "text": text },
        "performedDateTime": at,
    })
}

fn bundle(resources: Vec<Value>) -> Value {
    let entry: Vec<Value> = resources
        .into_iter()
        .map(|r| json!({ "resource": r }))
        .collect();
    json!({ "resourceType": "Bundle", "type": "searchset", "entry": entry })
}

async fn cards_for(app: &TestApp, procedures: Value, responses: Value) -> Value {
    let body = json!({
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2eb",
        "fhirServer": "https://ehr.example.org/fhir",
        "hook": "patient-view",
        "context": { "userId": "Practitioner/example", "patientId": "ehr-42" },
        "prefetch": {
            "patient": { "resourceType": "Patient", "id": "ehr-42" },
            "questionnaireResponses": responses,
            "procedures": procedures,
            "painObservations": null,
        },
    });
    let r = app
        .post("/cds-services/aftercare-patient-view", &body)
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.expect("JSON")
}

#[tokio::test]
async fn unrelated_or_unfinished_chart_data_cannot_lower_an_emergency_card() {
    let app = TestApp::start(None).await;
    // Fever, back pain and a red needle site nine days after a labour epidural: an emergency,
    // with the hours since the epidural taken from the chart's Procedure.
    let v31 = vignettes()
        .into_iter()
        .find(|(n, _)| n == "V31.json")
        .map(|(_, v)| v["case"].clone())
        .expect("V31");
    let mut answers = v31.as_object().cloned().expect("object");
    answers.remove("hours_since_procedure");
    let completed = response_of(&app.base, &Value::Object(answers));
    let epidural = procedure(
        "epi",
        json!({ "system": "http://snomed.info/sct", "code": "18946005", "display": "Epidural anesthesia" }),
        "Labour epidural",
        9,
        "completed",
    );
    // Newer than the epidural, and nothing to do with it.
    let dental = procedure(
        "dent",
        json!({ "system": "http://example.org/local-procedures", "code": "D1110", "display": "Prophylaxis - adult" }),
        "Dental cleaning",
        1,
        "completed",
    );
    let mistaken = procedure(
        "oops",
        json!({ "system": "http://snomed.info/sct", "code": "231249005" }),
        "Spinal anaesthesia",
        0,
        "entered-in-error",
    );
    let procedures = bundle(vec![epidural.clone(), dental.clone(), mistaken]);

    let only_this = cards_for(&app, procedures.clone(), bundle(vec![completed.clone()])).await;
    assert_eq!(
        only_this["cards"][0]["indicator"], "critical",
        "{only_this}"
    );

    // Newer responses that say nothing: one in progress with no answers, one entered in error,
    // one for another questionnaire. Each is left out, and the card says so.
    let newer = |status: &str, questionnaire: &str| {
        json!({
            "resourceType": "QuestionnaireResponse", "status": status,
            "questionnaire": questionnaire, "authored": chrono::Utc::now().to_rfc3339(),
            "subject": { "reference": "Patient/ehr-42" },
        })
    };
    let ours = completed["questionnaire"]
        .as_str()
        .expect("canonical")
        .to_string();
    let noisy = bundle(vec![
        newer("in-progress", &ours),
        newer("entered-in-error", &ours),
        newer("completed", "http://example.org/Questionnaire/phq-9"),
        completed.clone(),
    ]);
    let answer = cards_for(&app, procedures, noisy).await;
    let card = &answer["cards"][0];
    assert_eq!(card["indicator"], "critical", "{answer}");
    let detail = card["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("3 other questionnaire response"),
        "{detail}"
    );
    assert!(
        detail.contains("Answers given 2025-03-04 08:00 UTC"),
        "{detail}"
    );
    assert!(
        detail.contains("older than the check-in interval"),
        "{detail}"
    );
    let summary = card["summary"].as_str().unwrap_or_default();
    assert!(
        summary.chars().count() < 140 && !summary.contains('…'),
        "{summary}"
    );

    // Regional anaesthesia by its code alone is not a neuraxial procedure (it also covers nerve
    // blocks), and a chart with nothing of ours gets no card at all.
    let block = procedure(
        "blk",
        json!({ "system": "http://snomed.info/sct", "code": "27372005", "display": "Regional anesthesia" }),
        "Interscalene block",
        2,
        "completed",
    );
    let none = cards_for(&app, bundle(vec![dental, block]), Value::Null).await;
    assert_eq!(none, json!({ "cards": [] }));
}

/// A real chart: 300 Procedures (about 120 KiB of prefetch, over the 64 KiB other requests
/// may send) with the epidural among them still gives the emergency card; the discovery
/// document's templates search by `patient=`, newest first, with a `_count`, a date filter and
/// encoded values.
#[tokio::test]
async fn a_busy_chart_fits_in_a_prefetch_and_the_templates_ask_for_what_fits() {
    let app = TestApp::start(None).await;
    let v31 = vignettes()
        .into_iter()
        .find(|(n, _)| n == "V31.json")
        .map(|(_, v)| v["case"].clone())
        .expect("V31");
    let mut answers = v31.as_object().cloned().expect("object");
    answers.remove("hours_since_procedure");
    let completed = response_of(&app.base, &Value::Object(answers));
    let mut many: Vec<Value> = (0..300)
        .map(|i| {
            procedure(
                &format!("p{i}"),
                json!({ "system": "http://example.org/local-procedures", "code": format!("X{i}"), "display": "Physiotherapy session, outpatient, with a long local description" }),
                "Physiotherapy session",
                i % 200,
                "completed",
            )
        })
        .collect();
    many.insert(
        150,
        procedure(
            "epi",
            json!({ "system": "http://snomed.info/sct", "code": "18946005", "display": "Epidural anesthesia" }),
            "Labour epidural",
            9,
            "completed",
        ),
    );
    let procedures = bundle(many);
    assert!(procedures.to_string().len() > 64 * 1024);
    let answer = cards_for(&app, procedures, bundle(vec![completed])).await;
    assert_eq!(answer["cards"][0]["indicator"], "critical", "{answer}");

    let discovery: Value = app
        .client
        .get(app.url("/cds-services"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("JSON");
    let prefetch = &discovery["services"][0]["prefetch"];
    for key in ["procedures", "questionnaireResponses", "painObservations"] {
        let t = prefetch[key].as_str().unwrap_or_default();
        assert!(t.contains("?patient={{context.patientId}}"), "{key}: {t}");
        assert!(t.contains("&_count="), "{key}: {t}");
        assert!(
            !t.contains("://") && !t.contains('|'),
            "{key}: values encoded: {t}"
        );
    }
    let procedures = prefetch["procedures"].as_str().unwrap_or_default();
    assert!(
        procedures.contains("date=ge{{today() - 365 days}}"),
        "{procedures}"
    );
    assert!(prefetch["questionnaireResponses"]
        .as_str()
        .unwrap_or_default()
        .contains("status=completed"));
}

/// The definitions have canonical URLs that do not depend on where the server runs, and a
/// client can look each one up here: the Questionnaire and the code systems by `url`, a code
/// system by id, the `$triage` operation.
#[tokio::test]
async fn our_definitions_have_stable_canonical_urls_and_can_be_looked_up() {
    let app = TestApp::start(None).await;
    let get = |path: String| {
        let req = app.client.get(app.url(&path));
        async move {
            let r = req.send().await.expect("request");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("JSON"))
        }
    };
    let (_, q) = get("/fhir/Questionnaire/aftercare".into()).await;
    let url = q["url"].as_str().expect("a url").to_string();
    assert_eq!(url, "https://aftercare.health/fhir/Questionnaire/aftercare");
    assert!(!url.starts_with(&app.base), "not the server's address");
    let (status, found) = get(format!("/fhir/Questionnaire?url={}", enc(&url))).await;
    assert_eq!(status, 200);
    assert_eq!(found["type"], "searchset");
    assert_eq!(found["total"], 1);
    assert_eq!(found["entry"][0]["resource"]["url"], url.as_str());
    let (_, none) = get(format!(
        "/fhir/Questionnaire?url={}",
        enc("http://other.test/Q/x")
    ))
    .await;
    assert_eq!(none["total"], 0);

    // The procedure's answers, as a code system with each value and its Spanish words.
    let system = q["item"]
        .as_array()
        .and_then(|groups| {
            groups
                .iter()
                .flat_map(|g| g["item"].as_array().into_iter().flatten())
                .find(|i| i["linkId"] == "procedure")
        })
        .and_then(|i| i["answerOption"][0]["valueCoding"]["system"].as_str())
        .expect("the procedure's code system")
        .to_string();
    let (status, cs) = get(format!("/fhir/CodeSystem?url={}", enc(&system))).await;
    assert_eq!(status, 200);
    assert_eq!(cs["total"], 1, "{cs}");
    let id = cs["entry"][0]["resource"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let (status, read) = get(format!("/fhir/CodeSystem/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(read["resourceType"], "CodeSystem");
    assert_eq!(read["content"], "complete");
    let codes: Vec<&str> = read["concept"]
        .as_array()
        .expect("concepts")
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert!(codes.contains(&"labour_epidural") && codes.contains(&"combined_spinal_epidural"));
    assert_eq!(read["concept"][0]["designation"][0]["language"], "es");
    let (_, all) = get("/fhir/CodeSystem".into()).await;
    let urls: Vec<&str> = all["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["resource"]["url"].as_str())
        .collect();
    for kind in ["triage-level", "rule", "action", "method"] {
        assert!(
            urls.contains(&format!("https://aftercare.health/fhir/CodeSystem/{kind}").as_str()),
            "{kind}"
        );
    }
    let (status, missing) = get("/fhir/CodeSystem/nope".into()).await;
    assert_eq!(status, 404);
    assert_eq!(missing["resourceType"], "OperationOutcome");
    let (status, op) = get("/fhir/OperationDefinition/triage".into()).await;
    assert_eq!(status, 200);
    assert_eq!(op["code"], "triage");
    let (_, meta) = get("/fhir/metadata".into()).await;
    let qr = meta["rest"][0]["resource"]
        .as_array()
        .and_then(|r| r.iter().find(|x| x["type"] == "QuestionnaireResponse"))
        .expect("QuestionnaireResponse");
    assert_eq!(qr["operation"][0]["definition"], op["url"]);
    assert_eq!(meta["implementation"]["url"], format!("{}/fhir", app.base));
}

/// A query value, percent-encoded.
fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_fhir_server_describes_itself_and_answers_errors_as_operation_outcomes() {
    let app = TestApp::start(None).await;
    let get = |path: &str, accept: &'static str| {
        app.client
            .get(app.url(path))
            .header("accept", accept)
            .send()
    };
    let meta = get("/fhir/metadata", "application/fhir+json")
        .await
        .expect("metadata");
    assert_eq!(meta.status(), 200);
    assert!(content_type(&meta).starts_with("application/fhir+json"));
    let meta: Value = meta.json().await.expect("JSON");
    assert_eq!(meta["resourceType"], "CapabilityStatement");
    assert_eq!(meta["fhirVersion"], "4.0.1");
    assert_eq!(meta["kind"], "instance");
    let types: Vec<&str> = meta["rest"][0]["resource"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "Questionnaire",
            "CodeSystem",
            "OperationDefinition",
            "Patient",
            "QuestionnaireResponse",
            "RiskAssessment",
            "CarePlan",
            "Observation"
        ]
    );

    let missing = get("/fhir/Medication/nope", "application/fhir+json")
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
    assert!(content_type(&missing).starts_with("application/fhir+json"));
    let outcome: Value = missing.json().await.expect("JSON");
    assert_eq!(outcome["resourceType"], "OperationOutcome");

    for (path, accept) in [
        ("/fhir/metadata", "application/fhir+xml"),
        ("/fhir/Questionnaire/aftercare?_format=xml", "*/*"),
    ] {
        let xml = get(path, accept).await.expect("request");
        assert_eq!(xml.status(), 406, "{path}");
        let outcome: Value = xml.json().await.expect("JSON");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
    }
}

/// A server started without a trust file and without the development flag refuses every CDS
/// Hooks call (it fails closed), while the discovery document stays public.
#[tokio::test]
async fn without_a_trust_file_cds_calls_are_refused_unless_the_development_flag_is_set() {
    let app = crate::support::TestApp::sqlite().await;
    let body = json!({"hook": "patient-view", "hookInstance": "h1", "context": {"patientId": "p"}});
    let (status, problem) = app
        .post_json("/cds-services/aftercare-patient-view", None, &body)
        .await;
    assert_eq!(status, 401, "{problem}");
    let (status, _) = app.get("/cds-services", None).await;
    assert_eq!(status, 200);
    let open = crate::support::TestApp::sqlite_with(|s| s.cds_unauthenticated = true).await;
    let (status, answer) = open
        .post_json("/cds-services/aftercare-patient-view", None, &body)
        .await;
    assert_ne!(status, 401, "{answer}");
}
