//! Her answers as a form carries them: read and checked as if she had just typed them, whether
//! they come from the screen she submitted or back from the trail in the URL.
//!
//! Each answer is kept twice: the typed value the engine reads, and the words of the form
//! (`yes`, `unsure`, a day and time with its offset) so a screen shows them again as she gave
//! them and "Not sure" stays "Not sure".

use super::super::form::Form;
use aftercare_core::content::{Fact, FactKind};
use aftercare_core::Content;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Field names of answers: `a.<fact id>`.
pub const PREFIX: &str = "a.";
/// The field the page's script fills with the browser's `getTimezoneOffset()` (minutes).
pub const TZ_FIELD: &str = "tz";
/// A day and time as the trail carries it: local time with its offset.
const MOMENT: &str = "%Y-%m-%dT%H:%M%:z";

#[derive(Default)]
pub struct Answers {
    /// The typed answers the engine reads, by fact id.
    pub values: Map<String, Value>,
    /// The answers in the words of the form, by fact id.
    pub raw: BTreeMap<String, String>,
    /// Fields that could not be read: fact id to the UI text key of the message.
    pub errors: BTreeMap<String, String>,
}

impl Answers {
    pub fn is_unsure(&self, id: &str) -> bool {
        self.raw.get(id).is_some_and(|r| r == "unsure")
    }

    /// An answer as the form carries it onward (hidden fields and the trail).
    pub fn carried(&self, content: &Content, id: &str) -> Option<String> {
        let value = self.values.get(id)?;
        let keeps_words = self.is_unsure(id) || content.fact(id).is_some_and(|f| f.asked_as_time);
        Some(match self.raw.get(id) {
            Some(raw) if keeps_words => raw.clone(),
            _ => form_word(value),
        })
    }

    /// Every answer as the form carries it, by fact id.
    pub fn carried_all(&self, content: &Content) -> BTreeMap<String, String> {
        (self.values.keys())
            .filter_map(|k| Some((k.clone(), self.carried(content, k)?)))
            .collect()
    }

    pub fn set(&mut self, id: &str, value: Value) {
        self.raw.insert(id.to_string(), form_word(&value));
        self.values.insert(id.to_string(), value);
    }

    pub fn remove(&mut self, id: &str) {
        self.values.remove(id);
        self.raw.remove(id);
    }
}

/// An answer as a form field holds it.
pub fn form_word(v: &Value) -> String {
    match v {
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads every `a.<fact>` field of a form, as of `now`.
pub fn read(content: &Content, form: &Form, now: DateTime<Utc>) -> Answers {
    let offset = form
        .get(TZ_FIELD)
        .and_then(|m| m.trim().parse::<i32>().ok())
        .filter(|m| m.abs() <= 14 * 60)
        .and_then(|m| FixedOffset::west_opt(m * 60));
    let mut out = Answers::default();
    for (name, raw) in &form.0 {
        let Some(id) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(fact) = content.fact(id) else {
            continue;
        };
        let raw = raw.trim();
        if raw.is_empty() || out.values.contains_key(id) {
            continue;
        }
        match parse(fact, raw, now, offset) {
            Ok((value, words)) => {
                out.raw.insert(id.to_string(), words);
                out.values.insert(id.to_string(), value);
            }
            Err(key) => {
                out.raw
                    .insert(id.to_string(), raw.chars().take(32).collect());
                out.errors.insert(id.to_string(), key.to_string());
            }
        }
    }
    out
}

/// One answer: the typed value and the words to keep, or the UI key of what is wrong.
fn parse(
    fact: &Fact,
    raw: &str,
    now: DateTime<Utc>,
    offset: Option<FixedOffset>,
) -> Result<(Value, String), &'static str> {
    let words = raw.to_string();
    match &fact.kind {
        FactKind::Bool => match raw {
            "yes" => Ok((Value::Bool(true), words)),
            "no" => Ok((Value::Bool(false), words)),
            // Read as yes: the answer that can only raise the level (facts.toml `unsure`).
            "unsure" if fact.unsure => Ok((Value::Bool(true), words)),
            _ => Err("answer_required"),
        },
        FactKind::Enum { values, .. } => match (raw, fact.unsure_as) {
            ("unsure", Some(i)) if fact.unsure => {
                Ok((Value::String(values[i as usize].clone()), words))
            }
            _ if values.iter().any(|v| v == raw) => Ok((Value::String(words.clone()), words)),
            _ => Err("answer_required"),
        },
        FactKind::Number {
            min, max, integer, ..
        } => {
            let (x, words) = match raw.replace(',', ".").parse::<f64>() {
                Ok(x) => (x, words),
                Err(_) if fact.asked_as_time => hours_since(raw, now, offset)?,
                Err(_) => return Err(number_error(*integer)),
            };
            let fits = x.is_finite()
                && min.is_none_or(|m| x >= m)
                && max.is_none_or(|m| x <= m)
                && (!*integer || x.fract() == 0.0);
            if !fits {
                return Err(number_error(*integer));
            }
            let value = fact.value_to_json(aftercare_core::Value::Number(x));
            Ok((value, words))
        }
    }
}

fn number_error(integer: bool) -> &'static str {
    if integer {
        "answer_whole_number"
    } else {
        "answer_number"
    }
}

