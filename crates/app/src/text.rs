//! Text a person typed, bounded by its kind. A command that carries a [`Note`] or a [`Name`]
//! cannot hold an over-long or blank one: the only way to make one is [`Text::new`] or
//! [`Text::optional`], which trim, count characters (not bytes) and name the field in their
//! error. Each kind's limit is its constant in [`crate::limits`]; the kinds are distinct types,
//! so a chat message cannot be passed where a clinic's name is expected even when two limits
//! happen to be equal.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use crate::{limits, Error, Result};

/// A kind of text and its limit in characters.
pub trait Kind {
    const MAX: usize;
}

/// Trimmed text of one [`Kind`], 1 to `K::MAX` characters.
pub struct Text<K: Kind>(String, PhantomData<K>);

impl<K: Kind> Text<K> {
    /// The longest text of this kind, in characters.
    pub const MAX: usize = K::MAX;

    /// The text trimmed; an error naming `field` when it is empty or too long.
    pub fn new(field: &str, text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > K::MAX {
            return Err(Error::invalid(
                field,
                format!("{field}: 1 to {} characters", K::MAX),
            ));
        }
        Ok(Text(text.to_string(), PhantomData))
    }

    /// Absent or blank text as `None`; otherwise as [`Text::new`].
    pub fn optional(field: &str, text: Option<&str>) -> Result<Option<Self>> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(text) => Self::new(field, text).map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<K: Kind> Clone for Text<K> {
    fn clone(&self) -> Self {
        Text(self.0.clone(), PhantomData)
    }
}

impl<K: Kind> PartialEq for Text<K> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<K: Kind> Eq for Text<K> {}

impl<K: Kind> Deref for Text<K> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<K: Kind> AsRef<str> for Text<K> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<K: Kind> From<Text<K>> for String {
    fn from(text: Text<K>) -> String {
        text.0
    }
}

impl<K: Kind> fmt::Display for Text<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Only the length: what a person wrote about her health stays out of debug logs.
impl<K: Kind> fmt::Debug for Text<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text({} characters)", self.0.chars().count())
    }
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident => $alias:ident = $limit:path;)*) => {$(
        $(#[$doc])*
        pub enum $kind {}
        impl Kind for $kind {
            const MAX: usize = $limit;
        }
        $(#[$doc])*
        pub type $alias = Text<$kind>;
    )*};
}

kinds! {
    /// A free-text note: a diary note, an acknowledgement, a reply to a contact request.
    NoteKind => Note = limits::NOTE;
    /// A chat message.
    MessageKind => MessageBody = limits::MESSAGE;
    /// A person's display name (a patient's pseudonym, a member of staff, who wrote in).
    NameKind => Name = limits::NAME;
    /// Who wrote to a clinic through its contact form, and how to reach them.
    ContactKind => ContactDetail = limits::CONTACT;
    /// What someone wrote to a clinic through its contact form.
    RequestKind => RequestText = limits::REQUEST;
    /// A clinic's name, or its opening hours in one language.
    ClinicKind => ClinicText = limits::CLINIC_TEXT;
    /// The times that suit a patient for an appointment, or the clinic's note on one.
    AppointmentKind => AppointmentText = limits::APPOINTMENT;
    /// An announcement in one language.
    AnnouncementKind => AnnouncementText = limits::ANNOUNCEMENT;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_counted_in_characters_not_bytes() {
        let name = Name::new("name", "  Zoë  ").unwrap();
        assert_eq!(name.as_str(), "Zoë");
        let long = "é".repeat(limits::NAME);
        assert!(Name::new("name", &long).is_ok(), "100 two-byte letters fit");
        let too_long = "é".repeat(limits::NAME + 1);
        let err = Name::new("display_name", &too_long).unwrap_err();
        assert!(err.to_string().contains("display_name"), "{err}");
    }

    #[test]
    fn blank_text_is_refused_when_required_and_none_when_optional() {
        assert!(Note::new("note", "   ").is_err());
        assert_eq!(Note::optional("note", Some(" \n ")).unwrap(), None);
        assert_eq!(Note::optional("note", None).unwrap(), None);
        assert_eq!(
            Note::optional("note", Some(" ok ")).unwrap().as_deref(),
            Some("ok")
        );
    }

    #[test]
    fn debug_output_shows_the_length_not_the_words() {
        let note = Note::new("note", "bleeding since this morning").unwrap();
        let shown = format!("{note:?}");
        assert!(!shown.contains("bleeding"), "{shown}");
        assert!(shown.contains("27"), "{shown}");
    }
}
