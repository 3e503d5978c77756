//! The JSON API, exercised over HTTP against a real server on SQLite and PostgreSQL.

use crate::support;

use serde_json::{json, Value};
use support::{vignette, TestApp};

on_both!(
    triage_answers_v20_as_an_emergency,
    |app: TestApp| async move {
        let (status, body) = app
            .post_json("/api/v1/triage", None, &vignette("V20"))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["level"], "emergency");
        assert_eq!(body["status"], "final");
        assert!(body["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("emergency_care")));
        assert!(body["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "EM-CAUDA"));
        assert_eq!(body["content_version"].as_str().unwrap().len(), 16);
    }
);

#[tokio::test]
async fn triage_refuses_bad_input_with_a_problem_naming_the_field() {
    let app = TestApp::sqlite().await;
    let (status, body) = app
        .post_json(
            "/api/v1/triage",
            None,
            &json!({"back_pain": true, "pain_score": 11}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["field"], "pain_score");
    assert_eq!(body["status"], 422);

    for (case, field) in [
        (json!({"fever": "yes"}), "fever"),
        (json!({"feverish": true}), "feverish"),
        (
            json!({"delivered": false, "days_since_delivery": 2}),
            "days_since_delivery",
        ),
        (
            json!({"procedure": "spinal", "hours_since_procedure": -3}),
            "hours_since_procedure",
        ),
    ] {
        let (status, body) = app.post_json("/api/v1/triage", None, &case).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some(field)),
            "{case}"
        );
    }
}

#[tokio::test]
async fn malformed_oversized_and_mistyped_bodies_get_4xx_problems() {
    let app = TestApp::sqlite().await;
    let res = app
        .client
        .post(app.url("/api/v1/triage"))
        .header("content-type", "application/json")
        .body("{\"fever\": tru")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let res = app
        .client
        .post(app.url("/api/v1/triage"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 415);

    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(70 * 1024));
    let res = app
        .client
        .post(app.url("/api/v1/triage"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);

    let (status, body) = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["type"], "/problems/not-found");
}

/// Found by scripts/schemathesis.sh: axum's own rejections (a bad query parameter, a path that
/// is not UTF-8, a method the route lacks) were plain text; they are problems now, and a bad
/// query parameter is named.
#[tokio::test]
async fn bad_parameters_and_methods_get_problems_too() {
    let app = TestApp::sqlite().await;
    let patient = app.patient().await;
    let (status, body) = app
        .get(
            "/api/v1/messages?after=abc",
            Some(patient.link_token.expose()),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "after", "{body}");
    let (status, body) = app
        .get("/api/v1/checkins/%FF", Some(patient.link_token.expose()))
        .await;
    assert!(matches!(status, 400 | 404), "{status} {body}");
    assert!(body["detail"].is_string(), "{body}");
    let res = app
        .client
        .delete(app.url("/api/v1/triage"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

/// Every schema in the document says what it holds: an object schema without properties,
/// additional properties, a reference or a composition tells a generated client nothing.
fn bare_objects(at: &str, v: &Value, found: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            let is_object = m.get("type") == Some(&Value::String("object".into()))
                || m.get("type")
                    .and_then(Value::as_array)
                    .is_some_and(|t| t.iter().any(|t| t == "object"));
            let said = [
                "properties",
                "additionalProperties",
                "$ref",
                "allOf",
                "oneOf",
                "anyOf",
            ]
            .iter()
            .any(|k| m.contains_key(*k));
            if is_object && !said {
                found.push(at.to_string());
            }
            for (k, child) in m {
                bare_objects(&format!("{at}/{k}"), child, found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                bare_objects(&format!("{at}/{i}"), child, found);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_has_no_bare_object_and_no_query_parameter_in_the_path() {
    let app = TestApp::sqlite().await;
    let (_, doc) = app.get("/api/v1/openapi.json", None).await;
    let mut bare = Vec::new();
    bare_objects("", &doc, &mut bare);
    assert!(
        bare.is_empty(),
        "schemas that say nothing:\n{}",
        bare.join("\n")
    );
    let mut misplaced = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap_or_default();
                if p["in"] == "path" && !path.contains(&format!("{{{name}}}")) {
                    misplaced.push(format!("{method} {path}: {name}"));
                }
            }
        }
    }
    assert!(
        misplaced.is_empty(),
        "path parameters that are not in the path:\n{}",
        misplaced.join("\n")
    );
}

#[tokio::test]
async fn every_route_is_in_the_openapi_document_and_every_documented_route_answers() {
    let app = TestApp::sqlite().await;
    let (status, doc) = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for expected in [
        "/api/v1/triage",
        "/api/v1/questions",
        "/api/v1/checkins",
        "/api/v1/checkins/{id}",
        "/api/v1/diary",
        "/api/v1/diary/{day}",
        "/api/v1/recovery",
        "/api/v1/openapi.json",
    ] {
        assert!(
            paths.contains_key(expected),
            "{expected} is missing from the document"
        );
    }
    // The converse: a documented operation is a real route (not a 404 from the fallback).
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let url = app.url(&path.replace("{id}", "x").replace("{day}", "2026-01-01"));
            let req = app
                .client
                .request(method.to_uppercase().parse().unwrap(), url);
            let res = req
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert_ne!(
                body["type"], "/problems/not-found",
                "{method} {path} is documented but not routed"
            );
        }
    }
}

on_both!(
    a_check_in_asks_the_engines_questions_until_final_and_is_stored,
    |app: TestApp| async move {
        let patient = app.patient().await;
        let token = Some(patient.link_token.expose());
        let (status, round) = app
            .post_json("/api/v1/checkins", token, &json!({"answers": {}}))
            .await;
        assert_eq!(status, 201, "{round}");
        assert_eq!(round["status"], "incomplete");
        assert_eq!(round["questions"][0]["id"], "stroke_signs");
        let session = round["session_id"].as_str().unwrap().to_string();

        // Answer whatever is asked with the calm answers of vignette X09 until the engine is done.
        let calm = vignette("X09");
        let mut rounds = 0;
        let mut last = round;
        while last["status"] == "incomplete" {
            rounds += 1;
            assert!(rounds < 30, "the questionnaire does not end");
            let mut answers = serde_json::Map::new();
            for q in last["questions"].as_array().unwrap() {
                let id = q["id"].as_str().unwrap();
                let value = calm.get(id).cloned().unwrap_or(json!(false));
                answers.insert(id.into(), value);
            }
            let (status, next) = app
                .patch_json(
                    &format!("/api/v1/checkins/{session}"),
                    token,
                    &json!({"answers": answers}),
                )
                .await;
            assert_eq!(status, 200, "{next}");
            last = next;
        }
        assert_eq!(last["status"], "final");
        assert_eq!(last["decision"]["level"], "self_care");
        let checkin_id = last["checkin_id"].as_str().unwrap();

        let (status, list) = app.get("/api/v1/checkins", token).await;
        assert_eq!(status, 200);
        assert_eq!(list[0]["id"], checkin_id);
        assert_eq!(list[0]["content_version"].as_str().unwrap().len(), 16);

        // A final check-in is never rewritten.
        let (status, _) = app
            .patch_json(
                &format!("/api/v1/checkins/{session}"),
                token,
                &json!({"answers": {"fever": true}}),
            )
            .await;
        assert_eq!(status, 409);
    }
);

on_both!(
    an_emergency_check_in_raises_an_escalation_for_the_clinic,
    |app: TestApp| async move {
        let patient = app.patient().await;
        let token = Some(patient.link_token.expose());
        let (status, round) = app
            .post_json(
                "/api/v1/checkins",
                token,
                &json!({"answers": {"stroke_signs": true}}),
            )
            .await;
        assert_eq!(status, 201, "{round}");
        assert_eq!(round["status"], "final");
        assert_eq!(round["decision"]["level"], "emergency");
        assert_eq!(round["escalation"]["level"], "emergency");
        let open = app.store.list_escalations(&patient.id, true).await.unwrap();
        assert_eq!(open.len(), 1);
        assert!(open[0].reason.contains("EM-STROKE"));
    }
);

on_both!(
    the_diary_keeps_every_version_and_refuses_bad_days,
    |app: TestApp| async move {
        let patient = app.patient().await;
        let token = Some(patient.link_token.expose());
        let today = chrono::Utc::now().date_naive();
        let path = format!("/api/v1/diary/{today}");
        let (status, first) = app
            .put_json(&path, token, &json!({"pain": 4, "note": "sore"}))
            .await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(first["entry"]["version"], 1);
        let (_, second) = app
            .put_json(
                &path,
                token,
                &json!({"pain": 3, "facts": {"pain_course": "improving"}}),
            )
            .await;
        assert_eq!(second["entry"]["version"], 2);
        let (status, day) = app.get(&path, token).await;
        assert_eq!(status, 200);
        assert_eq!(day["entry"]["pain"], 3);
        assert_eq!(day["history"].as_array().unwrap().len(), 2);
        assert_eq!(day["history"][0]["note"], "sore");

        let tomorrow = today + chrono::Duration::days(1);
        let (status, body) = app
            .put_json(
                &format!("/api/v1/diary/{tomorrow}"),
                token,
                &json!({"pain": 2}),
            )
            .await;
        assert_eq!((status, body["field"].as_str()), (422, Some("day")));
        let (status, body) = app.put_json(&path, token, &json!({"pain": 11})).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("pain")));
        let (status, body) = app.put_json(&path, token, &json!({"pain": "x"})).await;
        assert_eq!((status, body["field"].as_str()), (422, Some("pain")));
        let (status, body) = app
            .put_json(
                &path,
                token,
                &json!({"pain": 2, "facts": {"leg_weakness": "sometimes"}}),
            )
            .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some("leg_weakness"))
        );
        let (status, _) = app
            .put_json("/api/v1/diary/yesterday", token, &json!({"pain": 2}))
            .await;
        assert_eq!(status, 422);

        let (status, summary) = app.get("/api/v1/recovery", token).await;
        assert_eq!(status, 200);
        assert_eq!(summary["days_since_procedure"], 2);
        assert_eq!(summary["pain"].as_array().unwrap().len(), 1);
        assert!(!summary["expected_course"].as_array().unwrap().is_empty());
    }
);

