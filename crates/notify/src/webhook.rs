//! Webhooks signed as Standard Webhooks specify: the signed content is
//! `{webhook-id}.{webhook-timestamp}.{body}`, the key the base64 part of the `whsec_` secret.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aftercare_app::alerts::SendError;
use aftercare_store::OutboxMessage;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ConfigError;

/// The `webhook-signature` header value of a message: `v1,` and the base64 HMAC-SHA256.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, SendError> {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|k| STANDARD.decode(k).ok())
        .ok_or_else(|| SendError {
            permanent: true,
            detail: "the webhook secret is not a whsec_ secret".into(),
        })?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| SendError {
        permanent: true,
        detail: format!("the webhook secret cannot key HMAC: {e}"),
    })?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Posts signed webhooks.
pub struct Webhooks {
    http: reqwest::Client,
    public_url: String,
}

impl Webhooks {
    pub fn new(public_url: &str) -> Result<Webhooks, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            // A receiver's redirect would carry the alert somewhere nobody configured.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Aftercare/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;
        Ok(Webhooks {
            http,
            public_url: public_url.to_string(),
        })
    }

    pub async fn send(&self, message: &OutboxMessage, secret: &str) -> Result<(), SendError> {
        let mut body = message.payload.clone();
        if let Some(path) = body["data"]["patient_path"].as_str() {
            let url = format!("{}{path}", self.public_url);
            body["data"]["patient_url"] = serde_json::Value::String(url);
        }
        let body = body.to_string();
        // The time on the wire is the real one: receivers check it against their own clock.
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let signature = sign(secret, &message.id, timestamp, &body)?;
        let response = self
            .http
            .post(&message.address)
            .header("content-type", "application/json")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| SendError {
                permanent: false,
                detail: format!("the webhook could not be reached: {}", without_url(&e)),
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(SendError {
            // 410 Gone: the receiver says the endpoint is gone for good.
            permanent: status == reqwest::StatusCode::GONE,
            detail: format!("the webhook answered {status}"),
        })
    }
}

/// A reqwest error without its URL (which may carry a token in its path or query).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    kind.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn the_signature_matches_the_standard_webhooks_reference_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        let got = sign(secret, id, 1614265330, body).expect("signs");
        assert_eq!(got, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_secret_without_its_prefix_is_refused() {
        assert!(sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "a", 1, "{}").is_err());
    }
}
