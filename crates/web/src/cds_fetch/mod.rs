//! Filling a CDS Hooks request's missing prefetch from the EHR's FHIR server (CDS Hooks 2.0,
//! "FHIR Resource Access"): when a prefetch key is absent and the request names a `fhirServer`
//! (with an optional `fhirAuthorization` bearer token), the service runs the same query as the
//! key's prefetch template itself.
//!
//! The request chooses the URL we connect to, so this is a server-side request forgery surface.
//! It is closed by an allow-list the clinic configures (`AFTERCARE_CDS_FHIR_SERVERS`): we only
//! ever connect to a `fhirServer` at or under one of its base URLs (same scheme, host, port, and
//! path prefix at a segment boundary), and re-check every URL we build against it. Without an
//! allow-list nothing is fetched. Only `https` is allowed, except `http` to a loopback address
//! (tests and development), so the token never crosses a network in clear. Redirects are not
//! followed (a redirect could point anywhere), no proxy is used, responses are not decompressed,
//! each request is bounded in time and its body in size, and the access token is never logged.
//!
//! A searchset comes back as a Bundle and only its first page is used: `next` links are not
//! followed (the templates ask for the newest first, with a `_count` that holds what the
//! decision reads, and procedures of the last year only).

mod client;

pub use client::{ConfigError, Failure, FhirFetcher, Limits, MAX_BODY, TIMEOUT};

use aftercare_fhir::cds::{prefetch_templates, REQUIRED_PREFETCH};
use aftercare_fhir::Canonical;
use client::{get, has_extras, under};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;
use thiserror::Error;

/// The `fhirAuthorization` of a request. Only the token and its type are used: `expires_in`,
/// `scope` and `subject` are the FHIR server's to enforce. `Debug` never shows the token.
#[derive(Clone, Deserialize)]
pub struct FhirAuthorization {
    pub access_token: String,
    pub token_type: String,
}

impl fmt::Debug for FhirAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FhirAuthorization")
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
    }
}

/// Why the prefetch could not be completed. All but `Invalid` are 412: CDS Hooks 2.0 names 412
/// for a service that "is unable to obtain required data because it cannot access the FHIR
/// server", and an EHR handles it as "send the prefetch", whereas a 502 would read as this
/// service being broken. `Invalid` (the request itself is wrong) is 422, naming the field.
#[derive(Debug, Error)]
pub enum FetchError {
    #[error("prefetch `{0}` is required: this service is not configured to fetch from FHIR servers, so the request must carry it")]
    NotConfigured(&'static str),
    #[error("prefetch `{0}` is required: the request carries neither it nor a fhirServer to fetch it from")]
    NoServer(&'static str),
    #[error("prefetch `{0}` is missing and fhirServer is not on this service's allow-list of FHIR servers, so it was not contacted; send the prefetch, or ask the clinic to allow that server")]
    NotAllowed(&'static str),
    #[error("{detail}")]
    Invalid { field: &'static str, detail: String },
    #[error("prefetch `{key}` is missing and fetching it from fhirServer failed: {why}")]
    Failed { key: &'static str, why: Failure },
}

impl From<FetchError> for crate::AppError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Invalid { field, detail } => crate::AppError::bad_field(field, detail),
            other => crate::AppError::PreconditionFailed(other.to_string()),
        }
    }
}

/// What a hook request says about where its data lives.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub fhir_server: Option<&'a str>,
    pub authorization: Option<&'a FhirAuthorization>,
    pub context: &'a Map<String, Value>,
    /// The day `{{today()}}` tokens count from (the server's clock).
    pub today: chrono::NaiveDate,
}

/// The prefetch to decide on, and the keys that were fetched to complete it.
#[derive(Debug)]
pub struct Completed {
    pub prefetch: Value,
    pub fetched: Vec<&'static str>,
}

/// Fills the keys of the prefetch templates that `prefetch` lacks (absent keys only: a `null`
/// is the EHR saying it has no data). A required key that cannot be fetched is an error; an
/// optional one is left out when there is nowhere to fetch it from, as before fetching existed.
/// Once fetching starts, any failure is an error: a card from part of the data the EHR meant
/// us to see could look more reassuring than the record is.
pub async fn complete(
    fetcher: Option<&FhirFetcher>,
    canonical: &Canonical,
    source: Source<'_>,
    prefetch: Option<&Value>,
) -> Result<Completed, FetchError> {
    let mut map = prefetch
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let missing: Vec<(&'static str, String)> = prefetch_templates(canonical)
        .into_iter()
        .filter(|(k, _)| !map.contains_key(*k))
        .collect();
    let required = missing
        .iter()
        .map(|(k, _)| *k)
        .find(|k| REQUIRED_PREFETCH.contains(k));
    let unchanged = |map: Map<String, Value>| {
        Ok(Completed {
            prefetch: Value::Object(map),
            fetched: Vec::new(),
        })
    };
    if missing.is_empty() {
        return unchanged(map);
    }
    let refuse = |e: fn(&'static str) -> FetchError, map| match required {
        Some(key) => Err(e(key)),
        None => unchanged(map),
    };
    let Some(fetcher) = fetcher else {
        return refuse(FetchError::NotConfigured, map);
    };
    let Some(server) = source.fhir_server else {
        return refuse(FetchError::NoServer, map);
    };
    // `%`, `;` and `\` are refused outright: URL parsing leaves `..;`, `%2e%2e%2f` and `..%5c`
    // alone, and a server or proxy behind the allowed base may still read them as "up".
    let odd = server.contains(['%', ';', '\\']);
    let server = match Url::parse(server) {
        Ok(u) if !odd && !has_extras(&u) && fetcher.allowed(&u) => u,
        _ => {
            tracing::info!("CDS fhirServer not on the allow-list: not contacted");
            return refuse(FetchError::NotAllowed, map);
        }
    };
    let token = bearer(source.authorization)?;
    let mut urls = Vec::new();
    for (key, template) in &missing {
        let relative = fill(template, source.context, source.today)?;
        let url = Url::parse(&format!(
            "{}/{relative}",
            server.as_str().trim_end_matches('/')
        ))
        .ok()
        .filter(|u| fetcher.allowed(u) && under(&server, u))
        .ok_or(FetchError::NotAllowed(key))?;
        // A read (`Patient/{id}`) answers its resource; a search, a Bundle.
        let kind = match template.split_once('?') {
            Some(_) => "Bundle",
            None => template.split('/').next().unwrap_or("Patient"),
        };
        urls.push((*key, url, kind));
    }
    let host = server.host_str().unwrap_or_default();
    let fetches = urls.into_iter().map(|(key, url, kind)| async move {
        match get(fetcher, url, token, kind).await {
            Ok(v) => Ok((key, v)),
            Err(why) => {
                tracing::info!(key, server = host, %why, "CDS prefetch fetch failed");
                Err(FetchError::Failed { key, why })
            }
        }
    });
    let got = futures_util::future::try_join_all(fetches).await?;
    let mut fetched = Vec::new();
    for (key, value) in got {
        map.insert(key.to_string(), value);
        fetched.push(key);
    }
    Ok(Completed {
        prefetch: Value::Object(map),
        fetched,
    })
}

/// The bearer token to send, if any: `token_type` must be Bearer, and the token fit in a header.
fn bearer(auth: Option<&FhirAuthorization>) -> Result<Option<&str>, FetchError> {
    let Some(auth) = auth else { return Ok(None) };
    if !auth.token_type.eq_ignore_ascii_case("bearer") {
        return Err(FetchError::Invalid {
            field: "fhirAuthorization.token_type",
            detail: "fhirAuthorization.token_type: only Bearer is supported".into(),
        });
    }
    let t = auth.access_token.as_str();
    if t.is_empty() || t.len() > 16 * 1024 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FetchError::Invalid {
            field: "fhirAuthorization.access_token",
            detail:
                "fhirAuthorization.access_token: a bearer token (visible ASCII, at most 16 KiB)"
                    .into(),
        });
    }
    Ok(Some(t))
}

