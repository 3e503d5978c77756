//! Security checks not made elsewhere (see SECURITY.md for the whole picture): the security
//! headers on every kind of response, the flags of every cookie the server sets, CSRF refusal
//! on every form route, logins that do not tell a wrong email from a wrong password (answer or
//! time), HSTS behind an HTTPS public URL, 500s that say nothing of the inside, and oversized
//! requests refused without hurting the server.
//!
//! Already covered elsewhere: the staff access matrix across clinics and roles (staff.rs), a
//! patient's records kept from other patients (api.rs, pages.rs), login lockout and rate limits
//! (staff.rs), no patient data in logs (crates/cli/tests/it/log_privacy.rs).

use crate::support;

use aftercare_web::middleware::{CSP, HSTS};
use aftercare_web::staff::{self, Access};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::staff::PASSWORD;
use support::TestApp;

/// The headers every response carries, whatever made it (a page, the API, an error, a
/// redirect, a static file, the fallback).
fn assert_security_headers(what: &str, headers: &HeaderMap) {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_string()
    };
    assert_eq!(get("content-security-policy"), CSP, "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    assert!(get("permissions-policy").contains("camera=()"), "{what}");
    assert_eq!(get("cross-origin-opener-policy"), "same-origin", "{what}");
    assert!(
        headers.contains_key("x-request-id"),
        "{what}: no request id"
    );
    assert_eq!(get("cache-control"), "no-store", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = TestApp::sqlite().await;
    let patient = app.patient().await;
    let nurse = app.staff("north", "clinician").await;
    let b = app.signed_in(&nurse).await;
    let token = patient.link_token.expose();
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let case = support::vignette("V17");
    let requests = [
        ("home page", plain.get(app.url("/"))),
        ("login page", plain.get(app.url("/clinic/login"))),
        ("page not found", plain.get(app.url("/no-such-page"))),
        ("redirect", plain.get(app.url("/me"))),
        ("health", plain.get(app.url("/healthz"))),
        ("metrics", plain.get(app.url("/metrics"))),
        ("openapi", plain.get(app.url("/api/v1/openapi.json"))),
        ("triage", plain.post(app.url("/api/v1/triage")).json(&case)),
        (
            "triage refused",
            plain
                .post(app.url("/api/v1/triage"))
                .json(&json!({"pain_score": 99})),
        ),
        ("api 401", plain.get(app.url("/api/v1/diary"))),
        (
            "api 200 for a patient",
            plain.get(app.url("/api/v1/diary")).bearer_auth(token),
        ),
        ("api 404", plain.get(app.url("/api/v1/nothing"))),
        ("api 405", plain.delete(app.url("/api/v1/triage"))),
        ("fhir", plain.get(app.url("/fhir/Questionnaire/aftercare"))),
        (
            "fhir refused",
            plain.get(app.url(&format!("/fhir/Patient/{}/$everything", patient.id))),
        ),
        ("cds discovery", plain.get(app.url("/cds-services"))),
    ];
    for (what, req) in requests {
        let res = req.send().await.expect("answer");
        assert_security_headers(&format!("{what} ({})", res.status()), res.headers());
    }
    // A signed-in clinician's board page and its JSON.
    for path in ["/clinic", "/api/v1/clinic/patients"] {
        let r = b.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_security_headers(path, &r.headers);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_is_sent_when_and_only_when_the_public_url_is_https() {
    let plain = TestApp::sqlite().await;
    let res = plain.client.get(plain.url("/")).send().await.expect("home");
    assert!(!res.headers().contains_key("strict-transport-security"));

    let tls = TestApp::sqlite_with(|s| s.public_url = "https://aftercare.example".into()).await;
    for path in ["/", "/api/v1/openapi.json", "/nothing"] {
        let res = tls.client.get(tls.url(path)).send().await.expect("answer");
        assert_eq!(
            res.headers()
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            Some(HSTS),
            "{path}"
        );
    }
}

/// Every `Set-Cookie` the server sends on the ways a browser meets it: the first page (CSRF
/// token), a chosen language, the personal link (patient session), signing out, the staff login
/// form and JSON login (staff session), a password change and logging out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cookie_the_server_sets_is_secure_httponly_and_samesite() {
    let app = TestApp::sqlite().await;
    let patient = app.patient().await;
    let nurse = app.staff("north", "clinician").await;
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut keep = |what: &str, r: &support::staff::Reply| {
        for c in r.set_cookies() {
            seen.push((what.to_string(), c));
        }
    };

    let b = app.browser();
    keep("first page", &b.get("/").await);
    keep("language", &b.get("/?lang=es").await);
    keep(
        "personal link",
        &b.open_link(patient.link_token.expose()).await,
    );
    keep("patient page", &b.get("/me").await);
    keep("sign out", &b.post_form("/signout", &[]).await);
    keep("login form", &b.login(&nurse.email, PASSWORD).await);
    keep(
        "password change",
        &b.post_form(
            "/clinic/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a new and long passphrase"),
            ],
        )
        .await,
    );
    keep(
        "workspace language",
        &b.post_form("/clinic/account/language", &[("language", "es")])
            .await,
    );
    keep(
        "workspace language back",
        &b.post_form("/clinic/account/language", &[("language", "")])
            .await,
    );
    keep("logout form", &b.post_form("/clinic/logout", &[]).await);

    let api = app.browser();
    let other = app.staff("north", "admin").await;
    keep(
        "JSON login",
        &api.send(
            api.client
                .post(app.url("/api/v1/clinic/session"))
                .json(&json!({"email": other.email, "password": PASSWORD})),
        )
        .await,
    );
    keep(
        "JSON logout",
        &api.send(
            api.client
                .delete(app.url("/api/v1/clinic/session"))
                .header("x-csrf-token", api.api_csrf().await),
        )
        .await,
    );

    let names: std::collections::BTreeSet<String> = seen
        .iter()
        .filter_map(|(_, c)| c.split('=').next().map(str::to_string))
        .collect();
    for expected in [
        "aftercare_csrf",
        "aftercare_lang",
        "aftercare_patient",
        "aftercare_staff",
        "aftercare_staff_lang",
    ] {
        assert!(
            names.contains(expected),
            "{expected} was never set: {seen:#?}"
        );
    }
    for (what, cookie) in &seen {
        for attribute in ["HttpOnly", "Secure", "Path=/"] {
            assert!(
                cookie.split("; ").any(|a| a == attribute),
                "{what}: {cookie} lacks {attribute}"
            );
        }
        assert!(
            cookie.contains("SameSite=Lax") || cookie.contains("SameSite=Strict"),
            "{what}: {cookie} has no SameSite"
        );
        // The staff session is never sent on a cross-site navigation.
        if cookie.starts_with("aftercare_staff=") {
            assert!(cookie.contains("SameSite=Strict"), "{what}: {cookie}");
        }
    }
}

