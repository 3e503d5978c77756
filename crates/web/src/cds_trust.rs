//! Who may call the CDS Hooks service: the EHRs we trust, each with its issuer (`iss`), its
//! public keys (a JWKS, given in configuration: we never fetch keys over the network) and the
//! `jku` URLs it may name. Configured with `AFTERCARE_CDS_TRUST`, a JSON file:
//!
//! ```json
//! [{ "iss": "https://ehr.example.org", "jwks": { "keys": [ ... ] },
//!    "jku": ["https://ehr.example.org/.well-known/jwks.json"] }]
//! ```
//!
//! A request token (CDS Hooks 2.0, `Authorization: Bearer <JWT>`) is accepted only when: its
//! algorithm is ES384 or RS384 (never `none`, never HMAC, whose shared secret would let anyone
//! holding it mint tokens); its header names `typ` "JWT" and the `kid` of one of the issuer's
//! keys, and its claims carry `iat` (all required by CDS Hooks 2.0); its issuer is listed; its `jku`, if any, is on the issuer's list (the
//! keys still come from the configured JWKS; a key embedded in the header is ignored); the
//! signature verifies with one of the issuer's keys; `aud` is this service's URL; it has not
//! expired (checked against the server's clock); and its `jti` was not seen before.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::fmt;

/// Allowed clock skew between the EHR and us, in seconds.
pub const LEEWAY_SECS: i64 = 30;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIssuer {
    iss: String,
    jwks: JwkSet,
    #[serde(default)]
    jku: Vec<String>,
}

struct Issuer {
    iss: String,
    keys: Vec<(Option<String>, DecodingKey)>,
    jku: Vec<String>,
}

/// The trusted issuers. Its `Debug` shows the issuers only.
pub struct CdsTrust {
    issuers: Vec<Issuer>,
}

impl fmt::Debug for CdsTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.issuers.iter().map(|i| &i.iss))
            .finish()
    }
}

/// The claims we check (others are ignored).
#[derive(Debug, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub exp: i64,
    /// Required: a token without it is malformed. Checked against the clock by the caller.
    pub iat: i64,
    pub jti: Option<String>,
}

impl CdsTrust {
    /// Parses the trust file; the error names the issuer or key at fault.
    pub fn from_json(text: &str) -> Result<CdsTrust, String> {
        let raw: Vec<RawIssuer> =
            serde_json::from_str(text).map_err(|e| format!("CDS trust file: {e}"))?;
        let mut issuers = Vec::new();
        for r in raw {
            let mut keys = Vec::new();
            for (i, jwk) in r.jwks.keys.iter().enumerate() {
                keys.push((
                    jwk.common.key_id.clone(),
                    decoding_key(jwk)
                        .map_err(|e| format!("CDS trust file: {}: key {i}: {e}", r.iss))?,
                ));
            }
            if keys.is_empty() {
                return Err(format!("CDS trust file: {}: no keys", r.iss));
            }
            issuers.push(Issuer {
                iss: r.iss,
                keys,
                jku: r.jku,
            });
        }
        Ok(CdsTrust { issuers })
    }

    /// Verifies a token's header, issuer, `jku`, signature and audience, and returns its claims.
    /// Expiry and replay are the caller's (they need the clock and the store).
    pub fn verify(&self, token: &str, audiences: &[String]) -> Result<Claims, &'static str> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| "malformed token or unsupported algorithm")?;
        if !matches!(header.alg, Algorithm::ES384 | Algorithm::RS384) {
            return Err("algorithm not allowed");
        }
        if !header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("JWT"))
        {
            return Err("typ must be JWT");
        }
        let kid = header.kid.clone().ok_or("no kid")?;
        // Read the issuer before verifying, only to choose its keys; nothing else is trusted yet.
        let unverified = jsonwebtoken::dangerous::insecure_decode::<Claims>(token)
            .map_err(|_| "malformed claims")?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.iss == unverified.claims.iss)
            .ok_or("unknown issuer")?;
        if let Some(jku) = &header.jku {
            if !issuer.jku.iter().any(|j| j == jku) {
                return Err("jku not allowed");
            }
        }
        let mut validation = Validation::new(header.alg);
        validation.set_audience(audiences);
        validation.set_issuer(&[&issuer.iss]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        // Expiry is checked against our own clock by the caller.
        validation.validate_exp = false;
        let candidates = issuer
            .keys
            .iter()
            .filter(|(key_id, _)| key_id.as_deref().is_none_or(|k| k == kid));
        for (_, key) in candidates {
            if let Ok(data) = jsonwebtoken::decode::<Claims>(token, key, &validation) {
                return Ok(data.claims);
            }
        }
        Err("signature, audience or issuer did not verify")
    }
}

fn decoding_key(jwk: &Jwk) -> Result<DecodingKey, String> {
    use jsonwebtoken::jwk::AlgorithmParameters;
    match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(_) | AlgorithmParameters::RSA(_) => {
            DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())
        }
        _ => Err("only EC (P-384) and RSA public keys are accepted".into()),
    }
}
