//! The decision page: the level in plain words and what to do right now first (for an emergency,
//! the emergency number as a button before anything else), then why, the personal care plan
//! with real dates, the signs to watch for and when to check in again. Prints as a one-page
//! handout. Used for an anonymous check-in's result and for a patient's stored check-ins.

use super::layout::Ctx;
use crate::audit;
use crate::error::AppError;
use aftercare_core::content::Texts;
use aftercare_core::{Decision, DecisionView, Lang};
use axum::extract::Path;
use axum::response::Response;
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{json, Value};

/// A date in the words of a language: "Thursday 6 March", "jueves 6 de marzo".
pub fn format_date(texts: &Texts, date: NaiveDate) -> String {
    let weekday = texts
        .ui(&format!("weekday_{}", date.weekday().number_from_monday()))
        .to_string();
    let month = texts.ui(&format!("month_{}", date.month())).to_string();
    texts
        .ui("date_format")
        .replace("{weekday}", &weekday)
        .replace("{day}", &date.day().to_string())
        .replace("{month}", &month)
}

/// The page's model of a decision, from its [`DecisionView`] (as JSON, so a stored view from an
/// older content version renders the same way), with the plan's day offsets turned into dates
/// counted from `base` (the day of the check-in).
pub fn model(ctx: &Ctx, view: &Value, base: NaiveDate) -> Value {
    let texts = ctx.texts();
    let date = |days: i64| format_date(texts, base + Duration::days(days));
    let str_of = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let level = str_of(view, "level");
    let reasons: Vec<Value> = view
        .get("reasons")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| json!({ "explanation": str_of(r, "explanation"), "source": str_of(r, "source") }))
                .collect()
        })
        .unwrap_or_default();
    let plan: Vec<Value> = view
        .get("plan")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|p| {
                    let starts = p.get("starts_in_days").and_then(Value::as_i64);
                    let ends = p.get("ends_in_days").and_then(Value::as_i64);
                    let mut when = Vec::new();
                    match (starts.filter(|s| *s > 0), ends.filter(|e| *e >= 0)) {
                        (Some(s), Some(e)) => when.push(
                            texts
                                .ui("plan_from_until")
                                .replace("{from}", &date(s))
                                .replace("{until}", &date(e)),
                        ),
                        (Some(s), None) => {
                            when.push(texts.ui("plan_from").replace("{date}", &date(s)))
                        }
                        (None, Some(e)) => {
                            when.push(texts.ui("plan_until").replace("{date}", &date(e)))
                        }
                        // An item that took over from another (warmth after cold) says it
                        // applies from today, not as if it still had to begin.
                        (None, None) if starts.is_some() => {
                            when.push(texts.ui("plan_from_today").to_string())
                        }
                        (None, None) => {}
                    }
                    if let Some(then) = p.get("then") {
                        let at = then
                            .get("starts_in_days")
                            .and_then(Value::as_i64)
                            .unwrap_or(0);
                        when.push(
                            texts
                                .ui("plan_then")
                                .replace("{title}", &str_of(then, "title"))
                                .replace("{date}", &date(at)),
                        );
                    }
                    let slug = str_of(p, "education");
                    let education = ctx
                        .state
                        .pages
                        .education
                        .get(&slug, &texts.code)
                        .map(|page| json!({ "slug": slug, "title": page.title }));
                    json!({
                        "title": str_of(p, "title"),
                        "text": str_of(p, "text"),
                        "when": when,
                        "education": education,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let watch: Vec<Value> = view
        .get("watch_for")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // Grouped by what to do; a decision stored before warnings were grouped has only the list.
    let warnings: Vec<Value> = view
        .get("warnings")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let again = view
        .get("check_in_again_hours")
        .and_then(Value::as_u64)
        .map(|h| {
            texts
                .ui("check_in_again")
                .replace("{hours}", &h.to_string())
        });
    let mental_health = view
        .get("actions")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x == "mental_health"));
    json!({
        "level": level,
        "mental_health": mental_health,
        "headline": str_of(view, "headline"),
        "now": str_of(view, "now"),
        "reasons": reasons,
        "plan": plan,
        "watch_for": watch,
        "warnings": warnings,
        "check_in_again": again,
        "content_version": str_of(view, "content_version"),
        "date": format_date(texts, base),
    })
}

/// The model of a fresh decision, in the page's language.
pub fn model_of(ctx: &Ctx, decision: &Decision, lang: Lang, base: NaiveDate) -> Value {
    let view = DecisionView::new(&ctx.state.content, decision, lang);
    let view = serde_json::to_value(&view).unwrap_or(Value::Null);
    model(ctx, &view, base)
}

