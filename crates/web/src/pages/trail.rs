//! The way through a check-in, carried in its URL: her answers as the form holds them and the
//! steps she has taken, so that every step is a page of its own (`GET /checkin?s=...`). The
//! browser's Back and Forward then move between real pages instead of resubmitting a form, and
//! an anonymous check-in still leaves nothing on the server. The trail is not secret and not
//! signed: it holds only her own answers, and every answer is checked again when it is read
//! back, as if she had typed it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longer trails are refused (the whole questionnaire answered is well under this).
const MAX_ENCODED: usize = 6 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trail {
    /// Answers by fact id, as the form holds them (`yes`, `no`, `unsure`, an enum value, a
    /// number as typed).
    #[serde(rename = "a", default)]
    pub answers: BTreeMap<String, String>,
    /// The fact ids asked on each step so far, in order.
    #[serde(rename = "s", default)]
    pub steps: Vec<Vec<String>>,
    /// The progress shown last, in percent: the bar never moves back.
    #[serde(rename = "p", default)]
    pub percent: u8,
    /// The number of steps the page last expected in all: "about" never shrinks below it.
    #[serde(rename = "t", default)]
    pub total: u8,
    /// What brings her, once she has said.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub concern: Option<String>,
    /// Answers she has confirmed (fact id to the answer as the form holds it).
    #[serde(rename = "k", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub confirmed: BTreeMap<String, String>,
}

impl Trail {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// `None` for anything that is not a trail we wrote (then the check-in starts again).
    pub fn decode(s: &str) -> Option<Trail> {
        if s.len() > MAX_ENCODED {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(s.as_bytes()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The trail one step back: the last step's answers are kept (so the step shows them
    /// again when she returns to it), and the step is the one to show.
    pub fn back(&self) -> Option<(Trail, Vec<String>)> {
        let mut out = self.clone();
        let last = out.steps.pop()?;
        Some((out, last))
    }

    /// Her answers as form fields (`a.<fact>`), to be read like a submitted form.
    pub fn fields(&self, prefix: &str) -> Vec<(String, String)> {
        self.answers
            .iter()
            .map(|(k, v)| (format!("{prefix}{k}"), v.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trail_survives_the_url_and_junk_is_refused() {
        let mut t = Trail::default();
        t.answers.insert("fever".into(), "yes".into());
        t.steps.push(vec!["fever".into(), "chest_pain".into()]);
        t.percent = 20;
        let back = Trail::decode(&t.encode()).expect("decodes");
        assert_eq!(back, t);
        assert!(t
            .encode()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(Trail::decode("not a trail!"), None);
        assert_eq!(Trail::decode(&"A".repeat(MAX_ENCODED + 1)), None);
        let (before, shown) = t.back().expect("one step back");
        assert!(before.steps.is_empty());
        assert_eq!(shown, vec!["fever".to_string(), "chest_pain".to_string()]);
    }
}
