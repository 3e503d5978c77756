//! The clinical content: facts, terms, rules, actions, levels, the care plan, the expected course
//! and the texts in every language, loaded from `content/` and validated as a whole.
//!
//! Loading has two stages. [`raw`] parses each file strictly (unknown keys are errors); then
//! [`compile`] checks every cross-reference (fact ids, value types and domains, action ids,
//! translations, rules that can never fire) and builds the indexed model below. All problems are
//! collected and reported together, each with its file, line and id.

mod compile;
pub(crate) use compile::urgency_index;
mod error;
mod load;
pub mod raw;
mod satisfiable;
mod text;

pub mod condition;

pub use condition::{Cmp, Condition, FactIdx};
pub use error::{ContentError, ContentErrors};
pub use load::Source;
pub use text::{FactText, LevelText, PlanText, RuleText, Text, Texts};

use crate::case::{Case, Value};
use crate::level::Level;
use crate::logic::Tri;
use std::collections::{BTreeMap, HashMap};

/// Index of an action in [`Content::actions`].
pub type ActionIdx = u16;

/// The validated, indexed clinical content. Built once at start-up and shared read-only.
#[derive(Debug)]
pub struct Content {
    pub facts: Vec<Fact>,
    pub sections: Vec<String>,
    /// Sections asked right after the concern (the procedure): nearly every rule reads them.
    pub context_sections: Vec<usize>,
    /// What may bring her to a check-in, asked first: it orders the sections.
    pub concerns: Vec<Concern>,
    /// Rules ordered from the most to the least urgent level, file order within a level: the
    /// order in which open rules prompt questions.
    pub rules: Vec<Rule>,
    pub actions: Vec<Action>,
    /// Per level (indexed by [`Level::index`]).
    pub levels: [LevelInfo; 4],
    pub plan_items: Vec<PlanItem>,
    /// The fact counting the days of the pain, which plan windows are measured in.
    pub pain_day_fact: FactIdx,
    pub watch: Vec<Watch>,
    pub course: Course,
    pub texts: Vec<Texts>,
    /// A digest of every content file: decisions record it, so any decision can be reproduced
    /// with the content that made it.
    pub version: String,
    fact_ids: HashMap<String, FactIdx>,
    action_ids: HashMap<String, ActionIdx>,
}

#[derive(Debug, Clone)]
pub struct Fact {
    pub id: String,
    pub section: usize,
    pub kind: FactKind,
    /// When the question applies; `None`: always.
    pub asked_when: Option<Condition>,
    /// The questionnaire may offer "Not sure", read as yes (see `facts.toml`), or for an enum
    /// as [`Fact::unsure_as`].
    pub unsure: bool,
    /// For an enum that offers "Not sure": the value it is read as.
    pub unsure_as: Option<u16>,
    /// A sign asked in a checklist: unticked on a submitted screen reads as no.
    pub sign: bool,
    /// A number of hours since an event, asked as the day and time it happened.
    pub asked_as_time: bool,
    /// When true, the questionnaire asks her to confirm this answer once before going on.
    pub confirm_when: Option<Condition>,
}

/// One answer to "What brings you here today?": it puts its sections first and may answer
/// yes/no facts (back pain, headache) so they are not asked again.
#[derive(Debug, Clone)]
pub struct Concern {
    pub id: String,
    pub sections: Vec<usize>,
    pub answers: Vec<FactIdx>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FactKind {
    Bool,
    Enum {
        values: Vec<String>,
        /// Values run from least to most worrying.
        ordered: bool,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
        integer: bool,
    },
}

impl Fact {
    pub fn value_to_json(&self, v: Value) -> serde_json::Value {
        match (v, &self.kind) {
            (Value::Bool(b), _) => serde_json::Value::Bool(b),
            (Value::Enum(i), FactKind::Enum { values, .. }) => {
                serde_json::Value::String(values[i as usize].clone())
            }
            (Value::Number(x), _) => {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    serde_json::Value::from(x as i64)
                } else {
                    serde_json::Value::from(x)
                }
            }
            (Value::Enum(i), _) => serde_json::Value::from(i),
        }
    }

