//! The chat: one thread per patient, between her and her clinic.
//!
//! Both sides post through [`post`] (stored, audited, announced on the [`super::live::ChatHub`])
//! and read through [`read`] (audited, marks the other side's messages read, which keeps the
//! board's unread counts right). Open pages follow the thread over server-sent events
//! ([`stream`]): each event carries one message as JSON, with its id as the SSE id, so a
//! reconnecting browser resumes after the last one it saw (`Last-Event-ID`). Without
//! JavaScript the page still works: the form posts and the page reloads.
//!
//! Bodies are kept as typed; they are escaped where they are shown (templates auto-escape, the
//! page script inserts text, never markup).

use super::auth::Clinician;
use super::board::clinic_patient;
use super::live::ChatEvent;
use crate::audit::{self, Actor};
use crate::error::{AppError, Problem};
use crate::extract::ValidJson;
use crate::extract::ValidQuery;
use crate::patient::PatientAuth;
use crate::state::AppState;
use aftercare_store::{Clinic, Message, Patient, Side};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use tokio::sync::broadcast::error::RecvError;

/// The language a member of staff reads the thread's signatures in: the workspace's (her
/// account's choice, else her browser's).
pub fn reader_language(
    state: &AppState,
    user: &super::auth::StaffUser,
    headers: &HeaderMap,
) -> String {
    let lang = super::view::staff_lang(state, user.staff.language.as_deref(), headers);
    state.content.text(lang).code.clone()
}
/// Messages per page of the thread.
pub const PAGE: i64 = 200;

/// A message as clients see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageOut {
    /// Increasing within the thread.
    pub id: i64,
    pub sender: Side,
    /// For the clinic's messages: who wrote it, with their role ("Marta Ruiz, clinician"),
    /// in the reader's language; `None` for hers, or when the account is gone.
    pub author: Option<String>,
    pub body: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The date and time in the clinic's time zone, with the zone, for display.
    pub time: String,
    /// When the other side read it.
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// How a thread's messages read: times in the clinic's zone, and the clinic's messages
/// signed with the name and role of whoever wrote them (a patient should know who answers).
#[derive(Debug, Clone, Default)]
pub struct ThreadLook {
    zone: Option<String>,
    authors: HashMap<String, String>,
}

impl ThreadLook {
    /// The look of a thread of `clinic_id`, with roles named in `lang`.
    pub async fn of(state: &AppState, clinic_id: &str, lang: &str) -> Result<Self, AppError> {
        let app = &state.app;
        let zone = app.clinics().zone_of(clinic_id).await?;
        let content = &state.content;
        let texts = content.text(content.lang(lang).unwrap_or_else(|| content.default_lang()));
        let authors = app
            .staff()
            .list(clinic_id)
            .await?
            .into_iter()
            .map(|s| {
                let role = texts.ui(match s.role {
                    aftercare_store::Role::Admin => "chat_role_admin",
                    aftercare_store::Role::Clinician => "chat_role_clinician",
                });
                (s.id, format!("{}, {role}", s.display_name))
            })
            .collect();
        Ok(ThreadLook { zone, authors })
    }

