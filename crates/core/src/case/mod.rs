//! A case: the facts known about one person at one moment, parsed from a JSON object against the
//! content's vocabulary. A fact missing from the object is *unknown*, which the engine treats
//! differently from a "no".

use crate::content::{Content, FactIdx, FactKind};
use crate::logic::Tri;
use serde_json::{Map, Value as Json};
use thiserror::Error;

/// One answer. Enum values are stored as their index in the fact's value list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Bool(bool),
    Enum(u16),
    Number(f64),
}

/// Why a case was refused. Every variant names the field, so a client can point at it.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CaseError {
    #[error("a case must be a JSON object of facts")]
    NotAnObject,
    #[error("malformed JSON: {0}")]
    Malformed(String),
    #[error("{field}: unknown fact")]
    UnknownFact { field: String },
    #[error("{field}: expected {expected}")]
    WrongType { field: String, expected: String },
    #[error("{field}: {value} is not one of {allowed}")]
    NotAllowed {
        field: String,
        value: String,
        allowed: String,
    },
    #[error("{field}: {value} is out of range ({range})")]
    OutOfRange {
        field: String,
        value: String,
        range: String,
    },
    #[error("{field}: only applies when {requires}")]
    Inconsistent { field: String, requires: String },
    /// The same fact twice in one JSON object: which answer was meant is unclear, and taking
    /// either could hide a red flag.
    #[error("{field}: given more than once")]
    Repeated { field: String },
}

impl CaseError {
    /// The field the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            CaseError::NotAnObject | CaseError::Malformed(_) => None,
            CaseError::UnknownFact { field }
            | CaseError::WrongType { field, .. }
            | CaseError::NotAllowed { field, .. }
            | CaseError::OutOfRange { field, .. }
            | CaseError::Inconsistent { field, .. }
            | CaseError::Repeated { field } => Some(field),
        }
    }
}

/// The answers of one case, indexed like [`Content::facts`].
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    values: Vec<Option<Value>>,
}

impl Case {
    /// A case where nothing is known yet.
    pub fn empty(content: &Content) -> Case {
        Case {
            values: vec![None; content.facts.len()],
        }
    }

    /// Parses a JSON object of facts, checking every key, type, value and range, then that no
    /// fact is given whose question cannot apply (e.g. `days_since_delivery` with `delivered:
    /// false`). The first problem found is returned, naming its field.
    pub fn from_json(content: &Content, json: &Json) -> Result<Case, CaseError> {
        let object = json.as_object().ok_or(CaseError::NotAnObject)?;
        Case::from_map(content, object)
    }

    /// Parses a case straight from JSON bytes, without building a JSON tree first: the request
    /// path of `POST /api/v1/triage`. Same checks and errors as [`Case::from_json`], and one
    /// more that a JSON tree cannot see: a fact given twice is refused.
    pub fn from_json_slice(content: &Content, bytes: &[u8]) -> Result<Case, CaseError> {
        if let Some(case) = flat::parse(content, bytes) {
            case.check_consistent(content)?;
            return Ok(case);
        }
        let found = std::cell::RefCell::new(None);
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let parsed = serde::de::DeserializeSeed::deserialize(
            stream::CaseSeed {
                content,
                found: &found,
            },
            &mut de,
        )
        .and_then(|case| de.end().map(|()| case));
        let case = match parsed {
            Ok(case) => case,
            Err(e) => {
                return Err(found.into_inner().unwrap_or_else(|| {
                    if e.is_data() {
                        CaseError::NotAnObject
                    } else {
                        CaseError::Malformed(e.to_string())
                    }
                }))
            }
        };
        case.check_consistent(content)?;
        Ok(case)
    }

    pub fn from_map(content: &Content, object: &Map<String, Json>) -> Result<Case, CaseError> {
        let mut case = Case::empty(content);
        for (key, raw) in object {
            let idx = content
                .fact_index(key)
                .ok_or_else(|| CaseError::UnknownFact { field: key.clone() })?;
            case.values[idx as usize] = Some(parse_value(content, idx, Raw::from(raw))?);
        }
        case.check_consistent(content)?;
        Ok(case)
    }

    /// A case from a person's answers over facts known without asking her (what the clinic
    /// recorded, the pain score of a diary day). Her answers win, as they win over a known fact
    /// of the same id: a known fact whose question her answers make inapplicable (she answers
    /// `procedure: none` where the clinic recorded a procedure and its hours) is left out
    /// rather than refused, so every error names something she sent.
    pub fn from_answers_over(
        content: &Content,
        mut known: Map<String, Json>,
        answers: &Map<String, Json>,
    ) -> Result<Case, CaseError> {
        for (k, v) in answers {
            known.insert(k.clone(), v.clone());
        }
        // Each pass drops one known fact; there are at most as many as facts.
        for _ in 0..content.facts.len() {
            match Case::from_map(content, &known) {
                Err(CaseError::Inconsistent { field, .. })
                    if !answers.contains_key(&field) && known.contains_key(&field) =>
                {
                    known.remove(&field);
                }
                other => return other,
            }
        }
        Case::from_map(content, &known)
    }

