//! The board, live: an open board page follows `GET /clinic/board/events` (server-sent events)
//! and fetches itself again when what waits for the clinic changes (an escalation raised or
//! acknowledged, a check-in, a message, a contact request).
//!
//! The stream carries counts only, never a patient; the page's own refetch is the audited read.
//! It watches the store (every [`TICK`], and at once on any chat message), so it works the same
//! with one server or several behind a load balancer, and ends when the session does.

use super::auth::{Clinician, StaffUser};
use super::live::ChatEvent;
use crate::error::AppError;
use crate::extract::ValidQuery;
use crate::state::AppState;
use aftercare_store::Workload;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use std::convert::Infallible;
use std::hash::{Hash, Hasher};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often an open board looks for changes.
pub const TICK: Duration = Duration::from_secs(5);

/// A short fingerprint of a workload: the page carries the one it was drawn from, so a
/// change between drawing it and opening the stream is not missed.
pub fn stamp(work: &Workload) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        work.patients,
        work.open_escalations,
        work.awaiting_reply,
        work.unread_messages,
        work.open_contacts,
        work.open_appointments,
        &work.latest_checkin,
    )
        .hash(&mut h);
    format!("{:016x}", h.finish())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StampQuery {
    /// The stamp of the board as the page shows it.
    pub stamp: Option<String>,
}

/// `GET /clinic/board/events`: a `board` event (the new counts as JSON) each time the clinic's
/// workload changes.
pub async fn events(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    ValidQuery(q): ValidQuery<StampQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    struct Watch {
        state: AppState,
        user: StaffUser,
        stamp: Option<String>,
        tick: tokio::time::Interval,
        chat: tokio::sync::broadcast::Receiver<ChatEvent>,
        closing: tokio::sync::watch::Receiver<bool>,
    }
    let watch = Watch {
        chat: state.chat.subscribe(),
        closing: state.chat.closing(),
        tick: tokio::time::interval(TICK),
        stamp: q.stamp.filter(|s| !s.is_empty()),
        state,
        user,
    };
    let events = futures_util::stream::unfold(watch, |mut w| async move {
        loop {
            if *w.closing.borrow() {
                return None;
            }
            tokio::select! {
                _ = w.tick.tick() => {}
                event = w.chat.recv() => {
                    if let Err(RecvError::Closed) = event {
                        return None;
                    }
                }
                _ = w.closing.changed() => return None,
            }
            if !w.user.still_signed_in(&w.state).await {
                return None;
            }
            let work = match w.state.app.patients().workload(w.user.clinic_id()).await {
                Ok(work) => work,
                Err(e) => {
                    tracing::warn!(error = %e, "board stream ends: store error");
                    return None;
                }
            };
            let now = stamp(&work);
            let changed = w.stamp.as_ref().is_some_and(|s| *s != now);
            w.stamp = Some(now.clone());
            if changed {
                let event = Event::default()
                    .event("board")
                    .id(now)
                    .json_data(&work)
                    .unwrap_or_else(|_| Event::default().comment("unencodable counts"));
                return Some((Ok(event), w));
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
