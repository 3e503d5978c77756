//! The clinic workspace over HTTP, on SQLite and PostgreSQL: staff login, sessions and roles,
//! clinics kept apart on every route, the board, enrolment, the patient page, live chat,
//! contact requests, announcements and the audit log.

use crate::support;

use aftercare_store::Autocommit as _;
use aftercare_store::{NewContactRequest, Patient};
use aftercare_web::staff::{self, Access};
use serde_json::{json, Value};
use std::time::Duration;
use support::staff::{Browser, PASSWORD};
use support::TestApp;

/// An emergency check-in for a patient (raises an escalation).
async fn emergency(app: &TestApp, patient: &Patient) {
    let (status, body) = app
        .post_json(
            "/api/v1/checkins",
            Some(patient.link_token.expose()),
            &json!({"answers": {"stroke_signs": true}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["decision"]["level"], "emergency");
}

/// Reads an SSE response until `needle` shows up (or fails after 10 s).
async fn sse_until(res: &mut reqwest::Response, needle: &str) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in the stream; got {seen:?}"))
            .expect("stream chunk")
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

// --- login, sessions, roles --------------------------------------------------------------------

on_both!(
    a_wrong_email_and_a_wrong_password_get_the_same_answer_and_repeated_failures_make_that_address_wait,
    |app: TestApp| async move {
        let nurse = app.staff("north", "clinician").await;
        let b = app.browser();
        let unknown = b.login("nobody@north.example", PASSWORD).await;
        let wrong = b.login(&nurse.email, "not the password at all").await;
        assert_eq!(unknown.status, 401);
        assert_eq!(wrong.status, 401);
        let message = |r: &support::staff::Reply| {
            r.text
                .split("<div class=\"error-summary\"")
                .nth(1)
                .and_then(|s| s.split("</div>").next())
                .map(str::to_string)
        };
        assert!(message(&unknown).is_some());
        assert_eq!(message(&unknown), message(&wrong));
        assert!(b.cookie("aftercare_staff").is_none());

        // Five failures from one address on one account make that address wait: even the
        // right password is refused from there, alike (the password is not even tried).
        for _ in 0..staff::auth::PAIR_ATTEMPTS - 1 {
            b.login(&nurse.email, "still not the password").await;
        }
        let waiting = b.login(&nurse.email, PASSWORD).await;
        assert_eq!(waiting.status, 401);
        assert_eq!(message(&waiting), message(&unknown));
        // The account itself is not locked: no guesser can keep its owner out.
        let row = app
            .store
            .get_staff(&nurse.id)
            .await
            .expect("staff")
            .expect("row");
        assert_eq!(row.locked_until, None);
        assert_eq!(row.failed_logins, 5);
        // A success (on another account from here) does not count against the address.
        let other = app.staff("north", "clinician").await;
        assert_eq!(b.login(&other.email, PASSWORD).await.status, 303);
        // The JSON login answers alike too.
        let api = app.browser();
        let a = api
            .send(
                api.client
                    .post(app.url("/api/v1/clinic/session"))
                    .json(&json!({"email": "nobody@x.example", "password": PASSWORD})),
            )
            .await;
        let b2 = api
            .send(
                api.client
                    .post(app.url("/api/v1/clinic/session"))
                    .json(&json!({"email": nurse.email, "password": "nope nope nope"})),
            )
            .await;
        assert_eq!((a.status, b2.status), (401, 401));
        assert_eq!(a.json()["detail"], b2.json()["detail"]);
    }
);

/// Two servers on one PostgreSQL database share their login limits: five wrong passwords
/// spread over both make the address wait on either, as they would on one server.
#[tokio::test]
async fn failed_sign_ins_spread_over_two_servers_meet_one_limit() {
    let Some(one) = TestApp::postgres().await else {
        return;
    };
    let two = one.second_server().await.expect("a second server");
    let nurse = one.staff("north", "clinician").await;
    for i in 0..staff::auth::PAIR_ATTEMPTS {
        let server = if i % 2 == 0 { &one } else { &two };
        let wrong = server
            .browser()
            .login(&nurse.email, "not the password")
            .await;
        assert_eq!(wrong.status, 401, "{i}: {}", wrong.text);
    }
    for server in [&one, &two] {
        let right = server.browser().login(&nurse.email, PASSWORD).await;
        assert_eq!(right.status, 401, "the address waits on every server");
    }
    // Another account from here is not held up.
    let other = one.staff("north", "clinician").await;
    assert_eq!(
        two.browser().login(&other.email, PASSWORD).await.status,
        303
    );
}

#[tokio::test]
async fn too_many_attempts_from_one_address_are_refused_for_a_while() {
    let app = TestApp::sqlite().await;
    let b = app.browser();
    let mut last = 0;
    // A guesser trying account after account (one account alone makes only that pair wait).
    for i in 0..=staff::auth::ADDRESS_ATTEMPTS {
        last = b
            .login(&format!("nobody{i}@north.example"), "whatever it is")
            .await
            .status;
    }
    assert_eq!(last, 429);
}

/// Signs in with `X-Forwarded-For` set; the status.
async fn login_forwarded(app: &TestApp, forwarded_for: &str, email: &str, password: &str) -> u16 {
    app.client
        .post(app.url("/api/v1/clinic/session"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

/// The address on the clinic's latest successful login in the audit log.
async fn login_address(app: &TestApp, clinic_id: &str) -> Option<String> {
    let rows = app
        .store
        .list_audit(clinic_id, Default::default())
        .await
        .expect("audit");
    rows.into_iter()
        .find(|r| r.action == "staff.login")
        .and_then(|r| r.address)
}

/// Behind a reverse proxy every request comes from the proxy: only with the proxy trusted does
/// each client get its own login limit and its own address in the audit log, and only the
/// address the proxy appended counts, not one the client wrote.
#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_limit_and_address() {
    use aftercare_web::proxy::TrustedProxies;
    let app = TestApp::sqlite_with(|s| {
        s.trusted_proxies = TrustedProxies::parse(&["127.0.0.0/8"]).expect("valid");
    })
    .await;
    let nurse = app.staff("north", "clinician").await;
    let mut last = 0;
    for i in 0..=staff::auth::ADDRESS_ATTEMPTS {
        let email = format!("nobody{i}@north.example");
        last = login_forwarded(&app, "203.0.113.1", &email, "whatever").await;
    }
    assert_eq!(last, 429, "the noisy client is throttled");
    // Another client behind the same proxy is not, even one that writes the noisy client's
    // address first: the proxy appended the real one.
    let other = login_forwarded(&app, "203.0.113.1, 198.51.100.7", &nurse.email, PASSWORD);
    assert_eq!(other.await, 200);
    assert_eq!(
        login_address(&app, &nurse.clinic_id).await.as_deref(),
        Some("198.51.100.7")
    );

    // A guesser failing on the nurse's account from one address does not keep her out from
    // hers; a burst of failures in a row is recorded for the admins, and her success clears it.
    let guesser = "192.0.2.66";
    for _ in 0..staff::auth::PAIR_ATTEMPTS {
        login_forwarded(&app, guesser, &nurse.email, "guess guess guess").await;
    }
    assert_eq!(
        login_forwarded(&app, guesser, &nurse.email, PASSWORD).await,
        401,
        "the guessing address waits"
    );
    // The guesser moves from address to address: the failures in a row still add up to a burst.
    let more = aftercare_app::staff::MAX_FAILURES as usize - staff::auth::PAIR_ATTEMPTS;
    for i in 0..more {
        let from = format!("192.0.2.{}", 100 + i);
        login_forwarded(&app, &from, &nurse.email, "guess guess guess").await;
    }
    let rows = app
        .store
        .list_audit(&nurse.clinic_id, Default::default())
        .await
        .expect("audit");
    assert!(rows.iter().any(|r| r.action == "staff.login_burst"));
    assert_eq!(
        login_forwarded(&app, "198.51.100.7", &nurse.email, PASSWORD).await,
        200,
        "she signs in from her own computer"
    );
    // A ward behind one address signing in many times is not throttled: successes do not count.
    for _ in 0..=staff::auth::ADDRESS_ATTEMPTS {
        let ward = login_forwarded(&app, "198.51.100.8", &nurse.email, PASSWORD).await;
        assert_eq!(ward, 200);
    }

    // Without the setting the header is ignored: the peer is the client.
    let plain = TestApp::sqlite().await;
    let nurse = plain.staff("north", "clinician").await;
    assert_eq!(
        login_forwarded(&plain, "198.51.100.7", &nurse.email, PASSWORD).await,
        200
    );
    assert_eq!(
        login_address(&plain, &nurse.clinic_id).await.as_deref(),
        Some("127.0.0.1")
    );
}

on_both!(
    a_clinician_replaces_a_lost_link_and_the_old_link_and_her_sessions_stop_working,
    |app: TestApp| async move {
        let patient = app.patient_in("north", "labour_epidural", 2).await;
        let old = patient.link_token.expose().to_string();
        let her = app.browser();
        assert_eq!(her.open_link(&old).await.status, 303);
        assert_eq!(her.get("/me").await.status, 200);

        let nurse = app.staff("north", "clinician").await;
        let b = app.browser();
        b.login(&nurse.email, PASSWORD).await;
        let path = format!("/clinic/patients/{}/link", patient.id);
        let sheet = b.get(&path).await;
        assert!(sheet.text.contains(&old), "the sheet shows her link");
        let replaced = b.post_form(&format!("{path}/replace"), &[]).await;
        assert_eq!(replaced.status, 303);
        let new_sheet = b.get(replaced.location().expect("to the sheet")).await;
        assert!(!new_sheet.text.contains(&old), "the old link is gone");
        assert!(new_sheet.text.contains("She has a new personal link"));

        // Her browser, signed in with the old link, is signed out; the old link opens nothing.
        assert_ne!(her.get("/me").await.status, 200);
        assert_eq!(app.browser().get(&format!("/p/{old}")).await.status, 404);
        let api = app
            .client
            .get(app.url("/api/v1/diary"))
            .bearer_auth(&old)
            .send()
            .await
            .expect("answer");
        assert_eq!(api.status(), 401);
        // The new link works.
        let fresh = app
            .store
            .get_patient(&patient.id)
            .await
            .expect("read")
            .expect("her");
        assert_ne!(fresh.link_token.expose(), old);
        assert!(new_sheet.text.contains(fresh.link_token.expose()));
        let again = app.browser();
        assert_eq!(again.open_link(fresh.link_token.expose()).await.status, 303);
        assert_eq!(again.get("/me").await.status, 200);
        let audit = app
            .store
            .list_audit(&patient.clinic_id, aftercare_store::AuditQuery::default())
            .await
            .expect("audit");
        assert!(audit.iter().any(|a| a.action == "patient.link.replaced"
            && a.patient_id.as_deref() == Some(patient.id.as_str())
            && a.actor_id.as_deref() == Some(nurse.id.as_str())));
        // A patient of another clinic cannot be reached.
        let other = app.patient_in("south", "labour_epidural", 2).await;
        let refused = b
            .post_form(&format!("/clinic/patients/{}/link/replace", other.id), &[])
            .await;
        assert_eq!(refused.status, 404);
    }
);

on_both!(
    the_session_cookie_is_strict_and_only_its_hash_is_stored_and_it_rotates,
    |app: TestApp| async move {
        let nurse = app.staff("north", "clinician").await;
        let b = app.browser();
        let res = b.login(&nurse.email, PASSWORD).await;
        let cookie = res
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("aftercare_staff="))
            .expect("a session cookie");
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
        }
        let token = b.cookie("aftercare_staff").expect("token");
        assert_eq!(token.len(), 64);
        let now = chrono::Utc::now();
        assert!(app
            .store
            .get_session(&token, now)
            .await
            .expect("lookup")
            .is_none());
        let hash = staff::auth::token_hash(&token);
        assert!(app
            .store
            .get_session(&hash, now)
            .await
            .expect("lookup")
            .is_some());

        // Logging in again from the same browser replaces the session.
        b.login(&nurse.email, PASSWORD).await;
        let second = b.cookie("aftercare_staff").expect("token");
        assert_ne!(second, token);
        assert!(app
            .store
            .get_session(&hash, now)
            .await
            .expect("lookup")
            .is_none());
        assert_eq!(b.get("/clinic").await.status, 200);

        // Logging out ends it on the server, not just in the browser.
        let out = b.post_form("/clinic/logout", &[]).await;
        assert_eq!(out.status, 303);
        let stale = app.browser();
        stale.set_cookie("aftercare_staff", &second);
        assert_eq!(stale.get("/api/v1/clinic/session").await.status, 401);
        assert_eq!(stale.get("/clinic").await.location(), Some("/clinic/login"));
    }
);

on_both!(
    changing_the_password_ends_every_other_session,
    |app: TestApp| async move {
        let nurse = app.staff("north", "clinician").await;
        let laptop = app.signed_in(&nurse).await;
        let phone = app.signed_in(&nurse).await;
        let before = laptop.cookie("aftercare_staff");
        let res = laptop
            .post_form(
                "/clinic/password",
                &[
                    ("current_password", PASSWORD),
                    ("new_password", "a brand new passphrase"),
                ],
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_ne!(
            laptop.cookie("aftercare_staff"),
            before,
            "the session rotates"
        );
        assert_eq!(laptop.get("/api/v1/clinic/session").await.status, 200);
        assert_eq!(phone.get("/api/v1/clinic/session").await.status, 401);
        // The old password no longer works; the new one does.
        assert_eq!(
            app.browser().login(&nurse.email, PASSWORD).await.status,
            401
        );
        assert_eq!(
            app.browser()
                .login(&nurse.email, "a brand new passphrase")
                .await
                .status,
            303
        );
        // A wrong current password changes nothing.
        let res = laptop
            .post_form(
                "/clinic/password",
                &[
                    ("current_password", "wrong wrong wrong"),
                    ("new_password", "another new passphrase"),
                ],
            )
            .await;
        assert_eq!(res.status, 422);
    }
);

// --- clinics are separate ----------------------------------------------------------------------

/// An appointment request of hers, straight into the store.
async fn appointment_for(app: &TestApp, patient: &Patient) -> aftercare_store::Appointment {
    let new = aftercare_store::NewAppointment {
        clinic_id: patient.clinic_id.clone(),
        patient_id: patient.id.clone(),
        kind: "physiotherapy".into(),
        preferred: "Mornings".into(),
        checkin_id: None,
    };
    aftercare_store::transaction(&*app.store, move |tx| {
        tx.create_appointment(new.clone(), chrono::Utc::now())
    })
    .await
    .expect("appointment")
}

/// A request body good enough that only access control can refuse it.
fn body_for(path: &str) -> Vec<(&'static str, String)> {
    let today = chrono::Utc::now().date_naive().to_string();
    if path.ends_with("/messages") {
        vec![("body", "hello".into())]
    } else if path.ends_with("/acknowledge") {
        vec![("note", "called her".into())]
    } else if path.ends_with("/answer") {
        let at = chrono::Utc::now() + chrono::Duration::days(3);
        vec![
            ("starts_at", at.format("%Y-%m-%dT%H:%M").to_string()),
            ("minutes", "30".into()),
            ("action", "confirm".into()),
        ]
    } else if path.ends_with("/handled") {
        vec![("reply_note", "rang back".into())]
    } else if path.ends_with("/patients") {
        vec![
            ("display_name", "New One".into()),
            ("procedure", "labour_epidural".into()),
            ("procedure_date", today),
            ("language", "en".into()),
        ]
    } else if path.ends_with("/announcements") {
        vec![
            ("text_en", "Closed".into()),
            ("text_es", "Cerrado".into()),
            ("starts_at", "2026-01-01T00:00".into()),
        ]
    } else if path.ends_with("/settings") {
        vec![("name", "Renamed".into())]
    } else if path.ends_with("/staff") {
        vec![
            ("display_name", "New".into()),
            (
                "email",
                format!("new-{}@x.example", uuid::Uuid::new_v4().simple()),
            ),
            ("role", "clinician".into()),
            ("password", "long enough password".into()),
        ]
    } else {
        Vec::new()
    }
}

/// Calls a page route or an API route the way its client would.
async fn call(b: &Browser, method: &str, path: &str, api: bool) -> support::staff::Reply {
    let fields = body_for(path);
    match (method, api) {
        ("get", _) => {
            // SSE streams never end: look at the status and headers only.
            if path.ends_with("/events") {
                let res = b
                    .client
                    .get(format!("{}{path}", b.base))
                    .header(
                        "cookie",
                        format!(
                            "aftercare_staff={}",
                            b.cookie("aftercare_staff").unwrap_or_default()
                        ),
                    )
                    .send()
                    .await
                    .expect("request");
                return support::staff::Reply {
                    status: res.status().as_u16(),
                    headers: res.headers().clone(),
                    text: String::new(),
                };
            }
            b.get(path).await
        }
        (_, false) => {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            b.post_form(path, &pairs).await
        }
        (m, true) => {
            let body: serde_json::Map<String, Value> = fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            b.send_json(&m.to_uppercase(), path, &Value::Object(body))
                .await
        }
    }
}

/// Every staff route: the page routes from the one table, the API routes from the document.
async fn every_route(app: &TestApp) -> Vec<(String, String, Access, bool)> {
    let mut all: Vec<(String, String, Access, bool)> = staff::routes()
        .into_iter()
        .map(|r| {
            (
                r.method.as_str().to_lowercase(),
                r.path.to_string(),
                r.access,
                false,
            )
        })
        .collect();
    let (_, doc) = app.get("/api/v1/openapi.json", None).await;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/clinic") {
            continue;
        }
        for method in item.as_object().expect("item").keys() {
            let access = if path == "/api/v1/clinic/session" && method == "post" {
                Access::Public
            } else if path.starts_with("/api/v1/clinic/session") {
                Access::Staff
            } else if path.starts_with("/api/v1/clinic/audit")
                || path.starts_with("/api/v1/clinic/settings")
            {
                Access::Admin
            } else {
                Access::Clinician
            };
            all.push((method.clone(), path.clone(), access, true));
        }
    }
    assert!(
        all.len() > 30,
        "the route list looks incomplete: {}",
        all.len()
    );
    all
}

on_both!(
    every_staff_route_refuses_a_visitor_and_a_member_of_another_clinic,
    |app: TestApp| async move {
        let patient = app.patient_in("alpha", "labour_epidural", 2).await;
        emergency(&app, &patient).await;
        let escalation = app
            .store
            .list_escalations(&patient.id, true)
            .await
            .expect("esc")[0]
            .clone();
        let alpha = app.clinic("alpha").await;
        let request = app
            .store
            .create_contact_request(
                NewContactRequest {
                    clinic_id: alpha.id.clone(),
                    patient_id: None,
                    name: "Alpha Caller".into(),
                    contact: "alpha-caller@example.com".into(),
                    message: "please call".into(),
                    consent: true,
                },
                chrono::Utc::now(),
            )
            .await
            .expect("request");
        app.post_json(
            "/api/v1/messages",
            Some(patient.link_token.expose()),
            &json!({"body": "alpha secret"}),
        )
        .await;
        let appointment = appointment_for(&app, &patient).await;
        let fill = |p: &str| {
            p.replace("{patient}", &patient.id)
                .replace("{escalation}", &escalation.id)
                .replace("{request}", &request.id)
                .replace("{appointment}", &appointment.id)
        };
        let secrets = [
            patient.id.as_str(),
            request.id.as_str(),
            "Alpha Caller",
            "alpha secret",
        ];

        let beta_clinician = app.signed_in(&app.staff("beta", "clinician").await).await;
        let beta_admin = app.signed_in(&app.staff("beta", "admin").await).await;
        let alpha_clinician = app.signed_in(&app.staff("alpha", "clinician").await).await;
        let alpha_admin = app.signed_in(&app.staff("alpha", "admin").await).await;

        for (method, template, access, api) in every_route(&app).await {
            if access == Access::Public {
                continue;
            }
            let path = fill(&template);
            let what = format!("{method} {template}");

            // Signed out: 401, or sent to the login form.
            let visitor = app.browser();
            let r = call(&visitor, &method, &path, api).await;
            assert!(
                r.status == 401 || (r.status == 303 && r.location() == Some("/clinic/login")),
                "{what} as a visitor: {} {:?}",
                r.status,
                r.location()
            );

            // The session's own routes hold no clinic data (and logging out would end the
            // session the walk uses).
            if template.starts_with("/api/v1/clinic/session")
                || template.starts_with("/clinic/logout")
                || template.starts_with("/clinic/password")
            {
                continue;
            }
            // Another clinic: a refusal when the route names alpha's data, and none of alpha's
            // data when it does not.
            let outsider = match access {
                Access::Admin => &beta_admin,
                _ => &beta_clinician,
            };
            let r = call(outsider, &method, &path, api).await;
            if template.contains('{') {
                assert!(
                    matches!(r.status, 403 | 404),
                    "{what} from another clinic: {} {}",
                    r.status,
                    r.text.chars().take(300).collect::<String>()
                );
            } else {
                assert!(r.status < 500, "{what}: {}", r.status);
                for s in secrets {
                    assert!(
                        !r.text.contains(s),
                        "{what} from another clinic shows {s:?}"
                    );
                }
            }

            // The wrong role of the right clinic.
            let wrong_role = match access {
                Access::Admin => Some(&alpha_clinician),
                Access::Clinician => Some(&alpha_admin),
                _ => None,
            };
            if let Some(b) = wrong_role {
                let r = call(b, &method, &path, api).await;
                assert_eq!(r.status, 403, "{what} with the wrong role");
            }
        }
        // Nothing of alpha's was changed by anyone.
        assert_eq!(
            app.store
                .list_escalations(&patient.id, true)
                .await
                .expect("esc")
                .len(),
            1
        );
        assert!(app
            .store
            .list_contact_requests(&alpha.id, Some(true))
            .await
            .expect("req")
            .is_empty());
        let messages = app
            .store
            .list_messages(&patient.id, 0, 100)
            .await
            .expect("messages");
        assert_eq!(messages.len(), 1, "{messages:?}");
    }
);

// --- board, enrolment, patient page ------------------------------------------------------------

on_both!(
    the_board_puts_the_emergency_first_and_filters_by_level_and_procedure,
    |app: TestApp| async move {
        let calm = app.patient_in("north", "labour_epidural", 3).await;
        let quiet = app
            .patient_in("north", "epidural_steroid_injection", 5)
            .await;
        let urgent = app.patient_in("north", "spinal", 1).await;
        emergency(&app, &urgent).await;
        app.post_json(
            "/api/v1/messages",
            Some(calm.link_token.expose()),
            &json!({"body": "a question"}),
        )
        .await;
        let nurse = app.signed_in(&app.staff("north", "clinician").await).await;
        let board = nurse.get("/api/v1/clinic/patients").await;
        assert_eq!(board.status, 200, "{}", board.text);
        let rows = board.json();
        let rows = rows.as_array().expect("rows");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0]["id"], urgent.id.as_str());
        assert_eq!(rows[0]["open_escalations"], 1);
        assert!(
            rows.iter()
                .all(|r| r.get("link_token").is_none() && r.get("enrolment_code").is_none()),
            "the link and the code are secrets: {rows:?}"
        );
        let calm_row = rows
            .iter()
            .find(|r| r["id"] == calm.id.as_str())
            .expect("calm");
        assert_eq!(calm_row["unread_messages"], 1);

        let emergencies = nurse
            .get("/api/v1/clinic/patients?level=emergency")
            .await
            .json();
        assert_eq!(emergencies.as_array().map(Vec::len), Some(1));
        let injections = nurse
            .get("/api/v1/clinic/patients?procedure=epidural_steroid_injection")
            .await
            .json();
        assert_eq!(injections[0]["id"], quiet.id.as_str());
        assert_eq!(
            nurse.get("/api/v1/clinic/patients?level=bad").await.status,
            422
        );

        // Paging by cursor: a full page links to the next; following the links walks the
        // same board; a cursor that is not one is refused, naming it.
        let mut walked = Vec::new();
        let mut next = Some("/api/v1/clinic/patients?limit=2".to_string());
        while let Some(path) = next.take() {
            let page = nurse.get(&path).await;
            assert_eq!(page.status, 200, "{path}: {}", page.text);
            let json = page.json();
            walked.extend(
                json.as_array()
                    .expect("rows")
                    .iter()
                    .map(|r| r["id"].clone()),
            );
            next = page
                .headers
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(|l| l.strip_prefix('<'))
                .and_then(|l| l.split_once(">; rel=\"next\""))
                .map(|(url, _)| url.to_string());
        }
        let ids: Vec<Value> = rows.iter().map(|r| r["id"].clone()).collect();
        assert_eq!(walked, ids);
        let bad = nurse
            .get("/api/v1/clinic/patients?after=not-a-cursor")
            .await;
        assert_eq!(bad.status, 422);
        assert_eq!(bad.json()["field"], "after");

        // The page: the emergency is the first row, the unread message is counted.
        let page = nurse.get("/clinic").await;
        assert_eq!(page.status, 200);
        let first_row = page.text.split("<tbody>").nth(1).expect("tbody");
        let first = first_row.find(urgent.id.as_str()).expect("urgent listed");
        let second = first_row.find(calm.id.as_str()).expect("calm listed");
        assert!(first < second);
        assert!(page.text.contains("1 unread"));
        let filtered = nurse.get("/clinic?level=emergency&procedure=").await;
        assert!(
            filtered.text.contains(urgent.id.as_str()) && !filtered.text.contains(calm.id.as_str())
        );
    }
);

