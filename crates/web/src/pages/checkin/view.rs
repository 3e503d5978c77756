//! The check-in's pages: a step (her concern, a screen of questions and checklists, or an
//! answer to confirm), the review before storing, and the anonymous decision.

use super::answers::{self, form_word, Answers, PREFIX, TZ_FIELD};
use super::{Shown, CONCERN_FIELD, CONCERN_STEP};
use crate::error::AppError;
use crate::pages::layout::Ctx;
use crate::pages::trail::Trail;
use aftercare_core::case::Value as CaseValue;
use aftercare_core::content::FactIdx;
use aftercare_core::questionnaire::{Question, Screen};
use aftercare_core::{Decision, QuestionView};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

/// The field of a section's "None of these" box.
pub fn none_field(section: &str) -> String {
    format!("none.{section}")
}

/// An answer in words.
fn label_of(ctx: &Ctx, id: &str, answers: &Answers) -> String {
    let Some(v) = answers.values.get(id) else {
        return String::new();
    };
    let Some(idx) = ctx.state.content.fact_index(id) else {
        return form_word(v);
    };
    if answers.is_unsure(id) {
        return ctx.t("not_sure");
    }
    let q = QuestionView::new(&ctx.state.content, idx, ctx.lang);
    match v {
        Value::Bool(b) => ctx.t(if *b { "yes" } else { "no" }),
        Value::String(s) => q
            .options
            .iter()
            .find(|o| o.value == s)
            .map(|o| o.label.to_string())
            .unwrap_or_else(|| s.clone()),
        _ => match answers.raw.get(id).map(|w| answers::local_input(w)) {
            Some(local) if !local.is_empty() => local.replace('T', " "),
            _ => form_word(v),
        },
    }
}

/// "You said ... on Thursday 3 December at 03:00, about 4 hours ago": the time she gave, in
/// her language, for her to confirm.
fn confirm_text(ctx: &Ctx, id: &str, answers: &Answers) -> String {
    let hours = answers
        .values
        .get(id)
        .and_then(Value::as_f64)
        .unwrap_or_default();
    let whole = hours.round();
    let key = if whole <= 1.0 {
        "confirm_time_recent"
    } else {
        "confirm_time"
    };
    let (date, time) = match answers.raw.get(id).and_then(|w| answers::local_moment(w)) {
        Some(t) => (
            crate::pages::decision::format_date(ctx.texts(), t.date()),
            t.format("%H:%M").to_string(),
        ),
        None => (String::new(), String::new()),
    };
    ctx.t(key)
        .replace("{date}", &date)
        .replace("{time}", &time)
        .replace("{hours}", &format!("{whole:.0}"))
}

fn concern_label(ctx: &Ctx, id: &str) -> Option<String> {
    let content = &ctx.state.content;
    let i = content.concerns.iter().position(|c| c.id == id)?;
    Some(content.text(ctx.lang).concerns[i].clone())
}

/// The answers so far, her concern first, then in questionnaire order, for the review.
fn summary(ctx: &Ctx, answers: &Answers, trail: Option<&Trail>) -> Vec<Value> {
    let content = &ctx.state.content;
    let concern = trail
        .and_then(|t| t.concern.as_deref())
        .and_then(|c| concern_label(ctx, c))
        .map(|label| json!({ "id": CONCERN_STEP, "question": ctx.t("concern_question"), "answer": label }));
    let rest = content.facts.iter().enumerate().filter_map(|(idx, f)| {
        answers.values.get(&f.id)?;
        let q = QuestionView::new(content, idx as u16, ctx.lang);
        Some(json!({ "id": f.id, "question": q.question, "answer": label_of(ctx, &f.id, answers) }))
    });
    concern.into_iter().chain(rest).collect()
}

/// Hidden fields carrying every answer except those asked on this step.
fn hidden(ctx: &Ctx, answers: &Answers, except: &[String]) -> Vec<Value> {
    answers
        .carried_all(&ctx.state.content)
        .into_iter()
        .filter(|(k, _)| !except.contains(k))
        .map(|(k, value)| json!({ "name": format!("{PREFIX}{k}"), "value": value }))
        .collect()
}

/// The questions answered "Not sure", in her language, for the decision page.
fn unsure_questions(ctx: &Ctx, answers: &Answers) -> Vec<String> {
    let content = &ctx.state.content;
    (content.facts.iter().enumerate())
        .filter(|(_, f)| answers.is_unsure(&f.id) && answers.values.contains_key(&f.id))
        .map(|(i, _)| {
            let q = QuestionView::new(content, i as u16, ctx.lang);
            format!(
                "{} {}",
                q.question,
                ctx.t("unsure_taken_as")
                    .replace("{answer}", &label_taken(ctx, i as u16, answers))
            )
        })
        .collect()
}

