//! The allow-list of FHIR servers and the HTTP client that fetches from them: the half of
//! [`super`] that talks to the network. Every limit that keeps a hostile or broken server from
//! hurting us lives here: the allow-list itself (with `http` only to loopback), no redirects,
//! no proxy, no decompression (the client has none built in), the per-request timeout and the
//! body cap, checked against `Content-Length` first and then while reading.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::Url;
use serde_json::Value;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;
use thiserror::Error;

/// How long one fetch may take, connection included; fetches run concurrently, so this also
/// bounds what the EHR waits for them.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// The largest answer we read: a hostile or broken server cannot make us hold more.
pub const MAX_BODY: usize = 1024 * 1024;

/// The bounds on each fetch (tests shorten them).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: TIMEOUT,
            max_body: MAX_BODY,
        }
    }
}

/// A wrong entry in the allow-list (the server refuses to start).
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{0}: not a URL ({1})")]
    NotUrl(String, String),
    #[error("{0}: only https is allowed (http only to a loopback address)")]
    Scheme(String),
    #[error("{0}: a FHIR base URL has no user, password, query or fragment")]
    Extras(String),
    #[error("no FHIR base URL given (leave the setting out to fetch nothing)")]
    Empty,
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// The FHIR servers we may fetch from, and the client that does it. `Debug` shows the bases.
pub struct FhirFetcher {
    bases: Vec<Url>,
    client: reqwest::Client,
    limits: Limits,
}

impl fmt::Debug for FhirFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.bases.iter().map(Url::as_str))
            .finish()
    }
}

impl FhirFetcher {
    /// Checks the allow-list (each entry a base URL, `https`, or `http` to loopback) and builds
    /// the client. An empty list is refused: leave the setting out to fetch nothing.
    pub fn new(bases: &[String], limits: Limits) -> Result<FhirFetcher, ConfigError> {
        let mut parsed = Vec::new();
        for b in bases.iter().map(|b| b.trim()).filter(|b| !b.is_empty()) {
            let url = Url::parse(b).map_err(|e| ConfigError::NotUrl(b.into(), e.to_string()))?;
            if !scheme_allowed(&url) {
                return Err(ConfigError::Scheme(b.into()));
            }
            if has_extras(&url) {
                return Err(ConfigError::Extras(b.into()));
            }
            parsed.push(url);
        }
        if parsed.is_empty() {
            return Err(ConfigError::Empty);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(limits.timeout)
            .timeout(limits.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .https_only(false) // http is refused above except to loopback
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        Ok(FhirFetcher {
            bases: parsed,
            client,
            limits,
        })
    }

    /// The URL is `https` (or `http` to loopback) and at or under an allowed base.
    pub(super) fn allowed(&self, url: &Url) -> bool {
        scheme_allowed(url) && self.bases.iter().any(|b| under(b, url))
    }
}

/// `https`, or `http` to a loopback address (tests and development on one machine).
fn scheme_allowed(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => {
            let host = url.host_str().unwrap_or_default();
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case("localhost")
                || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

pub(super) fn has_extras(url: &Url) -> bool {
    !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
}

/// `url` is `base` or below it: same scheme, host and port, and the path continues the base's
/// at a segment boundary (`/fhir` allows `/fhir/Patient/1`, not `/fhirevil`). Both are parsed,
/// so `..` segments and case in the host are already normalised.
pub(super) fn under(base: &Url, url: &Url) -> bool {
    let prefix = base.path().trim_end_matches('/');
    url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none()
        && (url.path() == prefix || url.path().starts_with(&format!("{prefix}/")))
}

/// Why a fetch failed; the text is for the EHR's integrator (no token, no patient id).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Failure {
    #[error("the FHIR server did not answer within {0} ms")]
    Timeout(u128),
    #[error("the FHIR server could not be reached (connection or TLS failed)")]
    Unreachable,
    #[error("the FHIR server answered {0}{hint}", hint = status_hint(*.0))]
    Status(u16),
    #[error("the FHIR server's answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the FHIR server's answer is not {0}")]
    NotFhir(String),
}

fn status_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => " (check fhirAuthorization: the access token was refused)",
        300..=399 => " (a redirect, which this service does not follow)",
        _ => "",
    }
}

/// One GET: 2xx, FHIR JSON of the expected resource type, within the time and size limits.
pub(super) async fn get(
    fetcher: &FhirFetcher,
    url: Url,
    token: Option<&str>,
    kind: &str,
) -> Result<Value, Failure> {
    let mut req = fetcher
        .client
        .get(url)
        .header(ACCEPT, "application/fhir+json");
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let limits = fetcher.limits;
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            Failure::Timeout(limits.timeout.as_millis())
        } else {
            Failure::Unreachable
        }
    };
    let mut resp = req.send().await.map_err(failed)?;
    if !resp.status().is_success() {
        return Err(Failure::Status(resp.status().as_u16()));
    }
    let media = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if media != "application/fhir+json" && media != "application/json" {
        return Err(Failure::NotFhir(format!(
            "FHIR JSON (content type `{media}`)"
        )));
    }
    if resp
        .content_length()
        .is_some_and(|n| n > limits.max_body as u64)
    {
        return Err(Failure::TooLarge(limits.max_body));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > limits.max_body {
            return Err(Failure::TooLarge(limits.max_body));
        }
        body.extend_from_slice(&chunk);
    }
    let value: Value =
        serde_json::from_slice(&body).map_err(|_| Failure::NotFhir("valid JSON".into()))?;
    match value.get("resourceType").and_then(Value::as_str) {
        Some(k) if k == kind => Ok(value),
        Some(other) => Err(Failure::NotFhir(format!("a {kind} (it is a {other})"))),
        None => Err(Failure::NotFhir(format!("a FHIR {kind}"))),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn a_url_is_allowed_only_at_or_under_a_base_at_a_segment_boundary() {
        let base = url("https://ehr.example.org/fhir");
        for ok in [
            "https://ehr.example.org/fhir",
            "https://ehr.example.org/fhir/",
            "https://EHR.example.org:443/fhir/Patient/1",
            "https://ehr.example.org/fhir/x/../Patient/1",
        ] {
            assert!(under(&base, &url(ok)), "{ok}");
        }
        for bad in [
            "https://ehr.example.org/fhirevil",
            "https://ehr.example.org/fhir/../admin",
            "https://ehr.example.org:8443/fhir",
            "http://ehr.example.org/fhir",
            "https://ehr.example.org.evil.test/fhir",
            "https://user@ehr.example.org/fhir",
            "https://ehr.example.org/other",
        ] {
            assert!(!under(&base, &url(bad)), "{bad}");
        }
    }

    #[test]
    fn plain_http_is_allowed_to_loopback_only() {
        for ok in [
            "https://ehr.example.org/fhir",
            "http://127.0.0.1:9/fhir",
            "http://localhost/fhir",
            "http://[::1]:8080/",
        ] {
            assert!(
                FhirFetcher::new(&[ok.into()], Limits::default()).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "http://ehr.example.org/fhir",
            "http://10.0.0.1/fhir",
            "ftp://ehr.example.org/",
            "https://ehr.example.org/fhir?x=1",
            "https://u:p@ehr.example.org/fhir",
            "not a url",
        ] {
            assert!(
                FhirFetcher::new(&[bad.into()], Limits::default()).is_err(),
                "{bad}"
            );
        }
        assert!(FhirFetcher::new(&[" ".into()], Limits::default()).is_err());
    }
}