/// Opens a staff SSE stream as the browser would (with the session cookie).
async fn staff_stream(app: &TestApp, b: &support::staff::Browser, path: &str) -> reqwest::Response {
    let res = b
        .client
        .get(app.url(path))
        .header(
            "cookie",
            format!(
                "aftercare_staff={}",
                b.cookie("aftercare_staff").expect("cookie")
            ),
        )
        .send()
        .await
        .expect("stream");
    assert_eq!(res.status().as_u16(), 200, "{path}");
    res
}

on_both!(
    the_board_finds_her_by_name_counts_what_waits_and_refreshes_when_an_escalation_arrives,
    |app: TestApp| async move {
        let bea = app.patient_in("north", "labour_epidural", 3).await;
        let nurse_row = app.staff("north", "clinician").await;
        let nurse = app.signed_in(&nurse_row).await;
        let today = chrono::Utc::now().date_naive().to_string();
        let carmen = nurse
            .send_json(
                "POST",
                "/api/v1/clinic/patients",
                &json!({"display_name": "Carmen Vidal", "procedure": "labour_epidural", "procedure_date": today, "language": "es"}),
            )
            .await
            .json();
        let carmen_id = carmen["patient"]["id"].as_str().expect("id").to_string();

        // Search by part of her name, any case; the box keeps what was typed.
        let found = nurse.get("/clinic?name=vID").await;
        assert_eq!(found.status, 200);
        assert!(
            found.text.contains(carmen_id.as_str()) && !found.text.contains(bea.id.as_str()),
            "{}",
            found.text
        );
        assert!(found.text.contains("value=\"vID\""));
        let api = nurse.get("/api/v1/clinic/patients?name=vID").await.json();
        assert_eq!(api.as_array().map(Vec::len), Some(1));

        // The board as drawn, with its stamp; then an emergency arrives.
        let board = nurse.get("/clinic").await;
        assert!(!board.text.contains("count-alert"), "nothing open yet");
        let at = board
            .text
            .find("stamp=")
            .expect("the board follows its stream")
            + 6;
        let stamp = &board.text[at..at + 16];
        let mut live =
            staff_stream(&app, &nurse, &format!("/clinic/board/events?stamp={stamp}")).await;
        emergency(&app, &bea).await;
        let seen = sse_until(&mut live, "event: board").await;
        let seen = sse_until_more(&mut live, seen, "open_escalations").await;
        assert!(seen.contains("\"open_escalations\":1"), "{seen}");
        assert!(
            !seen.contains(bea.id.as_str()) && !seen.contains(&bea.display_name),
            "counts only"
        );

        // The menu counts it on every page.
        let page = nurse.get("/clinic/contact").await;
        assert!(page.text.contains("1 open"), "{}", page.text);

        // Deactivated, her open stream ends.
        let admin = app.signed_in(&app.staff("north", "admin").await).await;
        let done = admin
            .post_form(&format!("/clinic/staff/{}/deactivate", nurse_row.id), &[])
            .await;
        assert_eq!(done.status, 303, "{}", done.text);
        let end = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match live.chunk().await {
                    Ok(Some(_)) => continue,
                    _ => return,
                }
            }
        })
        .await;
        assert!(end.is_ok(), "the stream of a deactivated account ends");
    }
);