/// `GET /me/checkins/{id}`: one of her stored check-ins, re-decided as of the time it was made
/// so it reads in the language she now uses (or as stored, if the content has changed since).
pub async fn stored(ctx: Ctx, Path(id): Path<String>) -> Result<Response, AppError> {
    let patient = ctx.require_patient()?;
    let checkin = ctx.state.app.checkins().get(patient, &id).await?;
    audit::record(
        &ctx.state,
        &ctx.actor,
        crate::audit::Action::CheckinRead,
        Some(&patient.id),
        Some(&patient.clinic_id),
        Some(checkin.id.clone()),
    )
    .await?;
    let base = checkin.created_at.date_naive();
    let answers = checkin.answers.as_object().cloned().unwrap_or_default();
    // What a printed copy carries: whose it is, from which clinic, when she answered (in the
    // clinic's zone), what she answered, and whom to call.
    let clinic = ctx.state.app.clinics().get(&patient.clinic_id).await?;
    let zone = clinic.as_ref().and_then(|c| c.time_zone.clone());
    let known =
        aftercare_app::patients::profile(patient, checkin.created_at).facts(&ctx.state.content);
    // A plain "no" is counted, not listed (unless it decided something).
    let (listed, dropped): (Vec<Value>, Vec<Value>) =
        answer_summary(&ctx.state.content, known, &answers, ctx.lang)
            .into_iter()
            .partition(|a| a["no"] != Value::Bool(true) || a["red_flag"] == Value::Bool(true));
    let noes = dropped.len();
    // The booking link only where her answers do not ask her to call.
    let can_book = !ctx
        .state
        .app
        .appointments()
        .calls_for_calling(patient, Some(&checkin.id))
        .await?;
    let printout = json!({
        "name": patient.display_name,
        "clinic": clinic.as_ref().map(|c| c.name.clone()),
        "at": aftercare_app::clinics::local_time(zone.as_deref(), checkin.created_at),
        "answers": listed,
        "noes": noes,
    });
    let page = if checkin.content_version == ctx.state.content.version {
        match ctx
            .state
            .app
            .checkins()
            .decide(Some(patient), &answers, checkin.created_at)
        {
            Ok((_, decision)) => model_of(&ctx, &decision, ctx.lang, base),
            Err(_) => model(&ctx, &checkin.decision, base),
        }
    } else {
        model(&ctx, &checkin.decision, base)
    };
    ctx.render(
        "decision.html",
        json!({
            "d": page,
            "stored": true,
            "answers": [],
            "checkin_id": checkin.id,
            "can_book": can_book,
            "printout": printout,
        }),
    )
    .await
}

/// Her answers in words, in `lang`: each question with her answer, the ones that made the
/// decision urgent or an emergency first and flagged (`red_flag`). For her printout and the
/// clinic's page.
pub fn answer_summary(
    content: &aftercare_core::Content,
    known: serde_json::Map<String, Value>,
    answers: &serde_json::Map<String, Value>,
    lang: Lang,
) -> Vec<Value> {
    use aftercare_core::{deciding_facts, triage, Case, Level};
    let texts = content.text(lang);
    let flagged = Case::from_answers_over(content, known, answers)
        .map(|case| deciding_facts(content, &triage(content, &case), Level::Urgent))
        .unwrap_or_default();
    let mut rows: Vec<(bool, usize, Value)> = content
        .facts
        .iter()
        .enumerate()
        .filter_map(|(idx, f)| {
            let v = answers.get(&f.id)?;
            let q = aftercare_core::QuestionView::new(content, idx as u16, lang);
            let answer = match v {
                Value::Bool(b) => texts.ui(if *b { "yes" } else { "no" }).to_string(),
                Value::String(s) => q
                    .options
                    .iter()
                    .find(|o| o.value == s)
                    .map_or_else(|| s.clone(), |o| o.label.to_string()),
                other => other.to_string(),
            };
            let flag = flagged.contains(&(idx as u16));
            Some((
                flag,
                idx,
                json!({
                    "question": q.question,
                    "answer": answer,
                    "red_flag": flag,
                    // A plain "no": the printout counts these instead of listing them.
                    "no": *v == Value::Bool(false),
                }),
            ))
        })
        .collect();
    rows.sort_by_key(|(flag, idx, _)| (!*flag, *idx));
    rows.into_iter().map(|(_, _, row)| row).collect()
}
