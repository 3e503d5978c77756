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
    use super::{parse_value, Case, CaseError, Raw, Value};
    use crate::content::{Content, FactIdx};
    use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
            let mut next: usize = 0;
            while let Some(key) = map.next_key_seed(KeySeed {
                content: self.content,
                likely: next,
            })? {
                let Some(idx) = key.index else {
                    return Err(self.stop(CaseError::UnknownFact { field: key.name }));
                };
                next = idx as usize + 1;
                // An answer is read without building a JSON value (no allocation for a word)
                // and checked by the same code as the tree path, so both give the same errors.
                let answer = match map.next_value_seed(AnswerSeed {
                    content: self.content,
                    idx,
                }) {
                    Ok(answer) => answer,
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
                match answer {
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

    /// Reads one fact's answer and checks it. The outer `Result` is the JSON reader's; the inner
    /// one is the verdict on the answer.
    struct AnswerSeed<'a> {
        content: &'a Content,
        idx: FactIdx,
    }

    impl AnswerSeed<'_> {
        fn check(&self, raw: Raw<'_>) -> Result<Value, CaseError> {
            parse_value(self.content, self.idx, raw)
        }
    }

    impl<'de> DeserializeSeed<'de> for AnswerSeed<'_> {
        type Value = Result<Value, CaseError>;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for AnswerSeed<'_> {
        type Value = Result<Value, CaseError>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an answer")
        }

        fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
            Ok(self.check(Raw::Bool(b)))
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(self.check(Raw::Str(s)))
        }

        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(self.check(Raw::Number(&n.into())))
        }

        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            Ok(self.check(Raw::Number(&n.into())))
        }

        fn visit_f64<E: de::Error>(self, x: f64) -> Result<Self::Value, E> {
            let n = serde_json::Number::from_f64(x);
            Ok(self.check(n.as_ref().map_or(Raw::Other, Raw::Number)))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(self.check(Raw::Other))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(self.check(Raw::Other))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(self.check(Raw::Other))
        }
    }

    struct Key {
        index: Option<u16>,
        name: String,
    }

    /// Looks a key up as it is read, allocating only for an unknown key's message. Clients
    /// (the questionnaire, the pages, the FHIR import) send facts in vocabulary order, so the
    /// fact after the previous key is tried before the id table.
    struct KeySeed<'a> {
        content: &'a Content,
        likely: usize,
    }

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
            let guess = self.content.facts.get(self.likely).filter(|f| f.id == s);
            let index = match guess {
                Some(_) => Some(self.likely as FactIdx),
                None => self.content.fact_index(s),
            };
            Ok(match index {
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

fn parse_value(content: &Content, idx: u16, raw: Raw<'_>) -> Result<Value, CaseError> {
    let fact = &content.facts[idx as usize];
    let field = || fact.id.clone();
    match &fact.kind {
        FactKind::Bool => match raw {
            Raw::Bool(b) => Ok(Value::Bool(b)),
            _ => Err(CaseError::WrongType {
                field: field(),
                expected: "true or false".into(),
            }),
        },
        FactKind::Enum { values, .. } => {
            let Raw::Str(s) = raw else {
                return Err(CaseError::WrongType {
                    field: field(),
                    expected: "a string".into(),
                });
            };
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
            let Some((x, number)) = (match raw {
                Raw::Number(n) => n.as_f64().map(|x| (x, n)),
                _ => None,
            }) else {
                return Err(CaseError::WrongType {
                    field: field(),
                    expected: if *integer {
                        "a whole number".into()
                    } else {
                        "a number".into()
                    },
                });
            };
            let out_of_range = min.is_some_and(|m| x < m) || max.is_some_and(|m| x > m);
            if out_of_range || !x.is_finite() {
                return Err(CaseError::OutOfRange {
                    field: field(),
                    value: number.to_string(),
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
