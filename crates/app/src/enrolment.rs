//! Enrolment: a clinician (or the shell) registers a patient after her procedure; she gets a
//! personal link and an enrolment code. The page, the API and `aftercare admin enrol-patient`
//! make the same checks, and the patient and her audit row are one commit.

use crate::text::Name;
use aftercare_core::content::FactKind;
use aftercare_core::Content;
use aftercare_store::{NewPatient, Patient};
use chrono::NaiveDate;

use crate::audit::{entry, Action, Actor, Subject};
use crate::secrets::{new_enrolment_code, new_link_token};
use crate::{App, Error, Result};

/// The longest display name of a patient.
pub const NAME_LIMIT: usize = Name::MAX;

/// The procedures patients can be enrolled for: the content's `procedure` values but `none`,
/// with their labels in the first language.
pub fn procedures(content: &Content) -> Vec<(String, String)> {
    procedures_in(content, content.default_lang())
}

/// The procedures as [`procedures`] lists them, labelled in `lang`.
pub fn procedures_in(content: &Content, lang: aftercare_core::Lang) -> Vec<(String, String)> {
    let Some(idx) = content.fact_index("procedure") else {
        return Vec::new();
    };
    let fact = &content.facts[idx as usize];
    let labels = &content.text(lang).facts[idx as usize].values;
    match &fact.kind {
        FactKind::Enum { values, .. } => values
            .iter()
            .zip(labels.iter().map(Some).chain(std::iter::repeat(None)))
            .filter(|(v, _)| v.as_str() != "none")
            .map(|(v, l)| (v.clone(), l.cloned().unwrap_or_else(|| v.clone())))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whom to enrol.
#[derive(Debug, Clone)]
pub struct Enrol {
    /// How the clinic calls her (pseudonymous is fine).
    pub display_name: Name,
    /// A `procedure` value of the content.
    pub procedure: String,
    pub procedure_date: NaiveDate,
    /// When she has given birth.
    pub delivery_date: Option<NaiveDate>,
    /// A language of the content.
    pub language: String,
    /// Her telephone number, to call her back (optional).
    pub phone: Option<String>,
    /// Her email address for reminders and "your clinic has replied", given with her consent
    /// (optional; she can also add it on her own page).
    pub email: Option<crate::patient_email::EmailSettings>,
}

pub struct Enrolment<'a>(pub(crate) &'a App);

impl Enrolment<'_> {
    /// The clinic changes her telephone number (empty: none), audited.
    pub async fn set_phone(&self, actor: &Actor, patient: &Patient, raw: &str) -> Result<()> {
        let phone = crate::clinics::phone_number("phone", raw)?;
        let now = self.0.now();
        let row = entry(
            actor,
            Action::PatientPhoneSet,
            Subject::patient(patient),
            now,
        );
        let id = patient.id.clone();
        self.0
            .write_audited(
                move |tx| tx.set_patient_phone(id.clone(), phone.clone()),
                move |_| row.clone(),
            )
            .await
    }

    /// Gives her a new personal link and a new enrolment code (a lost or shared one stops
    /// working, and every browser signed in with it is signed out), audited; returns her with
    /// them.
    pub async fn replace_link(&self, actor: &Actor, patient: &Patient) -> Result<Patient> {
        let token = new_link_token()?;
        let code = new_enrolment_code()?;
        let now = self.0.now();
        let row = entry(
            actor,
            Action::PatientLinkReplaced,
            Subject::patient(patient),
            now,
        );
        let (id, new, new_code) = (patient.id.clone(), token.clone(), code.clone());
        self.0
            .write_audited(
                move |tx| {
                    let (id, new, new_code) = (id.clone(), new.clone(), new_code.clone());
                    Box::pin(async move {
                        tx.replace_link_token(id.clone(), new).await?;
                        tx.replace_enrolment_code(id, new_code, now).await
                    })
                },
                move |_| row.clone(),
            )
            .await?;
        let mut replaced = patient.clone();
        replaced.link_token = token.into();
        replaced.enrolment_code = code;
        Ok(replaced)
    }

    /// Validates and enrols a patient of `clinic_id` with fresh secrets, audited.
    pub async fn enrol(&self, actor: &Actor, clinic_id: &str, who: Enrol) -> Result<Patient> {
        let content = self.0.content();
        let name = who.display_name.into_string();
        if !procedures(content).iter().any(|(v, _)| *v == who.procedure) {
            return Err(Error::invalid(
                "procedure",
                "procedure: not a known procedure",
            ));
        }
        let now = self.0.now();
        let today = now.date_naive();
        if who.procedure_date > today {
            return Err(Error::invalid(
                "procedure_date",
                "procedure_date: in the future",
            ));
        }
        if (today - who.procedure_date).num_days() > 366 {
            return Err(Error::invalid(
                "procedure_date",
                "procedure_date: more than a year ago",
            ));
        }
        if who.delivery_date.is_some_and(|d| d > today) {
            return Err(Error::invalid(
                "delivery_date",
                "delivery_date: in the future",
            ));
        }
        if content.lang(&who.language).is_none() {
            return Err(Error::invalid(
                "language",
                "language: not a language of the content",
            ));
        }
        let phone = match &who.phone {
            Some(raw) => crate::clinics::phone_number("phone", raw)?,
            None => None,
        };
        // Checked before anything is stored; the patient id is filled in once she has one.
        let email = match who.email {
            Some(settings) => {
                crate::patient_email::validated("", settings, crate::secrets::random_token()?)?
            }
            None => None,
        };
        let email_given = email.is_some();
        // A clash of random secrets is next to impossible; try again rather than fail.
        for _ in 0..5 {
            let new = NewPatient {
                clinic_id: clinic_id.to_string(),
                display_name: name.clone(),
                enrolment_code: new_enrolment_code()?,
                link_token: new_link_token()?.into(),
                procedure: who.procedure.clone(),
                procedure_date: who.procedure_date,
                delivery_date: who.delivery_date,
                language: who.language.clone(),
            };
            let (actor, phone, email) = (actor.clone(), phone.clone(), email.clone());
            let by = actor.clone();
            let attempt = self
                .0
                .write_audited(
                    move |tx| {
                        let (new, phone, email) = (new.clone(), phone.clone(), email.clone());
                        let by = by.clone();
                        Box::pin(async move {
                            let mut patient = tx.create_patient(new, now).await?;
                            if phone.is_some() {
                                tx.set_patient_phone(patient.id.clone(), phone.clone())
                                    .await?;
                                patient.phone = phone;
                            }
                            if let Some(mut email) = email {
                                email.patient_id = patient.id.clone();
                                tx.set_patient_email(patient.id.clone(), Some(email))
                                    .await?;
                                // Her consent is an event of its own in the log.
                                let subject = Subject::patient(&patient).detail("set");
                                let consent = entry(&by, Action::PatientEmailSet, subject, now);
                                tx.append_audit(consent).await?;
                            }
                            Ok(patient)
                        })
                    },
                    move |patient: &Patient| {
                        let mut subject = Subject::patient(patient);
                        if email_given {
                            subject = subject.detail("email with consent");
                        }
                        entry(&actor, Action::PatientEnrol, subject, now)
                    },
                )
                .await;
            match attempt {
                Err(Error::Conflict(_)) => continue,
                other => return other,
            }
        }
        Err(Error::Internal("could not make unique secrets".into()))
    }
}
