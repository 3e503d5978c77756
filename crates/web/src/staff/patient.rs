//! One patient, as her clinic sees her: a timeline of her check-ins, diary days and messages,
//! her recovery (the pain series the chart draws), her current plan, and the reasons behind
//! each decision with their sources, as they were stored when the decision was made (a
//! decision is never re-rendered with newer content). Opening it is an audited read;
//! acknowledging an escalation records who, when and a note.

use super::auth::Clinician;
use super::board::clinic_patient;
use crate::api::recovery::{self, RecoverySummary};
use crate::api::views::{
    self, CheckinView, DiaryEntryView, EscalationView, MessageView, PatientSummary,
};
use crate::audit;
use crate::error::{AppError, Problem};
use crate::extract::ValidJson;
use crate::state::AppState;
use aftercare_app::text::Note;
use aftercare_core::Lang;
use aftercare_store::{Escalation, Patient};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One thing that happened, for the timeline (newest first).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineItem {
    /// `checkin`, `diary` or `message`.
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    pub item: TimelineDetail,
}

/// What a timeline item shows, by its kind.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum TimelineDetail {
    Checkin {
        id: String,
        level: String,
        status: aftercare_store::CheckinStatus,
        /// The decision's headline, as stored.
        #[schema(value_type = Option<String>)]
        headline: Option<Value>,
        /// The decision's reasons, as stored.
        #[schema(value_type = Option<Vec<aftercare_core::view::ReasonView>>)]
        reasons: Option<Value>,
        content_version: String,
    },
    Diary {
        day: chrono::NaiveDate,
        version: i32,
        pain: i16,
        #[schema(value_type = crate::api::views::Answers)]
        facts: Value,
        note: Option<String>,
    },
    Message {
        id: i64,
        sender: aftercare_store::Side,
        body: String,
    },
}

/// Everything the patient page shows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PatientView {
    pub patient: PatientSummary,
    pub recovery: RecoverySummary,
    /// The plan and reasons of the latest check-in's decision, as stored.
    #[schema(value_type = Option<aftercare_core::DecisionView>)]
    pub current_decision: Option<Value>,
    pub escalations: Vec<EscalationView>,
    pub checkins: Vec<CheckinView>,
    pub diary: Vec<DiaryEntryView>,
    pub messages: Vec<MessageView>,
    pub timeline: Vec<TimelineItem>,
}

/// Reads (and audits) what the patient page shows, with her record.
pub async fn view(
    state: &AppState,
    user: &super::auth::StaffUser,
    patient_id: &str,
) -> Result<(Patient, PatientView), AppError> {
    let patient = clinic_patient(state, user.clinic_id(), patient_id).await?;
    audit::record(
        state,
        &user.actor,
        crate::audit::Action::PatientRead,
        Some(&patient.id),
        Some(&patient.clinic_id),
        None,
    )
    .await?;
    let lang = state.content.default_lang();
    let recovery = recovery::build(state, &patient, lang).await?;
    let checkins = state.app.checkins().list(&patient).await?;
    let escalations = state.app.escalations().list(&patient, false).await?;
    let diary = state
        .app
        .diary()
        .list(
            &patient,
            patient.procedure_date,
            aftercare_app::patients::today(state.now()),
        )
        .await?;
    let messages = state.app.chat().page(&patient, 0, 500).await?;
    let mut timeline: Vec<TimelineItem> = Vec::new();
    for c in &checkins {
        timeline.push(TimelineItem {
            kind: "checkin",
            at: c.created_at,
            item: TimelineDetail::Checkin {
                id: c.id.clone(),
                level: c.level.clone(),
                status: c.status,
                headline: c.decision.get("headline").cloned(),
                reasons: c.decision.get("reasons").cloned(),
                content_version: c.content_version.clone(),
            },
        });
    }
    for d in &diary {
        timeline.push(TimelineItem {
            kind: "diary",
            at: d.recorded_at,
            item: TimelineDetail::Diary {
                day: d.day,
                version: d.version,
                pain: d.pain,
                facts: d.facts.clone(),
                note: d.note.clone(),
            },
        });
    }
    for m in &messages {
        timeline.push(TimelineItem {
            kind: "message",
            at: m.created_at,
            item: TimelineDetail::Message {
                id: m.id,
                sender: m.sender,
                body: m.body.clone(),
            },
        });
    }
    timeline.sort_by_key(|t| std::cmp::Reverse(t.at));
    let view = PatientView {
        current_decision: checkins.first().map(|c| c.decision.clone()),
        patient: patient.clone().into(),
        recovery,
        escalations: views::all(escalations),
        checkins: views::all(checkins),
        diary: views::all(diary),
        messages: views::all(messages),
        timeline,
    };
    Ok((patient, view))
}