/// Keeps reading until `needle` is in what has been seen so far.
async fn sse_until_more(res: &mut reqwest::Response, mut seen: String, needle: &str) -> String {
    if !seen.contains(needle) {
        seen.push_str(&sse_until(res, needle).await);
    }
    seen
}

on_both!(
    she_asks_for_an_appointment_the_clinic_proposes_a_time_and_she_accepts_it,
    |app: TestApp| async move {
        let patient = app.patient_in("north", "labour_epidural", 2).await;
        let nurse = app.signed_in(&app.staff("north", "clinician").await).await;
        let her = app.browser();
        her.open_link(patient.link_token.expose()).await;

        let page = her.get("/me/appointments").await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(
            page.text.contains("value=\"physiotherapy\""),
            "{}",
            page.text
        );
        let empty = her
            .post_form(
                "/me/appointments",
                &[("kind", "physiotherapy"), ("preferred", "  ")],
            )
            .await;
        assert_eq!(empty.status, 422, "she must say which times suit her");
        let asked = her
            .post_form(
                "/me/appointments",
                &[("kind", "physiotherapy"), ("preferred", "Weekday mornings")],
            )
            .await;
        assert_eq!(asked.status, 303);
        let mine = her.get(asked.location().expect("back to her list")).await;
        assert!(
            mine.text.contains("Waiting for your clinic"),
            "{}",
            mine.text
        );

        // The clinic: counted in the menu, listed with what she wrote.
        let board = nurse.get("/clinic").await;
        assert!(board.text.contains("1 new"), "{}", board.text);
        let list = nurse.get("/clinic/appointments").await;
        assert!(list.text.contains("Weekday mornings") && list.text.contains("A physiotherapist"));
        let id = app
            .store
            .list_patient_appointments(&patient.id)
            .await
            .expect("read")[0]
            .id
            .clone();
        let at = chrono::Utc::now() + chrono::Duration::days(4);
        let proposed = nurse
            .post_form(
                &format!("/clinic/appointments/{id}/answer"),
                &[
                    ("starts_at", &at.format("%Y-%m-%dT%H:%M").to_string()),
                    ("minutes", "45"),
                    ("note", "Room 3, ask for Marta"),
                    ("action", "propose"),
                ],
            )
            .await;
        assert_eq!(proposed.status, 303, "{}", proposed.text);
        let past = nurse
            .post_form(
                &format!("/clinic/appointments/{id}/answer"),
                &[
                    ("starts_at", "2020-01-01T09:00"),
                    ("minutes", "45"),
                    ("action", "confirm"),
                ],
            )
            .await;
        assert_eq!(past.status, 422, "a time in the past is refused");

        // She sees the offer and accepts it; a page drawn before a later change cannot accept.
        let stale = her
            .post_form(
                &format!("/me/appointments/{id}/accept"),
                &[("seen", "2020-01-01T00:00:00+00:00")],
            )
            .await;
        assert_eq!(
            stale.status, 409,
            "an old page cannot accept a time it did not show"
        );
        let offer = her.get("/me/appointments").await;
        assert!(offer.text.contains("Your clinic offers"), "{}", offer.text);
        assert!(offer.text.contains("Room 3, ask for Marta"));
        let accepted = her
            .post_form(&format!("/me/appointments/{id}/accept"), &[])
            .await;
        assert_eq!(accepted.status, 303);
        let booked = her.get("/me/appointments").await;
        assert!(booked.text.contains("Booked:"), "{}", booked.text);
        let again = her
            .post_form(&format!("/me/appointments/{id}/accept"), &[])
            .await;
        assert_eq!(again.status, 409, "nothing left to accept");
        // Her record shows it; another patient cannot touch it.
        let record = nurse.get(&format!("/clinic/patients/{}", patient.id)).await;
        assert!(record.text.contains("Her appointment requests"));
        let other = app.patient_in("north", "labour_epidural", 2).await;
        let stranger = app.browser();
        stranger.open_link(other.link_token.expose()).await;
        let refused = stranger
            .post_form(&format!("/me/appointments/{id}/cancel"), &[])
            .await;
        assert_eq!(refused.status, 404);

        // After an emergency answer she is told to call, not offered a booking; a request
        // posted anyway is refused by the application.
        emergency(&app, &patient).await;
        let call = her.get("/me/appointments").await;
        assert!(call.text.contains("asks you to call"), "{}", call.text);
        assert!(
            call.text.contains("tel:112"),
            "the emergency number to call"
        );
        assert!(!call.text.contains("name=\"preferred\""));
        let forced = her
            .post_form(
                "/me/appointments",
                &[("kind", "physiotherapy"), ("preferred", "Any time")],
            )
            .await;
        assert_eq!(forced.status, 422, "the application refuses it too");
    }
);

