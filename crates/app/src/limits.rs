//! How long each kind of text may be, defined once: the [`crate::text`] kinds are bounded by
//! them, the pages show them (`maxlength`, "at most ... characters"), and nothing else picks
//! its own number.

/// A free-text note: a diary note, an acknowledgement, a reply to a contact request.
pub const NOTE: usize = 2000;
/// A chat message.
pub const MESSAGE: usize = 2000;
/// A person's display name (a patient's pseudonym, a member of staff).
pub const NAME: usize = 100;
/// The name and the contact detail of someone who writes to a clinic through its contact form.
pub const CONTACT: usize = 200;
/// What someone writes to a clinic through its contact form.
pub const REQUEST: usize = 4000;
/// A clinic's name, and its opening hours in one language.
pub const CLINIC_TEXT: usize = 300;
/// The times that suit a patient for an appointment, and the clinic's note on one.
pub const APPOINTMENT: usize = 500;
/// An announcement, per language.
pub const ANNOUNCEMENT: usize = 500;
/// An id or a secret a client sends (record ids, link tokens, enrolment codes): anything
/// longer is not one of ours and is refused before the store is asked.
pub const KEY: usize = 128;

/// Whether a key a client sent is short enough to be one of ours.
pub fn plausible_key(key: &str) -> bool {
    key.len() <= KEY
}
