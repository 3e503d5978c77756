//! The streaming parser behind [`Case::from_json_slice`]: serde reads the body once, keys are
//! looked up as they are read and answers are checked without building a JSON tree. A problem
//! with the case itself is kept in `found` (a serde error cannot carry it) and the parse is
//! stopped.

use super::{lookup, parse_value, Case, CaseError, Raw, Value};
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
            if case.values[idx as usize].is_some() {
                let field = self.content.facts[idx as usize].id.clone();
                return Err(self.stop(CaseError::Repeated { field }));
            }
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
        Ok(match lookup(self.content, self.likely, s) {
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