    fn check_consistent(&self, content: &Content) -> Result<(), CaseError> {
        let absent = content.applicability(self);
        for (idx, fact) in content.facts.iter().enumerate() {
            // A "no" to a question that does not apply says nothing new and is accepted; any
            // other answer contradicts the answers that make the question not apply.
            let contradicts = !matches!(self.values[idx], None | Some(Value::Bool(false)));
            if contradicts && absent[idx] == Tri::False {
                if let Some(when) = &fact.asked_when {
                    return Err(CaseError::Inconsistent {
                        field: fact.id.clone(),
                        requires: content.describe(when),
                    });
                }
            }
        }
        Ok(())
    }

    pub fn get(&self, fact: u16) -> Option<Value> {
        self.values.get(fact as usize).copied().flatten()
    }

    /// Sets or clears one answer without validation; for callers that build cases from values
    /// they already checked (property tests, the questionnaire).
    pub fn set(&mut self, fact: u16, value: Option<Value>) {
        if let Some(slot) = self.values.get_mut(fact as usize) {
            *slot = value;
        }
    }

    pub fn known_count(&self) -> usize {
        self.values.iter().filter(|v| v.is_some()).count()
    }

    /// The case as a JSON object, in vocabulary order.
    pub fn to_json(&self, content: &Content) -> Map<String, Json> {
        let mut out = Map::new();
        for (idx, fact) in content.facts.iter().enumerate() {
            if let Some(v) = self.values[idx] {
                out.insert(fact.id.clone(), fact.value_to_json(v));
            }
        }
        out
    }
}

mod flat;
mod stream;

/// A key's fact. Clients (the questionnaire, the pages, the FHIR import) send facts in
/// vocabulary order, so the fact `likely` (the one after the previous key) is tried before the
/// id table.
fn lookup(content: &Content, likely: usize, key: &str) -> Option<FactIdx> {
    match content.facts.get(likely) {
        Some(f) if f.id == key => Some(likely as FactIdx),
        _ => content.fact_index(key),
    }
}

/// One answer as JSON gave it, before it is checked against its fact: what both parsers (the
/// tree and the stream) hand to [`parse_value`].
#[derive(Debug, Clone, Copy)]
enum Raw<'a> {
    Bool(bool),
    Str(&'a str),
    Number(&'a serde_json::Number),
    /// null, an array or an object: never an answer.
    Other,
}

impl<'a> From<&'a Json> for Raw<'a> {
    fn from(json: &'a Json) -> Raw<'a> {
        match json {
            Json::Bool(b) => Raw::Bool(*b),
            Json::String(s) => Raw::Str(s),
            Json::Number(n) => Raw::Number(n),
            Json::Null | Json::Array(_) | Json::Object(_) => Raw::Other,
        }
    }
}

/// Why an answer was refused, before it is put in words: small, so the fast path, which only
/// needs to know that it was, does not build a message it throws away.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Refusal {
    WrongType,
    NotAllowed,
    OutOfRange,
    NotWhole,
}

/// Checks one answer against its fact. Inlined: it runs once per key of every case, and its
/// result otherwise makes a round trip through memory.
#[inline(always)]
fn check_value(content: &Content, idx: u16, raw: Raw<'_>) -> Result<Value, Refusal> {
    match (&content.facts[idx as usize].kind, raw) {
        (FactKind::Bool, Raw::Bool(b)) => Ok(Value::Bool(b)),
        (FactKind::Enum { values, .. }, Raw::Str(s)) => values
            .iter()
            .position(|v| v == s)
            .map(|i| Value::Enum(i as u16))
            .ok_or(Refusal::NotAllowed),
        (
            FactKind::Number {
                min, max, integer, ..
            },
            Raw::Number(n),
        ) => {
            let x = n.as_f64().ok_or(Refusal::WrongType)?;
            let out_of_range = min.is_some_and(|m| x < m) || max.is_some_and(|m| x > m);
            if out_of_range || !x.is_finite() {
                Err(Refusal::OutOfRange)
            } else if *integer && x.fract() != 0.0 {
                Err(Refusal::NotWhole)
            } else {
                Ok(Value::Number(x))
            }
        }
        _ => Err(Refusal::WrongType),
    }
}

/// Checks one answer against its fact; a refusal names the fact and says what it expects.
fn parse_value(content: &Content, idx: u16, raw: Raw<'_>) -> Result<Value, CaseError> {
    let refusal = match check_value(content, idx, raw) {
        Ok(v) => return Ok(v),
        Err(r) => r,
    };
    let fact = &content.facts[idx as usize];
    let field = fact.id.clone();
    Err(match (refusal, &fact.kind) {
        (Refusal::NotAllowed, FactKind::Enum { values, .. }) => CaseError::NotAllowed {
            field,
            value: match raw {
                Raw::Str(s) => s.to_string(),
                _ => String::new(),
            },
            allowed: values.join(", "),
        },
        (Refusal::OutOfRange, _) => CaseError::OutOfRange {
            field,
            value: match raw {
                Raw::Number(n) => n.to_string(),
                _ => String::new(),
            },
            range: fact.range_text(),
        },
        (_, FactKind::Bool) => CaseError::WrongType {
            field,
            expected: "true or false".into(),
        },
        (_, FactKind::Enum { .. }) => CaseError::WrongType {
            field,
            expected: "a string".into(),
        },
        (refusal, FactKind::Number { integer, .. }) => CaseError::WrongType {
            field,
            expected: if *integer || refusal == Refusal::NotWhole {
                "a whole number".into()
            } else {
                "a number".into()
            },
        },
    })
}
