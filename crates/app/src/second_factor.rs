//! A second factor for staff sign-in: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps,
//! as every authenticator app reads it), confirmed by a first code before it counts, with ten
//! one-time recovery codes for a lost phone. Admins must have one; a clinic can require it of
//! its clinicians too. A code is accepted once: the time step it belongs to is recorded in the
//! statement that accepts it, so a code seen over a shoulder, or sent to two servers at the
//! same moment, opens one session at most.

use aftercare_store::{Clinic, Role, Staff, TotpSecret};
use chrono::{DateTime, Utc};
use totp_rs::{Algorithm, TOTP};

use crate::audit::{entry, Action, Actor, Subject};
use crate::secrets::{random_bytes, random_code, token_hash};
use crate::{App, Error, Result};

/// Seconds per code.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// How many recovery codes she gets at a time.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (shown as two groups of five): about 50 bits.
const RECOVERY_LENGTH: usize = 10;
/// The name authenticator apps show above the code.
pub const ISSUER: &str = "Aftercare";

/// Whether she must set up a second factor before she can use the workspace: an admin
/// always, a clinician when her clinic asks it; never once she has one.
pub fn must_set_up(staff: &Staff, clinic: Option<&Clinic>) -> bool {
    staff.totp_secret.is_none()
        && (staff.role == Role::Admin || clinic.is_some_and(|c| c.clinician_second_factor))
}

fn totp(secret: &TotpSecret) -> Result<TOTP> {
    let bytes = totp_rs::Secret::Encoded(secret.expose().to_string())
        .to_bytes()
        .map_err(|e| Error::Internal(format!("stored TOTP secret: {e:?}")))?;
    TOTP::new(Algorithm::SHA1, DIGITS, 0, STEP_SECONDS as u64, bytes)
        .map_err(|e| Error::Internal(format!("TOTP: {e}")))
}

fn step_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP_SECONDS)
}

/// The code an authenticator app shows at `at` (the tests play the app with it).
pub fn code_at(secret: &TotpSecret, at: DateTime<Utc>) -> Result<String> {
    let seconds = u64::try_from(at.timestamp()).map_err(|_| Error::Internal("time".into()))?;
    Ok(totp(secret)?.generate(seconds))
}

/// The time step whose code `code` is, allowing one step either side of `now` for a phone
/// whose clock is a little off; `None` when it is none of them.
fn matching_step(secret: &TotpSecret, code: &str, now: DateTime<Utc>) -> Result<Option<i64>> {
    let totp = totp(secret)?;
    let now_step = step_of(now);
    for step in [now_step - 1, now_step, now_step + 1] {
        let Ok(seconds) = u64::try_from(step * STEP_SECONDS) else {
            continue;
        };
        let expected = totp.generate(seconds);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            return Ok(Some(step));
        }
    }
    Ok(None)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What she typed, as a code: a TOTP code, or a recovery code (any case, spaces and dashes
/// ignored).
enum Typed {
    Totp(String),
    Recovery(String),
    Neither,
}

fn typed(code: &str) -> Typed {
    let plain: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    if plain.len() == DIGITS && plain.bytes().all(|b| b.is_ascii_digit()) {
        Typed::Totp(plain)
    } else if plain.len() == RECOVERY_LENGTH && plain.is_ascii() {
        Typed::Recovery(plain)
    } else {
        Typed::Neither
    }
}

fn recovery_hash(plain: &str) -> String {
    token_hash(&format!("aftercare recovery code\u{0}{plain}"))
}

/// Ten new recovery codes, as she writes them down (`ABCDE-FGHJK`), and their digests.
fn new_recovery_codes() -> Result<(Vec<String>, Vec<String>)> {
    let mut shown = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let plain = random_code(RECOVERY_LENGTH)?;
        hashes.push(recovery_hash(&plain));
        shown.push(format!("{}-{}", &plain[..5], &plain[5..]));
    }
    Ok((shown, hashes))
}

/// A secret being set up, as her authenticator app takes it.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The secret in base32, grouped by four for typing by hand.
    pub secret: String,
    /// The `otpauth://` URI a QR code carries.
    pub uri: String,
}

/// How a second factor code went at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Accepted,
    /// Accepted, and it was one of her recovery codes (now used up).
    AcceptedRecovery,
    Refused,
}

pub struct SecondFactors<'a>(pub(crate) &'a App);

