//! The clinic workspace's test helpers: staff accounts made straight in the store, and a
//! browser-like client that keeps cookies (the session and the CSRF cookie), follows no
//! redirects (tests look at them), and sends the CSRF token with forms and JSON writes.

use super::TestApp;
use aftercare_store::Autocommit as _;
use aftercare_store::{NewClinic, Staff};
use chrono::Utc;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The password every test account gets.
pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// A clinic by slug (made when missing).
    pub async fn clinic(&self, slug: &str) -> aftercare_store::Clinic {
        if let Some(c) = self
            .store
            .get_clinic_by_slug(slug)
            .await
            .expect("clinic lookup")
        {
            return c;
        }
        self.store
            .create_clinic(
                NewClinic {
                    slug: slug.into(),
                    name: format!("Clinic {slug}"),
                    opening_hours: Value::Null,
                },
                Utc::now(),
            )
            .await
            .expect("clinic")
    }

    /// A staff account of the clinic `slug` with [`PASSWORD`]; an admin also has the second
    /// factor her role requires, set up as she would (its recovery codes kept for sign-in).
    pub async fn staff(&self, slug: &str, role: &str) -> Staff {
        let staff = self.staff_without_second_factor(slug, role).await;
        if role == "admin" {
            self.with_second_factor(&staff).await
        } else {
            staff
        }
    }

    /// Sets up a second factor for `staff` (a first code from the app, then its recovery
    /// codes kept for [`TestApp::signed_in`]); returns the account as it now is.
    pub async fn with_second_factor(&self, staff: &Staff) -> Staff {
        let factors = self.app.second_factor();
        let setup = factors.setup(staff).await.expect("second factor set-up");
        let secret = aftercare_store::TotpSecret::new(setup.secret.replace(' ', ""));
        let code = aftercare_app::second_factor::code_at(&secret, Utc::now()).expect("code");
        let pending = self.fresh(staff).await;
        let codes = factors
            .confirm(&aftercare_app::Actor::system(), &pending, &code)
            .await
            .expect("second factor confirmed");
        self.recovery_codes
            .lock()
            .expect("codes")
            .insert(staff.id.clone(), codes);
        self.fresh(staff).await
    }

    /// The account as it is stored now.
    pub async fn fresh(&self, staff: &Staff) -> Staff {
        self.store
            .get_staff(&staff.id)
            .await
            .expect("staff lookup")
            .expect("staff")
    }

    /// A staff account with [`PASSWORD`] and no second factor, whatever her role requires.
    pub async fn staff_without_second_factor(&self, slug: &str, role: &str) -> Staff {
        let clinic = self.clinic(slug).await;
        let email = format!("{role}-{}@{slug}.example", uuid::Uuid::new_v4().simple());
        let account = aftercare_app::staff::NewAccount {
            clinic_id: &clinic.id,
            email: &email,
            display_name: aftercare_app::text::Name::new(
                "display_name",
                &format!("{role} of {slug}"),
            )
            .expect("a short name"),
            role,
            password: PASSWORD,
        };
        self.app
            .staff()
            .create(&aftercare_app::Actor::system(), account)
            .await
            .expect("staff")
    }

    /// A browser with no cookies yet.
    pub fn browser(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Mutex::new(BTreeMap::new()),
            api_csrf: Mutex::new(None),
        }
    }

    /// A browser signed in (through the login form) as `staff`.
    pub async fn signed_in(&self, staff: &Staff) -> Browser {
        let b = self.browser();
        let code = self
            .recovery_codes
            .lock()
            .expect("codes")
            .get_mut(&staff.id)
            .and_then(Vec::pop);
        let res = match code {
            Some(code) => {
                b.post_form(
                    "/clinic/login",
                    &[
                        ("email", staff.email.as_str()),
                        ("password", PASSWORD),
                        ("code", code.as_str()),
                    ],
                )
                .await
            }
            None => b.login(&staff.email, PASSWORD).await,
        };
        assert_eq!(res.status, 303, "login: {}", res.text);
        b
    }
}

/// A response, read.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` headers.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }
}

pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
    /// The session's CSRF token for JSON writes (from the session API).
    api_csrf: Mutex<Option<String>>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        let jar = self.cookies.lock().expect("jar");
        jar.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("jar").get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .expect("jar")
            .insert(name.into(), value.into());
    }

    fn keep(&self, headers: &reqwest::header::HeaderMap) {
        let mut jar = self.cookies.lock().expect("jar");
        for v in headers.get_all("set-cookie") {
            let Ok(v) = v.to_str() else { continue };
            let pair = v.split(';').next().unwrap_or_default();
            let Some((k, val)) = pair.split_once('=') else {
                continue;
            };
            if v.contains("Max-Age=0") || val.is_empty() {
                jar.remove(k.trim());
            } else {
                jar.insert(k.trim().to_string(), val.to_string());
            }
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        self.keep(&headers);
        let text = res.text().await.unwrap_or_default();
        Reply {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    /// Makes sure the browser has the pages' CSRF cookie (as any page it opened would).
    pub async fn csrf(&self) -> String {
        if self.cookie("aftercare_csrf").is_none() {
            self.get("/clinic/login").await;
        }
        self.cookie("aftercare_csrf").expect("a CSRF cookie")
    }

    /// Posts a form with the CSRF field.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let csrf = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form_raw(path, &all).await
    }

    /// Posts a form as given (no CSRF field added).
    pub async fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .form(fields),
        )
        .await
    }

    /// Opens a patient's personal link as she does: the page naming whose record it opens,
    /// then its button; the answer to the button's POST (a redirect to `/me`).
    pub async fn open_link(&self, token: &str) -> Reply {
        let path = format!("/p/{token}");
        let page = self.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        self.post_form(&path, &[]).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post_form("/clinic/login", &[("email", email), ("password", password)])
            .await
    }

    /// The session's CSRF token for JSON writes.
    pub async fn api_csrf(&self) -> String {
        if let Some(t) = self.api_csrf.lock().expect("csrf").clone() {
            return t;
        }
        let who = self.get("/api/v1/clinic/session").await;
        let t = who.json()["csrf_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        *self.api_csrf.lock().expect("csrf") = Some(t.clone());
        t
    }

    /// A JSON write with the session's CSRF token.
    pub async fn send_json(&self, method: &str, path: &str, body: &Value) -> Reply {
        let csrf = self.api_csrf().await;
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        self.send(
            self.client
                .request(method, format!("{}{path}", self.base))
                .header("x-csrf-token", csrf)
                .json(body),
        )
        .await
    }
}