on_both!(
    a_diary_day_with_a_red_flag_tells_the_patient_and_alerts_the_clinic,
    |app: TestApp| async move {
        let patient = app.patient().await;
        let token = Some(patient.link_token.expose());
        let today = chrono::Utc::now().date_naive();
        let (status, body) = app
            .put_json(
                &format!("/api/v1/diary/{today}"),
                token,
                &json!({"pain": 6, "facts": {"leg_weakness": "both_legs", "nerve_course": "new"}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["decision"]["level"], "emergency");
        assert_eq!(body["escalation"]["level"], "emergency");
        assert!(!body["decision"]["now"].as_str().unwrap().is_empty());
        // The same day again does not alert twice.
        let (_, again) = app
            .put_json(
                &format!("/api/v1/diary/{today}"),
                token,
                &json!({"pain": 6, "facts": {"leg_weakness": "both_legs", "nerve_course": "new"}}),
            )
            .await;
        assert!(again.get("escalation").is_none(), "{again}");
    }
);

on_both!(
    a_patient_sees_only_her_own_records,
    |app: TestApp| async move {
        let first = app.patient().await;
        let second = app.patient().await;
        let today = chrono::Utc::now().date_naive();
        let path = format!("/api/v1/diary/{today}");
        app.put_json(
            &path,
            Some(first.link_token.expose()),
            &json!({"pain": 5, "note": "private"}),
        )
        .await;
        let (status, _) = app.get(&path, Some(second.link_token.expose())).await;
        assert_eq!(status, 404);
        let (_, list) = app
            .get("/api/v1/diary", Some(second.link_token.expose()))
            .await;
        assert_eq!(list, json!([]));
        let (_, round) = app
            .post_json(
                "/api/v1/checkins",
                Some(first.link_token.expose()),
                &json!({"answers": {}}),
            )
            .await;
        let session = round["session_id"].as_str().unwrap();
        let (status, _) = app
            .get(
                &format!("/api/v1/checkins/{session}"),
                Some(second.link_token.expose()),
            )
            .await;
        assert_eq!(status, 404);
        let (status, _) = app.get(&path, Some("not-a-token")).await;
        assert_eq!(status, 401);
        let (status, _) = app.get(&path, None).await;
        assert_eq!(status, 401);
    }
);

on_both!(
    every_read_and_write_of_patient_data_is_audited,
    |app: TestApp| async move {
        let patient = app.patient().await;
        let token = Some(patient.link_token.expose());
        let today = chrono::Utc::now().date_naive();
        let path = format!("/api/v1/diary/{today}");
        app.put_json(&path, token, &json!({"pain": 2})).await;
        app.get(&path, token).await;
        app.get("/api/v1/diary", token).await;
        app.get("/api/v1/recovery", token).await;
        let (_, round) = app
            .post_json("/api/v1/checkins", token, &json!({"answers": {}}))
            .await;
        let session = round["session_id"].as_str().unwrap();
        app.get(&format!("/api/v1/checkins/{session}"), token).await;
        app.get("/api/v1/checkins", token).await;
        let rows = app
            .store
            .list_audit(&patient.clinic_id, aftercare_store::AuditQuery::default())
            .await
            .unwrap();
        let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
        for expected in [
            "diary.write",
            "diary.read",
            "diary.list",
            "recovery.read",
            "checkin.start",
            "checkin.read",
            "checkin.list",
        ] {
            assert!(
                actions.contains(&expected),
                "{expected} not audited: {actions:?}"
            );
        }
        assert!(rows
            .iter()
            .all(|r| r.patient_id.as_deref() == Some(patient.id.as_str())));
        assert!(rows
            .iter()
            .all(|r| r.address.as_deref() == Some("127.0.0.1")));
    }
);

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::sqlite().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    app.post_json("/api/v1/triage", None, &vignette("V17"))
        .await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("aftercare_decisions_total{level=\"emergency\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("route=\"/api/v1/triage\""));
}
