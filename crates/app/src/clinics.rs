//! Clinics: created from the shell, configured by their admins (name, opening hours per
//! language, telephone numbers). A change and its audit row are one commit.

use crate::text::ClinicText;
use aftercare_store::{Clinic, ClinicSettings, NewClinic};
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::{json, Map, Value};

use crate::audit::{entry, Action, Actor, Subject};
use crate::{App, Error, Result};

/// The longest clinic name and opening-hours text.
pub const TEXT_LIMIT: usize = ClinicText::MAX;

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

/// A change to a clinic's settings, as an admin types it on the settings page (every field
/// given) or `aftercare admin configure` passes it (only the flags given). `None` keeps what is
/// stored; an empty text removes an optional value.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub name: Option<String>,
    /// Opening hours as patients read them, one text per language code.
    pub hours: Option<Vec<(String, String)>>,
    pub phone: Option<String>,
    pub out_of_hours_phone: Option<String>,
    pub crisis_line: Option<String>,
    /// The clinic's emergency number (empty: the server's).
    pub emergency_number: Option<String>,
    /// An IANA zone such as `Europe/Madrid` (empty: UTC).
    pub time_zone: Option<String>,
    /// The hours the daytime number answers, local time: `8` or `08:00` to `18` or `18:00`
    /// (both empty: no hours, the daytime number at any time).
    pub open_from: Option<String>,
    pub open_until: Option<String>,
    /// The days it answers: `mon`, `tue`, ... `sun`.
    pub open_days: Option<Vec<String>>,
    pub realert_emergency_minutes: Option<String>,
    pub realert_urgent_minutes: Option<String>,
    /// Whether alerts may name the patient.
    pub alert_names: Option<bool>,
    /// Whether clinicians must sign in with a second factor too.
    pub clinician_second_factor: Option<bool>,
}

/// The weekday names of `Changes::open_days`, Monday first (bit 0).
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// An hour of the day as typed: `8`, `08`, `8:00`; `24` only as an end. Empty: none.
fn hour(field: &str, raw: &str, end: bool) -> Result<Option<i32>> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let whole = t.strip_suffix(":00").unwrap_or(t);
    let max = if end { 24 } else { 23 };
    match whole.parse::<i32>() {
        Ok(h) if (0..=max).contains(&h) && !(end && h == 0) => Ok(Some(h)),
        _ => Err(Error::invalid(
            field,
            format!("{field}: a whole hour from 0 to {max}, such as 08:00"),
        )),
    }
}

fn minutes(field: &str, raw: &str) -> Result<i32> {
    match raw.trim().parse::<i32>() {
        Ok(m) if (1..=1440).contains(&m) => Ok(m),
        _ => Err(Error::invalid(
            field,
            format!("{field}: minutes, from 1 to 1440"),
        )),
    }
}

/// An IANA time zone name; empty: none (UTC).
pub fn time_zone(field: &str, raw: &str) -> Result<Option<String>> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<chrono_tz::Tz>() {
        Ok(tz) => Ok(Some(tz.name().to_string())),
        Err(_) => Err(Error::invalid(
            field,
            format!("{field}: a time zone such as Europe/Madrid"),
        )),
    }
}

/// The zone of a stored name (UTC when none or unknown).
pub fn zone(name: Option<&str>) -> chrono_tz::Tz {
    name.and_then(|n| n.parse().ok()).unwrap_or(chrono_tz::UTC)
}

/// A time as pages show it: in the zone (the clinic's), with the zone's abbreviation, such as
/// `2026-12-02 11:07 CET`; in UTC when there is none.
pub fn local_time(zone_name: Option<&str>, t: DateTime<Utc>) -> String {
    t.with_timezone(&zone(zone_name))
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// The number for a `tel:` link: `+` and digits only.
pub fn dial(number: &str) -> String {
    number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// Whom a patient can reach now, by the clinic's hours in its zone.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reach {
    /// The clinic's number to call now, if it has one.
    pub call: Option<String>,
    /// Whether that is the daytime number (the clinic is open).
    pub open_now: bool,
    pub emergency: String,
    pub crisis_line: Option<String>,
}

/// Whether the clinic's daytime number answers at `now`: inside its hours on one of its days,
/// or at any time when it has no hours set.
pub fn open_at(clinic: &Clinic, now: DateTime<Utc>) -> bool {
    let (Some(from), Some(until)) = (clinic.open_from, clinic.open_until) else {
        return true;
    };
    let local = now.with_timezone(&zone(clinic.time_zone.as_deref()));
    let day = local.weekday().num_days_from_monday();
    let hour = local.hour() as i32;
    clinic.open_weekdays & (1 << day) != 0 && from <= hour && hour < until
}

/// The numbers to offer at `now`: in opening hours the daytime number (else the out-of-hours
/// one), at other times the out-of-hours number (else the daytime one); the clinic's emergency
/// number, or the server's when it has none.
pub fn reach(clinic: &Clinic, now: DateTime<Utc>, server_emergency: &str) -> Reach {
    let open = open_at(clinic, now);
    let call = if open {
        clinic
            .phone
            .clone()
            .or_else(|| clinic.out_of_hours_phone.clone())
    } else {
        clinic
            .out_of_hours_phone
            .clone()
            .or_else(|| clinic.phone.clone())
    };
    Reach {
        open_now: open && clinic.phone.is_some(),
        call,
        emergency: clinic
            .emergency_number
            .clone()
            .unwrap_or_else(|| server_emergency.to_string()),
        crisis_line: clinic.crisis_line.clone(),
    }
}

pub struct Clinics<'a>(pub(crate) &'a App);

