//! The audit log in plain words for the people who read it: what each recorded event means,
//! and who did it by name. The stored codes stay as they are (the CSV export keeps them).

use aftercare_core::Texts;
use aftercare_store::{Action, ActorKind, AuditEntry};
use std::collections::HashMap;

/// The text key of an event's plain words: `audit_event_` and its code, dots and dashes as
/// underscores.
fn event_key(action: Action) -> String {
    format!("audit_event_{}", action.as_str().replace(['.', '-'], "_"))
}

/// What an event code means, in a few words of the reader's language; an unknown code (one an
/// older version wrote) reads as itself.
pub fn describe(texts: &Texts, code: &str) -> String {
    match Action::parse(code) {
        Some(action) => texts.ws(&event_key(action)).to_string(),
        None => code.to_string(),
    }
}

/// Names for the ids in a page of the log: staff and patients of the clinic.
#[derive(Debug, Default)]
pub struct Names {
    pub staff: HashMap<String, String>,
    pub patients: HashMap<String, String>,
}

impl Names {
    /// Who did it, as a reader says it.
    pub fn actor(&self, texts: &Texts, row: &AuditEntry) -> String {
        let id = row.actor_id.as_deref().unwrap_or("");
        match row.actor_kind {
            ActorKind::Staff => self
                .staff
                .get(id)
                .cloned()
                .unwrap_or_else(|| texts.ws("audit_actor_staff").replace("{id}", id)),
            ActorKind::Patient => match self.patients.get(id) {
                Some(name) => texts.ws("audit_actor_patient").replace("{name}", name),
                None => texts.ws("audit_actor_a_patient").to_string(),
            },
            ActorKind::Ehr => match id {
                "" => texts.ws("audit_actor_ehr").to_string(),
                issuer => texts
                    .ws("audit_actor_ehr_named")
                    .replace("{issuer}", issuer),
            },
            ActorKind::Anonymous => texts.ws("audit_actor_anonymous").to_string(),
            ActorKind::System => texts.ws("audit_actor_system").to_string(),
        }
    }

    /// The patient's name, when the row concerns one of the clinic's patients.
    pub fn patient(&self, id: Option<&str>) -> Option<String> {
        id.map(|id| {
            self.patients
                .get(id)
                .cloned()
                .unwrap_or_else(|| id.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event the code writes has words in every language; nothing reads as a bare code
    /// or a missing key.
    #[test]
    fn every_action_has_plain_words() {
        let content = aftercare_core::Content::bundled().expect("content");
        for (code, _) in content.languages() {
            let texts = content.text(content.lang(code).expect("lang"));
            for a in Action::ALL {
                let words = describe(texts, a.as_str());
                assert_ne!(words, a.as_str());
                assert!(
                    !words.contains('.') && !words.contains('_'),
                    "{code}: {words}"
                );
            }
            assert_eq!(describe(texts, "old.code"), "old.code");
        }
    }
}
