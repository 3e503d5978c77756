//! The triage engine: a case in, a decision out.
//!
//! Every rule is evaluated in three-valued logic. Rules that are true fire, and the level is the
//! highest fired level. A rule above that level that is still *unknown* could raise it once a
//! question is answered, so the decision is `incomplete` and `ask` lists the facts that would
//! settle those rules, most urgent rule first: that is what the questionnaire asks next. An
//! unanswered red flag therefore never lets a lower answer through as final. A fired rule whose
//! extra action is still open (a neurologist once a weakness has lasted six weeks) keeps the
//! decision incomplete too, so that what the rule calls for is never cut short.

use crate::case::Case;
use crate::content::{ActionIdx, ActionKind, Content, FactIdx, Known};
use crate::level::Level;
use crate::logic::Tri;
use crate::plan::{self, CarePlan};
use serde::Serialize;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No unanswered question could raise the level or change what the fired rules call for.
    Final,
    /// A more urgent rule is still open, or an action of a fired rule is: ask the facts in
    /// `ask` before relying on the level.
    Incomplete,
}

/// What the engine concluded about one case, as indices into the content that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub status: Status,
    pub level: Level,
    /// Indices of the fired rules in [`Content::rules`], most urgent first.
    pub fired: Vec<usize>,
    /// The level's action, the actions the fired rules add, then the plan's actions.
    pub actions: Vec<ActionIdx>,
    /// The facts to ask next, most urgent first.
    pub ask: Vec<FactIdx>,
    pub plan: CarePlan,
}

/// The facts that made the decision urgent: those read by its fired rules at `min` or above,
/// in fact order without repeats. A clinician reads these answers first.
pub fn deciding_facts(content: &Content, decision: &Decision, min: Level) -> Vec<FactIdx> {
    let mut facts = Vec::new();
    for &i in &decision.fired {
        let rule = &content.rules[i];
        if rule.level >= min {
            rule.when.visit_facts(&mut |f| facts.push(f));
        }
    }
    facts.sort_unstable();
    facts.dedup();
    facts
}

/// Decides one case. Deterministic: the same content and case always give the same decision.
pub fn triage(content: &Content, case: &Case) -> Decision {
    let absent = content.applicability(case);
    let known = Known {
        case,
        absent: &absent,
    };
    let mut level = Level::SelfCare;
    let mut fired = Vec::new();
    let mut open = Vec::new();
    for (idx, rule) in content.rules.iter().enumerate() {
        match rule.when.eval(&known) {
            Tri::True => {
                fired.push(idx);
                level = level.max(rule.level);
            }
            Tri::Unknown => open.push(idx),
            Tri::False => {}
        }
    }
    let mut ask = Vec::new();
    let mut still_open = false;
    for &idx in &open {
        let rule = &content.rules[idx];
        if rule.level > level {
            still_open = true;
            rule.when
                .unsettled_facts(&known, &mut |f| push_question(content, &known, f, &mut ask));
        }
    }
    for &idx in &fired {
        for (_, when) in &content.rules[idx].adds_when {
            if when.eval(&known) == Tri::Unknown {
                still_open = true;
                when.unsettled_facts(&known, &mut |f| push_question(content, &known, f, &mut ask));
            }
        }
    }
    let mut actions = Vec::new();
    let mut add = |a: ActionIdx| {
        if !actions.contains(&a) {
            actions.push(a);
        }
    };
    if let Some(a) = content.level_info(level).action {
        add(a);
    }
    for &idx in &fired {
        let rule = &content.rules[idx];
        rule.adds.iter().for_each(|a| add(*a));
        for (a, when) in &rule.adds_when {
            if when.eval(&known).is_true() {
                add(*a);
            }
        }
    }
    let plan = plan::build(content, &known, level);
    for item in &plan.items {
        add(item.action);
    }
    Decision {
        status: if still_open {
            Status::Incomplete
        } else {
            Status::Final
        },
        level,
        fired,
        actions,
        ask,
        plan,
    }
}

/// The questions that complete the decision once its level is final: the facts of rules that
/// are still open and would add an action (a blood pressure check, mental health support) at
/// the level already reached or below it, then the facts that plan items, their
/// contraindications and the red flags to explain depend on (the day the pain began,
/// breastfeeding, blood thinners). None of them can change the level, so `ask` leaves them out;
/// a questionnaire that wants the whole decision asks them next, gates first. Answering `ask`
/// and then these, from a complete case, reaches the complete case's level and actions
/// (a property test holds it).
pub fn plan_questions(content: &Content, case: &Case, decision: &Decision) -> Vec<FactIdx> {
    let absent = content.applicability(case);
    let known = Known {
        case,
        absent: &absent,
    };
    let mut out = Vec::new();
    for rule in &content.rules {
        let adds_something = !rule.adds.is_empty() || !rule.adds_when.is_empty();
        if !adds_something {
            continue;
        }
        match rule.when.eval(&known) {
            Tri::Unknown => rule
                .when
                .unsettled_facts(&known, &mut |f| push_question(content, &known, f, &mut out)),
            Tri::True => {
                for (_, when) in &rule.adds_when {
                    when.unsettled_facts(&known, &mut |f| {
                        push_question(content, &known, f, &mut out)
                    });
                }
            }
            Tri::False => {}
        }
    }
    let home_care = content.level_info(decision.level).home_care;
    let items = content
        .plan_items
        .iter()
        .filter(|item| {
            home_care || content.actions[item.action as usize].kind == ActionKind::Caution
        })
        .flat_map(|item| std::iter::once(&item.when).chain(item.unless.as_ref()));
    let conditions = items.chain(content.watch.iter().filter_map(|w| w.when.as_ref()));
    for condition in conditions {
        condition.unsettled_facts(&known, &mut |f| push_question(content, &known, f, &mut out));
    }
    out
}

/// Queues a fact to ask, or, when its own question does not apply yet (its gate is unknown), the
/// facts of its gate, so that questions always come in an order a person can answer.
fn push_question(content: &Content, known: &Known, fact: FactIdx, ask: &mut Vec<FactIdx>) {
    if known.case.get(fact).is_some() || ask.contains(&fact) {
        return;
    }
    match known.absent[fact as usize] {
        Tri::True => ask.push(fact),
        Tri::Unknown => {
            if let Some(gate) = &content.facts[fact as usize].asked_when {
                gate.unsettled_facts(known, &mut |g| push_question(content, known, g, ask));
            }
        }
        Tri::False => {}
    }
}
