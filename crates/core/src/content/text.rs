//! The texts of one language, indexed like the content they describe, so that rendering a
//! decision is a lookup, not a search.

use std::collections::HashMap;

/// Every text of one language.
#[derive(Debug, Clone, Default)]
pub struct Texts {
    pub code: String,
    pub name: String,
    /// Indexed by [`crate::Level::index`].
    pub levels: [LevelText; 4],
    pub sections: Vec<String>,
    pub facts: Vec<FactText>,
    /// In [`crate::Content::rules`] order.
    pub rules: Vec<RuleText>,
    pub actions: Vec<String>,
    pub plan: Vec<PlanText>,
    pub watch: Vec<String>,
    pub milestones: Vec<String>,
    /// The words around the clinical texts (headings, buttons, labels), by key. Every language
    /// has the same keys.
    pub ui: HashMap<String, String>,
}

impl Texts {
    /// A ui text; the key itself if it is missing, so a forgotten label shows, not crashes
    /// (a test walks the pages and the CLI to catch that).
    pub fn ui<'a>(&'a self, key: &'a str) -> &'a str {
        self.ui.get(key).map(String::as_str).unwrap_or(key)
    }
}

#[derive(Debug, Clone, Default)]
pub struct LevelText {
    pub title: String,
    pub now: String,
}

#[derive(Debug, Clone, Default)]
pub struct FactText {
    pub question: String,
    pub help: String,
    /// For enums: a label per value, in the fact's value order.
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RuleText {
    pub patient: String,
    pub clinician: String,
}

#[derive(Debug, Clone, Default)]
pub struct PlanText {
    pub title: String,
    /// With the item's parameters already filled in.
    pub text: String,
}
