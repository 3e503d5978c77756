//! The check-in as screens: which of the questions the engine needs go together on the next
//! screen a patient sees.
//!
//! The engine decides *what* is needed ([`needed`]: its `ask`, most urgent first, then the care
//! plan's questions while the level allows home care); this module only decides *how* to group
//! it, so that she meets each section once:
//! - first the context sections (the procedure: nearly every rule reads it), then the sections
//!   of what brings her (her [`Concern`]), then the others by the urgency of their first needed
//!   question;
//! - a section's signs (yes/no symptoms) form one checklist, read fact by fact; its other
//!   questions come with it, each followed on the same screen by the questions that its answer
//!   opens (the time after the procedure, the day of the birth), which the page may reveal as
//!   she answers;
//! - small sections share a screen while it stays short;
//! - nothing is asked once the level is an emergency: no answer can raise it, and she must get
//!   help now.
//!
//! Nothing here reads a clock or a store: the same case always gives the same screen.

use crate::case::{Case, Value};
use crate::content::{Concern, Content, FactIdx, FactKind};
use crate::engine::{plan_questions, triage, Decision};
use crate::level::Level;
use crate::logic::Tri;

/// At most this many questions (choices and numbers) on one screen, followers included.
pub const MAX_QUESTIONS: usize = 6;
/// At most this many signs in the checklists of one screen.
pub const MAX_SIGNS: usize = 16;

/// One screen of the questionnaire: one or more sections' groups.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Screen {
    pub groups: Vec<Group>,
}

/// The part of a screen from one section.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub section: usize,
    /// Questions in the section's order, each followed by the questions its answer opens.
    pub questions: Vec<Question>,
    /// Signs for the checklist, most urgent first.
    pub signs: Vec<FactIdx>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub fact: FactIdx,
    /// For a question that applies only after an answer on this screen: the facts it follows,
    /// each with the answers that open it (any one opens it). Empty: always shown.
    pub follows: Vec<(FactIdx, Vec<Value>)>,
}

impl Question {
    /// Whether the screen shows this question under these answers: it follows nothing, or an
    /// answer it follows opens it. The page's script hides it otherwise.
    pub fn is_open(&self, case: &Case) -> bool {
        self.follows.is_empty()
            || (self.follows.iter())
                .any(|(gate, opens)| case.get(*gate).is_some_and(|v| opens.contains(&v)))
    }
}

impl Screen {
    /// Every fact on the screen, in screen order.
    pub fn facts(&self) -> Vec<FactIdx> {
        let mut out = Vec::new();
        for g in &self.groups {
            out.extend(g.questions.iter().map(|q| q.fact));
            out.extend(g.signs.iter().copied());
        }
        out
    }

    fn counts(&self) -> (usize, usize) {
        let questions = self.groups.iter().map(|g| g.questions.len()).sum();
        let signs = self.groups.iter().map(|g| g.signs.len()).sum();
        (questions, signs)
    }
}