impl SecondFactors<'_> {
    /// Whether she must set up a second factor before she can use the workspace (see
    /// [`must_set_up`]); her clinic is read only when her role alone does not settle it.
    pub async fn required(&self, staff: &Staff) -> Result<bool> {
        if staff.totp_secret.is_some() || staff.role == Role::Admin {
            return Ok(must_set_up(staff, None));
        }
        let clinic = self.0.store.get_clinic(&staff.clinic_id).await?;
        Ok(must_set_up(staff, clinic.as_ref()))
    }

    /// The secret she is setting up: the pending one if she has started, else a new one (160
    /// random bits, as RFC 4226 recommends). A conflict once she has a second factor.
    pub async fn setup(&self, staff: &Staff) -> Result<Setup> {
        if staff.totp_secret.is_some() {
            return Err(Error::Conflict(
                "a second factor is already set up; an admin can remove it".into(),
            ));
        }
        let secret = match &staff.totp_pending {
            Some(pending) => pending.clone(),
            None => {
                let bytes = random_bytes::<20>()?.to_vec();
                let encoded = match totp_rs::Secret::Raw(bytes).to_encoded() {
                    totp_rs::Secret::Encoded(s) => s,
                    totp_rs::Secret::Raw(_) => {
                        return Err(Error::Internal("TOTP secret encoding".into()))
                    }
                };
                let secret = TotpSecret::new(encoded);
                let (id, pending) = (staff.id.clone(), secret.clone());
                self.0
                    .store
                    .transaction(move |tx| tx.set_totp_pending(id.clone(), pending.clone()))
                    .await?;
                secret
            }
        };
        Ok(Setup {
            secret: grouped(secret.expose()),
            uri: otpauth_uri(secret.expose(), &staff.email),
        })
    }

    /// Confirms the secret being set up with a first code from her app; returns her recovery
    /// codes, shown this once. The second factor, the codes' digests and the audit row are one
    /// commit.
    pub async fn confirm(&self, actor: &Actor, staff: &Staff, code: &str) -> Result<Vec<String>> {
        let wrong = || Error::invalid("code", "code: not the code your app shows now");
        let Some(pending) = staff.totp_pending.clone() else {
            return Err(Error::Conflict(
                "no second factor is being set up: start again".into(),
            ));
        };
        let Typed::Totp(code) = typed(code) else {
            return Err(wrong());
        };
        let now = self.0.now();
        let step = matching_step(&pending, &code, now)?.ok_or_else(wrong)?;
        let (shown, hashes) = new_recovery_codes()?;
        let row = entry(
            actor,
            Action::StaffSecondFactorOn,
            Subject::clinic(&staff.clinic_id).detail(staff.id.clone()),
            now,
        );
        let id = staff.id.clone();
        let confirmed = self
            .0
            .store
            .transaction(move |tx| {
                let (id, pending, hashes, row) =
                    (id.clone(), pending.clone(), hashes.clone(), row.clone());
                Box::pin(async move {
                    let confirmed = tx.confirm_totp(id, pending, step, hashes, now).await?;
                    if confirmed {
                        tx.append_audit(row).await?;
                    }
                    Ok(confirmed)
                })
            })
            .await?;
        if !confirmed {
            return Err(Error::Conflict(
                "the setup changed meanwhile (another window?): start again".into(),
            ));
        }
        Ok(shown)
    }

    /// New recovery codes instead of her old ones, given a current code from her app.
    pub async fn new_recovery_codes(
        &self,
        actor: &Actor,
        staff: &Staff,
        code: &str,
    ) -> Result<Vec<String>> {
        if self.check(staff, code).await? == Checked::Refused {
            return Err(Error::invalid(
                "code",
                "code: not the code your app shows now",
            ));
        }
        let now = self.0.now();
        let (shown, hashes) = new_recovery_codes()?;
        let row = entry(
            actor,
            Action::StaffRecoveryCodesNew,
            Subject::clinic(&staff.clinic_id).detail(staff.id.clone()),
            now,
        );
        let id = staff.id.clone();
        self.0
            .write_audited(
                move |tx| tx.replace_recovery_codes(id.clone(), hashes.clone(), now),
                move |_| row.clone(),
            )
            .await?;
        Ok(shown)
    }

    /// How many recovery codes she has left.
    pub async fn recovery_codes_left(&self, staff: &Staff) -> Result<i64> {
        Ok(self.0.store.unused_recovery_codes(&staff.id).await?)
    }

    /// Checks a code at sign-in: a code from her app, used up with its time step, or one of
    /// her recovery codes, used up. `Refused` when she has no second factor.
    pub async fn check(&self, staff: &Staff, code: &str) -> Result<Checked> {
        let Some(secret) = staff.totp_secret.clone() else {
            return Ok(Checked::Refused);
        };
        let now = self.0.now();
        let id = staff.id.clone();
        match typed(code) {
            Typed::Totp(code) => {
                let Some(step) = matching_step(&secret, &code, now)? else {
                    return Ok(Checked::Refused);
                };
                let used = self
                    .0
                    .store
                    .transaction(move |tx| tx.use_totp_step(id.clone(), step))
                    .await?;
                Ok(if used {
                    Checked::Accepted
                } else {
                    Checked::Refused
                })
            }
            Typed::Recovery(plain) => {
                let hash = recovery_hash(&plain);
                let used = self
                    .0
                    .store
                    .transaction(move |tx| tx.use_recovery_code(id.clone(), hash.clone(), now))
                    .await?;
                Ok(if used {
                    Checked::AcceptedRecovery
                } else {
                    Checked::Refused
                })
            }
            Typed::Neither => Ok(Checked::Refused),
        }
    }

    /// Removes the second factor of an account of the admin's clinic (a lost phone) and ends
    /// its sessions; she sets up a new one at her next sign-in. `NotFound` for another
    /// clinic's account.
    pub async fn reset(&self, actor: &Actor, clinic_id: &str, staff_id: &str) -> Result<()> {
        let staff = self.0.staff().of_clinic(clinic_id, staff_id).await?;
        let now = self.0.now();
        let row = entry(
            actor,
            Action::StaffSecondFactorReset,
            Subject::clinic(clinic_id).detail(staff.id.clone()),
            now,
        );
        let id = staff.id;
        self.0
            .write_audited(
                move |tx| {
                    let id = id.clone();
                    Box::pin(async move {
                        tx.clear_second_factor(id.clone()).await?;
                        tx.delete_sessions_for_staff(id).await?;
                        Ok(())
                    })
                },
                move |_| row.clone(),
            )
            .await
    }
}

