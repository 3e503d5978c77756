//! Clinics: created from the shell, configured by their admins (name, opening hours per
//! language, telephone numbers). A change and its audit row are one commit.

use aftercare_store::{Clinic, ClinicSettings, NewClinic};
use serde_json::{json, Map, Value};

use crate::audit::{entry, Action, Actor, Subject};
use crate::{App, Error, Result};

/// The longest clinic name and opening-hours text.
pub const TEXT_LIMIT: usize = crate::limits::CLINIC_TEXT;

/// A telephone number as a patient's phone dials it: digits, spaces, `+`, `-`, `.`, `(`, `)`,
/// at least three digits and at most 32 characters. Empty: not given.
pub fn phone_number(field: &str, raw: &str) -> Result<Option<String>> {
    let n = raw.trim();
    if n.is_empty() {
        return Ok(None);
    }
    let allowed = n
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')'));
    let digits = n.chars().filter(char::is_ascii_digit).count();
    if !allowed || digits < 3 || n.chars().count() > 32 {
        return Err(Error::invalid(
            field,
            format!("{field}: a telephone number, such as +34 912 345 678"),
        ));
    }
    Ok(Some(n.to_string()))
}

/// The clinic's telephone numbers, as an admin types them (empty: none).
#[derive(Debug, Clone, Default)]
pub struct Numbers {
    pub phone: String,
    pub out_of_hours_phone: String,
    pub crisis_line: String,
}

/// What an admin saves on the settings page (or `aftercare admin configure` from the shell).
pub struct Settings<'a> {
    pub name: &'a str,
    /// Opening hours, one text per language code.
    pub hours: &'a [(String, String)],
    pub numbers: &'a Numbers,
}

pub struct Clinics<'a>(pub(crate) &'a App);

impl Clinics<'_> {
    pub async fn get(&self, id: &str) -> Result<Option<Clinic>> {
        Ok(self.0.store.get_clinic(id).await?)
    }

    pub async fn by_slug(&self, slug: &str) -> Result<Option<Clinic>> {
        Ok(self.0.store.get_clinic_by_slug(slug).await?)
    }

    /// Every clinic, by name.
    pub async fn list(&self) -> Result<Vec<Clinic>> {
        Ok(self.0.store.list_clinics().await?)
    }

    /// Creates a clinic (its slug names it in URLs and commands), audited.
    pub async fn create(&self, actor: &Actor, slug: &str, name: &str) -> Result<Clinic> {
        let slug = slug.trim();
        let valid = !slug.is_empty()
            && slug.len() <= 64
            && slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(Error::invalid(
                "slug",
                "slug: lowercase letters, digits and '-', at most 64",
            ));
        }
        let name = crate::limits::required("name", name, TEXT_LIMIT)?;
        let now = self.0.now();
        let new = NewClinic {
            slug: slug.to_string(),
            name: name.to_string(),
            opening_hours: json!({}),
        };
        let actor = actor.clone();
        self.0
            .write_audited(
                move |tx| tx.create_clinic(new.clone(), now),
                move |clinic: &Clinic| {
                    let subject = Subject::clinic(&clinic.id).detail(clinic.slug.clone());
                    entry(&actor, Action::ClinicCreate, subject, now)
                },
            )
            .await
    }

    /// Saves the clinic's name, opening hours and numbers, audited.
    pub async fn configure(
        &self,
        actor: &Actor,
        clinic_id: &str,
        settings: Settings<'_>,
    ) -> Result<Clinic> {
        let name = crate::limits::required("name", settings.name, TEXT_LIMIT)?;
        let mut opening = Map::new();
        for (lang, text) in settings.hours {
            let text = text.trim();
            if text.chars().count() > TEXT_LIMIT {
                return Err(Error::invalid(
                    format!("hours_{lang}"),
                    format!("hours_{lang}: at most {TEXT_LIMIT} characters"),
                ));
            }
            if self.0.content().lang(lang).is_some() && !text.is_empty() {
                opening.insert(lang.clone(), json!(text));
            }
        }
        let numbers = settings.numbers;
        let new = ClinicSettings {
            name: name.to_string(),
            opening_hours: Value::Object(opening),
            phone: phone_number("phone", &numbers.phone)?,
            out_of_hours_phone: phone_number("out_of_hours_phone", &numbers.out_of_hours_phone)?,
            crisis_line: phone_number("crisis_line", &numbers.crisis_line)?,
        };
        let now = self.0.now();
        let row = entry(
            actor,
            Action::ClinicSettings,
            Subject::clinic(clinic_id),
            now,
        );
        let id = clinic_id.to_string();
        self.0
            .write_audited(
                move |tx| tx.update_clinic_settings(id.clone(), new.clone()),
                move |_| row.clone(),
            )
            .await
    }

    /// Changes only the clinic's numbers (`aftercare admin configure`): a number not given keeps
    /// its value, the name and opening hours stay as stored. Audited with `detail`.
    pub async fn set_numbers(
        &self,
        actor: &Actor,
        clinic: &Clinic,
        numbers: [Option<&str>; 3],
        detail: &str,
    ) -> Result<Clinic> {
        let [phone, out_of_hours, crisis] = numbers;
        let pick = |field: &str, given: Option<&str>, kept: &Option<String>| match given {
            Some(raw) => phone_number(field, raw),
            None => Ok(kept.clone()),
        };
        let new = ClinicSettings {
            name: clinic.name.clone(),
            opening_hours: clinic.opening_hours.clone(),
            phone: pick("phone", phone, &clinic.phone)?,
            out_of_hours_phone: pick(
                "out_of_hours_phone",
                out_of_hours,
                &clinic.out_of_hours_phone,
            )?,
            crisis_line: pick("crisis_line", crisis, &clinic.crisis_line)?,
        };
        let now = self.0.now();
        let row = entry(
            actor,
            Action::ClinicSettings,
            Subject::clinic(&clinic.id).detail(detail),
            now,
        );
        let id = clinic.id.clone();
        self.0
            .write_audited(
                move |tx| tx.update_clinic_settings(id.clone(), new.clone()),
                move |_| row.clone(),
            )
            .await
    }
}
