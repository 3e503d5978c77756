//! The per-request context of a page: who is asking (a signed-in patient or nobody), in which
//! language, with which CSRF token, for which clinic; and [`Ctx::render`], which puts the common
//! parts of every page (UI words, language switch, announcement, static URLs) around a page's
//! own context before rendering its template.

use super::cookie::{self, CookieOptions};
use super::csrf::CsrfToken;
use super::session;
use super::static_files;
use crate::audit::{Actor, ClientAddress};
use crate::error::AppError;
use crate::lang;
use crate::state::AppState;
use aftercare_core::content::Texts;
use aftercare_core::Lang;
use aftercare_store::{Clinic, Patient};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{json, Map, Value};

/// Everything a page handler needs to know about the request.
pub struct Ctx {
    pub state: AppState,
    pub lang: Lang,
    /// The language was chosen by a `?lang=` link: remember it in the cookie.
    lang_chosen: bool,
    pub csrf: String,
    pub patient: Option<Patient>,
    pub actor: Actor,
    pub path: String,
    /// A `?clinic=slug` parameter.
    pub clinic_slug: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct PageQuery {
    lang: Option<String>,
    clinic: Option<String>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let ClientAddress(address) = ClientAddress::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientAddress(None));
        let CsrfToken(csrf) = CsrfToken::from_request_parts(parts, state).await?;
        let q: PageQuery = parts
            .uri
            .query()
            .and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default();
        let explicit = q.lang.as_deref().and_then(|l| state.content.lang(l));
        let lang = lang::negotiate(&state.content, q.lang.as_deref(), &parts.headers);
        // While the store cannot answer, she is shown the pages as a visitor (the check-in's
        // advice needs no store), not an error in place of every page.
        let patient = match session::patient_from_cookie(state, &parts.headers).await {
            Err(AppError::Unavailable) => {
                tracing::warn!(
                    "store unavailable: a signed-in patient sees the pages as a visitor"
                );
                None
            }
            other => other?,
        };
        let actor = Actor {
            kind: if patient.is_some() {
                crate::audit::ActorKind::Patient
            } else {
                crate::audit::ActorKind::Anonymous
            },
            id: patient.as_ref().map(|p| p.id.to_string()),
            address,
        };
        Ok(Ctx {
            state: state.clone(),
            lang,
            lang_chosen: explicit.is_some(),
            csrf,
            patient,
            actor,
            path: parts.uri.path().to_string(),
            clinic_slug: q.clinic.filter(|s| s.len() <= 64),
        })
    }
}

impl Ctx {
    pub fn texts(&self) -> &Texts {
        self.state.content.text(self.lang)
    }

    /// A UI word of the current language.
    pub fn t(&self, key: &str) -> String {
        self.texts().ui(key).to_string()
    }

    /// The signed-in patient, or 401 (the error page tells her how to sign in).
    pub fn require_patient(&self) -> Result<&Patient, AppError> {
        self.patient.as_ref().ok_or(AppError::Unauthorized)
    }

    /// The clinic this visit is about: the signed-in patient's, the `?clinic=` one, or the
    /// site's only clinic.
    pub async fn clinic(&self) -> Result<Option<Clinic>, AppError> {
        if let Some(p) = &self.patient {
            return Ok(self.state.app.clinics().get(&p.clinic_id).await?);
        }
        if let Some(slug) = &self.clinic_slug {
            if let Some(c) = self.state.app.clinics().by_slug(slug).await? {
                return Ok(Some(c));
            }
        }
        let mut all = self.state.app.clinics().list().await?;
        Ok(if all.len() == 1 { all.pop() } else { None })
    }

    /// Renders `template` with the common context and the page's own (`page`, an object whose
    /// keys win), as an HTML response that no cache keeps.
    pub async fn render(&self, template: &str, page: Value) -> Result<Response, AppError> {
        self.render_status(StatusCode::OK, template, page).await
    }

