//! The recovery diary page: a one-minute daily entry (pain 0-10, what changed, a note), the pain
//! chart with its table, and, when an entry raises the level, what to do now at the top.
//! Entries go through [`aftercare_app::diary::Diary::write_day`], like the API's.

use super::chart;
use super::decision::format_date;
use super::form::Form;
use super::layout::Ctx;
use crate::api::diary::parse_day;
use crate::audit;
use crate::error::AppError;
use crate::extract::ValidQuery;
use aftercare_app::diary::{DayInput, NOTE_LIMIT};
use aftercare_app::patients::today;
use aftercare_app::text::Note;
use aftercare_core::{Level, QuestionView};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The facts a diary day asks about, besides the pain score (kept short on purpose).
pub const DAY_FACTS: [&str; 5] = [
    "pain_course",
    "leg_numbness",
    "leg_weakness",
    "fever",
    "headache",
];

#[derive(Debug, Deserialize, Default)]
pub struct DiaryQuery {
    day: Option<String>,
    saved: Option<String>,
    level: Option<String>,
    escalated: Option<String>,
}

/// What the form shows: the values (as typed) and the errors by field.
#[derive(Default)]
struct FormState {
    day: String,
    pain: String,
    facts: BTreeMap<String, String>,
    note: String,
    errors: BTreeMap<String, String>,
}

/// `GET /me/diary`.
pub async fn page(ctx: Ctx, ValidQuery(q): ValidQuery<DiaryQuery>) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?;
    let today = today(ctx.state.now());
    let day = q
        .day
        .as_deref()
        .and_then(|d| parse_day(d).ok())
        .filter(|d| *d <= today && *d >= patient.procedure_date)
        .unwrap_or(today);
    audit::record(
        &ctx.state,
        &ctx.actor,
        crate::audit::Action::DiaryList,
        Some(&patient.id),
        Some(&patient.clinic_id),
        None,
    )
    .await?;
    let existing = ctx.state.app.diary().get(patient, day).await?;
    let mut form = FormState {
        day: day.to_string(),
        ..FormState::default()
    };
    if let Some(e) = existing {
        form.pain = e.pain.to_string();
        form.note = e.note.unwrap_or_default();
        if let Some(obj) = e.facts.as_object() {
            for (k, v) in obj {
                let raw = match v {
                    Value::Bool(true) => "yes".to_string(),
                    Value::Bool(false) => "no".to_string(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                form.facts.insert(k.clone(), raw);
            }
        }
    }
    let mut extra = Map::new();
    if let Some(saved) = q.saved.as_deref().and_then(|d| parse_day(d).ok()) {
        extra.insert("saved".into(), json!(format_date(ctx.texts(), saved)));
    }
    if let Some(level) = q
        .level
        .as_deref()
        .and_then(Level::parse)
        .filter(|l| *l > Level::SelfCare)
    {
        let t = &ctx.texts().levels[level.index()];
        extra.insert(
            "alert".into(),
            json!({ "level": level.as_str(), "headline": t.title, "now": t.now, "escalated": q.escalated.is_some() }),
        );
    }
    render(&ctx, form, StatusCode::OK, extra).await
}

async fn render(
    ctx: &Ctx,
    form: FormState,
    status: StatusCode,
    extra: Map<String, Value>,
) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?;
    let texts = ctx.texts();
    let today = today(ctx.state.now());
    let entries = ctx
        .state
        .app
        .diary()
        .list(patient, patient.procedure_date, today)
        .await?;
    let points: Vec<(i64, i64)> = entries
        .iter()
        .map(|e| {
            (
                (e.day - patient.procedure_date).num_days(),
                i64::from(e.pain),
            )
        })
        .collect();
    let milestones: Vec<(i64, String)> = ctx
        .state
        .content
        .course
        .milestones
        .iter()
        .zip(&texts.milestones)
        .map(|(m, t)| (i64::from(m.day), t.clone()))
        .collect();
    let days_since = (today - patient.procedure_date).num_days();
    let labels: Vec<(i64, String)> = ctx
        .state
        .content
        .course
        .milestones
        .iter()
        .zip(&texts.milestone_labels)
        .map(|(m, t)| (i64::from(m.day), t.clone()))
        .collect();
    // The days whose entry raised an alert to her clinic.
    let alerts = alert_days(&ctx.state, patient).await?;
    let chart = chart::build(&points, days_since, &labels, &alerts);
    let rows: Vec<Value> = entries
        .iter()
        .rev()
        .map(|e| {
            json!({
                "day": e.day.to_string(),
                "date": format_date(texts, e.day),
                "days": (e.day - patient.procedure_date).num_days(),
                "pain": e.pain,
                "note": e.note,
            })
        })
        .collect();
    let course: Vec<Value> = milestones
        .iter()
        .enumerate()
        .map(|(i, (day, text))| json!({ "number": i + 1, "day": day, "text": text }))
        .collect();
    let questions: Vec<Value> = DAY_FACTS
        .iter()
        .filter_map(|id| {
            let idx = ctx.state.content.fact_index(id)?;
            let q = QuestionView::new(&ctx.state.content, idx, ctx.lang);
            let current = form.facts.get(*id).cloned().unwrap_or_default();
            let options: Vec<Value> = if q.kind == "bool" {
                vec![
                    json!({ "value": "yes", "label": ctx.t("yes"), "checked": current == "yes" }),
                    json!({ "value": "no", "label": ctx.t("no"), "checked": current == "no" }),
                ]
            } else {
                q.options
                    .iter()
                    .map(|o| json!({ "value": o.value, "label": o.label, "checked": current == o.value }))
                    .collect()
            };
            Some(json!({ "id": q.id, "name": format!("f.{}", q.id), "question": q.question, "options": options }))
        })
        .collect();
    let pains: Vec<Value> = (0..=10)
        .map(|p| json!({ "value": p, "checked": form.pain == p.to_string() }))
        .collect();
    let errors: Vec<Value> = form
        .errors
        .iter()
        .map(|(field, key)| json!({ "field": field, "message": ctx.t(key) }))
        .collect();
    let mut page = json!({
        "form": {
            "day": form.day,
            // The button names the day it saves (the page script follows the date box).
            "day_label": chrono::NaiveDate::parse_from_str(&form.day, "%Y-%m-%d")
                .map(|d| format_date(texts, d))
                .unwrap_or_default(),
            "min_day": patient.procedure_date.to_string(),
            "max_day": today.to_string(),
            "note": form.note,
            "note_limit": NOTE_LIMIT,
            "errors": form.errors,
        },
        "errors": errors,
        "pains": pains,
        "questions": questions,
        "chart": chart,
        "rows": rows,
        "course": course,
        "days_since": days_since,
        "saved": null,
        "alert": null,
    });
    if let Value::Object(m) = &mut page {
        m.extend(extra);
    }
    ctx.render_status(status, "diary.html", page).await
}

