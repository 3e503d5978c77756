//! The patient pages over a real port: forms walked with reqwest the way a browser would (cookies
//! kept by hand, redirects not followed, so each step is visible), against a fresh SQLite store.

use aftercare_core::Content;
use aftercare_store::Autocommit as _;
use aftercare_store::{NewAnnouncement, NewClinic, NewPatient, Store};
use aftercare_web::{AppState, Settings};
use chrono::{Duration, Utc};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::sync::Arc;

struct TestApp {
    url: String,
    store: Arc<dyn Store>,
    clinic_id: String,
    _dir: tempfile::TempDir,
}

struct Patient {
    id: String,
    token: String,
    code: String,
}

impl TestApp {
    async fn start() -> TestApp {
        TestApp::start_on(None).await
    }

    /// A server whose clock is `clock` (the test moves it).
    async fn start_on(clock: Option<Arc<dyn aftercare_app::Clock>>) -> TestApp {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite:{}", dir.path().join("pages.db").display());
        let store = aftercare_store::connect(&url)
            .await
            .expect("the store opens");
        store.migrate().await.expect("migrations apply");
        let clinic = store
            .create_clinic(
                NewClinic {
                    slug: "north".into(),
                    name: "North Maternity".into(),
                    opening_hours: serde_json::json!({}),
                },
                Utc::now(),
            )
            .await
            .expect("a clinic");
        let content = Content::bundled().expect("the bundled content loads");
        let mut builder = AppState::builder(content, store.clone(), Settings::default());
        if let Some(clock) = clock {
            builder = builder.clock(clock);
        }
        let state = builder.build();
        assert!(
            state.pages.templates.problems().is_empty(),
            "{:?}",
            state.pages.templates.problems()
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(aftercare_web::serve(
            listener,
            state,
            std::future::pending(),
        ));
        TestApp {
            url: format!("http://{addr}"),
            store,
            clinic_id: clinic.id,
            _dir: dir,
        }
    }

    async fn enrol(&self, name: &str) -> Patient {
        let token = aftercare_app::secrets::new_link_token().expect("token");
        let code = aftercare_app::secrets::new_enrolment_code().expect("code");
        let today = Utc::now().date_naive();
        let p = self
            .store
            .create_patient(
                NewPatient {
                    clinic_id: self.clinic_id.clone(),
                    display_name: name.into(),
                    enrolment_code: code.clone(),
                    link_token: token.clone().into(),
                    procedure: "labour_epidural".into(),
                    procedure_date: today - Duration::days(5),
                    delivery_date: Some(today - Duration::days(5)),
                    language: "en".into(),
                },
                Utc::now(),
            )
            .await
            .expect("a patient");
        Patient {
            id: p.id.into(),
            token,
            code,
        }
    }

    fn browser(&self) -> Browser {
        Browser {
            base: self.url.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            cookies: BTreeMap::new(),
            accept_language: "en".into(),
        }
    }
}

/// A browser's cookie jar and a client that does not follow redirects.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
    accept_language: String,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, r: reqwest::Response) -> Page {
        let set_cookies: Vec<String> = r
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        for c in &set_cookies {
            if let Some((k, v)) = c.split(';').next().and_then(|kv| kv.split_once('=')) {
                if c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        Page {
            status: r.status(),
            location: r
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            set_cookies,
            body: r.text().await.unwrap_or_default(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("accept-language", &self.accept_language)
            .send()
            .await
            .expect("the server answers");
        self.finish(r).await
    }

    /// Posts a form, adding the CSRF token from the cookie unless `csrf` is false.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)], csrf: bool) -> Page {
        let mut pairs: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if csrf {
            let token = self
                .cookies
                .get("aftercare_csrf")
                .cloned()
                .unwrap_or_default();
            pairs.push(("_csrf".into(), token));
        }
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("accept-language", &self.accept_language)
            .form(&pairs)
            .send()
            .await
            .expect("the server answers");
        self.finish(r).await
    }

    /// Posts a form as a browser does: with the CSRF token, following the redirect to the page
    /// it leads to (post/redirect/get).
    async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.post(path, fields, true).await;
        match (page.status, page.location.clone()) {
            (StatusCode::SEE_OTHER, Some(to)) => self.get(&to).await,
            _ => page,
        }
    }

    /// Opens her personal link as she does: the page that names whose record it opens, then
    /// its button (a POST); the answer to the POST.
    async fn open_link(&mut self, token: &str) -> Page {
        let path = format!("/p/{token}");
        let page = self.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        self.post(&path, &[], true).await
    }

    async fn sign_in(&mut self, patient: &Patient) {
        let page = self.open_link(&patient.token).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location.as_deref(), Some("/me"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_posted_without_the_csrf_token_is_refused() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    assert_eq!(b.get("/contact").await.status, StatusCode::OK);
    let fields = [
        ("name", "Ana"),
        ("contact", "555"),
        ("message", "Hi"),
        ("consent", "yes"),
    ];
    let refused = b.post("/contact", &fields, false).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("<html"), "the refusal is a page");
    let mut wrong = fields.to_vec();
    wrong.push((
        "_csrf",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ));
    assert_eq!(
        b.post("/contact", &wrong, false).await.status,
        StatusCode::FORBIDDEN
    );
    // A token without its cookie (another site's form) is refused too.
    let token = b.cookies.remove("aftercare_csrf").unwrap_or_default();
    let mut forged = fields.to_vec();
    forged.push(("_csrf", &token));
    assert_eq!(
        b.post("/contact", &forged, false).await.status,
        StatusCode::FORBIDDEN
    );
    let stored = app
        .store
        .list_contact_requests(&app.clinic_id, None)
        .await
        .expect("a list");
    assert!(stored.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_personal_link_sets_a_secure_httponly_samesite_cookie() {
    let app = TestApp::start().await;
    let ana = app.enrol("Ana").await;
    let mut b = app.browser();
    let page = b.open_link(&ana.token).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let cookie = page
        .set_cookies
        .iter()
        .find(|c| c.starts_with("aftercare_patient="))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let me = b.get("/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(me.body.contains("Hello, Ana"));
    assert_eq!(b.get("/p/not-a-token").await.status, StatusCode::NOT_FOUND);
    // Already signed in with this record, the link goes straight to her page.
    let again = b.get(&format!("/p/{}", ana.token)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.location.as_deref(), Some("/me"));
}

/// The cookie is a session of its own, not her link: signing out ends it, and the old cookie,
/// sent again, opens nothing (while her link still works to sign in again).
#[tokio::test(flavor = "multi_thread")]
async fn signing_out_ends_the_session_and_the_old_cookie_opens_nothing() {
    let app = TestApp::start().await;
    let ana = app.enrol("Ana").await;
    let mut b = app.browser();
    b.sign_in(&ana).await;
    let session = b
        .cookies
        .get("aftercare_patient")
        .cloned()
        .expect("a cookie");
    assert_ne!(
        session, ana.token,
        "the link's token never goes into a cookie"
    );
    assert_eq!(b.get("/me").await.status, StatusCode::OK);
    let out = b.post("/signout", &[], true).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    // Someone who copied the cookie before she signed out.
    b.cookies.insert("aftercare_patient".into(), session);
    let me = b.get("/me").await;
    assert_ne!(me.status, StatusCode::OK, "{}", me.body);
    assert!(!me.body.contains("Hello, Ana"));
    let api = reqwest::Client::new()
        .get(format!("{}/api/v1/diary", app.url))
        .header(
            COOKIE,
            format!("aftercare_patient={}", b.cookies["aftercare_patient"]),
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    // Her link signs her in again, with a new session.
    b.cookies.remove("aftercare_patient");
    b.sign_in(&ana).await;
    assert_eq!(b.get("/me").await.status, StatusCode::OK);
}

/// Login CSRF: a page elsewhere that sends her browser to another patient's link cannot
/// switch her to that record. Opening a link changes nothing; only its button (a POST with
/// the form's token) does, and the page says whose record it is.
#[tokio::test(flavor = "multi_thread")]
async fn another_patients_link_opened_from_elsewhere_does_not_switch_her_record() {
    let app = TestApp::start().await;
    let ana = app.enrol("Ana").await;
    let eve = app.enrol("Eve").await;
    let mut b = app.browser();
    b.sign_in(&ana).await;

    let page = b.get(&format!("/p/{}", eve.token)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .set_cookies
        .iter()
        .all(|c| !c.starts_with("aftercare_patient=")));
    assert!(
        page.body.contains("Eve"),
        "the page names whose record it is"
    );
    assert!(
        b.get("/me").await.body.contains("Hello, Ana"),
        "still her own"
    );
    // Naming her is a read of her record: audited.
    let audit = app
        .store
        .list_audit(
            &app.clinic_id,
            aftercare_store::AuditQuery {
                patient_id: Some(eve.id.clone().into()),
                ..Default::default()
            },
        )
        .await
        .expect("the audit trail");
    assert!(audit.iter().any(|e| e.action == "patient.link.opened"));

    // A cross-site form post carries no token of the page: refused.
    let forged = b.post(&format!("/p/{}", eve.token), &[], false).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(b.get("/me").await.body.contains("Hello, Ana"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_enrolment_code_signs_in_and_a_wrong_one_shows_the_form_again() {
    let app = TestApp::start().await;
    let ana = app.enrol("Ana").await;
    let mut b = app.browser();
    b.get("/start").await;
    let wrong = b.post("/start", &[("code", "NOPE-NOPE")], true).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("value=\"NOPENOPE\""));
    let typed = format!("{} {}", &ana.code[..4].to_lowercase(), &ana.code[4..]);
    let ok = b.post("/start", &[("code", &typed)], true).await;
    assert_eq!(ok.location.as_deref(), Some("/me"));
    assert!(b.get("/me").await.body.contains("Hello, Ana"));
    // The code works once: someone who read it over her shoulder cannot use it afterwards.
    let mut other = app.browser();
    other.get("/start").await;
    let again = other.post("/start", &[("code", &ana.code)], true).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!other.get("/me").await.body.contains("Hello, Ana"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_patient_cannot_read_the_first_patients_diary_or_check_ins() {
    let app = TestApp::start().await;
    let ana = app.enrol("Ana").await;
    let bea = app.enrol("Bea").await;
    let mut a = app.browser();
    a.get("/").await;
    a.sign_in(&ana).await;
    let today = Utc::now().date_naive().to_string();
    let saved = a
        .post(
            "/me/diary",
            &[("day", &today), ("pain", "3"), ("note", "only-for-ana")],
            true,
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(a.get("/me/diary").await.body.contains("only-for-ana"));
    let stored = a
        .post(
            "/checkin",
            &[("a.stroke_signs", "yes"), ("step", "stroke_signs")],
            true,
        )
        .await;
    let checkin_path = stored.location.expect("a stored check-in");
    assert!(checkin_path.starts_with("/me/checkins/"));
    // A printed copy says whose it is, when she answered (with the zone) and what.
    let printed = a.get(&checkin_path).await;
    assert!(printed.body.contains("printout-head"), "{}", printed.body);
    assert!(printed.body.contains("Ana"));
    assert!(printed.body.contains("Answered on") && printed.body.contains(" UTC."));
    assert!(printed.body.contains("Your answers"));

    let mut b = app.browser();
    b.get("/").await;
    b.sign_in(&bea).await;
    let diary = b.get("/me/diary").await;
    assert_eq!(diary.status, StatusCode::OK);
    assert!(!diary.body.contains("only-for-ana"));
    assert!(diary.body.contains("Hello") || diary.body.contains("diary"));
    assert_eq!(b.get(&checkin_path).await.status, StatusCode::NOT_FOUND);
    assert!(!b
        .get(&format!("/me/diary?day={today}"))
        .await
        .body
        .contains("only-for-ana"));
    // Nobody signed in sees nothing but the way in.
    let mut c = app.browser();
    assert_eq!(c.get("/me/diary").await.status, StatusCode::UNAUTHORIZED);
    // Every read and write of her data is in the audit trail, under her id.
    let audit = app
        .store
        .list_audit(
            &app.clinic_id,
            aftercare_store::AuditQuery {
                patient_id: Some(ana.id.clone().into()),
                ..Default::default()
            },
        )
        .await
        .expect("the audit trail");
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for expected in [
        "patient.sign_in",
        "diary.write",
        "diary.list",
        "checkin.final",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    assert!(audit
        .iter()
        .all(|e| e.actor_id.as_deref() == Some(ana.id.as_str())));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_in_a_diary_note_is_shown_as_text() {
    let app = TestApp::start().await;
    let ana = app.enrol("Ana").await;
    let mut b = app.browser();
    b.get("/").await;
    b.sign_in(&ana).await;
    let today = Utc::now().date_naive().to_string();
    let note = "<script>alert('x')</script>";
    let saved = b
        .post(
            "/me/diary",
            &[("day", &today), ("pain", "2"), ("note", note)],
            true,
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = b.get("/me/diary").await;
    assert!(!page.body.contains("<script>alert"), "the note is escaped");
    assert!(page.body.contains("&lt;script&gt;alert("));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_diary_entry_shows_the_form_again_with_what_was_typed() {
    let app = TestApp::start().await;
    let ana = app.enrol("Ana").await;
    let mut b = app.browser();
    b.get("/").await;
    b.sign_in(&ana).await;
    let today = Utc::now().date_naive().to_string();
    let page = b
        .post(
            "/me/diary",
            &[("day", &today), ("note", "kept words")],
            true,
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Please choose a pain score"));
    assert!(page.body.contains("kept words"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filled_honeypot_looks_sent_but_nothing_is_stored() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.get("/contact").await;
    let fields = [
        ("name", "Ana"),
        ("contact", "555 123"),
        ("message", "Please call"),
        ("consent", "yes"),
    ];
    let mut bot = fields.to_vec();
    bot.push(("website", "http://spam.example"));
    let page = b.post("/contact", &bot, true).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Message sent"));
    assert!(app
        .store
        .list_contact_requests(&app.clinic_id, None)
        .await
        .expect("a list")
        .is_empty());
    let page = b.post("/contact", &fields, true).await;
    assert!(page.body.contains("Message sent"));
    let stored = app
        .store
        .list_contact_requests(&app.clinic_id, None)
        .await
        .expect("a list");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].message, "Please call");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_contact_input_comes_back_with_errors_and_what_was_typed() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.get("/contact").await;
    let page = b
        .post("/contact", &[("name", "Ana <b>"), ("message", "")], true)
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page
        .body
        .contains("Please give a phone number or email address."));
    assert!(page.body.contains("Please agree that we may contact you"));
    assert!(page.body.contains("value=\"Ana &lt;b&gt;\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contact_form_is_rate_limited_per_address() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.get("/contact").await;
    let fields = [
        ("name", "Ana"),
        ("contact", "555"),
        ("message", "Hello"),
        ("consent", "yes"),
    ];
    for _ in 0..5 {
        assert_eq!(
            b.post("/contact", &fields, true).await.status,
            StatusCode::OK
        );
    }
    let limited = b.post("/contact", &fields, true).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.body.contains("Too many attempts"));
    assert_eq!(
        app.store
            .list_contact_requests(&app.clinic_id, None)
            .await
            .expect("a list")
            .len(),
        5
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_emergency_check_in_shows_the_call_button_first_and_stores_nothing() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let first = b.get("/checkin").await;
    assert!(
        first.body.contains("name=\"concern\" value=\"legs\""),
        "it asks first what brings her"
    );
    let pages = walk(
        &mut b,
        &[
            ("concern", "legs"),
            ("a.procedure", "labour_epidural"),
            ("a.leg_weakness", "both_legs"),
        ],
    )
    .await;
    let page = pages.last().expect("a decision");
    assert!(page.body.contains("level-emergency"), "{}", page.body);
    let asked = pages
        .iter()
        .position(|p| p.body.contains("name=\"a.leg_weakness\""))
        .expect("leg weakness is asked");
    assert!(
        pages.len() - 1 - asked <= 2,
        "the emergency is shown within two pages of the answer"
    );
    assert!(
        !pages.iter().any(|p| p.body.contains("name=\"a.low_mood\"")),
        "nothing about mood before an emergency"
    );
    let call = page.body.find("href=\"tel:112\"").expect("a call button");
    let main = page.body.find("<main").expect("a main element");
    assert!(
        call < main,
        "the call button comes before the page's content"
    );
    // A required question left out is asked again, with a message.
    let missing = b.post("/checkin", &[("step", "procedure")], true).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.body.contains("Please choose or type an answer."));
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_follow_accept_language_and_remember_a_chosen_language() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.accept_language = "es-ES,es;q=0.9".into();
    let page = b.get("/").await;
    assert!(page.body.contains("<html lang=\"es\">"));
    b.accept_language = "es".into();
    let chosen = b.get("/learn?lang=en").await;
    assert!(chosen.body.contains("<html lang=\"en\">"));
    assert!(chosen
        .set_cookies
        .iter()
        .any(|c| c.starts_with("aftercare_lang=en")));
    assert!(b.get("/learn").await.body.contains("<html lang=\"en\">"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clinics_announcement_is_shown_on_every_page() {
    let app = TestApp::start().await;
    let staff = app
        .store
        .create_staff(
            aftercare_store::NewStaff {
                clinic_id: app.clinic_id.clone(),
                email: "lead@example.org".into(),
                display_name: "Lead".into(),
                role: aftercare_store::Role::Admin,
                password_hash: "x".into(),
            },
            Utc::now(),
        )
        .await
        .expect("a staff member");
    app.store
        .create_announcement(
            NewAnnouncement {
                clinic_id: app.clinic_id.clone(),
                text_en: "Closed on Friday <afternoon>".into(),
                text_es: "Cerrado el viernes".into(),
                starts_at: Utc::now() - Duration::hours(1),
                ends_at: None,
                created_by: staff.id,
            },
            Utc::now(),
        )
        .await
        .expect("an announcement");
    let mut b = app.browser();
    for path in [
        "/",
        "/checkin",
        "/learn",
        "/contact",
        "/learn/cold-and-heat",
    ] {
        let page = b.get(path).await;
        assert!(
            page.body.contains("Closed on Friday &lt;afternoon&gt;"),
            "{path}"
        );
    }
    b.accept_language = "es".into();
    assert!(b.get("/").await.body.contains("Cerrado el viernes"));
}

#[tokio::test(flavor = "multi_thread")]
async fn static_files_are_cached_for_a_year_and_pages_are_not_cached() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let css = b
        .client
        .get(format!("{}/static/app.css", app.url))
        .send()
        .await
        .expect("css");
    assert_eq!(css.status(), StatusCode::OK);
    let cache = css
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(cache.contains("max-age=31536000"));
    let page = b
        .client
        .get(format!("{}/", app.url))
        .send()
        .await
        .expect("home");
    assert_eq!(
        page.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert!(page.headers().get("content-security-policy").is_some());
    assert_eq!(
        b.get("/learn/no-such-page").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_diary_entry_that_raises_the_level_says_what_to_do_now_at_the_top() {
    let app = TestApp::start().await;
    let ana = app.enrol("Ana").await;
    let mut b = app.browser();
    b.get("/").await;
    b.sign_in(&ana).await;
    let today = Utc::now().date_naive().to_string();
    let saved = b
        .post(
            "/me/diary",
            &[("day", &today), ("pain", "6"), ("f.fever", "yes")],
            true,
        )
        .await;
    let location = saved.location.expect("a redirect to the diary");
    assert!(location.contains("level=emergency"), "{location}");
    assert!(location.contains("escalated=1"), "{location}");
    let page = b.get(&location).await;
    let call = page.body.find("href=\"tel:112\"").expect("a call button");
    assert!(call < page.body.find("<main").expect("main"));
    assert!(page.body.contains("We have let your clinic know."));
    let open = app
        .store
        .list_escalations(&ana.id.clone().into(), true)
        .await
        .expect("escalations");
    assert_eq!(open.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn not_sure_of_the_procedure_is_read_as_a_combined_spinal_epidural_and_said_so() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let pages = walk(
        &mut b,
        &[("concern", "back_pain"), ("a.procedure", "unsure")],
    )
    .await;
    let last = pages.last().expect("a decision");
    assert!(last.body.contains("class=\"level level-"), "{}", last.body);
    assert!(
        last.body.contains("You were not sure about some answers"),
        "{}",
        last.body
    );
    assert!(
        last.body.contains("Combined spinal-epidural"),
        "the answer it was read as is named"
    );
    // The procedure's follow-up questions were asked, as for a neuraxial procedure.
    assert!(pages
        .iter()
        .any(|p| p.body.contains("name=\"a.hours_since_procedure\"")));
}

#[tokio::test(flavor = "multi_thread")]
async fn not_sure_about_blood_thinners_is_read_as_yes_and_said_so() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    assert_eq!(b.get("/checkin").await.status, StatusCode::OK);
    // Vignette X63 (mild back ache two weeks after a birth, not breastfeeding), answered in
    // full, except that she is not sure whether she takes a blood thinner.
    let mut fields = vignette_fields("X63");
    for (k, value) in fields.iter_mut() {
        if k == "a.anticoagulant" {
            *value = "unsure".into();
        }
    }
    fields.push(("step".into(), "anticoagulant".into()));
    let form = as_form(&fields);
    let page = b.submit("/checkin", &form).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("level-self_care"), "{}", page.body);
    assert!(page.body.contains("You were not sure about some answers"));
    assert!(page.body.contains("blood"), "the question is named");
    assert!(page.body.contains("Check medicines first"));
    assert!(
        !page.body.contains("<h3>Pain relief</h3>"),
        "no NSAID when she may be on a blood thinner"
    );
    // Going back to change it keeps "Not sure" as her answer, offered as a choice.
    assert!(
        page.body
            .contains("name=\"a.anticoagulant\" value=\"unsure\""),
        "carried as not sure"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mistyped_address_shows_a_page_in_her_language_and_api_clients_keep_json() {
    let app = TestApp::start().await;
    let client = reqwest::Client::new();
    let get = |path: &str, accept: &'static str, lang: &'static str| {
        client
            .get(format!("{}{path}", app.url))
            .header("accept", accept)
            .header("accept-language", lang)
            .send()
    };
    let html = "text/html,application/xhtml+xml,*/*;q=0.8";
    let page = get("/chekin", html, "es-ES,es;q=0.9")
        .await
        .expect("request");
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let ct = page.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("text/html"), "{ct}");
    let body = page.text().await.expect("body");
    assert!(body.contains("<html lang=\"es\">"), "{body}");
    assert!(body.contains("href=\"/\""), "a way back");
    assert!(body.contains("Página no encontrada"), "{body}");
    for (path, accept) in [("/chekin", "application/json"), ("/api/v1/nope", html)] {
        let r = get(path, accept, "en").await.expect("request");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let ct = r.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .to_string();
        assert!(ct.starts_with("application/problem+json"), "{path}: {ct}");
    }
    // Under /fhir, FHIR's own error resource.
    let r = get("/fhir/Nope/1", html, "en").await.expect("request");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let ct = r.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("application/fhir+json"), "{ct}");
    let outcome: serde_json::Value = r.json().await.expect("JSON");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
}

/// One `<input ...>` tag's attributes.
fn input_tags(body: &str) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    for part in body.split("<input ").skip(1) {
        let tag = part.split('>').next().unwrap_or_default();
        let mut attrs = BTreeMap::new();
        for piece in tag.split("\" ") {
            if let Some((k, v)) = piece.trim().split_once("=\"") {
                attrs.insert(k.to_string(), v.trim_end_matches('"').to_string());
            }
        }
        if tag.contains(" checked") {
            attrs.insert("checked".into(), "yes".into());
        }
        out.push(attrs);
    }
    out
}

/// A screen filled in as a patient would, from `answers` (form names and values): a radio
/// question takes its answer, else "no", else its first choice; a checklist sign is ticked only
/// when answered yes; a time is a day and a half ago unless given; a number is a usual blood
/// pressure, or 2, unless given.
/// The hidden fields (the step, the trail, answers carried) come along; the CSRF token is added
/// by [`Browser::post`].
fn fill(body: &str, answers: &[(&str, &str)]) -> Vec<(String, String)> {
    let given = |name: &str| answers.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let mut out: Vec<(String, String)> = Vec::new();
    let mut radios: Vec<(String, Vec<String>)> = Vec::new();
    for tag in input_tags(body) {
        let attr = |k: &str| tag.get(k).cloned().unwrap_or_default();
        let (name, kind, value) = (attr("name"), attr("type"), attr("value"));
        if name.is_empty() || name == "_csrf" {
            continue;
        }
        match kind.as_str() {
            "hidden" => out.push((name, value)),
            "radio" => match radios.iter_mut().find(|(n, _)| *n == name) {
                Some((_, values)) => values.push(value),
                None => radios.push((name, vec![value])),
            },
            "checkbox" if given(&name) == Some("yes") => out.push((name, value)),
            "checkbox" => {}
            "datetime-local" => {
                let when = (Utc::now() - Duration::hours(36)).format("%Y-%m-%dT%H:%M");
                let value = given(&name).map_or(when.to_string(), str::to_string);
                out.push((name, value));
            }
            _ => {
                let usual = match name.as_str() {
                    "a.bp_systolic" => "118",
                    "a.bp_diastolic" => "76",
                    _ => "2",
                };
                let value = given(&name).unwrap_or(usual).to_string();
                out.push((name, value));
            }
        }
    }
    for (name, values) in radios {
        let value = given(&name)
            .map(str::to_string)
            .or_else(|| values.iter().find(|v| *v == "no").cloned())
            .unwrap_or_else(|| values[0].clone());
        out.push((name, value));
    }
    out.push(("action".into(), "next".into()));
    out
}

/// Walks the check-in from its first page, filling each screen with [`fill`], to the first
/// page that asks `field`.
async fn walk_to(b: &mut Browser, answers: &[(&str, &str)], field: &str) -> Page {
    let mut page = b.get("/checkin").await;
    for _ in 0..12 {
        if page.body.contains(&format!("name=\"{field}\"")) {
            return page;
        }
        assert!(
            page.body.contains("name=\"step\""),
            "{field} is never asked"
        );
        page = b
            .submit("/checkin", &as_form(&fill(&page.body, answers)))
            .await;
    }
    panic!("{field} is never asked");
}

/// Walks the check-in from its first page, filling each screen with [`fill`], until the page
/// is no longer a step; the pages seen, the last one the decision.
async fn walk(b: &mut Browser, answers: &[(&str, &str)]) -> Vec<Page> {
    let mut pages = vec![b.get("/checkin").await];
    for _ in 0..12 {
        let page = pages.last().expect("a page");
        if !page.body.contains("name=\"step\"") {
            break;
        }
        let fields = fill(&page.body, answers);
        let next = b.submit("/checkin", &as_form(&fields)).await;
        assert!(next.status.is_success(), "{}", next.body);
        pages.push(next);
    }
    pages
}

/// The step's Back link, its HTML escapes undone.
fn back_link(body: &str) -> String {
    body.split("<p class=\"back-link\"><a href=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .expect("a Back link")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_step_is_a_page_of_its_own_and_back_shows_her_answers() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let first = b.get("/checkin").await;
    assert!(first.body.contains("Step 1 of about"), "{}", first.body);
    assert_eq!(
        back_link(&first.body),
        "/",
        "the first step's Back leaves the check-in"
    );
    let fields = fill(&first.body, &[("concern", "headache")]);

    // The answer to a step is a redirect to the next step's own address.
    let posted = b.post("/checkin", &as_form(&fields), true).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    let second_url = posted.location.clone().expect("a Location");
    assert!(second_url.starts_with("/checkin?s="), "{second_url}");
    let second = b.get(&second_url).await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.body.contains("Step 2 of about"), "{}", second.body);
    // Loading it again (the browser's Back and Forward) shows the same page, resubmits nothing.
    assert_eq!(b.get(&second_url).await.body, second.body);

    // The page's own Back link shows the first step again, her answer chosen.
    let back = back_link(&second.body);
    assert!(back.ends_with("&back=1"), "{back}");
    let again = b.get(&back).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.body.contains("Step 1 of about"), "{}", again.body);
    assert!(
        again
            .body
            .contains("name=\"concern\" value=\"headache\" checked"),
        "her concern is chosen again"
    );
    // A trail that is not ours starts the check-in again.
    let junk = b.get("/checkin?s=not-a-trail").await;
    assert_eq!(junk.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_harmless_check_in_asks_each_section_once_in_few_pages() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let pages = walk(
        &mut b,
        &[("concern", "back_pain"), ("a.procedure", "labour_epidural")],
    )
    .await;
    let last = pages.last().expect("a decision");
    assert!(last.body.contains("class=\"level level-"), "{}", last.body);
    assert!(pages.len() <= 6, "{} pages", pages.len());
    let mut seen: Vec<String> = Vec::new();
    let mut last_step = 0;
    for page in &pages[..pages.len() - 1] {
        let n: u32 = page
            .body
            .split("Step ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("a step number");
        assert!(n > last_step, "the step number moves forward");
        last_step = n;
        for title in page.body.split("<h2 id=\"g-").skip(1) {
            let id = title.split('"').next().unwrap_or_default().to_string();
            assert!(!seen.contains(&id), "section {id} comes back");
            seen.push(id);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checklist_reads_unticked_signs_as_no_and_refuses_none_beside_a_tick() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let pages = walk(&mut b, &[("concern", "headache")]).await;
    let with_list = pages
        .iter()
        .find(|p| p.body.contains("data-none="))
        .expect("a checklist");
    let sign = with_list
        .body
        .split("data-sign=")
        .next()
        .and_then(|before| before.rsplit("name=\"").next())
        .and_then(|n| n.split('"').next())
        .expect("a sign")
        .to_string();
    let none = with_list
        .body
        .split("data-none=")
        .next()
        .and_then(|before| before.rsplit("name=\"").next())
        .and_then(|n| n.split('"').next())
        .expect("None of these")
        .to_string();
    let mut fields = fill(&with_list.body, &[(sign.as_str(), "yes")]);
    fields.push((none, "yes".into()));
    let refused = b.post("/checkin", &as_form(&fields), true).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("None of these"),
        "the message names the clash: {}",
        refused.body
    );
    assert!(refused
        .body
        .contains(&format!("name=\"{sign}\" value=\"yes\" checked")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leg_deficit_within_six_hours_asks_her_to_confirm_the_time() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let when = (Utc::now() - Duration::hours(3))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let answers = [
        ("concern", "legs"),
        ("a.procedure", "labour_epidural"),
        ("a.hours_since_procedure", when.as_str()),
        ("a.leg_numbness", "one_leg"),
    ];
    let pages = walk(&mut b, &answers).await;
    assert!(
        pages.iter().any(|p| p
            .body
            .contains("name=\"confirm\" value=\"hours_since_procedure\"")),
        "the time is confirmed before it counts"
    );
    assert!(pages
        .last()
        .expect("a decision")
        .body
        .contains("class=\"level level-"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_red_flag_shows_the_emergency_even_when_another_answer_is_left_out() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let start = [("concern", "legs"), ("a.procedure", "labour_epidural")];
    let legs = walk_to(&mut b, &start, "a.leg_weakness").await;
    assert!(
        legs.body.contains("name=\"a.nerve_days\""),
        "asked on the same screen"
    );
    // Both legs weak, and the days it has lasted left empty: the emergency, not an error.
    let mut fields = fill(
        &legs.body,
        &[("a.leg_weakness", "both_legs"), ("a.nerve_days", "")],
    );
    fields.retain(|(k, _)| k != "a.nerve_days");
    fields.push(("a.nerve_days".into(), String::new()));
    let page = b.submit("/checkin", &as_form(&fields)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("level-emergency"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_day_alone_is_not_enough_for_today_and_a_value_in_a_hidden_question_is_dropped() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let start = [("concern", "back_pain")];
    let first = walk_to(&mut b, &start, "a.procedure").await;
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let fields = fill(
        &first.body,
        &[
            ("a.procedure", "labour_epidural"),
            ("a.hours_since_procedure", today.as_str()),
            ("a.delivered", "no"),
            // Left over in the hidden "days since the birth" box: not hers to fix.
            ("a.days_since_delivery", "-4"),
        ],
    );
    let refused = b.post("/checkin", &as_form(&fields), true).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("please give the time as well as the day"),
        "{}",
        refused.body
    );
    assert!(
        !refused.body.contains("id=\"e-days_since_delivery\""),
        "no error on a question the page hid"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reviewing_the_answers_and_going_on_keeps_her_place() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let start = [("concern", "headache"), ("a.procedure", "labour_epidural")];
    let page = walk_to(&mut b, &start, "a.headache_postural").await;
    let step_before = page
        .body
        .split("Step ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap_or_default()
        .to_string();
    let mut fields = fill(&page.body, &[]);
    fields.retain(|(k, _)| k != "action");
    fields.push(("action".into(), "review".into()));
    let review = b.post("/checkin", &as_form(&fields), true).await;
    assert_eq!(review.status, StatusCode::OK);
    assert!(review.body.contains("A headache"), "her concern is listed");
    let mut go_on = fill(&review.body, &[]);
    go_on.retain(|(k, _)| k != "action");
    go_on.push(("action".into(), "next".into()));
    let next = b.submit("/checkin", &as_form(&go_on)).await;
    assert!(
        !next.body.contains("name=\"concern\""),
        "she is not sent back to the first question"
    );
    assert!(
        next.body.contains(&format!("Step {step_before} of about")),
        "the same step again: {}",
        next.body
    );
}

/// Owned form fields as the borrowed pairs `Browser::post` takes.
fn as_form(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn vignette_fields(id: &str) -> Vec<(String, String)> {
    let path = format!(
        "{}/../../tests/vignettes/{id}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vignette")).expect("JSON");
    v["case"]
        .as_object()
        .expect("case")
        .iter()
        .map(|(k, x)| {
            let value = match x {
                serde_json::Value::Bool(true) => "yes".to_string(),
                serde_json::Value::Bool(false) => "no".to_string(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (format!("a.{k}"), value)
        })
        .collect()
}

/// The clinic answers its daytime number Monday to Friday, 08:00 to 18:00 in Madrid: on a
/// Wednesday morning an urgent answer offers that number; the same evening, the ward's.
#[tokio::test(flavor = "multi_thread")]
async fn an_urgent_answer_gives_the_number_that_answers_now_by_the_clinics_hours_and_zone() {
    use chrono::{Datelike, TimeZone};
    let today = Utc::now().date_naive();
    let back = (today.weekday().num_days_from_monday() + 7 - 2) % 7;
    let wednesday = today - chrono::Duration::days(i64::from(back));
    // 09:00 UTC is 10:00 or 11:00 in Madrid; 21:00 UTC is 22:00 or 23:00.
    let morning = Utc.from_utc_datetime(&wednesday.and_hms_opt(9, 0, 0).expect("a time"));
    let clock = Arc::new(aftercare_app::ManualClock::new(morning));
    let app = TestApp::start_on(Some(clock.clone())).await;
    let clinic = app
        .store
        .get_clinic(&app.clinic_id)
        .await
        .expect("read")
        .expect("clinic");
    app.store
        .update_clinic_settings(
            &app.clinic_id,
            aftercare_store::ClinicSettings {
                phone: Some("+34 912 345 678".into()),
                out_of_hours_phone: Some("+34 912 000 111".into()),
                emergency_number: Some("061".into()),
                time_zone: Some("Europe/Madrid".into()),
                open_from: Some(8),
                open_until: Some(18),
                open_weekdays: 0b001_1111,
                ..aftercare_store::ClinicSettings::of(&clinic)
            },
        )
        .await
        .expect("settings");
    let her = app.enrol("Ana").await;
    // In the morning the ward's number is also given, for later; in the evening the daytime
    // number, which nobody answers then, is not.
    for (when, number, absent) in [
        (morning, "+34912345678", None),
        (
            morning + chrono::Duration::hours(12),
            "+34912000111",
            Some("+34912345678"),
        ),
    ] {
        clock.set(when);
        for (lang, call) in [
            ("en", "Call North Maternity"),
            ("es", "Llame a North Maternity"),
        ] {
            let mut b = app.browser();
            b.accept_language = lang.into();
            b.sign_in(&her).await;
            assert_eq!(b.get("/checkin").await.status, StatusCode::OK);
            let mut fields = vignette_fields("X38");
            fields.push(("step".into(), "calf_swelling".into()));
            let page = b.submit("/checkin", &as_form(&fields)).await;
            assert!(page.body.contains("level-urgent"), "{}", page.body);
            let button = format!("<a class=\"button secondary\" href=\"tel:{number}\">{call}");
            assert!(
                page.body.contains(&button),
                "{lang} at {when}: {}",
                page.body
            );
            if let Some(absent) = absent {
                assert!(
                    !page.body.contains(&format!("href=\"tel:{absent}\"")),
                    "{lang} at {when}: only the number that answers now"
                );
            }
            // The clinic's own emergency number, in the line for when nobody answers.
            assert!(page.body.contains("061"), "{lang}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_urgent_answer_gives_the_clinics_number_to_call_in_english_and_spanish() {
    let app = TestApp::start().await;
    let clinic = app
        .store
        .get_clinic(&app.clinic_id)
        .await
        .expect("read")
        .expect("clinic");
    app.store
        .update_clinic_settings(
            &app.clinic_id,
            aftercare_store::ClinicSettings {
                phone: Some("+34 912 345 678".into()),
                out_of_hours_phone: Some("+34 912 000 111".into()),
                crisis_line: None,
                ..aftercare_store::ClinicSettings::of(&clinic)
            },
        )
        .await
        .expect("settings");
    let her = app.enrol("Ana").await;
    for (lang, call) in [("en", "Call "), ("es", "Llame a ")] {
        let mut b = app.browser();
        b.accept_language = lang.into();
        b.sign_in(&her).await;
        assert_eq!(b.get("/checkin").await.status, StatusCode::OK);
        // A painful swollen calf ten days after a spinal (vignette X38): urgent.
        let mut fields = vignette_fields("X38");
        fields.push(("step".into(), "calf_swelling".into()));
        let form = as_form(&fields);
        let page = b.submit("/checkin", &form).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("level-urgent"), "{}", page.body);
        assert!(
            page.body.contains("href=\"tel:+34912345678\""),
            "{lang}: the clinic's number to call"
        );
        assert!(page.body.contains(call), "{lang}");
        assert!(
            page.body.contains("href=\"tel:+34912000111\""),
            "{lang}: the number at other times"
        );
    }
}

/// Her emails from her own page: consent is required, the address is saved (post/redirect/get),
/// the unsubscribe link asks before it acts, and a mail client's one-click POST (no CSRF token,
/// no cookie) stops the emails. A message from the clinic shows as new until she reads it.
#[tokio::test(flavor = "multi_thread")]
async fn she_sets_her_email_reminders_unsubscribes_in_one_click_and_sees_new_messages() {
    let app = TestApp::start().await;
    let her = app.enrol("Ana").await;
    for (lang, saved) in [
        ("es", "Sus ajustes de correo se han guardado."),
        ("en", "Your email settings are saved."),
    ] {
        let mut b = app.browser();
        b.accept_language = lang.into();
        b.sign_in(&her).await;
        let me = b.get("/me").await;
        assert!(
            me.body.contains("name=\"email\""),
            "{lang}: the form is on her page"
        );
        let refused = b
            .post(
                "/me/email",
                &[("email", "ana@home.example"), ("reminder_hour", "9")],
                true,
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{lang}: no consent, no email"
        );
        assert!(
            !refused.body.contains("value=\"yes\" checked"),
            "{lang}: refused for want of consent, the box is not ticked for her"
        );
        assert!(
            refused.body.contains("value=\"9\" selected"),
            "{lang}: her hour is kept"
        );
        let page = b
            .submit(
                "/me/email",
                &[
                    ("email", "ana@home.example"),
                    ("reminder_hour", "9"),
                    ("consent", "yes"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(saved), "{lang}: {}", page.body);
        assert!(page.body.contains("value=\"9\" selected"));
    }
    let email = app
        .store
        .get_patient_email(&her.id.clone().into())
        .await
        .expect("read")
        .expect("saved");
    assert_eq!(email.reminder_hour, Some(9));

    // The link from an email: a page that asks, then the one-click POST of RFC 8058.
    let mail_client = app.browser();
    let path = format!("/unsubscribe/{}", email.unsubscribe_token);
    let mut preview = app.browser();
    let asked = preview.get(&path).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(
        app.store
            .get_patient_email(&her.id.clone().into())
            .await
            .expect("read")
            .expect("kept")
            .emails_stopped_at
            .is_none(),
        "opening the link stops nothing"
    );
    let mut one_click = mail_client;
    let done = one_click
        .post(&path, &[("List-Unsubscribe", "One-Click")], false)
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let stopped = app
        .store
        .get_patient_email(&her.id.clone().into())
        .await
        .expect("read")
        .expect("kept");
    assert!(stopped.emails_stopped_at.is_some());
    let mut after = app.browser();
    after.sign_in(&her).await;
    let me = after.get("/me").await;
    assert!(
        !me.body.contains("value=\"yes\" checked"),
        "after unsubscribing, saving again takes a new tick"
    );
    let unknown = one_click
        .post(&format!("/unsubscribe/{}", "0".repeat(64)), &[], false)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // A message from the clinic: "1 new" on her page until she opens the chat.
    let patient = app
        .store
        .get_patient(&her.id.clone().into())
        .await
        .expect("read")
        .expect("her");
    aftercare_store::Autocommit::post_message(
        &*app.store,
        aftercare_store::NewMessage {
            patient_id: her.id.clone().into(),
            sender: aftercare_store::Side::Staff,
            staff_id: None,
            body: "How are you today?".into(),
        },
        Utc::now(),
    )
    .await
    .expect("posted");
    let mut b = app.browser();
    b.accept_language = "en".into();
    b.sign_in(&her).await;
    assert!(b.get("/me").await.body.contains("1 new"));
    assert_eq!(b.get("/me/chat").await.status, StatusCode::OK);
    assert!(
        !b.get("/me").await.body.contains("1 new"),
        "read: no longer new"
    );
    let _ = patient;
}

/// A contact request she sends while signed in belongs to her record (the clinic sees it on
/// her page); one sent signed out belongs to nobody.
#[tokio::test(flavor = "multi_thread")]
async fn her_contact_request_belongs_to_her_record() {
    let app = TestApp::start().await;
    let her = app.enrol("Ana").await;
    let mut b = app.browser();
    b.sign_in(&her).await;
    let sent = b
        .submit(
            "/contact",
            &[
                ("name", "Ana"),
                ("contact", "+34 600 000 111"),
                ("message", "Please call me about my appointment"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let hers = app
        .store
        .list_patient_contact_requests(&her.id.clone().into())
        .await
        .expect("read");
    assert_eq!(hers.len(), 1);
    assert_eq!(hers[0].patient_id.as_deref(), Some(her.id.as_str()));

    let mut stranger = app.browser();
    stranger.get("/contact").await;
    stranger
        .submit(
            "/contact",
            &[
                ("name", "Someone"),
                ("contact", "555"),
                ("message", "Hello"),
                ("consent", "yes"),
            ],
        )
        .await;
    let all = app
        .store
        .list_contact_requests(&app.clinic_id, None)
        .await
        .expect("read");
    assert_eq!(all.len(), 2);
    assert_eq!(all.iter().filter(|r| r.patient_id.is_none()).count(), 1);
}