/// A template with its tokens replaced: `{{context.NAME}}` by the request's value, which must
/// be a FHIR id, so nothing from the request can change the query's path or add parameters;
/// `{{today() - N days}}` (CDS Hooks 2.0's FHIRPath date arithmetic, the one form our templates
/// use) by that date.
fn fill(
    template: &str,
    context: &Map<String, Value>,
    today: chrono::NaiveDate,
) -> Result<String, FetchError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let end = rest[start..]
            .find("}}")
            .map(|e| start + e)
            .ok_or_else(|| bad_context(template))?;
        let token = rest[start + 2..end].trim();
        let value = match token.strip_prefix("context.") {
            Some(name) => context
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| is_fhir_id(v))
                .ok_or_else(|| FetchError::Invalid {
                    field: context_field(name),
                    detail: format!("context.{name}: a FHIR id (letters, digits, '-' and '.', at most 64) is needed to fetch the missing prefetch"),
                })?
                .to_string(),
            None => days_before(token, today)
                .ok_or_else(|| bad_context(template))?
                .format("%Y-%m-%d")
                .to_string(),
        };
        out.push_str(&rest[..start]);
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `today()` or `today() - N days`, as a date.
fn days_before(token: &str, today: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
    let rest = token.strip_prefix("today()")?.trim();
    if rest.is_empty() {
        return Some(today);
    }
    let days: u64 = rest
        .strip_prefix('-')?
        .trim()
        .strip_suffix("days")?
        .trim()
        .parse()
        .ok()?;
    today.checked_sub_days(chrono::Days::new(days))
}

fn bad_context(template: &str) -> FetchError {
    FetchError::Invalid {
        field: "context",
        detail: format!("context: the prefetch template {template} cannot be filled"),
    }
}

/// The field name for a problem body (`&'static` because our templates only use these).
fn context_field(name: &str) -> &'static str {
    match name {
        "patientId" => "context.patientId",
        "encounterId" => "context.encounterId",
        _ => "context",
    }
}

/// FHIR's id type (`[A-Za-z0-9\-\.]{1,64}`), less ids of dots only, which a URL resolves as
/// path segments.
fn is_fhir_id(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !v.bytes().all(|b| b == b'.')
}
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_are_filled_with_fhir_ids_only() {
        let ctx = |id: Value| {
            json!({ "patientId": id })
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default();
        assert_eq!(
            fill(
                "Procedure?patient={{context.patientId}}&date=ge{{today() - 365 days}}",
                &ctx(json!("ehr-42.a")),
                today
            )
            .ok(),
            Some("Procedure?patient=ehr-42.a&date=ge2025-12-03".to_string())
        );
        assert!(fill("Procedure?date=ge{{tomorrow()}}", &ctx(json!("a")), today).is_err());
        for bad in [
            json!("1&_include=*"),
            json!("../Admin"),
            json!(".."),
            json!(""),
            json!("a/b"),
            json!("x".repeat(65)),
            json!(42),
        ] {
            assert!(
                matches!(
                    fill("Patient/{{context.patientId}}", &ctx(bad.clone()), today),
                    Err(FetchError::Invalid {
                        field: "context.patientId",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let auth = FhirAuthorization {
            access_token: "secret-token".into(),
            token_type: "Bearer".into(),
        };
        assert!(!format!("{auth:?}").contains("secret"));
    }
}