/// Every POST route of the pages and the workspace refuses a form without the CSRF field, and
/// one with a field that does not match the cookie, before it does anything, even for a
/// signed-in patient and a signed-in staff member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_route_refuses_a_post_without_the_csrf_token() {
    let app = TestApp::sqlite().await;
    let patient = app.patient_in("north", "labour_epidural", 2).await;
    let admin = app.staff("north", "admin").await;
    let b = app.signed_in(&admin).await;
    assert_eq!(b.open_link(patient.link_token.expose()).await.status, 303);

    let mut posts: Vec<String> = [
        "/start",
        "/signout",
        "/me/diary",
        "/checkin",
        "/checkin/save",
        "/contact",
        "/me/chat",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    for route in staff::routes() {
        if route.method == reqwest::Method::POST {
            posts.push(
                route
                    .path
                    .replace("{patient}", &patient.id)
                    .replace("{escalation}", "e1")
                    .replace("{request}", "r1"),
            );
        }
    }
    assert!(posts.len() > 12, "{posts:?}");
    let today = chrono::Utc::now().date_naive().to_string();
    let fields = [
        ("day", today.as_str()),
        ("pain", "3"),
        ("body", "hello"),
        ("email", "x@y.example"),
        ("password", "whatever it is"),
        ("name", "Ana"),
        ("message", "Hi"),
        ("consent", "yes"),
    ];
    for path in &posts {
        let without = b.post_form_raw(path, &fields).await;
        assert_eq!(without.status, 403, "POST {path} without a CSRF token");
        let mut forged = fields.to_vec();
        forged.push((
            "_csrf",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ));
        let wrong = b.post_form_raw(path, &forged).await;
        assert_eq!(wrong.status, 403, "POST {path} with a wrong CSRF token");
    }
    // Nothing was written, and both sessions still work.
    let diary = app
        .store
        .list_diary(
            &patient.id,
            patient.procedure_date,
            chrono::Utc::now().date_naive(),
        )
        .await
        .expect("diary");
    assert!(diary.is_empty(), "{diary:?}");
    assert_eq!(b.get("/me").await.status, 200);
    assert_eq!(b.get("/clinic/staff").await.status, 200);

    // The workspace's JSON writes want the session's own token in x-csrf-token.
    let nurse = app.staff("north", "clinician").await;
    let n = app.signed_in(&nurse).await;
    let r = n
        .send(
            n.client
                .post(app.url(&format!("/api/v1/clinic/patients/{}/messages", patient.id)))
                .json(&json!({"body": "hello"})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = n
        .send(
            n.client
                .post(app.url(&format!("/api/v1/clinic/patients/{}/messages", patient.id)))
                .header("x-csrf-token", n.csrf().await)
                .json(&json!({"body": "hello"})),
        )
        .await;
    assert_eq!(
        r.status, 403,
        "the pages' token is not the session's: {}",
        r.text
    );
}

/// A wrong email and a wrong password: the same status and body, and about the same time (an
/// unknown email is checked against a dummy hash), on the JSON login and on the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_email_and_a_wrong_password_cannot_be_told_apart() {
    let app = TestApp::sqlite().await;
    let nurse = app.staff("north", "clinician").await;
    let b = app.browser();
    let attempt = |email: String, password: &'static str| {
        let b = &b;
        let url = app.url("/api/v1/clinic/session");
        async move {
            let started = Instant::now();
            let r = b
                .send(
                    b.client
                        .post(url)
                        .json(&json!({"email": email, "password": password})),
                )
                .await;
            (r.status, r.json(), started.elapsed())
        }
    };
    // Two wrong passwords only: five in a row would make this address wait for the account.
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    for _ in 0..2 {
        unknown.push(attempt("nobody@north.example".into(), "not the password at all").await);
        wrong.push(attempt(nurse.email.clone(), "not the password at all").await);
    }
    for ((s1, b1, _), (s2, b2, _)) in unknown.iter().zip(&wrong) {
        assert_eq!((*s1, *s2), (401, 401));
        assert_eq!(b1, b2, "the two refusals differ");
    }
    let median = |v: &[(u16, Value, Duration)]| {
        let mut t: Vec<Duration> = v.iter().map(|x| x.2).collect();
        t.sort();
        t[t.len() / 2]
    };
    let (u, w) = (median(&unknown), median(&wrong));
    let ratio = u.as_secs_f64() / w.as_secs_f64();
    assert!(
        (0.33..3.0).contains(&ratio),
        "an unknown email took {u:?}, a wrong password {w:?}: the difference tells them apart"
    );

    // The form: the same status and the same page but for the email typed back.
    let f1 = b.login("nobody@north.example", "not the password").await;
    let f2 = b.login(&nurse.email, "not the password").await;
    assert_eq!((f1.status, f2.status), (401, 401));
    let scrub = |text: &str, email: &str| {
        text.replace(email, "EMAIL")
            .split("name=\"_csrf\" value=\"")
            .map(|s| s.get(64..).unwrap_or(s))
            .collect::<String>()
    };
    assert_eq!(
        scrub(&f1.text, "nobody@north.example"),
        scrub(&f2.text, &nurse.email),
        "the two login pages differ"
    );
}

