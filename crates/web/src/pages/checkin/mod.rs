//! The check-in questionnaire as pages. It asks first what brings her, then shows the screens
//! [`aftercare_core::questionnaire`] plans from the engine's decision: the procedure, the
//! sections of her concern, then the rest, each section once, its signs as one checklist.
//! Once an emergency is certain it stops asking and shows it.
//!
//! Every screen is a page of its own (post/redirect/get): her answers so far travel in the URL
//! as a [`Trail`], so Back and Forward move between real pages, and an anonymous check-in
//! leaves no trace on the server unless she chooses to save it with her enrolment code. A
//! signed-in patient's final check-in is stored through
//! [`aftercare_app::checkins::Checkins::finish`], like the API's.

mod answers;
mod view;

use super::form::Form;
use super::layout::Ctx;
use super::session;
use super::trail::Trail;
use crate::audit;
use crate::error::AppError;
use aftercare_core::content::{FactIdx, Known};
use aftercare_core::logic::Tri;
use aftercare_core::questionnaire::{self, Screen};
use aftercare_core::{Case, CaseError, Content, Level};
use answers::{Answers, PREFIX};
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value};

/// The step that asks what brings her, in a trail (no fact has this id: ids are words).
const CONCERN_STEP: &str = "?concern";
/// The form field of her concern.
const CONCERN_FIELD: &str = "concern";

/// Drops answers whose question no longer applies (she changed an earlier answer), so the case
/// stays consistent.
fn prune(content: &Content, answers: &mut Answers) {
    for _ in 0..content.facts.len() {
        match Case::from_map(content, &answers.values) {
            Err(CaseError::Inconsistent { field, .. }) => answers.remove(&field),
            _ => return,
        }
    }
}

/// What a step of the trail asked, for the page.
enum Shown {
    Concern,
    Screen(Screen),
    /// One answer to check before it counts (facts.toml `confirm_when`).
    Confirm(FactIdx),
}