/// What a "Not sure" was read as, in words.
fn label_taken(ctx: &Ctx, fact: FactIdx, answers: &Answers) -> String {
    let content = &ctx.state.content;
    let id = &content.facts[fact as usize].id;
    let q = QuestionView::new(content, fact, ctx.lang);
    match answers.values.get(id) {
        Some(Value::Bool(b)) => ctx.t(if *b { "yes" } else { "no" }),
        Some(Value::String(s)) => (q.options.iter())
            .find(|o| o.value == s)
            .map(|o| o.label.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn question_model(ctx: &Ctx, q: &Question, answers: &Answers) -> Value {
    let content = &ctx.state.content;
    let view = QuestionView::new(content, q.fact, ctx.lang);
    let fact = &content.facts[q.fact as usize];
    let current = answers
        .raw
        .get(view.id)
        .cloned()
        .or_else(|| answers.values.get(view.id).map(form_word))
        .unwrap_or_default();
    let mut options: Vec<Value> = match view.kind {
        "bool" => vec![
            json!({ "value": "yes", "label": ctx.t("yes"), "checked": current == "yes" }),
            json!({ "value": "no", "label": ctx.t("no"), "checked": current == "no" }),
        ],
        _ => (view.options.iter())
            .map(|o| json!({ "value": o.value, "label": o.label, "checked": current == o.value }))
            .collect(),
    };
    if view.unsure {
        options.push(json!({ "value": "unsure", "label": ctx.t("not_sure"), "checked": current == "unsure" }));
    }
    let (kind, value) = if fact.asked_as_time {
        ("time", answers::local_input(&current))
    } else {
        (view.kind, current)
    };
    // The page's script shows a following question once one of the answers that open it is
    // chosen: `data-follows` names the gates, `data-when` lists each opening `name=value`.
    let follows = (!q.follows.is_empty()).then(|| {
        let gate_name = |gate: &FactIdx| format!("{PREFIX}{}", content.facts[*gate as usize].id);
        let names: Vec<String> = q.follows.iter().map(|(gate, _)| gate_name(gate)).collect();
        let opens: Vec<String> = (q.follows.iter())
            .flat_map(|(gate, values)| {
                let fact = &content.facts[*gate as usize];
                // "Not sure" opens what the answer it is read as opens.
                let read_as_unsure = move |v: &CaseValue| {
                    fact.unsure
                        && match v {
                            CaseValue::Bool(b) => *b,
                            CaseValue::Enum(i) => fact.unsure_as == Some(*i),
                            _ => false,
                        }
                };
                (values.iter()).flat_map(move |v| {
                    let word =
                        format!("{}={}", gate_name(gate), form_word(&fact.value_to_json(*v)));
                    let unsure = read_as_unsure(v).then(|| format!("{}=unsure", gate_name(gate)));
                    std::iter::once(word).chain(unsure)
                })
            })
            .collect();
        json!({ "names": names.join(" "), "values": opens.join(" ") })
    });
    json!({
        "id": view.id,
        "name": format!("{PREFIX}{}", view.id),
        "kind": kind,
        "question": view.question,
        "help": view.help,
        "options": options,
        "value": value,
        "integer": view.integer,
        "follows": follows,
        "error": answers.errors.get(view.id).map(|key| ctx.t(key)),
    })
}

fn screen_model(ctx: &Ctx, screen: &Screen, answers: &Answers) -> Vec<Value> {
    let content = &ctx.state.content;
    let texts = content.text(ctx.lang);
    screen
        .groups
        .iter()
        .map(|g| {
            let section = &content.sections[g.section];
            let questions: Vec<Value> = g
                .questions
                .iter()
                .map(|q| question_model(ctx, q, answers))
                .collect();
            let signs: Vec<Value> = (g.signs.iter())
                .map(|&f| {
                    let id = &content.facts[f as usize].id;
                    json!({
                        "id": id,
                        "name": format!("{PREFIX}{id}"),
                        "label": texts.facts[f as usize].sign,
                        "checked": answers.values.get(id) == Some(&Value::Bool(true)),
                    })
                })
                .collect();
            let error = (g.signs.iter())
                .find_map(|&f| answers.errors.get(&content.facts[f as usize].id))
                .map(|key| ctx.t(key));
            json!({
                "id": section,
                "title": texts.sections[g.section],
                "questions": questions,
                "signs": signs,
                "first_sign": g.signs.first().map(|&f| &content.facts[f as usize].id),
                "none_name": none_field(section),
                "error": error,
            })
        })
        .collect()
}

/// Renders one step. `left`: about how many steps remain, this one included.
pub async fn step(
    ctx: &Ctx,
    answers: &Answers,
    shown: &Shown,
    left: usize,
    trail: &Trail,
    status: StatusCode,
) -> Result<Response, AppError> {
    let content = &ctx.state.content;
    let (kind, step, groups, confirm, concerns) = match shown {
        Shown::Concern => {
            let chosen = trail.concern.as_deref().unwrap_or_default();
            let concerns: Vec<Value> = (content.concerns.iter())
                .zip(&content.text(ctx.lang).concerns)
                .map(|(c, label)| json!({ "value": c.id, "label": label, "checked": c.id == chosen }))
                .collect();
            (
                "concern",
                vec![CONCERN_STEP.to_string()],
                Vec::new(),
                Value::Null,
                concerns,
            )
        }
        Shown::Screen(screen) => {
            let ids = (screen.facts().iter())
                .map(|&f| content.facts[f as usize].id.clone())
                .collect();
            (
                "screen",
                ids,
                screen_model(ctx, screen, answers),
                Value::Null,
                Vec::new(),
            )
        }
        Shown::Confirm(fact) => {
            let id = content.facts[*fact as usize].id.clone();
            let question = Question {
                fact: *fact,
                follows: Vec::new(),
            };
            let model = json!({
                "id": id,
                "question": question_model(ctx, &question, answers),
                "text": confirm_text(ctx, &id, answers),
            });
            ("confirm", vec![id], Vec::new(), model, Vec::new())
        }
    };
    let answered = answers.values.keys().filter(|k| !step.contains(k)).count();
    // "Step 3 of about 6", and a bar: the step only counts up, the bar never moves back.
    let number = trail.steps.len() + 1;
    let total = (number - 1 + left.max(1))
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
        format!("/checkin?s={}&back=1", trail.encode())
    };
    let errors: Vec<Value> = (step.iter())
        .filter_map(|id| Some((id, answers.errors.get(id)?)))
        .filter_map(|(id, key)| {
            let idx = content.fact_index(id)?;
            let fact = &content.facts[idx as usize];
            let view = QuestionView::new(content, idx, ctx.lang);
            let (anchor, question) = if fact.sign {
                let first = step.iter().find(|s| {
                    content
                        .fact(s)
                        .is_some_and(|f| f.sign && f.section == fact.section)
                });
                (
                    first.cloned().unwrap_or_else(|| id.clone()),
                    ctx.t("any_of_these"),
                )
            } else {
                (id.clone(), view.question.to_string())
            };
            Some(json!({ "id": anchor, "question": question, "message": ctx.t(key) }))
        })
        .collect();
    ctx.render_status(
        status,
        "checkin.html",
        json!({
            "kind": kind,
            "concerns": concerns,
            "concern_field": CONCERN_FIELD,
            "groups": groups,
            "confirm": confirm,
            "tz_field": TZ_FIELD,
            "step": step.join(","),
            "hidden": hidden(ctx, answers, &step),
            "trail": here.encode(),
            "back": back,
            "step_number": number,
            "step_total": total,
            "answered": answered,
            "percent": percent,
            "summary": summary(ctx, answers, Some(trail)),
            "errors": errors,
        }),
    )
    .await
}

/// The answers to confirm before a signed-in check-in is stored (or, anonymous, to look over).
/// The trail comes along, so going on, or changing an answer, keeps her place.
pub async fn review(ctx: &Ctx, answers: &Answers, trail: &Trail) -> Result<Response, AppError> {
    ctx.render(
        "review.html",
        json!({
            "summary": summary(ctx, answers, Some(trail)),
            "hidden": hidden(ctx, answers, &[]),
            "trail": trail.encode(),
        }),
    )
    .await
}

/// The decision of an anonymous check-in, with the form that saves it with her code.
pub async fn decision(
    ctx: &Ctx,
    answers: &Answers,
    decision: &Decision,
    status: StatusCode,
    save_error: Option<(String, String)>,
    trail: Option<&Trail>,
) -> Result<Response, AppError> {
    let today = aftercare_app::patients::today(ctx.state.now());
    let d = crate::pages::decision::model_of(ctx, decision, ctx.lang, today);
    let (save_error, code) = save_error.unzip();
    ctx.render_status(
        status,
        "decision.html",
        json!({
            "d": d,
            "stored": false,
            "answers": hidden(ctx, answers, &[]),
            "trail": trail.map(Trail::encode),
            "unsure": unsure_questions(ctx, answers),
            "save_error": save_error,
            "code": code,
        }),
    )
    .await
}
