//! The texts of one language, indexed like the content they describe, so that rendering a
//! decision is a lookup, not a search.

use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::fmt;

/// Every text of one language.
#[derive(Debug, Clone, Default)]
pub struct Texts {
    pub code: String,
    pub name: String,
    /// Indexed by [`crate::Level::index`].
    pub levels: [LevelText; 4],
    pub sections: Vec<String>,
    /// A label per concern ("Back pain"), in [`crate::Content::concerns`] order.
    pub concerns: Vec<String>,
    pub facts: Vec<FactText>,
    /// In [`crate::Content::rules`] order.
    pub rules: Vec<RuleText>,
    pub actions: Vec<String>,
    /// Whom she would see, per action (in [`crate::Content::actions`] order), for the
    /// actions she can book an appointment for.
    pub booking: Vec<Option<String>>,
    pub plan: Vec<PlanText>,
    /// Each warning's signs, followed by what to do at its urgency.
    pub watch: Vec<Text>,
    /// Each warning's signs alone, for pages that list them under their urgency.
    pub watch_signs: Vec<String>,
    /// A heading per urgency a warning can state (emergency, urgent, soon): "Call the
    /// emergency number now if you have".
    pub urgency_headings: Vec<String>,
    /// The headline and advice of a decision that is not final yet: never the provisional
    /// level's, which could read as "you can look after this at home" before the red flags are
    /// ruled out.
    pub incomplete: LevelText,
    pub milestones: Vec<String>,
    /// A few words for each milestone, written beside its line on the chart.
    pub milestone_labels: Vec<String>,
    /// The words around the clinical texts (headings, buttons, labels), by key. Every language
    /// has the same keys.
    pub ui: HashMap<String, String>,
    /// The clinic workspace's words, by key (a member of staff reads the workspace in the
    /// language she prefers). Every language has the same keys.
    pub workspace: HashMap<String, String>,
}

impl Texts {
    /// A ui text; the key itself if it is missing, so a forgotten label shows, not crashes
    /// (a test walks the pages and the CLI to catch that).
    pub fn ui<'a>(&'a self, key: &'a str) -> &'a str {
        self.ui.get(key).map(String::as_str).unwrap_or(key)
    }

    /// A workspace text; the key itself if it is missing (as [`Texts::ui`]).
    pub fn ws<'a>(&'a self, key: &'a str) -> &'a str {
        self.workspace.get(key).map(String::as_str).unwrap_or(key)
    }

    /// One of the groups of free texts by key (`ui` or `workspace`).
    pub fn flat(&self, group: &str) -> &HashMap<String, String> {
        match group {
            "workspace" => &self.workspace,
            _ => &self.ui,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct LevelText {
    pub title: Text,
    pub now: Text,
}

#[derive(Debug, Clone, Default)]
pub struct FactText {
    pub question: String,
    pub help: String,
    /// For enums: a label per value, in the fact's value order.
    pub values: Vec<String>,
    /// For signs: the checklist label ("A fever of 38 °C or more"); empty otherwise.
    pub sign: String,
}

#[derive(Debug, Clone, Default)]
pub struct RuleText {
    pub patient: Text,
    pub clinician: Text,
    /// The finding and what it suggests, in a phrase, for an EHR card's one-line summary.
    pub short: Text,
}

#[derive(Debug, Clone, Default)]
pub struct PlanText {
    pub title: Text,
    /// With the item's parameters already filled in.
    pub text: Text,
}

/// A text that every decision carries (headlines, reasons, plan items, red flags, sources),
/// kept with its JSON string form, escaped once at load. A decision is a few kilobytes of
/// such texts, and escaping them on every response was a third of the work of
/// `POST /api/v1/triage`. Reads as a `str`; serialises as the JSON string it always was.
#[derive(Clone)]
pub struct Text {
    plain: Box<str>,
    json: Box<RawValue>,
}

impl Text {
    pub fn new(plain: impl Into<String>) -> Text {
        let plain: String = plain.into();
        // Serialising a string cannot fail and gives a valid JSON value, so the default
        // (`null`) is never taken.
        let json = serde_json::to_string(&plain)
            .ok()
            .and_then(|s| RawValue::from_string(s).ok())
            .unwrap_or_default();
        Text {
            plain: plain.into_boxed_str(),
            json,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.plain
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::new("")
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::new(s)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::new(s)
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.plain
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.plain == other.plain
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.plain, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.plain)
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}
