//! The triage engine: a case in, a decision out.
//!
//! Every rule is evaluated in three-valued logic. Rules that are true fire, and the level is the
//! highest fired level. A rule above that level that is still *unknown* could raise it once a
//! question is answered, so the decision is `incomplete` and `ask` lists the facts that would
//! settle those rules, most urgent rule first: that is what the questionnaire asks next. An
//! unanswered red flag therefore never lets a lower answer through as final.

use crate::case::Case;
use crate::content::{ActionIdx, Content, FactIdx, Known};
use crate::level::Level;
use crate::logic::Tri;
use crate::plan::{self, CarePlan};
use serde::Serialize;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No unanswered question could raise the level.
    Final,
    /// A more urgent rule is still open: ask the facts in `ask` before relying on the level.
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

/// The questions that would complete the care plan once the level is settled: facts that plan
/// items, their contraindications and the red flags to explain depend on (the day the pain
/// began, breastfeeding, ...). They never change the level, so `ask` leaves them out; a
/// questionnaire that wants a personal plan asks them next, gates first.
pub fn plan_questions(content: &Content, case: &Case) -> Vec<FactIdx> {
    let absent = content.applicability(case);
    let known = Known {
        case,
        absent: &absent,
    };
    let conditions = content
        .plan_items
        .iter()
        .flat_map(|item| std::iter::once(&item.when).chain(item.unless.as_ref()))
        .chain(content.watch.iter().filter_map(|w| w.when.as_ref()));
    let mut out = Vec::new();
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
