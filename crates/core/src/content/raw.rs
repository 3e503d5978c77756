//! The content files exactly as written: strict serde structs (`deny_unknown_fields`), before any
//! cross-checking. `content::compile` turns these into the typed, indexed model the engine runs.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactsFile {
    #[serde(default)]
    pub fact: Vec<RawFact>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFact {
    pub id: Spanned<String>,
    pub section: String,
    pub kind: String,
    pub values: Option<Vec<String>>,
    #[serde(default)]
    pub ordered: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    #[serde(default)]
    pub integer: bool,
    pub asked_when: Option<RawCondition>,
    /// A yes/no question a patient may not know the answer to: the questionnaire offers
    /// "Not sure" and reads it as yes, the answer that can only raise the level.
    #[serde(default)]
    pub unsure: bool,
    /// For an enum with `unsure`: the value "Not sure" is read as.
    pub unsure_as: Option<String>,
    /// A sign she either has or has not: asked in a checklist ("Do you have any of these?"),
    /// where an unticked box on a submitted screen reads as no.
    #[serde(default)]
    pub sign: bool,
    /// How a number is asked: `"time"` for hours since an event, asked as the day and time.
    pub asked_as: Option<String>,
    /// When this answer, with others, must be confirmed before it counts (a time that would
    /// let the block explain a leg deficit): the questionnaire asks her to check it once.
    pub confirm_when: Option<RawCondition>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermsFile {
    #[serde(default)]
    pub term: Vec<RawTerm>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTerm {
    pub id: Spanned<String>,
    pub note: String,
    pub when: RawCondition,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default)]
    pub rule: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub id: Spanned<String>,
    pub level: String,
    pub when: RawCondition,
    #[serde(default)]
    pub adds: Vec<String>,
    #[serde(default)]
    pub adds_when: Vec<RawConditionalAction>,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConditionalAction {
    pub action: String,
    pub when: RawCondition,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsFile {
    #[serde(default)]
    pub action: Vec<RawAction>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    pub id: Spanned<String>,
    pub kind: String,
    pub education: Option<String>,
    /// A patient can ask her clinic for an appointment for it.
    #[serde(default)]
    pub booking: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelsFile {
    #[serde(default)]
    pub level: Vec<RawLevel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLevel {
    pub id: Spanned<String>,
    pub action: Option<String>,
    pub check_in_again_hours: Option<u32>,
    pub home_care: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionsFile {
    #[serde(default)]
    pub section: Vec<RawSection>,
    #[serde(default)]
    pub concern: Vec<RawConcern>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSection {
    pub id: Spanned<String>,
    /// Asked right after what brings her, before any red flag.
    #[serde(default)]
    pub context: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConcern {
    pub id: Spanned<String>,
    /// The sections whose questions come first for this concern.
    #[serde(default)]
    pub sections: Vec<String>,
    /// Yes/no facts that choosing this concern answers yes.
    #[serde(default)]
    pub answers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    pub pain_day_fact: String,
    #[serde(default)]
    pub item: Vec<RawPlanItem>,
    #[serde(default)]
    pub watch: Vec<RawWatch>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlanItem {
    pub action: Spanned<String>,
    pub when: RawCondition,
    pub unless: Option<RawCondition>,
    pub from_pain_day: Option<u32>,
    pub until_pain_day: Option<u32>,
    pub then: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWatch {
    pub id: Spanned<String>,
    pub when: Option<RawCondition>,
    pub urgency: String,
    #[serde(default)]
    pub rules: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseFile {
    pub context: RawContext,
    pub change: RawChange,
    #[serde(default)]
    pub milestone: Vec<RawMilestone>,
}

/// The facts a diary day is built on (see course.toml).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContext {
    pub pain: String,
    pub score: String,
    pub pain_days: String,
    pub procedure: String,
    pub hours_since_procedure: String,
    pub delivered: String,
    pub days_since_delivery: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChange {
    pub points: f64,
    pub fraction: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMilestone {
    pub id: Spanned<String>,
    pub day: u32,
    pub when: RawCondition,
    pub check: String,
    pub escalate: String,
    pub day_fact: Option<String>,
    #[serde(default)]
    pub adds: Vec<String>,
}

/// One condition table. Exactly one of its forms must be used; `compile` checks that and says
/// which keys clash.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCondition {
    pub fact: Option<String>,
    pub is: Option<toml::Value>,
    pub is_not: Option<toml::Value>,
    #[serde(rename = "in")]
    pub one_of: Option<Vec<toml::Value>>,
    pub lt: Option<f64>,
    pub le: Option<f64>,
    pub gt: Option<f64>,
    pub ge: Option<f64>,
    pub term: Option<String>,
    pub all: Option<Vec<RawCondition>>,
    pub any: Option<Vec<RawCondition>>,
    pub not: Option<Box<RawCondition>>,
}

/// A language file: `[<group>.<id>]` tables of strings, kept loose here because its keys are ids
/// defined by the other files; `compile` checks every group and key against those ids (serde
/// cannot combine `flatten` with `deny_unknown_fields`).
#[derive(Debug, Deserialize)]
pub struct TextFile {
    pub meta: TextMeta,
    #[serde(flatten)]
    pub groups: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextMeta {
    pub language: String,
    pub name: String,
}
