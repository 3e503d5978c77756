//! Patients as the rest of the application sees them: found by id, link or code, and what the
//! clinic knows of her at a given moment.

use aftercare_core::Profile;
use aftercare_store::{BoardFilter, Patient};
use chrono::{DateTime, NaiveDate, Utc};

use crate::{limits, App, Error, Result};

/// The calendar day of an instant (UTC; clinics in other zones see day boundaries shifted by
/// their offset, which the diary tolerates since entries are per day).
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

/// What the clinic knows of her, as of `now`. On the day of the procedure the hours are left for
/// her to answer: the first hours decide whether numbness is still the block.
pub fn profile(patient: &Patient, now: DateTime<Utc>) -> Profile {
    let today = today(now);
    let days_since_procedure = (today - patient.procedure_date).num_days();
    Profile {
        procedure: patient.procedure.clone(),
        hours_since_procedure: (days_since_procedure >= 1)
            .then_some(days_since_procedure as f64 * 24.0),
        days_since_delivery: patient
            .delivery_date
            .map(|d| (today - d).num_days().max(0) as f64),
    }
}

/// What a patient signs in with.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// The secret of her personal link.
    Link(&'a str),
    /// Her enrolment code, as typed (normalised).
    Code(&'a str),
}

/// How long an enrolment code works after it is issued.
pub const CODE_DAYS: i64 = 14;

/// How long a patient's browser stays signed in.
pub const SESSION_DAYS: i64 = 30;

pub struct Patients<'a>(pub(crate) &'a App);

impl Patients<'_> {
    /// A patient by id, if any.
    pub async fn get(&self, id: &str) -> Result<Option<Patient>> {
        if !limits::plausible_key(id) {
            return Ok(None);
        }
        Ok(self.0.store.get_patient(&id.into()).await?)
    }

    /// A patient of `clinic_id`; `NotFound` for any other (another clinic's patient and no
    /// patient look alike).
    pub async fn of_clinic(&self, clinic_id: &str, patient_id: &str) -> Result<Patient> {
        self.get(patient_id)
            .await?
            .filter(|p| p.clinic_id == clinic_id)
            .ok_or(Error::NotFound)
    }

    /// The patient whose personal link this is.
    pub async fn by_link(&self, token: &str) -> Result<Option<Patient>> {
        if !limits::plausible_key(token) {
            return Ok(None);
        }
        Ok(self.0.store.get_patient_by_link_token(token).await?)
    }

    /// Starts a signed-in session for her on one browser; returns the session's secret token
    /// (for the cookie). Only its hash is stored, so a copy of the database opens nothing.
    /// For set-up and tests; a sign-in goes through [`Patients::sign_in`].
    pub async fn start_session(&self, patient: &Patient) -> Result<String> {
        let token = crate::secrets::random_token()?;
        let now = self.0.now();
        let expires = now + chrono::Duration::days(SESSION_DAYS);
        let (hash, id) = (crate::secrets::token_hash(&token), patient.id.clone());
        self.0
            .store
            .transaction(move |tx| {
                tx.create_patient_session(hash.clone(), id.clone(), None, now, expires)
            })
            .await?;
        Ok(token)
    }

    /// Signs her in with her link or her code, in one unit of work: the session (only if the
    /// link is still hers, or the code still good: it is used up in the same commit) and the
    /// audit row. `None` for a link or code that opens nothing; nothing is then written.
    /// Returns her and the session's secret token.
    pub async fn sign_in(
        &self,
        address: Option<&str>,
        credential: Credential<'_>,
    ) -> Result<Option<(Patient, String)>> {
        let token = crate::secrets::random_token()?;
        let now = self.0.now();
        let expires = now + chrono::Duration::days(SESSION_DAYS);
        let hash = crate::secrets::token_hash(&token);
        let address = address.map(str::to_string);
        let (link, code, found) = match credential {
            Credential::Link(link) => match self.by_link(link).await? {
                Some(p) => (Some(link.to_string()), None, Some(p)),
                None => return Ok(None),
            },
            Credential::Code(code) if limits::plausible_key(code) => {
                (None, Some(code.to_string()), None)
            }
            Credential::Code(_) => return Ok(None),
        };
        let issued_after = now - chrono::Duration::days(CODE_DAYS);
        let signed_in = self
            .0
            .store
            .transaction(move |tx| {
                let (hash, link, code, found, address) = (
                    hash.clone(),
                    link.clone(),
                    code.clone(),
                    found.clone(),
                    address.clone(),
                );
                Box::pin(async move {
                    let patient = match (found, code) {
                        (Some(p), _) => p,
                        (None, Some(code)) => {
                            match tx.redeem_enrolment_code(code, issued_after, now).await? {
                                Some(p) => p,
                                None => return Ok(None),
                            }
                        }
                        (None, None) => return Ok(None),
                    };
                    let how = if link.is_some() { "link" } else { "code" };
                    if !tx
                        .create_patient_session(hash, patient.id.clone(), link, now, expires)
                        .await?
                    {
                        return Ok(None);
                    }
                    let actor = crate::audit::Actor {
                        kind: crate::audit::ActorKind::Patient,
                        id: Some(patient.id.to_string()),
                        address,
                    };
                    let subject = crate::audit::Subject {
                        detail: Some(how.into()),
                        ..crate::audit::Subject::patient(&patient)
                    };
                    tx.append_audit(crate::audit::entry(
                        &actor,
                        crate::audit::Action::PatientSignIn,
                        subject,
                        now,
                    ))
                    .await?;
                    Ok(Some(patient))
                })
            })
            .await?;
        Ok(signed_in.map(|p| (p, token)))
    }

    /// The patient signed in with this session token, if the session is still open.
    pub async fn by_session(&self, token: &str) -> Result<Option<Patient>> {
        if !limits::plausible_key(token) {
            return Ok(None);
        }
        let hash = crate::secrets::token_hash(token);
        Ok(self
            .0
            .store
            .get_patient_by_session(&hash, self.0.now())
            .await?)
    }

    /// Ends a session (she signs out): its cookie opens nothing from now on.
    pub async fn end_session(&self, token: &str) -> Result<()> {
        let hash = crate::secrets::token_hash(token);
        self.0
            .store
            .transaction(move |tx| tx.end_patient_session(hash.clone()))
            .await?;
        Ok(())
    }

    /// The clinic's work list (see [`aftercare_store::Store::list_board`]).
    pub async fn board(&self, clinic_id: &str, filter: BoardFilter) -> Result<Vec<Patient>> {
        Ok(self.0.store.list_board(clinic_id, filter).await?)
    }

    /// What waits for the clinic's clinicians: counts only, no patient named (not audited).
    pub async fn workload(&self, clinic_id: &str) -> Result<aftercare_store::Workload> {
        Ok(self.0.store.workload(clinic_id).await?)
    }
}