impl Clinics<'_> {
    pub async fn get(&self, id: &str) -> Result<Option<Clinic>> {
        Ok(self.0.store.get_clinic(id).await?)
    }

    /// The numbers a patient of the clinic should be given now (the server's emergency
    /// number alone for an unknown clinic).
    pub async fn reach_now(&self, clinic_id: &str) -> Result<Reach> {
        Ok(self.reach_and_zone(clinic_id).await?.0)
    }

    /// The clinic's time zone (its name), if it has set one; `None` for an unknown clinic.
    pub async fn zone_of(&self, clinic_id: &str) -> Result<Option<String>> {
        Ok(self.get(clinic_id).await?.and_then(|c| c.time_zone))
    }

    /// The numbers, and the clinic's time zone (for the times an email gives), in one read.
    pub async fn reach_and_zone(&self, clinic_id: &str) -> Result<(Reach, Option<String>)> {
        let now = self.0.now();
        let fallback = self.0.emergency_number();
        Ok(match self.get(clinic_id).await? {
            Some(clinic) => (reach(&clinic, now, fallback), clinic.time_zone),
            None => (
                Reach {
                    call: None,
                    open_now: false,
                    emergency: fallback.to_string(),
                    crisis_line: None,
                },
                None,
            ),
        })
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
        let name = ClinicText::new("name", name)?;
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

    /// Applies `changes` to the clinic, each checked, in one commit with its audit row
    /// (`detail` says where the change came from, such as `admin configure`).
    pub async fn change(
        &self,
        actor: &Actor,
        clinic: &Clinic,
        changes: Changes,
        detail: Option<&str>,
    ) -> Result<Clinic> {
        let mut new = ClinicSettings::of(clinic);
        if let Some(name) = &changes.name {
            new.name = ClinicText::new("name", name)?.into_string();
        }
        if let Some(hours) = &changes.hours {
            let mut opening = Map::new();
            for (lang, text) in hours {
                let text = ClinicText::optional(&format!("hours_{lang}"), Some(text))?;
                if let (Some(text), Some(_)) = (text, self.0.content().lang(lang)) {
                    opening.insert(lang.clone(), json!(text.as_str()));
                }
            }
            new.opening_hours = Value::Object(opening);
        }
        let numbers = [
            ("phone", &changes.phone, &mut new.phone),
            (
                "out_of_hours_phone",
                &changes.out_of_hours_phone,
                &mut new.out_of_hours_phone,
            ),
            ("crisis_line", &changes.crisis_line, &mut new.crisis_line),
            (
                "emergency_number",
                &changes.emergency_number,
                &mut new.emergency_number,
            ),
        ];
        for (field, given, stored) in numbers {
            if let Some(raw) = given {
                *stored = phone_number(field, raw)?;
            }
        }
        if let Some(tz) = &changes.time_zone {
            new.time_zone = time_zone("time_zone", tz)?;
        }
        if let Some(from) = &changes.open_from {
            new.open_from = hour("open_from", from, false)?;
        }
        if let Some(until) = &changes.open_until {
            new.open_until = hour("open_until", until, true)?;
        }
        match (new.open_from, new.open_until) {
            (Some(from), Some(until)) if from >= until => {
                return Err(Error::invalid(
                    "open_until",
                    "open_until: the closing hour must come after the opening hour",
                ))
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::invalid(
                    "open_from",
                    "open_from: give both the opening and the closing hour, or neither",
                ))
            }
            _ => {}
        }
        if let Some(days) = &changes.open_days {
            let mut mask = 0;
            for d in days {
                let d = d.trim().to_ascii_lowercase();
                let i = WEEKDAYS.iter().position(|w| *w == d).ok_or_else(|| {
                    Error::invalid("open_days", "open_days: mon, tue, wed, thu, fri, sat, sun")
                })?;
                mask |= 1 << i;
            }
            new.open_weekdays = mask;
        }
        if let Some(m) = &changes.realert_emergency_minutes {
            new.realert_emergency_minutes = minutes("realert_emergency_minutes", m)?;
        }
        if let Some(m) = &changes.realert_urgent_minutes {
            new.realert_urgent_minutes = minutes("realert_urgent_minutes", m)?;
        }
        if let Some(names) = changes.alert_names {
            new.alert_names = names;
        }
        if let Some(required) = changes.clinician_second_factor {
            new.clinician_second_factor = required;
        }
        let now = self.0.now();
        let mut subject = Subject::clinic(&clinic.id);
        if let Some(d) = detail {
            subject = subject.detail(d);
        }
        let row = entry(actor, Action::ClinicSettings, subject, now);
        let id = clinic.id.clone();
        self.0
            .write_audited(
                move |tx| tx.update_clinic_settings(id.clone(), new.clone()),
                move |_| row.clone(),
            )
            .await
    }
}