/// The trail after these answers: every answer as the form carries it, and this step added.
fn trail_after(content: &Content, answers: &Answers, before: &Trail, step: &[String]) -> Trail {
    let mut out = before.clone();
    out.answers = answers.carried_all(content);
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

/// The answer of `fact` to confirm before going on, if any: its `confirm_when` holds and she
/// has not yet confirmed this very answer.
fn to_confirm(content: &Content, case: &Case, answers: &Answers, trail: &Trail) -> Option<FactIdx> {
    let absent = content.applicability(case);
    let known = Known {
        case,
        absent: &absent,
    };
    content.facts.iter().enumerate().find_map(|(i, f)| {
        let when = f.confirm_when.as_ref()?;
        let words = answers.carried(content, &f.id)?;
        let confirmed = trail.confirmed.get(&f.id) == Some(&words);
        (when.eval(&known) == Tri::True && !confirmed).then_some(i as FactIdx)
    })
}

/// How a step was reached: a submitted form answers with a redirect to the next step's page
/// (post/redirect/get), a page request renders it.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    Post,
    Get,
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
    prune(content, &mut answers);
    let (case, decision) = match decide_at(ctx, &answers.values) {
        Ok(decided) => decided,
        Err(AppError::Case(e)) => {
            // Not expected from the form's own fields; show the question again with the error.
            let field = e.field().unwrap_or_default().to_string();
            answers.remove(&field);
            answers
                .errors
                .insert(field.clone(), "answer_required".into());
            let facts: Vec<FactIdx> = content.fact_index(&field).into_iter().collect();
            let case = Case::empty(content);
            let screen = questionnaire::screen_of(content, &case, &facts);
            let shown = Shown::Screen(screen);
            return view::step(
                ctx,
                &answers,
                &shown,
                1,
                &trail,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(e),
    };
    let next = if trail.steps.is_empty() && trail.concern.is_none() {
        Some((Shown::Concern, content.sections.len()))
    } else if decision.level == Level::Emergency {
        None
    } else if let Some(fact) = to_confirm(content, &case, &answers, &trail) {
        Some((Shown::Confirm(fact), 1))
    } else {
        let concern = (trail.concern.as_deref()).and_then(|c| questionnaire::concern(content, c));
        questionnaire::next_screen(content, &case, &decision, concern).map(|screen| {
            let left = questionnaire::screens_left(content, &case, &decision, &screen);
            (Shown::Screen(screen), left + 1)
        })
    };
    if let Some((shown, left)) = next {
        if via == Via::Post {
            return Ok(Redirect::to(&trail_url(&trail)).into_response());
        }
        return view::step(ctx, &answers, &shown, left, &trail, StatusCode::OK).await;
    }
    if via == Via::Get && ctx.patient.is_some() {
        // Storing happens only on a submitted form, never on a page load: she confirms.
        return view::review(ctx, &answers, &trail).await;
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
    view::decision(ctx, &answers, &decision, StatusCode::OK, None, Some(&trail)).await
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
        return advance(&ctx, Answers::default(), Trail::default(), Via::Get).await;
    };
    let mut answers = answers::read(content, &Form(trail.fields(PREFIX)), ctx.state.now());
    answers.errors.clear();
    if param("back") == Some("1") {
        if let Some((before, shown)) = trail.back() {
            if let Some(shown) = shown_of(&ctx, &answers, &shown) {
                return view::step(&ctx, &answers, &shown, 1, &before, StatusCode::OK).await;
            }
        }
    }
    advance(&ctx, answers, trail, Via::Get).await
}

/// The screen a step of the trail showed, rebuilt from its fact ids.
fn shown_of(ctx: &Ctx, answers: &Answers, step: &[String]) -> Option<Shown> {
    let content = &ctx.state.content;
    if step.iter().any(|s| s == CONCERN_STEP) {
        return Some(Shown::Concern);
    }
    let facts: Vec<FactIdx> = step
        .iter()
        .filter_map(|id| content.fact_index(id))
        .collect();
    if facts.is_empty() {
        return None;
    }
    let case = Case::from_map(content, &answers.values).unwrap_or_else(|_| Case::empty(content));
    Some(Shown::Screen(questionnaire::screen_of(
        content, &case, &facts,
    )))
}

/// `POST /checkin`: answers of a step, her concern, a confirmation, a request to review, or to
/// change one answer.
pub async fn step(ctx: Ctx, form: Form) -> Result<Response, AppError> {
    let content = &ctx.state.content;
    let mut before = form
        .get("trail")
        .and_then(Trail::decode)
        .unwrap_or_default();
    let mut answers = answers::read(content, &form, ctx.state.now());
    if let Some(id) = form.get("edit") {
        answers.errors.clear();
        let step = vec![id.to_string()];
        if let Some(shown) = shown_of(&ctx, &answers, &step) {
            return view::step(&ctx, &answers, &shown, 1, &before, StatusCode::OK).await;
        }
    }
    if form.get("action") == Some("review") {
        answers.errors.clear();
        return view::review(&ctx, &answers, &before).await;
    }
    let step: Vec<String> = form
        .get("step")
        .unwrap_or_default()
        .split(',')
        .filter(|id| *id == CONCERN_STEP || content.fact(id).is_some())
        .map(str::to_string)
        .collect();
    if step.iter().any(|s| s == CONCERN_STEP) {
        answers.errors.clear();
        choose_concern(content, &form, &mut answers, &mut before);
        let trail = trail_after(content, &answers, &before, &[CONCERN_STEP.to_string()]);
        return advance(&ctx, answers, trail, Via::Post).await;
    }
    // Only this step's questions can be wrong: others came back from hidden fields we wrote.
    answers.errors.retain(|id, _| step.contains(id));
    let step_facts: Vec<FactIdx> = step
        .iter()
        .filter_map(|id| content.fact_index(id))
        .collect();
    complete_step(ctx.state.content.as_ref(), &form, &step_facts, &mut answers);
    if let Some(id) = form
        .get("confirm")
        .filter(|id| step.iter().any(|s| s == id))
    {
        if let Some(words) = answers.carried(content, id) {
            before.confirmed.insert(id.to_string(), words);
        }
    }
    if !answers.errors.is_empty() && emergency_already(&ctx, &answers) {
        // A red flag she reported decides it: she is shown where to go now, not asked to
        // fix an answer first.
        answers.errors.clear();
    }
    if !answers.errors.is_empty() {
        let case =
            Case::from_map(content, &answers.values).unwrap_or_else(|_| Case::empty(content));
        let shown = match form.get("confirm").and_then(|id| content.fact_index(id)) {
            Some(f) => Shown::Confirm(f),
            None => Shown::Screen(questionnaire::screen_of(content, &case, &step_facts)),
        };
        return view::step(
            &ctx,
            &answers,
            &shown,
            1,
            &before,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let trail = trail_after(content, &answers, &before, &step);
    advance(&ctx, answers, trail, Via::Post).await
}

/// Whether the answers she gave, leaving out any she must fix, already make an emergency.
fn emergency_already(ctx: &Ctx, answers: &Answers) -> bool {
    let mut given = answers.values.clone();
    for field in answers.errors.keys() {
        given.remove(field);
    }
    matches!(decide_at(ctx, &given), Ok((_, d)) if d.level == Level::Emergency)
}

/// Her concern from the first screen: it orders the sections, and answers yes the facts it
/// stands for (a changed concern takes back what the old one answered). No choice is "just
/// checking".
fn choose_concern(content: &Content, form: &Form, answers: &mut Answers, trail: &mut Trail) {
    let old = (trail.concern.as_deref()).and_then(|c| questionnaire::concern(content, c));
    if let Some(old) = old {
        for &f in &old.answers {
            answers.remove(&content.facts[f as usize].id);
        }
    }
    let chosen = form
        .get(CONCERN_FIELD)
        .and_then(|c| questionnaire::concern(content, c))
        .or_else(|| content.concerns.last());
    if let Some(c) = chosen {
        for &f in &c.answers {
            answers.set(&content.facts[f as usize].id, Value::Bool(true));
        }
        trail.concern = Some(c.id.clone());
    }
}

/// Reads a submitted screen as a whole: a sign left unticked is no; a question it still needs
/// (it applies, after the screen's own answers) and did not get is an error; "None of these"
/// with a sign ticked beside it is an error.
fn complete_step(content: &Content, form: &Form, step: &[FactIdx], answers: &mut Answers) {
    for &f in step {
        let fact = &content.facts[f as usize];
        if fact.sign
            && !answers.values.contains_key(&fact.id)
            && !answers.errors.contains_key(&fact.id)
        {
            answers.set(&fact.id, Value::Bool(false));
        }
    }
    prune(content, answers);
    let case = Case::from_map(content, &answers.values).unwrap_or_else(|_| Case::empty(content));
    // A question the page hid (no answer on the screen opened it) is not required: if it is
    // still needed, a later screen asks it.
    let screen = questionnaire::screen_of(content, &case, step);
    let hidden: Vec<FactIdx> = (screen.groups.iter())
        .flat_map(|g| g.questions.iter())
        .filter(|q| !q.is_open(&case))
        .map(|q| q.fact)
        .collect();
    // What the page hid is not hers to fix: a value left in a hidden box is dropped with its
    // error (a later screen asks the question if it is still needed).
    for &f in &hidden {
        let id = &content.facts[f as usize].id;
        answers.remove(id);
        answers.errors.remove(id);
    }
    let case = Case::from_map(content, &answers.values).unwrap_or_else(|_| Case::empty(content));
    let applies = content.applicability(&case);
    for &f in step {
        let fact = &content.facts[f as usize];
        let missing =
            !answers.values.contains_key(&fact.id) && !answers.errors.contains_key(&fact.id);
        if missing && !fact.sign && applies[f as usize] == Tri::True && !hidden.contains(&f) {
            answers
                .errors
                .insert(fact.id.clone(), "answer_required".into());
        }
    }
    for section in step.iter().map(|&f| content.facts[f as usize].section) {
        let none = form.get(&view::none_field(&content.sections[section])) == Some("yes");
        let ticked = step.iter().find(|&&f| {
            let fact = &content.facts[f as usize];
            fact.sign
                && fact.section == section
                && answers.values.get(&fact.id) == Some(&Value::Bool(true))
        });
        if let (true, Some(&f)) = (none, ticked) {
            answers.errors.insert(
                content.facts[f as usize].id.clone(),
                "answer_none_and_sign".into(),
            );
        }
    }
}

/// `POST /checkin/save`: an anonymous check-in saved with her enrolment code. Signs her in and
/// stores the check-in (or, if what the clinic knows of her opens new questions, asks them).
pub async fn save(mut ctx: Ctx, form: Form) -> Result<Response, AppError> {
    let code = session::normalise_code(form.get("code").unwrap_or_default());
    let address = ctx.actor.address.clone().unwrap_or_default();
    if !ctx
        .state
        .pages
        .code_limit
        .allow(&ctx.state.app, &address, &code)
        .await?
    {
        return Err(AppError::TooManyRequests);
    }
    let credential = aftercare_app::patients::Credential::Code(&code);
    let Some((patient, cookie)) = session::sign_in_with(&ctx, credential).await? else {
        let answers = answers::read(&ctx.state.content, &form, ctx.state.now());
        let decision = decide_at(&ctx, &answers.values)?.1;
        let error = (ctx.t("code_unknown"), code);
        return view::decision(
            &ctx,
            &answers,
            &decision,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(error),
            None,
        )
        .await;
    };
    ctx.actor = audit::Actor {
        kind: crate::audit::ActorKind::Patient,
        id: Some(patient.id.to_string()),
        address: ctx.actor.address.clone(),
    };
    ctx.patient = Some(patient);
    let answers = answers::read(&ctx.state.content, &form, ctx.state.now());
    let mut before = form
        .get("trail")
        .and_then(Trail::decode)
        .unwrap_or_default();
    // What she told the anonymous check-in stands: the concern step is behind her.
    before.concern.get_or_insert_with(|| {
        let last = ctx.state.content.concerns.last();
        last.map(|c| c.id.clone()).unwrap_or_default()
    });
    let trail = trail_after(&ctx.state.content, &answers, &before, &[]);
    let mut response = advance(&ctx, answers, trail, Via::Post).await?;
    for v in cookie.headers().get_all(axum::http::header::SET_COOKIE) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, v.clone());
    }
    Ok(response)
}

/// The decision on the answers now, over what the clinic knows of her when she is known.
fn decide_at(
    ctx: &Ctx,
    answers: &Map<String, Value>,
) -> Result<(aftercare_core::Case, aftercare_core::Decision), AppError> {
    let state = &ctx.state;
    Ok(state
        .app
        .checkins()
        .decide(ctx.patient.as_ref(), answers, state.now())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changing_an_answer_again_and_again_never_lengthens_the_trail() {
        let content = Content::bundled().expect("content");
        let answers = Answers::default();
        let mut trail = trail_after(
            &content,
            &answers,
            &Trail::default(),
            &["fever".into(), "rigors".into()],
        );
        trail = trail_after(&content, &answers, &trail, &["headache".into()]);
        for _ in 0..200 {
            trail = trail_after(&content, &answers, &trail, &["fever".into()]);
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
