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
        Ok(self.0.store.get_patient(id).await?)
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
    pub async fn start_session(&self, patient: &Patient) -> Result<String> {
        let token = crate::secrets::random_token()?;
        let now = self.0.now();
        let expires = now + chrono::Duration::days(SESSION_DAYS);
        let (hash, id) = (crate::secrets::token_hash(&token), patient.id.clone());
        self.0
            .store
            .transaction(move |tx| {
                tx.create_patient_session(hash.clone(), id.clone(), now, expires)
            })
            .await?;
        Ok(token)
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

    /// Signs in with an enrolment code: the patient whose code it is, if it is still good (issued
    /// within [`CODE_DAYS`], never used). It is then used up, in the same statement, so two
    /// tries at once cannot both succeed; her link, or a new code from the clinic, signs her in
    /// after that.
    pub async fn redeem_code(&self, code: &str) -> Result<Option<Patient>> {
        if !limits::plausible_key(code) {
            return Ok(None);
        }
        let now = self.0.now();
        let issued_after = now - chrono::Duration::days(CODE_DAYS);
        let code = code.to_string();
        Ok(self
            .0
            .store
            .transaction(move |tx| tx.redeem_enrolment_code(code.clone(), issued_after, now))
            .await?)
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