/// One patient: timeline, recovery, current plan, reasons and sources.
#[utoipa::path(get, path = "/api/v1/clinic/patients/{patient}", tag = "clinic",
    params(("patient" = String, Path, description = "The patient's id")),
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "The patient page's data", body = PatientView),
        (status = 404, description = "No such patient in this clinic", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_view(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
) -> Result<Json<PatientView>, AppError> {
    Ok(Json(view(&state, &user, &id).await?.1))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    /// What was done (e.g. "called her, she is on her way to A&E").
    #[serde(default)]
    pub note: Option<String>,
}

/// Acknowledges an escalation of the clinic's patient.
pub async fn acknowledge(
    state: &AppState,
    user: &super::auth::StaffUser,
    escalation_id: &str,
    note: Option<String>,
) -> Result<Escalation, AppError> {
    let note = Note::optional("note", note.as_deref())?;
    Ok(state
        .app
        .escalations()
        .acknowledge(
            &user.actor,
            user.clinic_id(),
            &user.staff.id,
            escalation_id,
            note,
        )
        .await?)
}

/// Acknowledge an escalation: who (the signed-in clinician), when (now) and a note.
#[utoipa::path(post, path = "/api/v1/clinic/escalations/{escalation}/acknowledge", tag = "clinic",
    params(("escalation" = String, Path, description = "The escalation's id"),
           ("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    request_body = AckBody,
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "Acknowledged", body = EscalationView),
        (status = 404, description = "No such escalation in this clinic", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already acknowledged", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_acknowledge(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<AckBody>,
) -> Result<Json<EscalationView>, AppError> {
    user.check_csrf(&headers)?;
    Ok(Json(
        acknowledge(&state, &user, &id, body.note).await?.into(),
    ))
}

// --- pages -------------------------------------------------------------------------------------

use super::board::{level_label, procedure_label};
use super::view::{see_other, word, StaffPage};
use crate::pages::form::Form;
use axum::response::Response;
use serde_json::json;

/// Her answers of a check-in as the clinician reads them: the answers that made it urgent or an
/// emergency first (flagged), then the others in questionnaire order.
fn answer_rows(state: &AppState, lang: Lang, patient: &Patient, c: &CheckinView) -> Vec<Value> {
    let content = &state.content;
    let Some(answers) = c.answers.as_object() else {
        return Vec::new();
    };
    // Decided again as of the time she answered (over what the clinic knew of her then).
    let known = aftercare_app::patients::profile(patient, c.created_at).facts(content);
    crate::pages::decision::answer_summary(content, known, answers, lang)
}

/// The reasons of a stored decision, each with its level as the workspace says it.
fn reasons(texts: &aftercare_core::Texts, stored: Option<&Value>) -> Value {
    let Some(Value::Array(list)) = stored else {
        return Value::Null;
    };
    Value::Array(
        list.iter()
            .map(|r| {
                let mut r = r.clone();
                if let Value::Object(m) = &mut r {
                    let level = m.get("level").and_then(Value::as_str).map(str::to_string);
                    let label = super::board::level_label(texts, level.as_deref());
                    m.insert("level_label".into(), Value::String(label));
                }
                r
            })
            .collect(),
    )
}

/// A time on the page, in the clinic's zone.
fn time_in(zone: Option<&str>, t: DateTime<Utc>) -> String {
    aftercare_app::clinics::local_time(zone, t)
}

/// `GET /clinic/patients/{patient}`.
pub async fn page(
    page: StaffPage,
    Clinician(user): Clinician,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let state = &page.state;
    let texts = page.texts();
    let (record, v) = view(state, &user, &id).await?;
    let zone = page.zone().await?;
    let time = |t: DateTime<Utc>| time_in(zone.as_deref(), t);
    let email = state.app.patient_emails().get(&record).await?;
    let staff = state.app.staff().list(user.clinic_id()).await?;
    let staff_name = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| staff.iter().find(|s| &s.id == id))
            .map(|s| s.display_name.clone())
            .unwrap_or_else(|| texts.ws("pt_someone").to_string())
    };
    let p = &v.patient;
    let decision = v.checkins.first().map(|c| {
        let d = &c.decision;
        json!({
            "level": c.level,
            "level_label": level_label(texts, Some(&c.level)),
            "at": time(c.created_at),
            "headline": d.get("headline"),
            "plan": d.get("plan"),
            "watch_for": d.get("watch_for"),
        })
    });
    let checkins: Vec<Value> = v
        .checkins
        .iter()
        .map(|c| {
            // The day of her recovery as the decision reckoned it (`patients::profile`, by
            // the UTC calendar, so a re-decision never depends on a zone setting that can
            // change later): the page and the decision agree.
            let on = aftercare_app::patients::today(c.created_at);
            let day = (on - record.procedure_date).num_days();
            let birth = record.delivery_date.map(|d| (on - d).num_days());
            json!({
                "at": time(c.created_at),
                "level_label": level_label(texts, Some(&c.level)),
                "day": day,
                "days_since_birth": birth,
                "answers": answer_rows(state, page.lang, &record, c),
                "status": c.status,
                "status_label": word(texts, "checkin_status", c.status.as_str()),
                "reasons": reasons(texts, c.decision.get("reasons")),
                "content_version": c.content_version,
            })
        })
        .collect();
    let escalation = |e: &EscalationView| {
        json!({
            "id": e.id,
            "level": e.level,
            "level_label": level_label(texts, Some(&e.level)),
            "reason": aftercare_core::EscalationReason::parse(&e.reason)
                .map(|r| r.describe(&state.content, page.lang))
                .unwrap_or_else(|| e.reason.clone()),
            "code": e.reason,
            "source": e.source,
            "source_label": word(texts, "source", e.source.as_str()),
            "raised_at": time(e.raised_at),
            "acknowledged_at": e.acknowledged_at.map(time),
            "by": staff_name(&e.acknowledged_by),
            "note": e.ack_note,
            "closed_at": e.closed_at.map(time),
            "closed_by": staff_name(&e.closed_by),
            "overdue": e.acknowledged_at.is_none() && e.alert_round >= 2,
        })
    };
    let open: Vec<Value> = v
        .escalations
        .iter()
        .filter(|e| e.acknowledged_at.is_none())
        .map(escalation)
        .collect();
    let acknowledged: Vec<Value> = v
        .escalations
        .iter()
        .filter(|e| e.acknowledged_at.is_some())
        .map(escalation)
        .collect();
    let points: Vec<(i64, i64)> = v
        .recovery
        .pain
        .iter()
        .map(|p| (p.day, i64::from(p.pain)))
        .collect();
    let milestones: Vec<(i64, String)> = state
        .content
        .course
        .milestones
        .iter()
        .zip(&texts.milestone_labels)
        .map(|(m, label)| (i64::from(m.day), label.clone()))
        .collect();
    let alerts = crate::pages::diary::alert_days(state, &record).await?;
    let chart = crate::pages::chart::build(
        &points,
        v.recovery.days_since_procedure,
        &milestones,
        &alerts,
    );
    let diary: Vec<Value> = v
        .diary
        .iter()
        .rev()
        .map(|d| {
            // The day's answers (legs, fever...), the ones that raised the level first.
            let answers = d
                .facts
                .as_object()
                .map(|facts| {
                    let known = aftercare_app::patients::profile(&record, d.recorded_at)
                        .facts(&state.content);
                    crate::pages::decision::answer_summary(&state.content, known, facts, page.lang)
                })
                .unwrap_or_default();
            json!({
                "day": d.day.to_string(),
                "days": (d.day - p.procedure_date).num_days(),
                "pain": d.pain,
                "note": d.note,
                "version": d.version,
                "answers": answers,
            })
        })
        .collect();
    let look = super::chat::ThreadLook::of(state, user.clinic_id(), &texts.code).await?;
    let messages: Vec<super::chat::MessageOut> =
        v.messages.iter().map(|m| look.show_view(m)).collect();
    let last_message_id = v.messages.last().map(|m| m.id).unwrap_or(0);
    // Opening the page reads her messages.
    let reader = aftercare_store::Side::Staff;
    let newest_from_her = v
        .messages
        .iter()
        .filter(|m| m.sender == reader.other())
        .map(|m| m.id)
        .max();
    state
        .app
        .chat()
        .mark_seen_up_to(&record, reader, newest_from_her)
        .await?;
    let timeline: Vec<Value> = v
        .timeline
        .iter()
        .map(|t| {
            let text = match &t.item {
                TimelineDetail::Checkin { level, .. } => texts
                    .ws("pt_timeline_checkin")
                    .replace("{level}", &level_label(texts, Some(level))),
                TimelineDetail::Diary { pain, note, .. } => {
                    let key = match note {
                        Some(_) => "pt_timeline_diary_note",
                        None => "pt_timeline_diary",
                    };
                    texts
                        .ws(key)
                        .replace("{pain}", &pain.to_string())
                        .replace("{note}", note.as_deref().unwrap_or_default())
                }
                TimelineDetail::Message { sender, .. } => texts
                    .ws(if *sender == aftercare_store::Side::Staff {
                        "pt_timeline_from_clinic"
                    } else {
                        "pt_timeline_from_her"
                    })
                    .to_string(),
            };
            json!({"at": time(t.at), "kind": t.kind, "kind_label": word(texts, "kind", t.kind), "text": text})
        })
        .collect();
    let names = std::collections::HashMap::from([(
        aftercare_store::PatientId::from(p.id.clone()),
        p.display_name.clone(),
    )]);
    let appointments = super::appointments::rows(
        state,
        texts,
        &state.app.appointments().of_patient(&record).await?,
        zone.as_deref(),
        &names,
    );
    // What she asked the clinic through the contact form while signed in.
    let contacts: Vec<Value> = state
        .app
        .contacts()
        .of_patient(&record)
        .await?
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "at": time(r.created_at),
                "contact": r.contact,
                "message": r.message,
                "handled": r.handled_at.map(time),
            })
        })
        .collect();
    page.render(
        "staff/patient.html",
        json!({
            "patient": {
                "id": p.id,
                "name": p.display_name,
                "procedure": procedure_label(&state.content, page.lang, &p.procedure),
                "procedure_date": p.procedure_date.to_string(),
                "delivery_date": p.delivery_date.map(|d| d.to_string()),
                "days": v.recovery.days_since_procedure,
                "language": p.language,
                "language_name": state
                    .content
                    .languages()
                    .find(|(code, _)| *code == p.language)
                    .map_or_else(|| p.language.clone(), |(_, name)| name.to_string()),
                "phone": record.phone,
                "phone_dial": record.phone.as_deref().map(crate::staff::settings::dial),
                "email": email.as_ref().map(|e| e.email.clone()),
                "emails_stopped": email.as_ref().is_some_and(|e| e.emails_stopped_at.is_some()),
            },
            "open_escalations": open,
            "acknowledged": acknowledged,
            "decision": decision,
            "checkins": checkins,
            "chart": chart,
            "diary": diary,
            "messages": messages,
            "last_message_id": last_message_id,
            "timeline": timeline,
            "contacts": contacts,
            "appointments": appointments,
        }),
    )
    .await
}