/// Base32 in groups of four, easier to type from the screen.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Key URI Format authenticator apps read from a QR code.
fn otpauth_uri(secret: &str, account: &str) -> String {
    let label = format!("{ISSUER}:{account}");
    format!(
        "otpauth://totp/{}?secret={secret}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        percent(&label),
        percent(ISSUER)
    )
}

fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238, appendix B: the SHA-1 test vectors (the 20-byte key "12345678901234567890"),
    /// the last six digits of each.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = match totp_rs::Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            totp_rs::Secret::Encoded(s) => TotpSecret::new(s),
            totp_rs::Secret::Raw(_) => unreachable!(),
        };
        for (seconds, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            let at = Utc.timestamp_opt(seconds, 0).unwrap();
            assert_eq!(code_at(&secret, at).unwrap(), code, "at {seconds}");
        }
    }

    #[test]
    fn a_code_matches_its_own_step_and_one_either_side_only() {
        let secret = TotpSecret::new("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into());
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let step = step_of(now);
        for offset in [-1, 0, 1] {
            let code = code_at(&secret, now + chrono::Duration::seconds(offset * 30)).unwrap();
            assert_eq!(
                matching_step(&secret, &code, now).unwrap(),
                Some(step + offset)
            );
        }
        let far = code_at(&secret, now + chrono::Duration::seconds(90)).unwrap();
        assert_eq!(matching_step(&secret, &far, now).unwrap(), None);
    }

    #[test]
    fn recovery_codes_are_read_in_any_case_with_or_without_the_dash() {
        let (shown, hashes) = new_recovery_codes().unwrap();
        assert_eq!(shown.len(), RECOVERY_CODES);
        let first = &shown[0];
        assert_eq!(first.len(), 11);
        for typed_as in [first.clone(), first.to_lowercase(), first.replace('-', " ")] {
            let Typed::Recovery(plain) = typed(&typed_as) else {
                panic!("{typed_as} not read as a recovery code");
            };
            assert_eq!(recovery_hash(&plain), hashes[0]);
        }
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_account() {
        let uri = otpauth_uri("ABCD", "ana+night@north.example");
        assert_eq!(
            uri,
            "otpauth://totp/Aftercare%3Aana%2Bnight@north.example?secret=ABCD&issuer=Aftercare&algorithm=SHA1&digits=6&period=30"
        );
    }
}