    fn message(
        &self,
        (id, sender, staff_id, body): (i64, Side, Option<&String>, &str),
        created_at: chrono::DateTime<chrono::Utc>,
        read_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> MessageOut {
        MessageOut {
            id,
            sender,
            author: staff_id.and_then(|s| self.authors.get(s)).cloned(),
            body: body.to_string(),
            created_at,
            time: aftercare_app::clinics::local_time(self.zone.as_deref(), created_at),
            read_at,
        }
    }

    pub fn show(&self, m: &Message) -> MessageOut {
        let key = (m.id, m.sender, m.staff_id.as_ref(), m.body.as_str());
        self.message(key, m.created_at, m.read_at)
    }

    pub fn show_view(&self, m: &crate::api::views::MessageView) -> MessageOut {
        let key = (m.id, m.sender, m.staff_id.as_ref(), m.body.as_str());
        self.message(key, m.created_at, m.read_at)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    pub body: String,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AfterQuery {
    /// Only messages with a larger id.
    pub after: Option<i64>,
}

/// Posts to a patient's thread: stored and audited in one commit, then announced.
pub async fn post(
    state: &AppState,
    patient: &Patient,
    sender: Side,
    actor: &Actor,
    body: &str,
) -> Result<Message, AppError> {
    let body = aftercare_app::text::MessageBody::new("body", body)?;
    let message = state.app.chat().post(actor, patient, sender, body).await?;
    state.chat.publish(ChatEvent {
        patient_id: Some(patient.id.to_string()),
        message_id: message.id,
    });
    Ok(message)
}

/// Reads a thread (after `after`), audits the read and marks what `reader` has now seen.
pub async fn read(
    state: &AppState,
    patient: &Patient,
    reader: Side,
    actor: &Actor,
    after: i64,
) -> Result<Vec<Message>, AppError> {
    audit::record(
        state,
        actor,
        crate::audit::Action::MessagesRead,
        Some(&patient.id),
        Some(&patient.clinic_id),
        None,
    )
    .await?;
    let messages = state.app.chat().page(patient, after, PAGE).await?;
    mark_seen(state, patient, reader, &messages).await?;
    Ok(messages)
}

pub async fn mark_seen(
    state: &AppState,
    patient: &Patient,
    reader: Side,
    messages: &[Message],
) -> Result<(), AppError> {
    Ok(state
        .app
        .chat()
        .mark_seen(patient, reader, messages)
        .await?)
}

/// The clinic's opening hours in a language (the admin writes them per language in settings).
pub fn opening_hours(clinic: &Clinic, lang: &str) -> Option<String> {
    let text = match &clinic.opening_hours {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(m) => m
            .get(lang)
            .or_else(|| m.get("en"))
            .and_then(|v| v.as_str())
            .map(str::to_string),
        _ => None,
    };
    text.filter(|t| !t.trim().is_empty())
}

/// The SSE stream of a thread: every message after `after`, a `: live` comment, then each new
/// message as it comes.
/// A staff reader's stream marks the patient's messages read as it delivers them, and ends
/// as soon as that member of staff's session does (signed out, expired, deactivated): it is
/// checked before each delivery and every [`SESSION_CHECK`].
pub fn stream(
    state: AppState,
    patient: Patient,
    reader: Side,
    after: i64,
    look: ThreadLook,
    staff: Option<super::auth::StaffUser>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    struct Follow {
        state: AppState,
        look: ThreadLook,
        staff: Option<super::auth::StaffUser>,
        session_check: tokio::time::Interval,
        patient: Patient,
        reader: Side,
        last: i64,
        pending: VecDeque<Message>,
        events: tokio::sync::broadcast::Receiver<ChatEvent>,
        closing: tokio::sync::watch::Receiver<bool>,
        caught_up: bool,
        /// The `: live` comment (sent once the backlog is read) has gone out.
        announced: bool,
    }
    impl Follow {
        /// Reads what is new; `false` when the store failed (the stream ends, the browser
        /// reconnects from its last id).
        async fn fetch(&mut self) -> bool {
            if !self.signed_in().await {
                return false;
            }
            match self
                .state
                .app
                .chat()
                .page(&self.patient, self.last, PAGE)
                .await
            {
                Ok(new) => {
                    if self.reader == Side::Staff {
                        if let Err(e) =
                            mark_seen(&self.state, &self.patient, self.reader, &new).await
                        {
                            tracing::warn!(error = %e, "could not mark messages read");
                        }
                    }
                    if let Some(m) = new.last() {
                        self.last = m.id;
                    }
                    self.pending.extend(new);
                    true
                }
                Err(e) => {
                    tracing::warn!(error = %e, "chat stream ends: store error");
                    false
                }
            }
        }
    }
    impl Follow {
        /// Whether the reader may still read (a patient's stream is hers while it is open).
        async fn signed_in(&self) -> bool {
            match &self.staff {
                Some(user) => user.still_signed_in(&self.state).await,
                None => true,
            }
        }
    }
    let follow = Follow {
        look,
        staff,
        session_check: tokio::time::interval(SESSION_CHECK),
        events: state.chat.subscribe(),
        closing: state.chat.closing(),
        state,
        patient,
        reader,
        last: after.max(0),
        pending: VecDeque::new(),
        caught_up: false,
        announced: false,
    };
    let events = futures_util::stream::unfold(follow, |mut f| async move {
        loop {
            if let Some(m) = f.pending.pop_front() {
                let event = Event::default()
                    .event("message")
                    .id(m.id.to_string())
                    .json_data(f.look.show(&m))
                    .unwrap_or_else(|_| Event::default().comment("unencodable message"));
                return Some((Ok(event), f));
            }
            if f.caught_up && !f.announced {
                // Tells the client the backlog is done and what follows is live.
                f.announced = true;
                return Some((Ok(Event::default().comment("live")), f));
            }
            if *f.closing.borrow() {
                return None;
            }
            if !f.caught_up {
                f.caught_up = true;
                if !f.fetch().await {
                    return None;
                }
                continue;
            }
            tokio::select! {
                event = f.events.recv() => match event {
                    Ok(e) if !e.concerns(&f.patient.id) => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        if !f.fetch().await {
                            return None;
                        }
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = f.closing.changed() => return None,
                _ = f.session_check.tick() => {
                    if !f.signed_in().await {
                        return None;
                    }
                }
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// How often an open staff stream checks that its session still stands.
pub const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(15);

/// Where a reconnecting stream resumes: the `Last-Event-ID` header or the `after` parameter.
pub fn resume_after(headers: &HeaderMap, q: &AfterQuery) -> i64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(q.after)
        .unwrap_or(0)
        .max(0)
}

// --- the clinic's side ---------------------------------------------------------------------

/// A patient's thread (marks her messages read).
#[utoipa::path(get, path = "/api/v1/clinic/patients/{patient}/messages", tag = "clinic",
    params(("patient" = String, Path, description = "The patient's id"), AfterQuery),
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "Messages, oldest first", body = Vec<MessageOut>),
        (status = 404, description = "No such patient in this clinic", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_staff_list(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    headers: HeaderMap,
    Path(id): Path<String>,
    ValidQuery(q): ValidQuery<AfterQuery>,
) -> Result<Json<Vec<MessageOut>>, AppError> {
    let patient = clinic_patient(&state, user.clinic_id(), &id).await?;
    let messages = read(
        &state,
        &patient,
        Side::Staff,
        &user.actor,
        q.after.unwrap_or(0),
    )
    .await?;
    let look = ThreadLook::of(
        &state,
        user.clinic_id(),
        &reader_language(&state, &user, &headers),
    )
    .await?;
    Ok(Json(messages.iter().map(|m| look.show(m)).collect()))
}

/// Write to a patient.
#[utoipa::path(post, path = "/api/v1/clinic/patients/{patient}/messages", tag = "clinic",
    params(("patient" = String, Path, description = "The patient's id"),
           ("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    request_body = MessageBody,
    security(("staff_session" = [])),
    responses(
        (status = 201, description = "Sent", body = MessageOut),
        (status = 404, description = "No such patient in this clinic", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_staff_post(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<MessageBody>,
) -> Result<(StatusCode, Json<MessageOut>), AppError> {
    user.check_csrf(&headers)?;
    let patient = clinic_patient(&state, user.clinic_id(), &id).await?;
    let m = post(&state, &patient, Side::Staff, &user.actor, &body.body).await?;
    let look = ThreadLook::of(
        &state,
        user.clinic_id(),
        &reader_language(&state, &user, &headers),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(look.show(&m))))
}

/// `GET /clinic/patients/{patient}/chat/events`: the thread, live (SSE).
pub async fn staff_events(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    ValidQuery(q): ValidQuery<AfterQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let patient = clinic_patient(&state, user.clinic_id(), &id).await?;
    audit::record(
        &state,
        &user.actor,
        crate::audit::Action::MessagesFollow,
        Some(&patient.id),
        Some(&patient.clinic_id),
        None,
    )
    .await?;
    let after = resume_after(&headers, &q);
    let look = ThreadLook::of(
        &state,
        user.clinic_id(),
        &reader_language(&state, &user, &headers),
    )
    .await?;
    Ok(stream(state, patient, Side::Staff, after, look, Some(user)))
}

// --- the patient's side ----------------------------------------------------------------------

/// Her thread with the clinic, and when the clinic answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PatientThread {
    pub messages: Vec<MessageOut>,
    /// The clinic's opening hours in her language, when the admin has set them.
    pub opening_hours: Option<String>,
    /// The chat is not watched around the clock: in an emergency, call this number.
    pub emergency_number: String,
}

/// Her messages with the clinic (marks the clinic's messages read).
#[utoipa::path(get, path = "/api/v1/messages", tag = "chat", params(AfterQuery),
    security(("patient_link" = [])),
    responses((status = 200, description = "The thread, oldest first", body = PatientThread)))]
pub async fn api_patient_list(
    State(state): State<AppState>,
    auth: PatientAuth,
    ValidQuery(q): ValidQuery<AfterQuery>,
) -> Result<Json<PatientThread>, AppError> {
    let messages = read(
        &state,
        &auth.patient,
        Side::Patient,
        &auth.actor,
        q.after.unwrap_or(0),
    )
    .await?;
    let clinic = state.app.clinics().get(&auth.patient.clinic_id).await?;
    let p = &auth.patient;
    let look = ThreadLook::of(&state, &p.clinic_id, &p.language).await?;
    Ok(Json(PatientThread {
        messages: messages.iter().map(|m| look.show(m)).collect(),
        opening_hours: clinic.and_then(|c| opening_hours(&c, &auth.patient.language)),
        emergency_number: state.settings.emergency_number.clone(),
    }))
}

/// Write to the clinic. Not for emergencies: the clinic answers in its opening hours.
#[utoipa::path(post, path = "/api/v1/messages", tag = "chat",
    request_body = MessageBody,
    security(("patient_link" = [])),
    responses(
        (status = 201, description = "Sent", body = MessageOut),
        (status = 422, description = "Empty or too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_patient_post(
    State(state): State<AppState>,
    auth: PatientAuth,
    ValidJson(body): ValidJson<MessageBody>,
) -> Result<(StatusCode, Json<MessageOut>), AppError> {
    let m = post(
        &state,
        &auth.patient,
        Side::Patient,
        &auth.actor,
        &body.body,
    )
    .await?;
    let p = &auth.patient;
    let look = ThreadLook::of(&state, &p.clinic_id, &p.language).await?;
    Ok((StatusCode::CREATED, Json(look.show(&m))))
}

/// Her thread, live: server-sent events, one `message` event per message.
#[utoipa::path(get, path = "/api/v1/messages/events", tag = "chat", params(AfterQuery),
    security(("patient_link" = [])),
    responses((status = 200, description = "text/event-stream of `message` events (JSON data, SSE id = message id)")))]
pub async fn api_patient_events(
    State(state): State<AppState>,
    auth: PatientAuth,
    ValidQuery(q): ValidQuery<AfterQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    audit::record(
        &state,
        &auth.actor,
        crate::audit::Action::MessagesFollow,
        Some(&auth.patient.id),
        Some(&auth.patient.clinic_id),
        None,
    )
    .await?;
    let after = resume_after(&headers, &q);
    let p = &auth.patient;
    let look = ThreadLook::of(&state, &p.clinic_id, &p.language).await?;
    Ok(stream(
        state,
        auth.patient,
        Side::Patient,
        after,
        look,
        None,
    ))
}

// --- pages -------------------------------------------------------------------------------------

use super::view::see_other;
use crate::pages::form::Form;
use crate::pages::Ctx;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// `POST /clinic/patients/{patient}/messages`: the workspace's chat form.
pub async fn staff_post(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, AppError> {
    let patient = clinic_patient(&state, user.clinic_id(), &id).await?;
    post(
        &state,
        &patient,
        Side::Staff,
        &user.actor,
        &form.text("body"),
    )
    .await?;
    Ok(see_other(&format!("/clinic/patients/{}#chat", patient.id)))
}

async fn patient_chat(ctx: &Ctx, sent: bool, error: Option<String>) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?;
    let messages = read(&ctx.state, patient, Side::Patient, &ctx.actor, 0).await?;
    let clinic = ctx.state.app.clinics().get(&patient.clinic_id).await?;
    let hours = clinic.and_then(|c| opening_hours(&c, &ctx.texts().code));
    let look = ThreadLook::of(&ctx.state, &patient.clinic_id, &ctx.texts().code).await?;
    let out: Vec<MessageOut> = messages.iter().map(|m| look.show(m)).collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    ctx.render_status(
        status,
        "chat.html",
        json!({
            "messages": out,
            "last_message_id": messages.last().map(|m| m.id).unwrap_or(0),
            "hours": hours,
            "sent": sent,
            "error": error,
        }),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct SentQuery {
    pub sent: Option<String>,
}

/// `GET /me/chat`: her thread with the clinic, with what to do in an emergency and when the
/// clinic answers.
pub async fn patient_page(
    ctx: Ctx,
    ValidQuery(q): ValidQuery<SentQuery>,
) -> Result<Response, AppError> {
    patient_chat(&ctx, q.sent.is_some(), None).await
}

/// `POST /me/chat`.
pub async fn patient_post(ctx: Ctx, form: Form) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?;
    match post(
        &ctx.state,
        patient,
        Side::Patient,
        &ctx.actor,
        &form.text("body"),
    )
    .await
    {
        Ok(_) => Ok(see_other("/me/chat?sent=1")),
        Err(AppError::BadRequest { .. }) => {
            let text = ctx.t("chat_write_something");
            patient_chat(&ctx, false, Some(text)).await
        }
        Err(e) => Err(e),
    }
}

/// `GET /me/chat/events`: her thread, live (SSE).
pub async fn patient_events(
    ctx: Ctx,
    ValidQuery(q): ValidQuery<AfterQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?.clone();
    audit::record(
        &ctx.state,
        &ctx.actor,
        crate::audit::Action::MessagesFollow,
        Some(&patient.id),
        Some(&patient.clinic_id),
        None,
    )
    .await?;
    let after = resume_after(&headers, &q);
    let look = ThreadLook::of(&ctx.state, &patient.clinic_id, &ctx.texts().code).await?;
    Ok(stream(ctx.state.clone(), patient, Side::Patient, after, look, None).into_response())
}
