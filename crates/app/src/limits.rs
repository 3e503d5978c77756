//! How long each kind of text may be, defined once: the services check them, the pages show
//! them (`maxlength`, "at most ... characters"), and nothing else picks its own number.

use crate::{Error, Result};

/// A free-text note: a diary note, an acknowledgement, a reply to a contact request.
pub const NOTE: usize = 2000;
/// A chat message.
pub const MESSAGE: usize = 2000;
/// A person's display name (a patient's pseudonym, a member of staff).
pub const NAME: usize = 100;
/// A clinic's name, and its opening hours in one language.
pub const CLINIC_TEXT: usize = 300;
/// An announcement, per language.
pub const ANNOUNCEMENT: usize = 500;
/// An id or a secret a client sends (record ids, link tokens, enrolment codes): anything
/// longer is not one of ours and is refused before the store is asked.
pub const KEY: usize = 128;

/// Text trimmed, 1 to `limit` characters; the error names the field.
pub fn required(field: &str, text: &str, limit: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > limit {
        return Err(Error::invalid(
            field,
            format!("{field}: 1 to {limit} characters"),
        ));
    }
    Ok(text.to_string())
}

/// Text trimmed, empty as `None`, at most `limit` characters; the error names the field.
pub fn optional(field: &str, text: Option<String>, limit: usize) -> Result<Option<String>> {
    let text = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > limit) {
        return Err(Error::invalid(
            field,
            format!("{field}: at most {limit} characters"),
        ));
    }
    Ok(text)
}

/// Whether a key a client sent is short enough to be one of ours.
pub fn plausible_key(key: &str) -> bool {
    key.len() <= KEY
}