/// A database failure inside a request is a 500 that says so and nothing more: no SQL, no table
/// names, no file paths, no backtrace, on the API and on a page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_shows_no_internal_detail() {
    use sqlx::Connection;
    let app = TestApp::sqlite().await;
    let patient = app.patient().await;
    let cookie = app.patient_cookie(&patient).await;
    let path = app.db_path.clone().expect("a SQLite file");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
        .await
        .expect("a second connection");
    // Every read of patient data appends an audit row: with the table gone, every one fails.
    sqlx::query("ALTER TABLE audit_log RENAME TO audit_log_elsewhere")
        .execute(&mut conn)
        .await
        .expect("rename");
    conn.close().await.expect("close");

    let api = app
        .client
        .get(app.url("/api/v1/diary"))
        .bearer_auth(patient.link_token.expose())
        .send()
        .await
        .expect("answer");
    let page_client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = page_client
        .get(app.url("/me/diary"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("page");
    for (what, res) in [("API", api), ("page", page)] {
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        assert!(status >= 500, "{what}: {status} {text}");
        for leak in [
            "audit_log",
            "no such table",
            "sqlite",
            "SQLITE",
            "database",
            "panicked",
            ".rs:",
            "backtrace",
            "/tmp/",
        ] {
            assert!(
                !text.contains(leak),
                "{what} {status} shows {leak:?}: {text}"
            );
        }
    }
}

/// A header or a path far over any sane size is refused with a 4xx, and the server goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_headers_and_paths_are_refused_cleanly() {
    let app = TestApp::sqlite().await;
    let huge = "a".repeat(1024 * 1024);
    let cases = [
        (
            "a 1 MiB header",
            app.client
                .get(app.url("/healthz"))
                .header("x-filler", &huge),
        ),
        (
            "a 1 MiB cookie",
            app.client
                .get(app.url("/"))
                .header("cookie", format!("aftercare_csrf={huge}")),
        ),
        (
            "a 1 MiB path",
            app.client.get(app.url(&format!("/p/{huge}"))),
        ),
        (
            "a 1 MiB bearer token",
            app.client.get(app.url("/api/v1/diary")).bearer_auth(&huge),
        ),
    ];
    for (what, req) in cases {
        match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                assert!((400..500).contains(&status), "{what}: {status}");
            }
            // Refusing to read on (closing the connection) is clean too.
            Err(e) => assert!(!e.is_timeout(), "{what}: {e}"),
        }
        let ok = app
            .client
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("still serving");
        assert_eq!(ok.status().as_u16(), 200, "after {what}");
    }
    // Many small headers.
    let mut req = app.client.get(app.url("/healthz"));
    for i in 0..500 {
        req = req.header(format!("x-h{i}"), "v");
    }
    if let Ok(res) = req.send().await {
        let status = res.status().as_u16();
        assert!(status == 200 || (400..500).contains(&status), "{status}");
    }
    // A token just over the limit the server reads is refused as unknown, not looked up.
    let long = "b".repeat(129);
    let (status, body) = app.get("/api/v1/diary", Some(&long)).await;
    assert_eq!(status, 401, "{body}");
}

