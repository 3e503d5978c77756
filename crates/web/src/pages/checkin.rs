//! The check-in questionnaire, driven by the engine: each step asks the next questions of the
//! decision's `ask` (the most urgent open rule's facts first), up to four from one section.
//!
//! Nothing is stored while she answers: the answers so far travel in the form itself as hidden
//! `a.<fact>` fields, so an anonymous check-in leaves no trace on the server unless she chooses to
//! save it with her enrolment code. A signed-in patient's final check-in is stored through
//! [`aftercare_app::checkins::Checkins::finish`], like the API's.

use super::form::Form;
use super::layout::Ctx;
use super::session;
use super::trail::Trail;
use crate::audit;
use crate::error::AppError;
use aftercare_core::content::FactKind;
use aftercare_core::engine::plan_questions;
use aftercare_core::{CaseError, Content, Level, QuestionView, Status};
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// At most this many questions on one step.
pub const PER_STEP: usize = 4;

/// Field names of answers: `a.<fact id>`.
const PREFIX: &str = "a.";

/// The answers in a submitted form: typed values, what was typed (to show it again), and the
/// fields that could not be read (fact id to UI text key).
struct Answers {
    values: Map<String, Value>,
    raw: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
}

fn read_answers(content: &Content, form: &Form) -> Answers {
    let mut out = Answers {
        values: Map::new(),
        raw: BTreeMap::new(),
        errors: BTreeMap::new(),
    };
    for (name, raw) in &form.0 {
        let Some(id) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(fact) = content.fact(id) else {
            continue;
        };
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        out.raw
            .insert(id.to_string(), raw.chars().take(32).collect());
        let parsed = match &fact.kind {
            FactKind::Bool => match raw {
                "yes" => Ok(Value::Bool(true)),
                "no" => Ok(Value::Bool(false)),
                // Read as yes: the answer that can only raise the level (facts.toml `unsure`).
                "unsure" if fact.unsure => Ok(Value::Bool(true)),
                _ => Err("answer_required"),
            },
            FactKind::Enum { values, .. } => {
                if values.iter().any(|v| v == raw) {
                    Ok(Value::String(raw.to_string()))
                } else {
                    Err("answer_required")
                }
            }
            FactKind::Number {
                min, max, integer, ..
            } => match raw.replace(',', ".").parse::<f64>() {
                Ok(x)
                    if x.is_finite()
                        && min.is_none_or(|m| x >= m)
                        && max.is_none_or(|m| x <= m)
                        && (!*integer || x.fract() == 0.0) =>
                {
                    Ok(fact.value_to_json(aftercare_core::Value::Number(x)))
                }
                _ => Err(if *integer {
                    "answer_whole_number"
                } else {
                    "answer_number"
                }),
            },
        };
        match parsed {
            Ok(v) => {
                out.values.insert(id.to_string(), v);
            }
            Err(key) => {
                out.errors.insert(id.to_string(), key.to_string());
            }
        }
    }
    out
}

/// Drops answers whose question no longer applies (she changed an earlier answer), so the case
/// stays consistent.
fn prune(content: &Content, answers: &mut Map<String, Value>) {
    for _ in 0..content.facts.len() {
        match aftercare_core::Case::from_map(content, answers) {
            Err(CaseError::Inconsistent { field, .. }) => {
                answers.remove(&field);
            }
            _ => return,
        }
    }
}

/// The next questions: the first of `ask`, and more of `ask` from its section.
fn next_questions(content: &Content, ask: &[u16]) -> Vec<String> {
    let Some(&first) = ask.first() else {
        return Vec::new();
    };
    let section = content.facts[first as usize].section;
    ask.iter()
        .filter(|&&f| content.facts[f as usize].section == section)
        .take(PER_STEP)
        .map(|&f| content.facts[f as usize].id.clone())
        .collect()
}

