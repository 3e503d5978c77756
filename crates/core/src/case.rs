//! A case: the facts known about one person at one moment, parsed from a JSON object against the
//! content's vocabulary. A fact missing from the object is *unknown*, which the engine treats
//! differently from a "no".

use crate::content::{Content, FactKind};
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
            | CaseError::Inconsistent { field, .. } => Some(field),
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
    /// path of `POST /api/v1/triage`. Same checks and errors as [`Case::from_json`].
    pub fn from_json_slice(content: &Content, bytes: &[u8]) -> Result<Case, CaseError> {
        let found = std::cell::RefCell::new(None);
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let parsed = serde::de::DeserializeSeed::deserialize(
            slice::CaseSeed {
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
            case.values[idx as usize] = Some(parse_value(content, idx, raw)?);
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
            if contradicts && absent[idx] == Tri::False && !fact.is_optional() {
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

/// The streaming parser behind [`Case::from_json_slice`]. A problem with the case itself is kept
/// in `found` (a serde error cannot carry it) and the parse is stopped.
mod slice {
    use super::{parse_value, Case, CaseError};
    use crate::content::Content;
    use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
    use std::cell::RefCell;
    use std::fmt;

    pub struct CaseSeed<'a> {
        pub content: &'a Content,
        pub found: &'a RefCell<Option<CaseError>>,
    }

    impl<'de> DeserializeSeed<'de> for CaseSeed<'_> {
        type Value = Case;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Case, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for CaseSeed<'_> {
        type Value = Case;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object of facts")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Case, A::Error> {
            let mut case = Case::empty(self.content);
            while let Some(key) = map.next_key_seed(KeySeed(self.content))? {
                let Some(idx) = key.index else {
                    return Err(self.stop(CaseError::UnknownFact { field: key.name }));
                };
                // Small answers (a bool, a word, a number) are parsed into a JSON value and
                // checked by the same code as the tree path, so both give the same errors.
                let raw: serde_json::Value = match map.next_value() {
                    Ok(raw) => raw,
                    // A value that cannot be read (a number beyond any range, say) is still the
                    // answer to this fact: name it. A body cut short stays malformed JSON.
                    Err(e) if !e.to_string().contains("EOF") => {
                        let field = self.content.facts[idx as usize].id.clone();
                        return Err(self.stop(CaseError::WrongType {
                            field,
                            expected: "a value that can be read".into(),
                        }));
                    }
                    Err(e) => return Err(e),
                };
                match parse_value(self.content, idx, &raw) {
                    Ok(v) => case.values[idx as usize] = Some(v),
                    Err(e) => return Err(self.stop(e)),
                }
            }
            Ok(case)
        }
    }

    impl CaseSeed<'_> {
        fn stop<E: de::Error>(&self, e: CaseError) -> E {
            let message = e.to_string();
            *self.found.borrow_mut() = Some(e);
            E::custom(message)
        }
    }

    struct Key {
        index: Option<u16>,
        name: String,
    }

    /// Looks a key up as it is read, allocating only for an unknown key's message.
    struct KeySeed<'a>(&'a Content);

    impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
        type Value = Key;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for KeySeed<'_> {
        type Value = Key;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a fact id")
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
            Ok(match self.0.fact_index(s) {
                Some(i) => Key {
                    index: Some(i),
                    name: String::new(),
                },
                None => Key {
                    index: None,
                    name: s.to_string(),
                },
            })
        }
    }
}

fn parse_value(content: &Content, idx: u16, raw: &Json) -> Result<Value, CaseError> {
    let fact = &content.facts[idx as usize];
    let field = || fact.id.clone();
    match &fact.kind {
        FactKind::Bool => raw.as_bool().map(Value::Bool).ok_or(CaseError::WrongType {
            field: field(),
            expected: "true or false".into(),
        }),
        FactKind::Enum { values, .. } => {
            let s = raw.as_str().ok_or_else(|| CaseError::WrongType {
                field: field(),
                expected: "a string".into(),
            })?;
            values
                .iter()
                .position(|v| v == s)
                .map(|i| Value::Enum(i as u16))
                .ok_or_else(|| CaseError::NotAllowed {
                    field: field(),
                    value: s.to_string(),
                    allowed: values.join(", "),
                })
        }
        FactKind::Number {
            min, max, integer, ..
        } => {
            let x = raw.as_f64().ok_or_else(|| CaseError::WrongType {
                field: field(),
                expected: if *integer {
                    "a whole number".into()
                } else {
                    "a number".into()
                },
            })?;
            let out_of_range = min.is_some_and(|m| x < m) || max.is_some_and(|m| x > m);
            if out_of_range || !x.is_finite() {
                return Err(CaseError::OutOfRange {
                    field: field(),
                    value: raw.to_string(),
                    range: fact.range_text(),
                });
            }
            if *integer && x.fract() != 0.0 {
                return Err(CaseError::WrongType {
                    field: field(),
                    expected: "a whole number".into(),
                });
            }
            Ok(Value::Number(x))
        }
    }
}