/// Each kind of credential opens its own door only: a patient token is no staff session, a
/// staff cookie is no patient token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patient_and_staff_credentials_do_not_cross() {
    let app = TestApp::sqlite().await;
    let patient = app.patient_in("north", "labour_epidural", 2).await;
    let nurse = app.staff("north", "clinician").await;
    let b = app.signed_in(&nurse).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for route in staff::routes() {
        if route.access == Access::Public || route.method != reqwest::Method::GET {
            continue;
        }
        let path = route.path.replace("{patient}", &patient.id);
        let res = no_redirects
            .get(app.url(&path))
            .bearer_auth(patient.link_token.expose())
            .header(
                "cookie",
                format!("aftercare_patient={}", patient.link_token.expose()),
            )
            .send()
            .await
            .expect("answer");
        let status = res.status().as_u16();
        assert!(
            status == 401 || status == 303,
            "{path} with a patient's credentials: {status}"
        );
    }
    for path in [
        "/api/v1/diary",
        "/api/v1/checkins",
        "/api/v1/messages",
        "/api/v1/recovery",
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status, 401, "{path} with a staff session: {}", r.text);
    }
}

on_both!(
    control_characters_are_refused_with_a_422_naming_the_field,
    |app: TestApp| async move {
        // PostgreSQL cannot store NUL at all (it answered 500 before); no control character has a
        // use in text a person types, and some forge log lines.
        let patient = app.patient().await;
        for body in [
            "hello\u{0}world",
            "line\u{1b}[31mred",
            "bell\u{7}",
            "csi\u{9b}31mfake",
            "next\u{85}line",
            "del\u{7f}",
        ] {
            let (status, problem) = app
                .post_json(
                    "/api/v1/messages",
                    Some(patient.link_token.expose()),
                    &json!({ "body": body }),
                )
                .await;
            assert_eq!(status, 422, "{problem}");
            assert_eq!(problem["field"], "body", "{problem}");
        }
        // Tabs and line breaks are ordinary text.
        let (status, _) = app
            .post_json(
                "/api/v1/messages",
                Some(patient.link_token.expose()),
                &json!({ "body": "two\nlines\tand a tab" }),
            )
            .await;
        assert_eq!(status, 201);
        // Forms too: the contact page and the staff sign-in.
        let visitor = app.browser();
        assert_eq!(visitor.get("/contact").await.status, 200);
        let sent = visitor
            .post_form(
                "/contact",
                &[
                    ("name", "A\u{0}na"),
                    ("contact", "a@b.example"),
                    ("message", "hi"),
                    ("consent", "yes"),
                ],
            )
            .await;
        assert_eq!(sent.status, 422, "{}", sent.text);
        assert!(sent.text.contains("name"), "{}", sent.text);
        let login = app.browser();
        assert_eq!(login.get("/clinic/login").await.status, 200);
        let refused = login
            .post_form(
                "/clinic/login",
                &[("email", "nurse\u{0}@example.org"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.text);
    }
);

#[tokio::test]
async fn a_request_id_sent_by_the_client_is_never_used() {
    let app = TestApp::sqlite().await;
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "forged-id")
        .send()
        .await
        .expect("request");
    let id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_ne!(id, "forged-id");
    assert!(
        id.split('-').count() == 2 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
        "{id}"
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_read_in_any_case() {
    let app = TestApp::sqlite().await;
    let patient = app.patient().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let res = app
            .client
            .get(app.url("/api/v1/checkins"))
            .header(
                "authorization",
                format!("{scheme} {}", patient.link_token.expose()),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200, "{scheme}");
    }
    let wrong = app
        .client
        .get(app.url("/api/v1/checkins"))
        .header(
            "authorization",
            format!("Basic {}", patient.link_token.expose()),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 401);
}

/// `/metrics` tells how busy the clinic is and whether its alerts fail: only for its scraper.
#[tokio::test]
async fn metrics_answer_only_a_local_scraper_or_one_with_the_token() {
    let client = reqwest::Client::new();
    let status = |r: reqwest::Response| r.status().as_u16();

    // No token configured: a direct local scraper is answered; a request that came through a
    // proxy (forwarding headers) is not, whatever its peer.
    let app = TestApp::sqlite().await;
    let local = client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(status(local), 200);
    for (name, value) in [
        ("x-forwarded-for", "203.0.113.9"),
        ("forwarded", "for=203.0.113.9"),
        ("x-real-ip", "203.0.113.9"),
    ] {
        let proxied = client
            .get(app.url("/metrics"))
            .header(name, value)
            .send()
            .await
            .expect("scrape");
        assert_eq!(status(proxied), 401, "{name}");
    }

    // A listed reverse proxy on this machine speaks for clients elsewhere: refused even when
    // it adds no forwarding header.
    let behind = TestApp::sqlite_with(|s| {
        s.trusted_proxies =
            aftercare_web::proxy::TrustedProxies::parse(&["127.0.0.1"]).expect("valid");
    })
    .await;
    let via_proxy = client
        .get(behind.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(status(via_proxy), 401);

    // A token configured: only a scraper that sends it (any case of "Bearer") is answered.
    let app = TestApp::sqlite_with(|s| s.metrics_token = Some("scrape-secret-42".into())).await;
    let none = client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(status(none), 401);
    let wrong = client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret-4")
        .send()
        .await
        .expect("scrape");
    assert_eq!(status(wrong), 401);
    for scheme in ["Bearer", "bearer"] {
        let ok = client
            .get(app.url("/metrics"))
            .header("authorization", format!("{scheme} scrape-secret-42"))
            .send()
            .await
            .expect("scrape");
        assert_eq!(ok.status().as_u16(), 200, "{scheme}");
        assert!(ok
            .text()
            .await
            .expect("body")
            .contains("aftercare_http_requests_total"));
    }
}

/// A store that cannot answer never tells a patient that her personal link does not exist.
#[tokio::test]
async fn a_valid_link_is_not_called_unknown_while_the_store_cannot_answer() {
    use sqlx::Connection;
    let app = TestApp::sqlite().await;
    let patient = app.patient().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let unknown = client
        .get(app.url("/p/no-such-link-token"))
        .send()
        .await
        .expect("page");
    assert_eq!(unknown.status().as_u16(), 404);

    let path = app.db_path.clone().expect("a SQLite file");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
        .await
        .expect("a second connection");
    sqlx::query("ALTER TABLE patients RENAME TO patients_elsewhere")
        .execute(&mut conn)
        .await
        .expect("rename");
    conn.close().await.expect("close");
    let link = client
        .get(app.url(&format!("/p/{}", patient.link_token.expose())))
        .send()
        .await
        .expect("page");
    assert!(link.status().as_u16() >= 500, "{}", link.status());
}
