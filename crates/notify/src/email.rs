//! Email over SMTP. The text is plain (no HTML to render or to be tracked), with the link made
//! from the server's public URL; patient emails carry one-click unsubscribe headers (RFC 8058).

use aftercare_app::alerts::SendError;
use aftercare_store::OutboxMessage;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::Error as SmtpError;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::ConfigError;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: String,
}

impl Mailer {
    pub fn new(smtp_url: &str, from: &str, public_url: &str) -> Result<Mailer, ConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| ConfigError::Smtp(e.to_string()))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| ConfigError::From(e.to_string()))?;
        Ok(Mailer {
            transport,
            from,
            public_url: public_url.to_string(),
        })
    }

    /// The email of an outbox message (`payload`: `subject`, `text` with `{link}`, `link_path`,
    /// and for a patient's email `unsubscribe_path`).
    pub fn build(&self, message: &OutboxMessage) -> Result<Message, SendError> {
        let p = &message.payload;
        let link = format!(
            "{}{}",
            self.public_url,
            p["link_path"].as_str().unwrap_or("/")
        );
        let text = p["text"]
            .as_str()
            .unwrap_or_default()
            .replace("{link}", &link);
        let to = message.address.parse::<Mailbox>().map_err(|e| SendError {
            permanent: true,
            detail: format!("not an email address: {e}"),
        })?;
        let domain = self.from.email.domain().to_string();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(p["subject"].as_str().unwrap_or("Aftercare"))
            .message_id(Some(format!("<{}@{domain}>", message.id)))
            .header(ContentType::TEXT_PLAIN);
        if let Some(path) = p["unsubscribe_path"].as_str() {
            let url = format!("{}{path}", self.public_url);
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_string(),
                ));
        }
        builder.body(text).map_err(|e| SendError {
            permanent: true,
            detail: format!("the email could not be built: {e}"),
        })
    }

    pub async fn send(&self, message: &OutboxMessage) -> Result<(), SendError> {
        let email = self.build(message)?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e: SmtpError| SendError {
                permanent: e.is_permanent(),
                detail: format!("SMTP: {e}"),
            })
    }
}