    /// The allowed range of a number, for error messages ("0 to 10", "at least 0").
    pub fn range_text(&self) -> String {
        match &self.kind {
            FactKind::Number { min, max, .. } => match (min, max) {
                (Some(a), Some(b)) => format!("{a} to {b}"),
                (Some(a), None) => format!("at least {a}"),
                (None, Some(b)) => format!("at most {b}"),
                (None, None) => "any number".into(),
            },
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub level: Level,
    pub when: Condition,
    pub adds: Vec<ActionIdx>,
    pub adds_when: Vec<(ActionIdx, Condition)>,
    pub source: Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Care,
    Referral,
    SelfCare,
    /// What to check before treating (ask a pharmacist first): never a treatment, so it stays
    /// in a plan whose level leaves out home care.
    Caution,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub id: String,
    pub kind: ActionKind,
    pub education: Option<String>,
    /// A patient can ask her clinic for an appointment for it (its texts then name whom she
    /// would see, under `[booking.<id>]`).
    pub booking: bool,
}

#[derive(Debug, Clone, Default)]
pub struct LevelInfo {
    pub action: Option<ActionIdx>,
    pub check_in_again_hours: Option<u32>,
    /// False where treating at home would only delay getting help: the plan then holds only
    /// cautions ([`ActionKind::Caution`]) and the actions of the rules.
    pub home_care: bool,
}

#[derive(Debug, Clone)]
pub struct PlanItem {
    pub action: ActionIdx,
    pub when: Condition,
    pub unless: Option<Condition>,
    pub from_pain_day: Option<u32>,
    pub until_pain_day: Option<u32>,
    /// The plan item (index) that takes over when this one ends.
    pub then: Option<usize>,
    pub params: BTreeMap<String, f64>,
}

#[derive(Debug, Clone)]
pub struct Watch {
    pub id: String,
    pub when: Option<Condition>,
    /// How soon the warning tells her to act; never lower than the most urgent of its rules
    /// (checked at load), and the words for it come from the level's texts.
    pub urgency: Level,
    /// Indices into [`Content::rules`]: the rules whose signs the warning describes.
    pub rules: Vec<usize>,
}

/// The facts a diary day is built on: indices of the facts that carry the daily pain and what the
/// clinic knows of the patient.
#[derive(Debug, Clone, Default)]
pub struct ContextFacts {
    pub pain: FactIdx,
    pub score: FactIdx,
    pub pain_days: FactIdx,
    pub procedure: FactIdx,
    pub hours_since_procedure: FactIdx,
    pub delivered: FactIdx,
    pub days_since_delivery: FactIdx,
}

#[derive(Debug, Clone)]
pub struct Course {
    pub context: ContextFacts,
    /// A meaningful change on the 0-10 scale: at least this many points...
    pub change_points: f64,
    /// ...or this fraction of the starting score.
    pub change_fraction: f64,
    pub milestones: Vec<Milestone>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MilestoneCheck {
    PainGone,
    MeaningfulImprovement,
    /// Today's case still meets the milestone's `when` past its day (a post-puncture headache
    /// beyond two weeks): no series needed.
    StillPresent,
}

#[derive(Debug, Clone)]
pub struct Milestone {
    pub id: String,
    pub day: u32,
    /// The number fact that counts this milestone's days (`headache_days`); `None`: the days of
    /// the back pain in the diary.
    pub day_fact: Option<FactIdx>,
    pub when: Condition,
    pub check: MilestoneCheck,
    pub escalate: Level,
    /// Actions a missed milestone adds to the day's decision (physiotherapy at six weeks).
    pub adds: Vec<ActionIdx>,
}

/// A language of the content, as an index into [`Content::texts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang(pub(crate) usize);

impl Content {
    pub fn fact_index(&self, id: &str) -> Option<FactIdx> {
        self.fact_ids.get(id).copied()
    }

    pub fn fact(&self, id: &str) -> Option<&Fact> {
        self.fact_index(id).map(|i| &self.facts[i as usize])
    }

    pub fn action_index(&self, id: &str) -> Option<ActionIdx> {
        self.action_ids.get(id).copied()
    }

    pub fn level_info(&self, level: Level) -> &LevelInfo {
        &self.levels[level.index()]
    }

    /// The language with this code ("en", "es"), if the content has it.
    pub fn lang(&self, code: &str) -> Option<Lang> {
        self.texts.iter().position(|t| t.code == code).map(Lang)
    }

    /// The first language file (English in the shipped content): the fallback.
    pub fn default_lang(&self) -> Lang {
        self.lang("en").unwrap_or(Lang(0))
    }

    pub fn text(&self, lang: Lang) -> &Texts {
        &self.texts[lang.0]
    }

    pub fn languages(&self) -> impl Iterator<Item = (&str, &str)> {
        self.texts
            .iter()
            .map(|t| (t.code.as_str(), t.name.as_str()))
    }

    /// For each fact, what its absence means for this case: `Unknown` (the question applies or
    /// may apply, so the answer is still to come) or `False` (the question does not apply).
    /// Every fact is a question: a measurement that may not have been taken is asked as a yes/no
    /// first (blood pressure), so unknown never passes for "not measured". Computed in fact order, which
    /// the loader guarantees lets each fact's "asked when" see its gate already settled.
    pub fn applicability(&self, case: &Case) -> Vec<Tri> {
        let mut out = vec![Tri::Unknown; self.facts.len()];
        for (idx, fact) in self.facts.iter().enumerate() {
            out[idx] = match &fact.asked_when {
                None => Tri::True,
                Some(when) => when.eval(&Known { case, absent: &out }),
            };
        }
        out
    }

    /// A condition in words, for error messages: `delivered is true`.
    pub fn describe(&self, c: &Condition) -> String {
        let name = |f: &FactIdx| self.facts[*f as usize].id.as_str();
        let join = |parts: &[Condition], sep: &str| {
            parts
                .iter()
                .map(|p| self.describe(p))
                .collect::<Vec<_>>()
                .join(sep)
        };
        match c {
            Condition::All(p) => format!("({})", join(p, " and ")),
            Condition::Any(p) => format!("({})", join(p, " or ")),
            Condition::Not(inner) => format!("not {}", self.describe(inner)),
            Condition::Is(f, v) => {
                let fact = &self.facts[*f as usize];
                format!("{} is {}", name(f), fact.value_to_json(*v))
            }
            Condition::In(f, vals) => {
                let fact = &self.facts[*f as usize];
                let vs: Vec<String> = vals
                    .iter()
                    .map(|v| fact.value_to_json(Value::Enum(*v)).to_string())
                    .collect();
                format!("{} is one of {}", name(f), vs.join(", "))
            }
            Condition::Compare(f, cmp, n) => {
                let op = match cmp {
                    Cmp::Lt => "<",
                    Cmp::Le => "<=",
                    Cmp::Gt => ">",
                    Cmp::Ge => ">=",
                };
                format!("{} {op} {n}", name(f))
            }
        }
    }
}

/// A case seen through the content: its values and what each absence means.
pub struct Known<'a> {
    pub case: &'a Case,
    pub absent: &'a [Tri],
}

impl condition::Facts for Known<'_> {
    fn value(&self, fact: FactIdx) -> Option<Value> {
        self.case.get(fact)
    }

    fn absent_means(&self, fact: FactIdx) -> Tri {
        self.absent[fact as usize]
    }
}