on_both!(
    enrolling_gives_a_working_personal_link_a_code_and_a_qr_code,
    |app: TestApp| async move {
        let nurse = app.signed_in(&app.staff("north", "clinician").await).await;
        let today = chrono::Utc::now().date_naive().to_string();
        let res = nurse
            .send_json(
                "POST",
                "/api/v1/clinic/patients",
                &json!({"display_name": "Ana", "procedure": "labour_epidural", "procedure_date": today, "delivery_date": today, "language": "es"}),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        let enrolled = res.json();
        let link = enrolled["link"].as_str().expect("link");
        assert!(link.starts_with(&format!("{}/p/", app.base)));
        let token = link.rsplit('/').next().expect("token");
        assert_eq!(token.len(), 64);
        let patient = app
            .store
            .get_patient_by_link_token(token)
            .await
            .expect("lookup")
            .expect("her");
        assert_eq!(patient.language, "es");
        assert_eq!(
            enrolled["code"].as_str().map(|c| c.replace('-', "")),
            Some(patient.enrolment_code.clone())
        );
        // Her link signs her in.
        let her = app.browser();
        let opened = her.open_link(token).await;
        assert_eq!(opened.status, 303);
        assert_eq!(her.get("/me").await.status, 200);
        // The QR code is an SVG.
        let qr = nurse.get(enrolled["qr_svg"].as_str().expect("qr")).await;
        assert_eq!(qr.status, 200);
        assert!(qr.text.contains("<svg"));
        // Her sheet to take home: in her language, addressed to her, with the numbers to call.
        let sheet = nurse
            .get(&format!("/clinic/patients/{}/link", patient.id))
            .await;
        assert!(sheet.text.contains("lang=\"es\""), "{}", sheet.text);
        assert!(sheet.text.contains("Cómo entrar en Aftercare"));
        assert!(sheet.text.contains("Hola, Ana:"));
        assert!(sheet.text.contains("tel:112"));

        // Without the CSRF token a cookie-authenticated write is refused.
        let res = nurse
            .send(nurse.client.post(app.url("/api/v1/clinic/patients")).json(&json!({"display_name": "X", "procedure": "spinal", "procedure_date": today, "language": "en"})))
            .await;
        assert_eq!(res.status, 403);
        // The form: a bad field is named, a good one leads to her link page.
        let bad = nurse
            .post_form(
                "/clinic/patients",
                &[
                    ("display_name", "B"),
                    ("procedure", "magic"),
                    ("procedure_date", &today),
                    ("language", "en"),
                ],
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.text.contains("procedure"));
        // Her email at enrolment needs her consent; refused, the form keeps what was typed.
        let unconsented = nurse
            .post_form(
                "/clinic/patients",
                &[
                    ("display_name", "Cora"),
                    ("phone", "+34 600 111 222"),
                    ("email", "cora@home.example"),
                    ("reminder_hour", "20"),
                    ("procedure", "spinal"),
                    ("procedure_date", &today),
                    ("language", "en"),
                ],
            )
            .await;
        assert_eq!(unconsented.status, 422);
        assert!(
            unconsented.text.contains("tick the box"),
            "{}",
            unconsented.text
        );
        assert!(unconsented.text.contains("cora@home.example"));
        assert!(unconsented.text.contains("+34 600 111 222"));
        assert!(unconsented.text.contains("value=\"20\" selected"));
        let consented = nurse
            .post_form(
                "/clinic/patients",
                &[
                    ("display_name", "Cora"),
                    ("email", "cora@home.example"),
                    ("reminder_hour", "20"),
                    ("email_consent", "yes"),
                    ("procedure", "spinal"),
                    ("procedure_date", &today),
                    ("language", "en"),
                ],
            )
            .await;
        assert_eq!(consented.status, 303, "{}", consented.text);
        let cora_id = consented
            .location()
            .and_then(|l| l.split('/').nth(3))
            .expect("her id")
            .to_string();
        let email = app
            .store
            .get_patient_email(&cora_id.clone().into())
            .await
            .expect("read")
            .expect("stored with her enrolment");
        assert_eq!(email.email, "cora@home.example");
        assert_eq!(email.reminder_hour, Some(20));
        let good = nurse
            .post_form(
                "/clinic/patients",
                &[
                    ("display_name", "Bea"),
                    ("procedure", "spinal"),
                    ("procedure_date", &today),
                    ("language", "en"),
                ],
            )
            .await;
        assert_eq!(good.status, 303);
        let page = nurse.get(good.location().expect("location")).await;
        assert!(
            page.text.contains("&#x2f;p&#x2f;") && page.text.contains("qr.svg"),
            "{} {}",
            page.status,
            page.text
        );
        // A form without the CSRF field is refused.
        let forged = nurse
            .post_form_raw(
                "/clinic/patients",
                &[
                    ("display_name", "Eve"),
                    ("procedure", "spinal"),
                    ("procedure_date", &today),
                    ("language", "en"),
                ],
            )
            .await;
        assert_eq!(forged.status, 403);
    }
);

on_both!(
    the_patient_page_shows_her_timeline_reasons_and_chart_and_acknowledging_records_who_when_and_a_note,
    |app: TestApp| async move {
        let patient = app.patient_in("north", "labour_epidural", 2).await;
        let today = chrono::Utc::now().date_naive();
        app.put_json(&format!("/api/v1/diary/{today}"), Some(patient.link_token.expose()), &json!({"pain": 4, "note": "<img src=x onerror=alert(1)>", "facts": {"fever": true}}))
            .await;
        emergency(&app, &patient).await;
        let nurse_row = app.staff("north", "clinician").await;
        let nurse = app.signed_in(&nurse_row).await;
        let page = nurse.get(&format!("/clinic/patients/{}", patient.id)).await;
        assert_eq!(page.status, 200);
        assert!(page.text.contains("EM-STROKE"), "the reason is shown");
        assert!(page.text.contains("Her answers"), "the diary day shows what she answered");
        assert!(page.text.contains("<strong class=\"red-flag\">Red flag:"), "her fever that day is flagged: {}", page.text);
        assert!(page.text.contains("Source:"));
        assert!(page.text.contains("pain-chart"));
        assert!(page.text.contains("Open escalations"));
        assert!(!page.text.contains("<img src=x"), "her note is escaped");
        assert!(page.text.contains("&lt;img src=x"));

        // Her record as a FHIR Bundle, downloaded from her page.
        assert!(page.text.contains("fhir.json"));
        let export = nurse.get(&format!("/clinic/patients/{}/fhir.json", patient.id)).await;
        assert_eq!(export.status, 200);
        assert!(export.headers["content-type"].to_str().expect("ct").starts_with("application/fhir+json"));
        assert!(export.headers["content-disposition"].to_str().expect("cd").contains("attachment"));
        let bundle = export.json();
        assert_eq!(bundle["resourceType"], "Bundle");
        assert!(bundle["entry"].as_array().is_some_and(|e| e.len() > 2));
        let data = nurse.get(&format!("/api/v1/clinic/patients/{}", patient.id)).await.json();
        assert!(data["timeline"].as_array().is_some_and(|t| t.len() >= 2));
        assert_eq!(data["current_decision"]["level"], "emergency");

        let escalation = app.store.list_escalations(&patient.id, true).await.expect("esc")[0].clone();
        let res = nurse
            .post_form(&format!("/clinic/escalations/{}/acknowledge", escalation.id), &[("note", "Called her; on her way to hospital")])
            .await;
        assert_eq!(res.status, 303);
        let done = app.store.get_escalation(&escalation.id).await.expect("esc").expect("row");
        assert_eq!(done.acknowledged_by.as_deref(), Some(nurse_row.id.as_str()));
        assert!(done.acknowledged_at.is_some());
        assert_eq!(done.ack_note.as_deref(), Some("Called her; on her way to hospital"));
        // Twice is a conflict.
        let again = nurse
            .send_json("POST", &format!("/api/v1/clinic/escalations/{}/acknowledge", escalation.id), &json!({}))
            .await;
        assert_eq!(again.status, 409);
        let board = nurse.get("/api/v1/clinic/patients").await.json();
        assert_eq!(board[0]["open_escalations"], 0);
    }
);

// --- chat --------------------------------------------------------------------------------------

on_both!(
    a_message_reaches_the_other_side_live_and_is_escaped_everywhere,
    |app: TestApp| async move {
        let patient = app.patient_in("north", "labour_epidural", 2).await;
        let nurse_row = app.staff("north", "clinician").await;
        let nurse = app.signed_in(&nurse_row).await;
        let admin = app.signed_in(&app.staff("north", "admin").await).await;
        let zoned = admin
            .send_json(
                "PATCH",
                "/api/v1/clinic/settings",
                &json!({"time_zone": "Europe/Madrid"}),
            )
            .await;
        assert_eq!(zoned.status, 200, "{}", zoned.text);

        // The clinic follows her thread.
        let mut staff_stream = nurse
            .client
            .get(app.url(&format!("/clinic/patients/{}/chat/events", patient.id)))
            .header(
                "cookie",
                format!(
                    "aftercare_staff={}",
                    nurse.cookie("aftercare_staff").expect("cookie")
                ),
            )
            .send()
            .await
            .expect("stream");
        assert_eq!(staff_stream.status().as_u16(), 200);
        assert!(staff_stream.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/event-stream"));
        // She follows hers.
        let mut her_stream = app
            .client
            .get(app.url("/api/v1/messages/events"))
            .bearer_auth(patient.link_token.expose())
            .send()
            .await
            .expect("stream");
        assert_eq!(her_stream.status().as_u16(), 200);

        let (status, _) = app
            .post_json(
                "/api/v1/messages",
                Some(patient.link_token.expose()),
                &json!({"body": "<script>alert('x')</script> is this normal?"}),
            )
            .await;
        assert_eq!(status, 201);
        let seen = sse_until(&mut staff_stream, "is this normal").await;
        assert!(seen.contains("event: message"));

        let res = nurse
            .post_form(
                &format!("/clinic/patients/{}/messages", patient.id),
                &[("body", "Yes, <b>quite</b> normal")],
            )
            .await;
        assert_eq!(res.status, 303);
        let live = sse_until(&mut her_stream, "quite").await;
        let signed = format!("{}, clinician", nurse_row.display_name);
        assert!(live.contains(&signed), "the reply is signed: {live}");

        // Shown escaped on both pages.
        let page = nurse.get(&format!("/clinic/patients/{}", patient.id)).await;
        assert!(!page.text.contains("<script>alert"));
        assert!(page.text.contains("&lt;script&gt;alert"));
        let her = app.browser();
        her.open_link(patient.link_token.expose()).await;
        let chat = her.get("/me/chat").await;
        assert_eq!(chat.status, 200, "{}", chat.text);
        assert!(
            chat.text.contains("&lt;b&gt;quite&lt;&#x2f;b&gt;")
                || chat.text.contains("&lt;b&gt;quite&lt;/b&gt;")
        );
        assert!(!chat.text.contains("<b>quite</b>"));
        // The page says it is not for emergencies and what to do instead.
        assert!(chat.text.contains("not for emergencies"));
        assert!(chat.text.contains("tel:112"));

        // Unread counts: the staff page has read hers; she has not read the clinic's yet via
        // the API, but her chat page marked it read.
        let counts = app.store.unread_counts(&patient.id).await.expect("counts");
        assert_eq!((counts.for_staff, counts.for_patient), (0, 0));

        // Her chat form works without JavaScript, and refuses an empty message.
        let sent = her.post_form("/me/chat", &[("body", "thanks")]).await;
        assert_eq!(sent.status, 303);
        let empty = her.post_form("/me/chat", &[("body", "   ")]).await;
        assert_eq!(empty.status, 422);
        let (_, thread) = app
            .get("/api/v1/messages", Some(patient.link_token.expose()))
            .await;
        assert_eq!(thread["messages"].as_array().map(Vec::len), Some(3));
        // Signed by the nurse, in her language; times in the clinic's zone, with the zone.
        assert_eq!(thread["messages"][1]["author"], json!(signed));
        let time = thread["messages"][1]["time"].as_str().expect("time");
        assert!(time.ends_with("CET") || time.ends_with("CEST"), "{time}");
        assert!(chat.text.contains(&nurse_row.display_name));
        let es = her.get("/me/chat?lang=es").await;
        assert!(es.text.contains(&format!(
            "{}, profesional sanitario",
            nurse_row.display_name
        )));
        let staff_page = nurse.get(&format!("/clinic/patients/{}", patient.id)).await;
        assert!(staff_page.text.contains(&signed));
        let staff_thread = nurse
            .get(&format!("/api/v1/clinic/patients/{}/messages", patient.id))
            .await
            .json();
        let time = staff_thread[0]["time"].as_str().expect("time");
        assert!(time.ends_with("CET") || time.ends_with("CEST"), "{time}");
    }
);

on_both!(
    the_chat_page_tells_her_when_the_clinic_answers,
    |app: TestApp| async move {
        let patient = app.patient_in("north", "labour_epidural", 2).await;
        let admin = app.signed_in(&app.staff("north", "admin").await).await;
        let res = admin
            .post_form(
                "/clinic/settings",
                &[
                    ("name", "North clinic"),
                    ("hours_en", "Mon to Fri, 8:00 to 18:00"),
                    ("hours_es", "De lunes a viernes, de 8:00 a 18:00"),
                ],
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        let her = app.browser();
        her.open_link(patient.link_token.expose()).await;
        assert!(her
            .get("/me/chat")
            .await
            .text
            .contains("Mon to Fri, 8:00 to 18:00"));
        assert!(her
            .get("/me/chat?lang=es")
            .await
            .text
            .contains("De lunes a viernes"));
    }
);

// --- contact requests, announcements -----------------------------------------------------------

on_both!(
    contact_requests_are_handled_with_a_note_by_their_own_clinic_only,
    |app: TestApp| async move {
        let north = app.clinic("north").await;
        let req = app
            .store
            .create_contact_request(
                NewContactRequest {
                    clinic_id: north.id.clone(),
                    patient_id: None,
                    name: "Lucia <i>R</i>".into(),
                    contact: "555-0100".into(),
                    message: "Can I start running?".into(),
                    consent: true,
                },
                chrono::Utc::now(),
            )
            .await
            .expect("request");
        let nurse_row = app.staff("north", "clinician").await;
        let nurse = app.signed_in(&nurse_row).await;
        let inbox = nurse.get("/clinic/contact").await;
        assert!(inbox.text.contains("Can I start running?"));
        assert!(inbox.text.contains("Lucia &lt;i&gt;R"));
        let res = nurse
            .post_form(
                &format!("/clinic/contact/{}/handled", req.id),
                &[("reply_note", "Rang her: not yet")],
            )
            .await;
        assert_eq!(res.status, 303);
        let handled = app
            .store
            .list_contact_requests(&north.id, Some(true))
            .await
            .expect("list");
        assert_eq!(
            handled[0].handled_by.as_deref(),
            Some(nurse_row.id.as_str())
        );
        assert_eq!(handled[0].reply_note.as_deref(), Some("Rang her: not yet"));
        assert!(!nurse
            .get("/clinic/contact")
            .await
            .text
            .contains("Can I start running?"));
        assert!(nurse
            .get("/clinic/contact?show=handled")
            .await
            .text
            .contains("Rang her: not yet"));
        let api = nurse
            .get("/api/v1/clinic/contact-requests?handled=true")
            .await
            .json();
        assert_eq!(api[0]["id"], req.id.as_str());
    }
);

on_both!(
    an_admin_publishes_a_banner_in_english_and_spanish_with_a_start_and_an_end,
    |app: TestApp| async move {
        let patient = app.patient_in("north", "labour_epidural", 2).await;
        let admin = app.signed_in(&app.staff("north", "admin").await).await;
        let start = (chrono::Utc::now() - chrono::Duration::hours(1))
            .format("%Y-%m-%dT%H:%M")
            .to_string();
        let end = (chrono::Utc::now() + chrono::Duration::days(1))
            .format("%Y-%m-%dT%H:%M")
            .to_string();
        let res = admin
            .post_form(
                "/clinic/announcements",
                &[
                    ("text_en", "Closed on Friday"),
                    ("text_es", "Cerrado el viernes"),
                    ("starts_at", &start),
                    ("ends_at", &end),
                ],
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.text);
        let bad = admin
            .post_form(
                "/clinic/announcements",
                &[
                    ("text_en", "x"),
                    ("text_es", "y"),
                    ("starts_at", &end),
                    ("ends_at", &start),
                ],
            )
            .await;
        assert_eq!(bad.status, 422);
        let her = app.browser();
        her.open_link(patient.link_token.expose()).await;
        assert!(her.get("/me").await.text.contains("Closed on Friday"));
        assert!(her
            .get("/me?lang=es")
            .await
            .text
            .contains("Cerrado el viernes"));
    }
);

// --- the audit log -----------------------------------------------------------------------------

on_both!(
    every_route_that_touches_patient_data_leaves_an_audit_row,
    |app: TestApp| async move {
        let patient = app.patient_in("north", "labour_epidural", 2).await;
        emergency(&app, &patient).await;
        let escalation = app
            .store
            .list_escalations(&patient.id, true)
            .await
            .expect("esc")[0]
            .clone();
        let north = app.clinic("north").await;
        let request = app
            .store
            .create_contact_request(
                NewContactRequest {
                    clinic_id: north.id.clone(),
                    patient_id: None,
                    name: "N".into(),
                    contact: "c".into(),
                    message: "m".into(),
                    consent: true,
                },
                chrono::Utc::now(),
            )
            .await
            .expect("request");
        let nurse_row = app.staff("north", "clinician").await;
        let nurse = app.signed_in(&nurse_row).await;
        let admin = app.signed_in(&app.staff("north", "admin").await).await;
        let her = app.browser();
        her.open_link(patient.link_token.expose()).await;
        let p = patient.id.as_str();
        let appointment = appointment_for(&app, &patient).await;

        // (who, method, path, api, expected action, about the patient?)
        let calls: Vec<(&Browser, &str, String, bool, &str, bool)> = vec![
            (&nurse, "get", "/clinic".into(), false, "board.read", false),
            (
                &nurse,
                "get",
                "/api/v1/clinic/patients".into(),
                true,
                "board.read",
                false,
            ),
            (
                &nurse,
                "get",
                format!("/clinic/patients/{p}"),
                false,
                "patient.read",
                true,
            ),
            (
                &nurse,
                "get",
                format!("/api/v1/clinic/patients/{p}"),
                true,
                "patient.read",
                true,
            ),
            (
                &nurse,
                "get",
                format!("/clinic/patients/{p}/link"),
                false,
                "patient.link.read",
                true,
            ),
            (
                &nurse,
                "get",
                format!("/clinic/patients/{p}/qr.svg"),
                false,
                "patient.link.read",
                true,
            ),
            (
                &nurse,
                "post",
                format!("/clinic/patients/{p}/messages"),
                false,
                "message.write",
                true,
            ),
            (
                &nurse,
                "post",
                format!("/api/v1/clinic/patients/{p}/messages"),
                true,
                "message.write",
                true,
            ),
            (
                &nurse,
                "get",
                format!("/api/v1/clinic/patients/{p}/messages"),
                true,
                "messages.read",
                true,
            ),
            (
                &nurse,
                "get",
                format!("/clinic/patients/{p}/chat/events"),
                false,
                "messages.follow",
                true,
            ),
            (
                &nurse,
                "get",
                format!("/clinic/patients/{p}/fhir.json"),
                false,
                "fhir.export",
                true,
            ),
            (
                &nurse,
                "post",
                format!("/clinic/escalations/{}/acknowledge", escalation.id),
                false,
                "escalation.acknowledge",
                true,
            ),
            (
                &nurse,
                "post",
                format!("/clinic/patients/{p}/phone"),
                false,
                "patient.phone.set",
                true,
            ),
            (
                &nurse,
                "post",
                format!("/clinic/escalations/{}/close", escalation.id),
                false,
                "escalation.close",
                true,
            ),
            (
                &nurse,
                "get",
                "/clinic/contact".into(),
                false,
                "contact.list",
                false,
            ),
            (
                &nurse,
                "get",
                "/clinic/appointments".into(),
                false,
                "appointment.list",
                false,
            ),
            (
                &nurse,
                "post",
                format!("/clinic/appointments/{}/answer", appointment.id),
                false,
                "appointment.answer",
                true,
            ),
            (
                &nurse,
                "post",
                format!("/clinic/appointments/{}/cancel", appointment.id),
                false,
                "appointment.cancel",
                true,
            ),
            (
                &nurse,
                "post",
                format!("/clinic/contact/{}/handled", request.id),
                false,
                "contact.handled",
                false,
            ),
            (
                &nurse,
                "post",
                "/clinic/patients".into(),
                false,
                "patient.enrol",
                true,
            ),
            (
                &nurse,
                "post",
                "/api/v1/clinic/patients".into(),
                true,
                "patient.enrol",
                true,
            ),
            (&her, "get", "/me/chat".into(), false, "messages.read", true),
            (
                &her,
                "post",
                "/me/chat".into(),
                false,
                "message.write",
                true,
            ),
            (
                &her,
                "get",
                "/me/chat/events".into(),
                false,
                "messages.follow",
                true,
            ),
            (
                &admin,
                "get",
                "/clinic/audit".into(),
                false,
                "audit.read",
                false,
            ),
            (
                &admin,
                "get",
                "/clinic/audit.csv".into(),
                false,
                "audit.export",
                false,
            ),
            (
                &admin,
                "get",
                "/api/v1/clinic/audit".into(),
                true,
                "audit.read",
                false,
            ),
            // Last: it ends her link and her sessions, which the calls above use.
            (
                &nurse,
                "post",
                format!("/clinic/patients/{p}/link/replace"),
                false,
                "patient.link.replaced",
                true,
            ),
        ];
        // Every staff route about a patient is in the list above.
        for r in staff::routes() {
            if r.path.contains("{patient}")
                || r.path.contains("{escalation}")
                || r.path.contains("{request}")
                || r.path.contains("{appointment}")
            {
                let method = r.method.as_str().to_lowercase();
                assert!(
                    calls.iter().any(|c| c.1 == method
                        && c.2.starts_with(
                            &r.path.split('{').next().unwrap_or_default().to_string()
                        )
                        && c.2.ends_with(r.path.rsplit('}').next().unwrap_or_default())),
                    "{} {} is not checked for an audit row",
                    r.method,
                    r.path
                );
            }
        }
        let her_cookie = app.patient_cookie(&patient).await;
        for (who, method, path, api, action, about_her) in &calls {
            let before = chrono::Utc::now();
            let path = path.clone();
            let r = if path == "/me/chat" && *method == "post" {
                who.post_form(&path, &[("body", "hello")]).await
            } else if path.ends_with("/me/chat/events") {
                let res = who
                    .client
                    .get(format!("{}{path}", who.base))
                    .header("cookie", &her_cookie)
                    .send()
                    .await
                    .expect("stream");
                support::staff::Reply {
                    status: res.status().as_u16(),
                    headers: res.headers().clone(),
                    text: String::new(),
                }
            } else {
                call(who, method, &path, *api).await
            };
            assert!(
                r.status < 400,
                "{method} {path}: {} {}",
                r.status,
                r.text.chars().take(300).collect::<String>()
            );
            let rows = app
                .store
                .list_audit(
                    &north.id,
                    aftercare_store::AuditQuery {
                        from: Some(before - chrono::Duration::seconds(1)),
                        ..Default::default()
                    },
                )
                .await
                .expect("audit");
            let row = rows
                .iter()
                .find(|r| r.action == *action)
                .unwrap_or_else(|| {
                    panic!(
                        "{method} {path}: no {action} row in {:?}",
                        rows.iter().map(|r| &r.action).collect::<Vec<_>>()
                    )
                });
            assert_eq!(row.address.as_deref(), Some("127.0.0.1"), "{path}");
            assert!(row.actor_id.is_some(), "{path}: who");
            if *about_her && *action != "patient.enrol" {
                assert_eq!(row.patient_id.as_deref(), Some(p), "{path}: which patient");
            }
        }
        // The clinician's rows name her as a staff member.
        let rows = app
            .store
            .list_audit(
                &north.id,
                aftercare_store::AuditQuery {
                    patient_id: Some(patient.id.clone()),
                    ..Default::default()
                },
            )
            .await
            .expect("audit");
        assert!(rows
            .iter()
            .any(|r| r.actor_kind == aftercare_store::ActorKind::Staff
                && r.actor_id.as_deref() == Some(nurse_row.id.as_str())));
        assert!(rows
            .iter()
            .any(|r| r.actor_kind == aftercare_store::ActorKind::Patient));
    }
);

on_both!(
    the_admin_reads_and_exports_the_audit_log_and_a_clinician_cannot,
    |app: TestApp| async move {
        let patient = app.patient_in("north", "labour_epidural", 2).await;
        let nurse_row = app.staff("north", "clinician").await;
        let nurse = app.signed_in(&nurse_row).await;
        nurse.get(&format!("/clinic/patients/{}", patient.id)).await;
        let admin = app.signed_in(&app.staff("north", "admin").await).await;
        let page = admin
            .get(&format!("/clinic/audit?patient={}", patient.id))
            .await;
        assert_eq!(page.status, 200);
        assert!(page.text.contains("patient.read"));
        // In words an auditor reads: who by name, what in plain words, whose record by name.
        assert!(page.text.contains(&nurse_row.display_name), "{}", page.text);
        assert!(
            page.text.contains("opened the patient&#x27;s record"),
            "{}",
            page.text
        );
        assert!(page
            .text
            .contains(&format!(">{}</a>", patient.display_name)));
        // The page as first opened: the filter boxes are empty (not "none"), and submitting it
        // as it is, with only a day, finds the day's rows.
        let first = admin.get("/clinic/audit").await;
        assert!(
            first
                .text
                .contains("id=\"patient\" name=\"patient\" type=\"text\" value=\"\""),
            "{}",
            first.text
        );
        assert!(!first.text.to_lowercase().contains("value=\"none\""));
        let today = chrono::Utc::now().format("%Y-%m-%dT00:00").to_string();
        let day = admin
            .get(&format!("/clinic/audit?patient=&from={today}&to="))
            .await;
        assert_eq!(day.status, 200, "{}", day.text);
        assert!(
            day.text.contains("patient.read"),
            "the day's rows are found"
        );
        let csv = admin.get("/clinic/audit.csv").await;
        assert_eq!(csv.status, 200);
        assert!(csv.headers["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/csv"));
        assert!(csv.headers["content-disposition"]
            .to_str()
            .expect("cd")
            .contains("attachment"));
        let mut lines = csv.text.lines();
        assert_eq!(
            lines.next(),
            Some("id,at,actor_kind,actor_id,action,patient_id,clinic_id,address,detail")
        );
        assert!(csv.text.contains(&format!(",patient.read,{},", patient.id)));
        assert_eq!(nurse.get("/clinic/audit.csv").await.status, 403);
        assert_eq!(nurse.get("/api/v1/clinic/audit").await.status, 403);
    }
);

#[tokio::test]
async fn every_workspace_template_renders_without_problems() {
    let app = TestApp::sqlite().await;
    let _ = &app;
    let templates = aftercare_web::pages::templates::Templates::new();
    assert!(
        templates.problems().is_empty(),
        "{:?}",
        templates.problems()
    );
}

// --- alerts ------------------------------------------------------------------------------------

on_both!(
    an_admin_adds_a_webhook_sees_its_secret_once_and_sends_a_test_that_the_log_shows,
    |app: TestApp| async move {
        let admin = app.signed_in(&app.staff("north", "admin").await).await;
        let hook = "https://pager.north.example/aftercare";
        let added = admin
            .post_form(
                "/clinic/alerts",
                &[
                    ("channel", "webhook"),
                    ("address", hook),
                    ("min_level", "urgent"),
                    ("tier", "1"),
                ],
            )
            .await;
        assert_eq!(added.status, 200, "{}", added.text);
        assert!(
            added.text.contains("whsec_"),
            "the secret is shown when the hook is added"
        );
        let page = admin.get("/clinic/alerts").await;
        assert!(page.text.contains("pager.north.example"));
        assert!(!page.text.contains("whsec_"), "and never again");

        let bad = admin
            .post_form(
                "/clinic/alerts",
                &[
                    ("channel", "webhook"),
                    ("address", "http://pager.example/x"),
                    ("min_level", "urgent"),
                    ("tier", "1"),
                ],
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(
            bad.text.contains("<h2>Not added</h2><p>address: an https:"),
            "{}",
            bad.text
        );

        let clinic = app
            .store
            .get_clinic_by_slug("north")
            .await
            .expect("read")
            .expect("clinic");
        let targets = app
            .store
            .list_alert_targets(&clinic.id)
            .await
            .expect("targets");
        assert_eq!(targets.len(), 1);
        let sent = admin
            .post_form(&format!("/clinic/alerts/{}/test", targets[0].id), &[])
            .await;
        assert_eq!(sent.status, 303);
        let log = admin.get("/clinic/alerts").await;
        assert!(log.text.contains("<td>test</td>"), "{}", log.text);
        assert!(log.text.contains("<td>pending</td>"));
        // Times in the clinic's zone, with the zone.
        assert!(log.text.contains(" UTC</td>"), "no zone set: UTC");
        let zone = aftercare_app::clinics::Changes {
            time_zone: Some("Europe/Madrid".into()),
            ..Default::default()
        };
        app.app
            .clinics()
            .change(&aftercare_app::Actor::system(), &clinic, zone, None)
            .await
            .expect("zone");
        let log = admin.get("/clinic/alerts").await;
        assert!(
            log.text.contains(" CET</td>") || log.text.contains(" CEST</td>"),
            "{}",
            log.text
        );

        // Clinicians do not manage alerts; another clinic's target is not found.
        let nurse = app.signed_in(&app.staff("north", "clinician").await).await;
        assert_ne!(nurse.get("/clinic/alerts").await.status, 200);
        let other = app.signed_in(&app.staff("south", "admin").await).await;
        let theirs = other
            .post_form(&format!("/clinic/alerts/{}/remove", targets[0].id), &[])
            .await;
        assert_eq!(theirs.status, 404);
        let removed = admin
            .post_form(&format!("/clinic/alerts/{}/remove", targets[0].id), &[])
            .await;
        assert_eq!(removed.status, 303);
        assert!(app
            .store
            .list_alert_targets(&clinic.id)
            .await
            .expect("targets")
            .is_empty());
    }
);

on_both!(
    an_admin_reads_and_changes_the_clinic_settings_through_the_api,
    |app: TestApp| async move {
        let admin = app.signed_in(&app.staff("north", "admin").await).await;
        let before = admin.get("/api/v1/clinic/settings").await;
        assert_eq!(before.status, 200, "{}", before.text);
        assert_eq!(before.json()["realert_emergency_minutes"], 15);
        assert_eq!(
            before.json()["open_days"],
            json!(["mon", "tue", "wed", "thu", "fri"])
        );
        let changed = admin
            .send_json(
                "PATCH",
                "/api/v1/clinic/settings",
                &json!({
                    "phone": "+34 910 000 001",
                    "emergency_number": "061",
                    "time_zone": "Europe/Madrid",
                    "open_from": "08:00",
                    "open_until": "20:00",
                    "realert_emergency_minutes": 10
                }),
            )
            .await;
        assert_eq!(changed.status, 200, "{}", changed.text);
        let now = changed.json();
        assert_eq!(now["time_zone"], "Europe/Madrid");
        assert_eq!(now["open_until"], 20);
        assert_eq!(now["emergency_number"], "061");
        assert_eq!(now["realert_emergency_minutes"], 10);
        assert_eq!(now["name"], before.json()["name"], "left out: kept");

        let bad = admin
            .send_json(
                "PATCH",
                "/api/v1/clinic/settings",
                &json!({"time_zone": "Mars/Olympus"}),
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.text.contains("time_zone"), "{}", bad.text);
        let nurse = app.signed_in(&app.staff("north", "clinician").await).await;
        assert_eq!(nurse.get("/api/v1/clinic/settings").await.status, 403);
    }
);

// --- honest board signals ------------------------------------------------------------------------

/// A complete self-care case (vignette V01).
fn self_care_case() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vignettes/V01.json"
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("V01")).expect("JSON");
    assert_eq!(v["expect"]["level"], "self_care");
    v["case"].clone()
}

on_both!(
    an_escalated_patient_reads_at_its_level_until_the_episode_is_closed_and_stays_above_calm_patients,
    |app: TestApp| async move {
        let calm = app.patient_in("north", "labour_epidural", 3).await;
        let her = app.patient_in("north", "labour_epidural", 3).await;
        let (s, body) = app
            .post_json("/api/v1/checkins", Some(calm.link_token.expose()), &json!({"answers": self_care_case()}))
            .await;
        assert_eq!((s, body["decision"]["level"].as_str()), (201, Some("self_care")), "{body}");
        emergency(&app, &her).await;
        // Her next check-in is calm: the board still shows the emergency she has not been seen for.
        let (s, body) = app
            .post_json("/api/v1/checkins", Some(her.link_token.expose()), &json!({"answers": self_care_case()}))
            .await;
        assert_eq!(s, 201, "{body}");
        let nurse = app.signed_in(&app.staff("north", "clinician").await).await;
        let rows = nurse.get("/api/v1/clinic/patients").await.json();
        assert_eq!(rows[0]["id"], her.id.as_str());
        assert_eq!(rows[0]["level"], "emergency", "{rows}");
        assert_eq!(rows[0]["last_level"], "self_care");

        // Acknowledged: no longer open, but she stays above the calm patient, as an emergency.
        let escalation = app.store.list_escalations(&her.id, true).await.expect("esc")[0].clone();
        let ack = nurse
            .post_form(&format!("/clinic/escalations/{}/acknowledge", escalation.id), &[("note", "called")])
            .await;
        assert_eq!(ack.status, 303);
        let rows = nurse.get("/api/v1/clinic/patients").await.json();
        assert_eq!(rows[0]["id"], her.id.as_str(), "{rows}");
        assert_eq!(rows[0]["open_escalations"], 0);
        assert_eq!(rows[0]["level"], "emergency");
        let page = nurse.get("/clinic").await;
        let first_row = page.text.split("<tbody>").nth(1).and_then(|t| t.split("</tr>").next()).unwrap_or_default();
        assert!(first_row.contains("tag-emergency"), "{first_row}");

        // The nurse closes the episode: she reads at her latest decision.
        let close = nurse.post_form(&format!("/clinic/escalations/{}/close", escalation.id), &[]).await;
        assert_eq!(close.status, 303);
        let rows = nurse.get("/api/v1/clinic/patients").await.json();
        let row = rows.as_array().expect("rows").iter().find(|r| r["id"] == her.id.as_str()).expect("her").clone();
        assert_eq!(row["level"], "self_care");
        let again = nurse.post_form(&format!("/clinic/escalations/{}/close", escalation.id), &[]).await;
        assert_eq!(again.status, 409, "closed once");
    }
);

on_both!(
    an_unanswered_message_keeps_awaiting_reply_after_the_thread_is_opened,
    |app: TestApp| async move {
        let her = app.patient_in("north", "labour_epidural", 3).await;
        app.post_json(
            "/api/v1/messages",
            Some(her.link_token.expose()),
            &json!({"body": "Is this normal?"}),
        )
        .await;
        let nurse = app.signed_in(&app.staff("north", "clinician").await).await;
        let awaiting = |rows: &Value| rows[0]["awaiting_reply"].as_bool();
        assert_eq!(
            awaiting(&nurse.get("/api/v1/clinic/patients").await.json()),
            Some(true)
        );
        // She opens the thread, reads, and leaves: still awaiting a reply.
        assert_eq!(
            nurse
                .get(&format!("/clinic/patients/{}", her.id))
                .await
                .status,
            200
        );
        let rows = nurse.get("/api/v1/clinic/patients").await.json();
        assert_eq!(rows[0]["unread_messages"], 0);
        assert_eq!(awaiting(&rows), Some(true));
        assert!(nurse.get("/clinic").await.text.contains("Awaiting reply"));
        // The clinic answers: no longer awaiting.
        let sent = nurse
            .post_form(
                &format!("/clinic/patients/{}/messages", her.id),
                &[("body", "Yes, it is common.")],
            )
            .await;
        assert_eq!(sent.status, 303);
        assert_eq!(
            awaiting(&nurse.get("/api/v1/clinic/patients").await.json()),
            Some(false)
        );
        assert!(!nurse.get("/clinic").await.text.contains("Awaiting reply"));
    }
);

// --- staff administration ------------------------------------------------------------------------

on_both!(
    a_deactivated_clinician_cannot_sign_in_and_a_password_link_works_once,
    |app: TestApp| async move {
        let admin_row = app.staff("north", "admin").await;
        let admin = app.signed_in(&admin_row).await;
        let nurse_row = app.staff("north", "clinician").await;
        let nurse = app.signed_in(&nurse_row).await;
        assert_eq!(nurse.get("/clinic").await.status, 200);

        // Deactivated: her open session ends at once, and signing in is refused like a wrong
        // password.
        let off = admin
            .post_form(&format!("/clinic/staff/{}/deactivate", nurse_row.id), &[])
            .await;
        assert_eq!(off.status, 303);
        let r = nurse.get("/clinic").await;
        assert!(r.status == 303 || r.status == 401, "{}", r.status);
        let again = app.browser();
        assert_eq!(again.login(&nurse_row.email, PASSWORD).await.status, 401);
        assert!(admin
            .get("/clinic/staff")
            .await
            .text
            .contains("deactivated"));
        let on = admin
            .post_form(&format!("/clinic/staff/{}/reactivate", nurse_row.id), &[])
            .await;
        assert_eq!(on.status, 303);
        assert_eq!(
            app.browser().login(&nurse_row.email, PASSWORD).await.status,
            303
        );

        // Another role, audited.
        let role = admin
            .post_form(
                &format!("/clinic/staff/{}/role", nurse_row.id),
                &[("role", "admin")],
            )
            .await;
        assert_eq!(role.status, 303);
        let row = app
            .store
            .get_staff(&nurse_row.id)
            .await
            .expect("read")
            .expect("row");
        assert_eq!(row.role, aftercare_store::Role::Admin);

        // A one-time link, never a password on screen: it sets a new one once.
        let page = admin
            .post_form(&format!("/clinic/staff/{}/reset", nurse_row.id), &[])
            .await;
        assert_eq!(page.status, 200);
        // Shown HTML-escaped ("/" as "&#x2f;"): the 64 hex digits after "reset".
        let link = page
            .text
            .split("reset&#x2f;")
            .nth(1)
            .map(|t| {
                t.chars()
                    .take_while(char::is_ascii_hexdigit)
                    .collect::<String>()
            })
            .filter(|t| t.len() == 64)
            .expect("the link is shown");
        assert!(!page.text.contains(PASSWORD));
        let owner = app.browser();
        let path = format!("/clinic/reset/{link}");
        assert_eq!(owner.get(&path).await.status, 200);
        let fresh = "a brand new passphrase for the ward";
        let done = owner.post_form(&path, &[("new_password", fresh)]).await;
        assert_eq!(done.status, 200, "{}", done.text);
        assert_eq!(
            app.browser().login(&nurse_row.email, PASSWORD).await.status,
            401
        );
        assert_eq!(
            app.browser().login(&nurse_row.email, fresh).await.status,
            303
        );
        let reused = owner
            .post_form(&path, &[("new_password", "yet another long passphrase")])
            .await;
        assert_eq!(reused.status, 404, "a link works once");

        // An admin cannot lock themselves out; another clinic's admin finds nothing.
        let own = admin
            .post_form(&format!("/clinic/staff/{}/deactivate", admin_row.id), &[])
            .await;
        assert_eq!(own.status, 422, "{}", own.text);
        let other = app.signed_in(&app.staff("south", "admin").await).await;
        let theirs = other
            .post_form(&format!("/clinic/staff/{}/deactivate", nurse_row.id), &[])
            .await;
        assert_eq!(theirs.status, 404);
        let audit = app
            .store
            .list_audit(
                &app.clinic("north").await.id,
                aftercare_store::AuditQuery {
                    limit: 200,
                    ..Default::default()
                },
            )
            .await
            .expect("audit");
        for action in [
            "staff.deactivate",
            "staff.reactivate",
            "staff.role",
            "staff.password_reset_issued",
            "staff.password_reset",
        ] {
            assert!(
                audit.iter().any(|a| a.action == action),
                "{action} is audited"
            );
        }
    }
);

on_both!(
    her_page_shows_her_answers_red_flags_first_and_her_number_to_call_back,
    |app: TestApp| async move {
        let nurse = app.signed_in(&app.staff("north", "clinician").await).await;
        let enrolled = nurse
            .send_json(
                "POST",
                "/api/v1/clinic/patients",
                &json!({
                    "display_name": "Dora",
                    "procedure": "labour_epidural",
                    "procedure_date": chrono::Utc::now().date_naive().to_string(),
                    "delivery_date": chrono::Utc::now().date_naive().to_string(),
                    "language": "en",
                    "phone": "+34 600 111 222"
                }),
            )
            .await;
        assert_eq!(enrolled.status, 201, "{}", enrolled.text);
        let id = enrolled.json()["patient"]["id"]
            .as_str()
            .or(enrolled.json()["id"].as_str())
            .expect("id")
            .to_string();
        let her = app
            .store
            .get_patient(&id.clone().into())
            .await
            .expect("read")
            .expect("her");
        assert_eq!(her.phone.as_deref(), Some("+34 600 111 222"));
        emergency(&app, &her).await;
        let page = nurse.get(&format!("/clinic/patients/{id}")).await;
        assert_eq!(page.status, 200);
        assert!(
            page.text.contains("href=\"tel:+34600111222\""),
            "her number to call back"
        );
        let answers = page
            .text
            .split("class=\"answers\"")
            .nth(1)
            .expect("her answers");
        let first = answers
            .split("<tbody>")
            .nth(1)
            .and_then(|t| t.split("</tr>").next())
            .expect("a row");
        assert!(
            first.contains("red-flag") && first.contains("Red flag"),
            "the red flag first: {first}"
        );

        // The clinic changes her number; a bad one is refused, naming the field.
        let bad = nurse
            .post_form(
                &format!("/clinic/patients/{id}/phone"),
                &[("phone", "call me")],
            )
            .await;
        assert_eq!(bad.status, 422);
        let ok = nurse
            .post_form(
                &format!("/clinic/patients/{id}/phone"),
                &[("phone", "+34 600 999 000")],
            )
            .await;
        assert_eq!(ok.status, 303);
        let her = app
            .store
            .get_patient(&id.clone().into())
            .await
            .expect("read")
            .expect("her");
        assert_eq!(her.phone.as_deref(), Some("+34 600 999 000"));
    }
);

// --- the workspace's language -----------------------------------------------------------------

on_both!(
    a_clinician_who_prefers_spanish_reads_the_workspace_in_spanish_until_she_changes_it,
    |app: TestApp| async move {
        let patient = app.patient_in("north", "labour_epidural", 2).await;
        emergency(&app, &patient).await;
        let account = app.staff("north", "clinician").await;
        let nurse = app.signed_in(&account).await;
        let board = nurse.get("/clinic").await;
        assert!(board.text.contains("<h1>Patients</h1>"), "English first");

        // Only a language of the content.
        let bad = nurse
            .post_form("/clinic/account/language", &[("language", "xx")])
            .await;
        assert_eq!(bad.status, 422, "{}", bad.text);

        let saved = nurse
            .post_form("/clinic/account/language", &[("language", "es")])
            .await;
        assert_eq!(saved.status, 200, "{}", saved.text);
        assert!(saved.text.contains("<h1>Su cuenta</h1>"), "{}", saved.text);
        assert_eq!(nurse.cookie("aftercare_staff_lang").as_deref(), Some("es"));

        let board = nurse.get("/clinic").await;
        assert!(board.text.contains("lang=\"es\""));
        assert!(board.text.contains("<h1>Pacientes</h1>"), "{}", board.text);
        assert!(
            board.text.contains("tag-emergency\">Emergencia<"),
            "her level in Spanish"
        );
        assert!(!board.text.contains("Last check-in") && !board.text.contains("Enrol a patient"));

        // Her record: headings, her answers and the level in Spanish.
        let record = nurse.get(&format!("/clinic/patients/{}", patient.id)).await;
        assert_eq!(record.status, 200);
        assert!(record.text.contains("Alertas abiertas"), "{}", record.text);
        assert!(record.text.contains("Signo de alarma:"));
        assert!(!record.text.contains("Open escalations"));

        // An error page follows her choice too.
        let missing = nurse.get("/clinic/patients/no-such-patient").await;
        assert_eq!(missing.status, 404);
        assert!(missing.text.contains("No encontrado"), "{}", missing.text);

        // The choice belongs to her account: a new sign-in (another computer) keeps it.
        let elsewhere = app.signed_in(&account).await;
        assert!(elsewhere
            .get("/clinic")
            .await
            .text
            .contains("<h1>Pacientes</h1>"));
        // And it is in the audit log.
        let rows = app
            .store
            .list_audit(&account.clinic_id, Default::default())
            .await
            .expect("audit");
        assert!(rows
            .iter()
            .any(|r| r.action == "staff.language" && r.detail.as_deref() == Some("es")));

        // Back to her browser's language: a Spanish browser keeps Spanish, by its own header
        // (the remembered choice is gone)...
        let csrf = nurse.csrf().await;
        let back = nurse
            .send(
                nurse
                    .client
                    .post(app.url("/clinic/account/language"))
                    .header("accept-language", "es-MX,es;q=0.9")
                    .form(&[("_csrf", csrf.as_str()), ("language", "")]),
            )
            .await;
        assert_eq!(back.status, 200);
        assert!(back.text.contains("<h1>Su cuenta</h1>"), "{}", back.text);
        assert_eq!(nurse.cookie("aftercare_staff_lang"), None);
        // ... and one that asks for nothing gets the content's default.
        assert!(nurse
            .get("/clinic")
            .await
            .text
            .contains("<h1>Patients</h1>"));

        // On a shared computer, the next person's sign-in forgets the previous one's choice.
        let spanish = app.staff("north", "clinician").await;
        let shared = app.signed_in(&spanish).await;
        shared
            .post_form("/clinic/account/language", &[("language", "es")])
            .await;
        assert_eq!(shared.cookie("aftercare_staff_lang").as_deref(), Some("es"));
        shared.post_form("/clinic/logout", &[]).await;
        let next = shared.login(&account.email, PASSWORD).await;
        assert_eq!(next.status, 303);
        assert_eq!(shared.cookie("aftercare_staff_lang"), None);
        assert!(shared
            .get("/clinic")
            .await
            .text
            .contains("<h1>Patients</h1>"));
    }
);

#[tokio::test]
async fn the_sign_in_page_speaks_the_browsers_language() {
    let app = TestApp::sqlite().await;
    let client = reqwest::Client::new();
    let page = client
        .get(format!("{}/clinic/login", app.base))
        .header("accept-language", "es-ES,es;q=0.9,en;q=0.5")
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("text");
    assert!(page.contains("Acceso de la clínica"), "{page}");
    let page = client
        .get(format!("{}/clinic/login", app.base))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("text");
    assert!(page.contains("Clinic sign in"));
}

/// Guesses sent all at once take their slots before any password is checked: no more than the
/// limit reach the password check, however many are in flight.
#[tokio::test]
async fn parallel_guesses_from_one_address_get_no_more_tries_than_the_limit() {
    let app = TestApp::sqlite().await;
    let nurse = app.staff("north", "clinician").await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (client, url, email) = (
            app.client.clone(),
            app.url("/api/v1/clinic/session"),
            nurse.email.clone(),
        );
        set.spawn(async move {
            client
                .post(url)
                .json(&json!({"email": email, "password": "a parallel wrong guess"}))
                .send()
                .await
                .expect("sent")
                .status()
                .as_u16()
        });
    }
    while let Some(status) = set.join_next().await {
        assert_eq!(status.expect("task"), 401);
    }
    let row = app
        .store
        .get_staff(&nurse.id)
        .await
        .expect("staff")
        .expect("row");
    assert_eq!(
        row.failed_logins,
        staff::auth::PAIR_ATTEMPTS as i32,
        "only the limit's worth of guesses were checked"
    );
}
