//! Live chat delivery: who must wake up when a message is posted.
//!
//! Every process keeps one [`ChatHub`], a tokio broadcast channel of [`ChatEvent`]s that the
//! server-sent-event streams of open chat pages subscribe to. An event is only a wake-up call
//! ("patient X's thread changed"); a stream then reads the new messages from the store, so a
//! duplicate or a missed event costs a query, never a wrong page.
//!
//! On SQLite there is one server, so posting a message publishes to the hub directly. On
//! PostgreSQL several servers share the database: `post_message` sends `pg_notify` on
//! [`aftercare_store::CHAT_CHANNEL`] in the same transaction, and a background task per process
//! ([`ChatHub::listen_postgres`]) LISTENs on that channel and feeds the hub, so a message posted
//! through one server reaches the pages connected to another. If the listening connection is
//! lost, the task reconnects and tells every stream to re-read (messages sent meanwhile are in
//! the store, just not announced).

use aftercare_store::{Backend, CHAT_CHANNEL};
use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, watch};

/// A thread changed. `patient_id` is `None` for "re-read every thread" (after a reconnect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEvent {
    pub patient_id: Option<String>,
    pub message_id: i64,
}

impl ChatEvent {
    /// Whether a stream following `patient_id` must look at the store.
    pub fn concerns(&self, patient_id: &str) -> bool {
        self.patient_id.as_deref().is_none_or(|p| p == patient_id)
    }

    /// Parses a notification payload `'<patient_id>:<message_id>'`.
    pub fn parse(payload: &str) -> Option<ChatEvent> {
        let (patient, id) = payload.rsplit_once(':')?;
        Some(ChatEvent {
            patient_id: Some(patient.to_string()),
            message_id: id.parse().ok()?,
        })
    }
}

/// The process's chat fan-out. Cheap to clone.
#[derive(Clone)]
pub struct ChatHub {
    tx: broadcast::Sender<ChatEvent>,
    /// Set at shutdown: open streams end, so draining connections does not wait for them.
    closing: std::sync::Arc<watch::Sender<bool>>,
}

impl Default for ChatHub {
    fn default() -> Self {
        ChatHub::new()
    }
}

impl ChatHub {
    pub fn new() -> ChatHub {
        let (tx, _) = broadcast::channel(1024);
        let (closing, _) = watch::channel(false);
        ChatHub {
            tx,
            closing: std::sync::Arc::new(closing),
        }
    }

    /// Ends every open stream (at shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Completes when the hub closes.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ChatEvent> {
        self.tx.subscribe()
    }

    /// Announces a message posted by this process. On PostgreSQL the listener announces it too
    /// (streams ignore what they have already sent); announcing here as well keeps this
    /// process's own pages live even while the listener reconnects.
    pub fn publish(&self, event: ChatEvent) {
        // No subscriber is not an error: nobody has the page open.
        let _ = self.tx.send(event);
    }

    /// Starts the LISTEN task when the store is PostgreSQL (a no-op on SQLite). Returns once
    /// the listener is connected, so no notification sent after start-up is missed.
    pub async fn listen_postgres(
        &self,
        backend: Backend,
        database_url: &str,
    ) -> Result<(), sqlx::Error> {
        if backend != Backend::Postgres {
            return Ok(());
        }
        let mut listener = PgListener::connect(database_url).await?;
        listener.listen(CHAT_CHANNEL).await?;
        let hub = self.clone();
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => match ChatEvent::parse(n.payload()) {
                        Some(event) => hub.publish(event),
                        None => tracing::warn!("unreadable chat notification ignored"),
                    },
                    // The connection was lost; sqlx reconnects on the next call. Whatever was
                    // announced meanwhile is lost: make every stream re-read.
                    Ok(None) => {
                        tracing::warn!("chat listener reconnecting");
                        hub.publish(ChatEvent {
                            patient_id: None,
                            message_id: 0,
                        });
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "chat listener failed; retrying in 1s");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        tracing::info!("listening for chat messages from other servers");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_payload_names_the_thread_and_the_message() {
        let e = ChatEvent::parse("3f1c-aa:42").expect("parses");
        assert_eq!(e.patient_id.as_deref(), Some("3f1c-aa"));
        assert_eq!(e.message_id, 42);
        assert!(e.concerns("3f1c-aa"));
        assert!(!e.concerns("other"));
        assert!(ChatEvent::parse("no-colon").is_none());
        assert!(ChatEvent {
            patient_id: None,
            message_id: 0
        }
        .concerns("anyone"));
    }
}