    pub async fn render_status(
        &self,
        status: StatusCode,
        template: &str,
        page: Value,
    ) -> Result<Response, AppError> {
        // An anonymous visitor's page needs nothing from the store but the clinic's numbers and
        // banner: while the store cannot be reached she still gets the page (the check-in's
        // advice above all), with the emergency number the server was started with.
        let clinic = match self.clinic().await {
            Err(AppError::Unavailable) if self.patient.is_none() => {
                tracing::warn!("store unavailable: page rendered without the clinic's details");
                None
            }
            other => other?,
        };
        let announcement = match &clinic {
            Some(c) => self
                .state
                .app
                .announcements()
                .active(&c.id)
                .await?
                .map(|a| {
                    if self.texts().code == "es" {
                        a.text_es
                    } else {
                        a.text_en
                    }
                }),
            None => None,
        };
        let mut ctx = base(
            &self.state,
            self.lang,
            &self.path,
            Some(&self.csrf),
            self.clinic_slug.as_deref(),
        );
        ctx.insert("announcement".into(), json!(announcement));
        let now = self.state.now();
        let reach = clinic
            .as_ref()
            .map(|c| aftercare_app::clinics::reach(c, now, &self.state.settings.emergency_number));
        if let Some(r) = &reach {
            ctx.insert("emergency_number".into(), json!(r.emergency));
        }
        ctx.insert(
            "clinic".into(),
            json!(clinic.as_ref().zip(reach.as_ref()).map(|(c, r)| {
                let dial = |n: &Option<String>| n.as_deref().map(crate::staff::settings::dial);
                json!({
                    "name": c.name,
                    "slug": c.slug,
                    // The number to call now, by the clinic's hours in its zone.
                    "call": r.call,
                    "call_dial": dial(&r.call),
                    "open_now": r.open_now,
                    "phone": c.phone,
                    "phone_dial": dial(&c.phone),
                    "out_of_hours_phone": c.out_of_hours_phone,
                    "out_of_hours_dial": dial(&c.out_of_hours_phone),
                    "crisis_line": c.crisis_line,
                    "crisis_dial": dial(&c.crisis_line),
                })
            })),
        );
        ctx.insert(
            "signed_in".into(),
            json!(self.patient.as_ref().map(|p| p.display_name.clone())),
        );
        if let Value::Object(own) = page {
            ctx.extend(own);
        }
        let html = self
            .state
            .pages
            .templates
            .render(template, Value::Object(ctx))?;
        let mut response = (status, no_store(), Html(html)).into_response();
        if self.lang_chosen {
            self.remember_lang(&mut response);
        }
        Ok(response)
    }

    fn remember_lang(&self, response: &mut Response) {
        let opts = CookieOptions {
            secure: self.state.settings.secure_cookies,
            max_age: Some(365 * 24 * 3600),
            same_site: "Lax",
        };
        if let Some(v) = cookie::set(lang::LANG_COOKIE, &self.texts().code, opts) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// Patient pages must not be kept by any cache.
pub fn no_store() -> [(header::HeaderName, &'static str); 1] {
    [(header::CACHE_CONTROL, "no-store")]
}

/// The context every page shares; also used for error pages, which have no [`Ctx`].
pub fn base(
    state: &AppState,
    lang: Lang,
    path: &str,
    csrf: Option<&str>,
    clinic_slug: Option<&str>,
) -> Map<String, Value> {
    let texts = state.content.text(lang);
    let (css, js) = static_files::urls();
    let suffix = clinic_slug
        .map(|s| format!("&clinic={}", url_component(s)))
        .unwrap_or_default();
    let languages: Vec<Value> = state
        .content
        .languages()
        .map(|(code, name)| {
            json!({
                "code": code,
                "name": name,
                "current": code == texts.code,
                "href": format!("{path}?lang={code}{suffix}"),
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert("lang".into(), json!(texts.code));
    m.insert("languages".into(), Value::Array(languages));
    m.insert("t".into(), json!(texts.ui));
    m.insert("csrf".into(), json!(csrf.unwrap_or_default()));
    m.insert("static_css".into(), json!(css));
    m.insert("static_js".into(), json!(js));
    m.insert(
        "emergency_number".into(),
        json!(state.settings.emergency_number),
    );
    m.insert("path".into(), json!(path));
    m.insert("announcement".into(), Value::Null);
    m.insert("signed_in".into(), Value::Null);
    m.insert("clinic".into(), Value::Null);
    m
}

/// Percent-encodes a URL query component (slugs are plain already; this is defence).
pub fn url_component(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