/// `POST /clinic/patients/{patient}/phone`: her telephone number (empty: none), audited.
pub async fn phone_submit(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, AppError> {
    let patient = state
        .app
        .patients()
        .of_clinic(user.clinic_id(), &id)
        .await?;
    state
        .app
        .enrolment()
        .set_phone(&user.actor, &patient, &form.text("phone"))
        .await?;
    Ok(see_other(&format!("/clinic/patients/{}", patient.id)))
}

/// `POST /clinic/escalations/{escalation}/close`: the episode is over.
pub async fn close_submit(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let e = state
        .app
        .escalations()
        .close(&user.actor, user.clinic_id(), &user.staff.id, &id)
        .await?;
    Ok(see_other(&format!("/clinic/patients/{}", e.patient_id)))
}

/// `POST /clinic/escalations/{escalation}/acknowledge`.
pub async fn acknowledge_submit(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
    form: Form,
) -> Result<Response, AppError> {
    let note = Some(form.text("note"));
    let e = acknowledge(&state, &user, &id, note).await?;
    Ok(see_other(&format!("/clinic/patients/{}", e.patient_id)))
}

/// `GET /clinic/patients/{patient}/fhir.json`: her whole record as a FHIR R4 Bundle, for the
/// clinic's EHR or a transfer of care; audited (as an export by this member of staff) before
/// it is handed out.
pub async fn fhir_export(
    State(state): State<AppState>,
    Clinician(user): Clinician,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let patient = super::board::clinic_patient(&state, user.clinic_id(), &id).await?;
    let bundle = state
        .app
        .export()
        .patient_bundle(
            &user.actor,
            &crate::fhir::canonical(&state),
            &patient,
            Some("staff download".into()),
        )
        .await?;
    let mut response = axum::response::IntoResponse::into_response(crate::fhir::Fhir(bundle));
    let disposition = format!(
        "attachment; filename=\"aftercare-{}.fhir.json\"",
        patient.id
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, value);
    }
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