/// An answer as the form field holds it.
fn raw_of(v: &Value) -> String {
    match v {
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An answer in words.
fn label_of(ctx: &Ctx, id: &str, v: &Value) -> String {
    let Some(idx) = ctx.state.content.fact_index(id) else {
        return raw_of(v);
    };
    let q = QuestionView::new(&ctx.state.content, idx, ctx.lang);
    match v {
        Value::Bool(b) => ctx.t(if *b { "yes" } else { "no" }),
        Value::String(s) => q
            .options
            .iter()
            .find(|o| o.value == s)
            .map(|o| o.label.to_string())
            .unwrap_or_else(|| s.clone()),
        other => other.to_string(),
    }
}

/// Hidden fields carrying every answer except those asked on this step ("Not sure" stays
/// "Not sure", so the decision can say which answers were taken as yes).
fn hidden(answers: &Answers, except: &[String]) -> Vec<Value> {
    answers
        .values
        .iter()
        .filter(|(k, _)| !except.contains(k))
        .map(|(k, v)| {
            let value = if answers.is_unsure(k) {
                "unsure".to_string()
            } else {
                raw_of(v)
            };
            json!({ "name": format!("{PREFIX}{k}"), "value": value })
        })
        .collect()
}

impl Answers {
    fn is_unsure(&self, id: &str) -> bool {
        self.raw.get(id).is_some_and(|r| r == "unsure")
    }

    /// The questions answered "Not sure", in her language, for the decision page.
    fn unsure_questions(&self, ctx: &Ctx) -> Vec<String> {
        let content = &ctx.state.content;
        content
            .facts
            .iter()
            .enumerate()
            .filter(|(_, f)| self.is_unsure(&f.id) && self.values.contains_key(&f.id))
            .map(|(i, _)| {
                QuestionView::new(content, i as u16, ctx.lang)
                    .question
                    .to_string()
            })
            .collect()
    }
}

/// The answers so far, in questionnaire order, for the review.
fn summary(ctx: &Ctx, answers: &Map<String, Value>) -> Vec<Value> {
    let content = &ctx.state.content;
    content
        .facts
        .iter()
        .enumerate()
        .filter_map(|(idx, f)| {
            let v = answers.get(&f.id)?;
            let q = QuestionView::new(content, idx as u16, ctx.lang);
            Some(json!({ "id": f.id, "question": q.question, "answer": label_of(ctx, &f.id, v) }))
        })
        .collect()
}

fn question_model(ctx: &Ctx, id: &str, answers: &Answers) -> Option<Value> {
    let idx = ctx.state.content.fact_index(id)?;
    let q = QuestionView::new(&ctx.state.content, idx, ctx.lang);
    let current = answers
        .raw
        .get(id)
        .cloned()
        .or_else(|| answers.values.get(id).map(raw_of))
        .unwrap_or_default();
    let options: Vec<Value> = match q.kind {
        "bool" => {
            let mut options = vec![
                json!({ "value": "yes", "label": ctx.t("yes"), "checked": current == "yes" }),
                json!({ "value": "no", "label": ctx.t("no"), "checked": current == "no" }),
            ];
            if q.unsure {
                options.push(json!({ "value": "unsure", "label": ctx.t("not_sure"), "checked": current == "unsure" }));
            }
            options
        }
        _ => q
            .options
            .iter()
            .map(|o| json!({ "value": o.value, "label": o.label, "checked": current == o.value }))
            .collect(),
    };
    let error = answers.errors.get(id).map(|key| ctx.t(key));
    Some(json!({
        "id": q.id,
        "name": format!("{PREFIX}{}", q.id),
        "kind": q.kind,
        "question": q.question,
        "help": q.help,
        "section_title": q.section_title,
        "options": options,
        "value": current,
        "min": q.min,
        "max": q.max,
        "integer": q.integer,
        "error": error,
    }))
}

/// Renders one step of questions.
async fn render_step(
    ctx: &Ctx,
    answers: &Answers,
    step: &[String],
    remaining: usize,
    trail: &Trail,
    status: StatusCode,
) -> Result<Response, AppError> {
    let questions: Vec<Value> = step
        .iter()
        .filter_map(|id| question_model(ctx, id, answers))
        .collect();
    let answered = answers.values.keys().filter(|k| !step.contains(k)).count();
    // "Step 3 of about 6", and a bar: the step only counts up, the bar never moves back.
    let number = trail.steps.len() + 1;
    let left = remaining.max(step.len()).div_ceil(PER_STEP).max(1);
    let total = (number - 1 + left)
        .max(usize::from(trail.total))
        .max(number);
    let percent = ((number - 1) * 100 / total)
        .min(95)
        .max(usize::from(trail.percent));
    let mut here = trail.clone();
    here.percent = u8::try_from(percent).unwrap_or(95);
    here.total = u8::try_from(total).unwrap_or(u8::MAX);
    // Back: the previous step with her answers, or out of the check-in from the first.
    let back = if trail.steps.is_empty() {
        "/".to_string()
    } else {
        format!("{}&back=1", trail_url(trail))
    };
    let errors: Vec<Value> = step
        .iter()
        .filter_map(|id| answers.errors.get(id).map(|key| (id, key)))
        .filter_map(|(id, key)| {
            let idx = ctx.state.content.fact_index(id)?;
            let q = QuestionView::new(&ctx.state.content, idx, ctx.lang);
            Some(json!({ "id": id, "question": q.question, "message": ctx.t(key) }))
        })
        .collect();
    ctx.render_status(
        status,
        "checkin.html",
        json!({
            "questions": questions,
            "section_title": questions.first().and_then(|q| q.get("section_title")).cloned(),
            "step": step.join(","),
            "hidden": hidden(answers, step),
            "trail": here.encode(),
            "back": back,
            "step_number": number,
            "step_total": total,
            "answered": answered,
            "percent": percent,
            "summary": summary(ctx, &answers.values),
            "errors": errors,
        }),
    )
    .await
}

/// How a step was reached: a submitted form answers with a redirect to the next step's page
/// (post/redirect/get), a page request renders it.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    Post,
    Get,
}

/// The trail after these answers: every answer as the form holds it, and this step added.
fn trail_after(answers: &Answers, before: &Trail, step: &[String]) -> Trail {
    let mut out = before.clone();
    out.answers = answers
        .values
        .iter()
        .map(|(k, v)| {
            let raw = if answers.is_unsure(k) {
                "unsure".to_string()
            } else {
                raw_of(v)
            };
            (k.clone(), raw)
        })
        .collect();
    if !step.is_empty() {
        // A question asked again (she changed an answer) moves to this step: each fact is in
        // at most one step, so the trail stays as short as the questionnaire.
        for earlier in &mut out.steps {
            earlier.retain(|id| !step.contains(id));
        }
        out.steps.retain(|s| !s.is_empty());
        out.steps.push(step.to_vec());
    }
    out
}

fn trail_url(trail: &Trail) -> String {
    format!("/checkin?s={}", trail.encode())
}

/// Decides the answers and either asks the next step or shows (anonymous) or stores and shows
/// (signed in) the final decision. `trail` is the way here, this step's answers included when
/// it was submitted.
async fn advance(
    ctx: &Ctx,
    mut answers: Answers,
    trail: Trail,
    via: Via,
) -> Result<Response, AppError> {
    let content = &ctx.state.content;
    prune(content, &mut answers.values);
    let (case, decision) = match decide_at(
        &ctx.state,
        ctx.patient.as_ref(),
        &answers.values,
        ctx.state.now(),
    ) {
        Ok(decided) => decided,
        Err(AppError::Case(e)) => {
            // Not expected from the form's own fields; show the question again with the error.
            let field = e.field().unwrap_or_default().to_string();
            answers.values.remove(&field);
            answers
                .errors
                .insert(field.clone(), "answer_required".into());
            let remaining = content.facts.len();
            return render_step(
                ctx,
                &answers,
                &[field],
                remaining,
                &trail,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(e),
    };
    // Once the level is settled, and unless she must get help now, complete her care plan.
    let ask = if decision.status == Status::Final && decision.level <= Level::Soon {
        plan_questions(content, &case, &decision)
    } else {
        decision.ask.clone()
    };
    let step = next_questions(content, &ask);
    if !step.is_empty() {
        if via == Via::Post {
            return Ok(Redirect::to(&trail_url(&trail)).into_response());
        }
        return render_step(ctx, &answers, &step, ask.len(), &trail, StatusCode::OK).await;
    }
    if via == Via::Get && ctx.patient.is_some() {
        // Storing happens only on a submitted form, never on a page load: she confirms.
        return ctx
            .render(
                "review.html",
                json!({ "summary": summary(ctx, &answers.values), "hidden": hidden(&answers, &[]) }),
            )
            .await;
    }
    if via == Via::Post && ctx.patient.is_none() {
        return Ok(Redirect::to(&trail_url(&trail)).into_response());
    }
    if let Some(patient) = &ctx.patient {
        let written = ctx
            .state
            .app
            .checkins()
            .finish(
                &ctx.actor,
                patient,
                None,
                &answers.values,
                &decision,
                ctx.lang,
            )
            .await?;
        return Ok(Redirect::to(&format!("/me/checkins/{}", written.checkin.id)).into_response());
    }
    let today = aftercare_app::patients::today(ctx.state.now());
    let d = super::decision::model_of(ctx, &decision, ctx.lang, today);
    ctx.render(
        "decision.html",
        json!({ "d": d, "stored": false, "answers": hidden(&answers, &[]), "unsure": answers.unsure_questions(ctx) }),
    )
    .await
}

/// `GET /checkin`: the first step, or (`?s=`) the step a trail leads to, or (`&back=1`) the
/// trail's last step again, with her answers, to change them.
pub async fn begin(ctx: Ctx, RawQuery(query): RawQuery) -> Result<Response, AppError> {
    let content = &ctx.state.content;
    let params: Vec<(String, String)> = query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(trail) = param("s").and_then(Trail::decode) else {
        if param("s").is_some() {
            // Not a trail we wrote (cut short, edited): start again rather than guess.
            return Ok(Redirect::to("/checkin").into_response());
        }
        if let Some(p) = &ctx.patient {
            audit::record(
                &ctx.state,
                &ctx.actor,
                crate::audit::Action::CheckinOpen,
                Some(&p.id),
                Some(&p.clinic_id),
                None,
            )
            .await?;
        }
        let answers = Answers {
            values: Map::new(),
            raw: BTreeMap::new(),
            errors: BTreeMap::new(),
        };
        return advance(&ctx, answers, Trail::default(), Via::Get).await;
    };
    let mut answers = read_answers(content, &Form(trail.fields(PREFIX)));
    answers.errors.clear();
    if param("back") == Some("1") {
        if let Some((before, shown)) = trail.back() {
            let shown: Vec<String> = shown
                .into_iter()
                .filter(|id| content.fact(id).is_some())
                .collect();
            if !shown.is_empty() {
                return render_step(&ctx, &answers, &shown, shown.len(), &before, StatusCode::OK)
                    .await;
            }
        }
    }
    advance(&ctx, answers, trail, Via::Get).await
}

/// `POST /checkin`: answers of a step, a request to review, or to change one answer.
pub async fn step(ctx: Ctx, form: Form) -> Result<Response, AppError> {
    let content = &ctx.state.content;
    let before = form
        .get("trail")
        .and_then(Trail::decode)
        .unwrap_or_default();
    let mut answers = read_answers(content, &form);
    if let Some(id) = form.get("edit").filter(|id| content.fact(id).is_some()) {
        let step = vec![id.to_string()];
        answers.errors.clear();
        return render_step(
            &ctx,
            &answers,
            &step,
            content.facts.len(),
            &before,
            StatusCode::OK,
        )
        .await;
    }
    if form.get("action") == Some("review") {
        return ctx
            .render(
                "review.html",
                json!({ "summary": summary(&ctx, &answers.values), "hidden": hidden(&answers, &[]) }),
            )
            .await;
    }
    let step: Vec<String> = form
        .get("step")
        .unwrap_or_default()
        .split(',')
        .filter(|id| content.fact(id).is_some())
        .map(str::to_string)
        .collect();
    for id in &step {
        if !answers.values.contains_key(id) && !answers.errors.contains_key(id) {
            answers.errors.insert(id.clone(), "answer_required".into());
        }
    }
    // Only this step's questions can be wrong: others came back from hidden fields we wrote.
    answers.errors.retain(|id, _| step.contains(id));
    if !answers.errors.is_empty() {
        return render_step(
            &ctx,
            &answers,
            &step,
            content.facts.len(),
            &before,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    prune(content, &mut answers.values);
    let trail = trail_after(&answers, &before, &step);
    advance(&ctx, answers, trail, Via::Post).await
}

/// `POST /checkin/save`: an anonymous check-in saved with her enrolment code. Signs her in and
/// stores the check-in (or, if what the clinic knows of her opens new questions, asks them).
pub async fn save(mut ctx: Ctx, form: Form) -> Result<Response, AppError> {
    let code = session::normalise_code(form.get("code").unwrap_or_default());
    let address = ctx.actor.address.clone().unwrap_or_default();
    if !ctx.state.pages.code_limit.allow(&address) {
        return Err(AppError::TooManyRequests);
    }
    let Some(patient) = session::find_by_code(&ctx.state, &code).await? else {
        let answers = read_answers(&ctx.state.content, &form);
        let today = aftercare_app::patients::today(ctx.state.now());
        let decision = decide_at(&ctx.state, None, &answers.values, ctx.state.now())?.1;
        let d = super::decision::model_of(&ctx, &decision, ctx.lang, today);
        return ctx
            .render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "decision.html",
                json!({ "d": d, "stored": false, "answers": hidden(&answers, &[]), "save_error": ctx.t("code_unknown"), "code": code }),
            )
            .await;
    };
    ctx.actor = audit::Actor {
        kind: crate::audit::ActorKind::Patient,
        id: Some(patient.id.clone()),
        address: ctx.actor.address.clone(),
    };
    audit::record(
        &ctx.state,
        &ctx.actor,
        crate::audit::Action::PatientSignIn,
        Some(&patient.id),
        Some(&patient.clinic_id),
        Some("code".into()),
    )
    .await?;
    let cookie = session::signed_in(&ctx.state, &patient, "/me");
    ctx.patient = Some(patient);
    let answers = read_answers(&ctx.state.content, &form);
    let before = form
        .get("trail")
        .and_then(Trail::decode)
        .unwrap_or_default();
    let trail = trail_after(&answers, &before, &[]);
    let mut response = advance(&ctx, answers, trail, Via::Post).await?;
    for v in cookie.headers().get_all(axum::http::header::SET_COOKIE) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, v.clone());
    }
    Ok(response)
}

/// The decision on the answers as of `at`, over what the clinic knows of her when she is known.
fn decide_at(
    state: &crate::state::AppState,
    patient: Option<&aftercare_store::Patient>,
    answers: &serde_json::Map<String, serde_json::Value>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(aftercare_core::Case, aftercare_core::Decision), AppError> {
    Ok(state.app.checkins().decide(patient, answers, at)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changing_an_answer_again_and_again_never_lengthens_the_trail() {
        let answers = Answers {
            values: Map::new(),
            raw: BTreeMap::new(),
            errors: BTreeMap::new(),
        };
        let mut trail = trail_after(
            &answers,
            &Trail::default(),
            &["fever".into(), "rigors".into()],
        );
        trail = trail_after(&answers, &trail, &["headache".into()]);
        for _ in 0..200 {
            trail = trail_after(&answers, &trail, &["fever".into()]);
        }
        assert_eq!(
            trail.steps,
            vec![
                vec!["rigors".to_string()],
                vec!["headache".to_string()],
                vec!["fever".to_string()]
            ]
        );
        assert!(Trail::decode(&trail.encode()).is_some());
    }
}
