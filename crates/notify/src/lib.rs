//! The couriers of Aftercare's outbox: email over SMTP (`lettre`) and webhooks signed as the
//! Standard Webhooks convention describes (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256>`), so paging tools and chat bridges can check
//! that an alert came from the clinic's Aftercare.
//!
//! An adapter: the application layer decides what is sent and when ([`aftercare_app::alerts`]);
//! this crate only puts a message on the wire. Each attempt of a message carries the message's
//! id (the `webhook-id`, the email's `Message-ID`), so a receiver can drop a second copy if a
//! worker died after sending and before recording it.

mod email;
mod webhook;

use aftercare_app::alerts::{Courier, SendError};
use aftercare_store::{Channel, OutboxMessage};
use async_trait::async_trait;

pub use email::Mailer;
pub use webhook::{sign, Webhooks};

/// What the couriers need: where to send email from and through, and the server's public URL
/// (messages carry paths; links are made here).
#[derive(Debug, Clone)]
pub struct Config {
    /// `smtp://host:port` (no TLS: a local relay), `smtp://user:pass@host:587?tls=required`,
    /// or `smtps://user:pass@host`. `None`: email is not configured, and email messages fail
    /// (and stay in the delivery log for admins to see).
    pub smtp_url: Option<String>,
    /// The `From` address, such as `Aftercare <alerts@clinic.example>`.
    pub mail_from: String,
    pub public_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("AFTERCARE_SMTP_URL: {0}")]
    Smtp(String),
    #[error("AFTERCARE_MAIL_FROM: {0}")]
    From(String),
    #[error("the webhook client could not be built: {0}")]
    Http(String),
}

/// Both couriers behind one [`Courier`].
pub struct Couriers {
    mail: Option<Mailer>,
    hooks: Webhooks,
}

impl Couriers {
    pub fn new(config: &Config) -> Result<Couriers, ConfigError> {
        let public = config.public_url.trim_end_matches('/').to_string();
        let mail = match &config.smtp_url {
            Some(url) => Some(Mailer::new(url, &config.mail_from, &public)?),
            None => None,
        };
        Ok(Couriers {
            mail,
            hooks: Webhooks::new(&public)?,
        })
    }
}

#[async_trait]
impl Courier for Couriers {
    async fn send(&self, message: &OutboxMessage, secret: Option<&str>) -> Result<(), SendError> {
        match message.channel {
            Channel::Email => match &self.mail {
                Some(mail) => mail.send(message).await,
                None => Err(SendError {
                    permanent: false,
                    detail: "email is not configured (AFTERCARE_SMTP_URL)".into(),
                }),
            },
            Channel::Webhook => {
                let secret = secret.ok_or_else(|| SendError {
                    permanent: true,
                    detail: "the webhook has no signing secret".into(),
                })?;
                self.hooks.send(message, secret).await
            }
        }
    }
}