/// The facts the questionnaire still needs, most urgent first: the engine's `ask`, then the
/// questions that complete the care plan (an urgent plan still carries, say, mental-health
/// support). Empty at an emergency: then she is shown where to go, not asked more.
pub fn needed(content: &Content, case: &Case, decision: &Decision) -> Vec<FactIdx> {
    if decision.level == Level::Emergency {
        return Vec::new();
    }
    let mut out = decision.ask.clone();
    for f in plan_questions(content, case, decision) {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// The next screen for this case, or `None` when nothing more is needed.
pub fn next_screen(
    content: &Content,
    case: &Case,
    decision: &Decision,
    concern: Option<&Concern>,
) -> Option<Screen> {
    let needed = needed(content, case, decision);
    let order = section_order(content, &needed, concern);
    let mut screen = Screen::default();
    for section in order {
        let Some(group) = group_of(content, case, &needed, section, &screen) else {
            continue;
        };
        if screen.groups.is_empty() {
            screen.groups.push(group);
            // The context (the procedure) has a screen of its own.
            if content.context_sections.contains(&section) {
                break;
            }
            continue;
        }
        let (q, s) = screen.counts();
        let fits = q + group.questions.len() <= MAX_QUESTIONS
            && s + group.signs.len() <= MAX_SIGNS
            && !content.context_sections.contains(&section);
        if !fits {
            break;
        }
        screen.groups.push(group);
    }
    (!screen.groups.is_empty()).then_some(screen)
}

/// About how many screens are left after this one: one per section still needed.
pub fn screens_left(content: &Content, case: &Case, decision: &Decision, screen: &Screen) -> usize {
    let on_screen = screen.facts();
    let mut sections: Vec<usize> = needed(content, case, decision)
        .into_iter()
        .filter(|f| !on_screen.contains(f))
        .map(|f| content.facts[f as usize].section)
        .collect();
    sections.sort_unstable();
    sections.dedup();
    sections.len()
}

/// Context sections, then the concern's, then the rest by their most urgent needed fact.
fn section_order(content: &Content, needed: &[FactIdx], concern: Option<&Concern>) -> Vec<usize> {
    let mut order: Vec<usize> = content.context_sections.clone();
    for &s in concern.map(|c| c.sections.as_slice()).unwrap_or_default() {
        if !order.contains(&s) {
            order.push(s);
        }
    }
    for &f in needed {
        let s = content.facts[f as usize].section;
        if !order.contains(&s) {
            order.push(s);
        }
    }
    order
}

/// The needed facts of one section, as a group; `None` when it has none.
fn group_of(
    content: &Content,
    case: &Case,
    needed: &[FactIdx],
    section: usize,
    screen: &Screen,
) -> Option<Group> {
    let mine: Vec<FactIdx> = needed
        .iter()
        .copied()
        .filter(|&f| content.facts[f as usize].section == section)
        .collect();
    if mine.is_empty() {
        return None;
    }
    let room = MAX_QUESTIONS.saturating_sub(screen.counts().0).max(1);
    let mut questions: Vec<Question> = Vec::new();
    let mut asked: Vec<FactIdx> = (0..content.facts.len() as FactIdx)
        .filter(|f| mine.contains(f) && !content.facts[*f as usize].sign)
        .collect();
    asked.truncate(room);
    let mut found: Vec<FactIdx> = Vec::new();
    for &gate in &asked {
        for f in followers(content, case, gate, section) {
            if !asked.contains(&f) && !found.contains(&f) {
                found.push(f);
            }
        }
    }
    let found: Vec<Question> = (found.into_iter())
        .map(|fact| Question {
            fact,
            follows: follows_of(content, case, fact, &asked),
        })
        .collect();
    // Each following question comes right after the last of the answers that can open it.
    let last_gate = |q: &Question| {
        (q.follows.iter())
            .filter_map(|(g, _)| asked.iter().position(|a| a == g))
            .max()
            .unwrap_or(asked.len().saturating_sub(1))
    };
    for (i, &fact) in asked.iter().enumerate() {
        questions.push(Question {
            fact,
            follows: Vec::new(),
        });
        questions.extend(found.iter().filter(|q| last_gate(q) == i).cloned());
    }
    let signs: Vec<FactIdx> = mine
        .iter()
        .copied()
        .filter(|&f| content.facts[f as usize].sign)
        .take(MAX_SIGNS)
        .collect();
    Some(Group {
        section,
        questions,
        signs,
    })
}

/// The questions of `section` that an answer to `gate` would open and the questionnaire would
/// then need.
fn followers(content: &Content, case: &Case, gate: FactIdx, section: usize) -> Vec<FactIdx> {
    let mut out: Vec<FactIdx> = Vec::new();
    for v in answers_of(content, gate) {
        let mut hypothetical = case.clone();
        hypothetical.set(gate, Some(v));
        let decision = triage(content, &hypothetical);
        let absent = content.applicability(&hypothetical);
        for f in needed(content, &hypothetical, &decision) {
            let fact = &content.facts[f as usize];
            let Some(when) = &fact.asked_when else {
                continue;
            };
            let mut reads_gate = false;
            when.visit_facts(&mut |g| reads_gate |= g == gate);
            let opened = absent[f as usize] == Tri::True;
            if reads_gate && opened && fact.section == section && !fact.sign && !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}

/// What opens `fact` on a screen that also asks `on_screen`: each question there that its
/// `asked_when` reads, with every answer under which it then applies (even one where the
/// engine would not need it yet: the page shows it for those answers). `case` is the case
/// without the screen's answers.
fn follows_of(
    content: &Content,
    case: &Case,
    fact: FactIdx,
    on_screen: &[FactIdx],
) -> Vec<(FactIdx, Vec<Value>)> {
    let mut gates = Vec::new();
    if let Some(when) = &content.facts[fact as usize].asked_when {
        when.visit_facts(&mut |g| {
            if on_screen.contains(&g) && !content.facts[g as usize].sign && !gates.contains(&g) {
                gates.push(g);
            }
        });
    }
    (gates.into_iter())
        .map(|g| {
            let opens = (answers_of(content, g).into_iter())
                .filter(|&v| {
                    let mut hypothetical = case.clone();
                    hypothetical.set(g, Some(v));
                    content.applicability(&hypothetical)[fact as usize] == Tri::True
                })
                .collect();
            (g, opens)
        })
        .collect()
}

/// The screen that asked these facts, rebuilt (for Back, and to show a screen again with its
/// errors): grouped by section in the order given, each question that an answer on the screen
/// opens marked as following it.
pub fn screen_of(content: &Content, case: &Case, facts: &[FactIdx]) -> Screen {
    // What opens a question is read as when the screen was first shown: without its answers.
    let mut case = case.clone();
    for &f in facts {
        case.set(f, None);
    }
    let mut screen = Screen::default();
    for &f in facts {
        let fact = &content.facts[f as usize];
        let at = match screen.groups.iter().position(|g| g.section == fact.section) {
            Some(i) => i,
            None => {
                screen.groups.push(Group {
                    section: fact.section,
                    questions: Vec::new(),
                    signs: Vec::new(),
                });
                screen.groups.len() - 1
            }
        };
        if fact.sign {
            screen.groups[at].signs.push(f);
            continue;
        }
        let follows = follows_of(content, &case, f, facts);
        screen.groups[at]
            .questions
            .push(Question { fact: f, follows });
    }
    screen
}

/// Every answer a yes/no or choice question can take; none for a number.
fn answers_of(content: &Content, fact: FactIdx) -> Vec<Value> {
    match &content.facts[fact as usize].kind {
        FactKind::Bool => vec![Value::Bool(true), Value::Bool(false)],
        FactKind::Enum { values, .. } => (0..values.len() as u16).map(Value::Enum).collect(),
        FactKind::Number { .. } => Vec::new(),
    }
}

/// The concern with this id.
pub fn concern<'a>(content: &'a Content, id: &str) -> Option<&'a Concern> {
    content.concerns.iter().find(|c| c.id == id)
}