/// `POST /me/diary`.
pub async fn write(ctx: Ctx, form: Form) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?.clone();
    let mut state = FormState {
        day: form.text("day"),
        pain: form.text("pain"),
        note: form.get("note").unwrap_or_default().to_string(),
        ..FormState::default()
    };
    let pain: Option<i64> = state.pain.parse().ok().filter(|p| (0..=10).contains(p));
    if pain.is_none() {
        state
            .errors
            .insert("pain".into(), "diary_pain_required".into());
    }
    let day = parse_day(&state.day).ok();
    if day.is_none() {
        state
            .errors
            .insert("day".into(), "diary_day_invalid".into());
    }
    let note = Note::optional("note", Some(&state.note));
    if note.is_err() {
        state
            .errors
            .insert("note".into(), "diary_note_too_long".into());
    }
    let mut facts = Map::new();
    for id in DAY_FACTS {
        let raw = form.text(&format!("f.{id}"));
        if raw.is_empty() {
            continue;
        }
        state.facts.insert(id.to_string(), raw.clone());
        let value = match raw.as_str() {
            "yes" => Value::Bool(true),
            "no" => Value::Bool(false),
            other => Value::String(other.to_string()),
        };
        facts.insert(id.to_string(), value);
    }
    // How the pain is going only applies when there is pain.
    if pain == Some(0) {
        facts.remove("pain_course");
    }
    let (Some(pain), Some(day), Ok(note), true) = (pain, day, note, state.errors.is_empty()) else {
        return render(&ctx, state, StatusCode::UNPROCESSABLE_ENTITY, Map::new()).await;
    };
    let input = DayInput {
        day,
        pain,
        facts,
        note,
    };
    match ctx
        .state
        .app
        .diary()
        .write_day(&ctx.actor, &patient, input)
        .await
        .map_err(AppError::from)
    {
        Ok(written) => {
            let mut to = format!(
                "/me/diary?saved={day}&level={}",
                written.decision.level.as_str()
            );
            if written.escalation.is_some() {
                to.push_str("&escalated=1");
            }
            Ok(Redirect::to(&to).into_response())
        }
        Err(AppError::BadRequest { field, .. }) => {
            let field = field.unwrap_or_else(|| "day".into());
            let key = match field.as_str() {
                "pain" => "diary_pain_required",
                "note" => "diary_note_too_long",
                _ => "diary_day_invalid",
            };
            state.errors.insert(field, key.into());
            render(&ctx, state, StatusCode::UNPROCESSABLE_ENTITY, Map::new()).await
        }
        Err(AppError::Case(e)) => {
            state.errors.insert(
                e.field().unwrap_or("day").to_string(),
                "answer_required".into(),
            );
            render(&ctx, state, StatusCode::UNPROCESSABLE_ENTITY, Map::new()).await
        }
        Err(e) => Err(e),
    }
}

/// The days of her recovery whose diary entry raised an escalation to her clinic.
pub async fn alert_days(
    state: &crate::state::AppState,
    patient: &aftercare_store::Patient,
) -> Result<Vec<i64>, AppError> {
    Ok(state
        .app
        .escalations()
        .list(patient, false)
        .await?
        .iter()
        .filter(|e| e.source == aftercare_store::EscalationSource::Diary)
        .filter_map(|e| {
            e.source_ref
                .rsplit('/')
                .next()?
                .parse::<chrono::NaiveDate>()
                .ok()
        })
        .map(|day| (day - patient.procedure_date).num_days())
        .collect())
}