/// Hours from a day and time (or a day alone, read as its noon, if it is at least two days
/// back) to `now`, with the words to
/// keep: the local time and its offset. Without the browser's offset the time is read as UTC;
/// a time within a few hours is confirmed by her before it counts (facts.toml `confirm_when`).
fn hours_since(
    raw: &str,
    now: DateTime<Utc>,
    offset: Option<FixedOffset>,
) -> Result<(f64, String), &'static str> {
    let utc = FixedOffset::east_opt(0).ok_or("answer_time")?;
    let at: DateTime<FixedOffset> = if let Ok(t) = DateTime::parse_from_str(raw, MOMENT) {
        t
    } else {
        let local = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
            .or_else(|_| {
                NaiveDate::parse_from_str(raw, "%Y-%m-%d").map(|d| d.and_time(NaiveTime::MIN))
            })
            .map_err(|_| "answer_time")?;
        let day_only = !raw.contains('T');
        let offset = offset.unwrap_or(utc);
        let mut t = local
            .and_local_timezone(offset)
            .single()
            .ok_or("answer_time")?;
        if day_only {
            // A day alone is close enough once it is two days back (its noon); today or
            // yesterday it is not: the hours decide whether a numb leg is still the block.
            if (now - t.with_timezone(&Utc)) < chrono::Duration::hours(48) {
                return Err("answer_time_needed");
            }
            t += chrono::Duration::hours(12);
        }
        t
    };
    let seconds = (now - at.with_timezone(&Utc)).num_seconds();
    // A few minutes ahead is a clock that runs fast, not a procedure still to come.
    if seconds < -10 * 60 {
        return Err("answer_time_future");
    }
    let hours = (seconds.max(0) as f64 / 360.0).round() / 10.0;
    Ok((hours, at.format(MOMENT).to_string()))
}

/// The local day and time of a kept moment, for a `datetime-local` control; empty when the
/// answer was a number of hours.
pub fn local_input(words: &str) -> String {
    local_moment(words)
        .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// A kept moment in her own time zone (the offset she gave it with).
pub fn local_moment(words: &str) -> Option<chrono::NaiveDateTime> {
    DateTime::parse_from_str(words, MOMENT)
        .ok()
        .map(|t| t.naive_local())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0)
            .single()
            .expect("a time")
    }

    #[test]
    fn a_day_and_time_becomes_hours_in_her_time_zone() {
        // Madrid in winter: getTimezoneOffset() is -60; 12:30 there is 11:30 UTC.
        let madrid = FixedOffset::west_opt(-3600);
        let (h, words) = hours_since("2026-12-02T12:30", now(), madrid).expect("reads");
        assert_eq!(h, 0.5);
        assert_eq!(words, "2026-12-02T12:30+01:00");
        assert_eq!(hours_since(&words, now(), None), Ok((0.5, words.clone())));
        assert_eq!(local_input(&words), "2026-12-02T12:30");
        let (days, _) = hours_since("2026-11-27", now(), None).expect("a day alone");
        assert_eq!(days, 5.0 * 24.0);
        // Today or yesterday, the time matters: a day alone is not enough.
        for day in ["2026-12-02", "2026-12-01"] {
            assert_eq!(hours_since(day, now(), None), Err("answer_time_needed"));
        }
        assert_eq!(
            hours_since("2026-11-30", now(), None).map(|x| x.0),
            Ok(48.0)
        );
        assert_eq!(
            hours_since("2026-12-03T09:00", now(), None),
            Err("answer_time_future")
        );
        assert_eq!(hours_since("yesterday", now(), None), Err("answer_time"));
    }
}
