//! Staff accounts and their sessions: creating an account (the admin page and `aftercare admin
//! create-user` make the same checks), signing in with a per-account lock after repeated
//! failures, sessions stored as digests, and password changes that end every other session.
//! Each change commits with its audit row.

use crate::second_factor::Checked;
use crate::text::Name;
use aftercare_store::{NewSession, NewStaff, Staff, StaffSession};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::Duration;
use std::sync::OnceLock;

use crate::audit::{entry, Action, Actor, ActorKind, Subject};
use crate::secrets::{random_bytes, random_token, token_hash};
use crate::{App, Error, Result};

/// Failed logins in a row (from anywhere) that make a burst: each multiple of it is recorded
/// in the audit log as a possible guessing attack and flagged on the admins' staff page. The
/// account is not locked for it (anyone could keep its owner out that way); the web layer
/// slows each address down instead.
pub const MAX_FAILURES: i32 = 10;
/// Passwords are at least this long (a passphrase, not a puzzle) ...
pub const MIN_PASSWORD: usize = 12;
/// ... and at most this long (hashing cost is bounded).
pub const MAX_PASSWORD: usize = 256;
/// The longest display name.
pub const NAME_LIMIT: usize = Name::MAX;

pub use aftercare_store::Role;

/// Checks an email address enough to catch typos (the login is the real test).
pub fn check_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if ok {
        Ok(email)
    } else {
        Err(Error::invalid("email", "email: not an email address"))
    }
}

/// Checks a new password's length; the message names the field.
pub fn check_new_password(field: &str, password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(Error::invalid(
            field,
            format!("{field}: at least {MIN_PASSWORD} characters"),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(Error::invalid(
            field,
            format!("{field}: at most {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

/// Runs CPU-heavy work on the blocking pool, inside the caller's tracing span.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
        .await
        .map_err(|e| Error::Internal(format!("password task failed: {e}")))
}

fn hash_sync(password: &str) -> Result<String> {
    let salt = random_bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
    // Argon2id, version 19, the crate's defaults (m=19 MiB, t=2, p=1: OWASP's minimum).
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing failed: {e}")))
}

fn verify_sync(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Hashes a password (Argon2id, random salt) off the async runtime.
pub async fn hash_password(password: String) -> Result<String> {
    blocking(move || hash_sync(&password)).await?
}

/// Checks a password against a stored hash off the async runtime.
pub async fn verify_password(password: String, hash: String) -> Result<bool> {
    blocking(move || verify_sync(&password, &hash)).await
}

/// A hash of nothing anyone knows, to spend the same work on unknown emails.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_sync("aftercare dummy password, never valid")
            .unwrap_or_else(|_| "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$invalid".into())
    })
}

/// A new account, as an admin (or the shell) asks for it.
pub struct NewAccount<'a> {
    pub clinic_id: &'a str,
    pub email: &'a str,
    pub display_name: Name,
    pub role: &'a str,
    pub password: &'a str,
}

/// A session just started: the token for the cookie (only its digest is stored) and the row.
pub struct Started {
    pub token: String,
    pub session: StaffSession,
}

/// The outcome of a sign-in attempt.
pub enum SignIn {
    Accepted(Box<Staff>),
    /// Wrong email, wrong password or a locked account: the same answer for all three.
    Refused,
    /// The password is right and she has a second factor: her code is needed (nothing
    /// counted against her).
    CodeNeeded,
    /// The password is right but the code is not: counted as a failure, like a wrong
    /// password.
    CodeRefused,
}

pub struct StaffAccounts<'a>(pub(crate) &'a App);

impl StaffAccounts<'_> {
    /// Creates an account with a hashed password, audited.
    pub async fn create(&self, actor: &Actor, account: NewAccount<'_>) -> Result<Staff> {
        let email = check_email(account.email)?;
        let role = Role::parse(account.role)
            .ok_or_else(|| Error::invalid("role", "role: admin or clinician"))?;
        check_new_password("password", account.password)?;
        let password_hash = hash_password(account.password.to_string()).await?;
        let now = self.0.now();
        let new = NewStaff {
            clinic_id: account.clinic_id.to_string(),
            email,
            display_name: account.display_name.into_string(),
            role,
            password_hash,
        };
        let actor = actor.clone();
        self.0
            .write_audited(
                move |tx| tx.create_staff(new.clone(), now),
                move |staff: &Staff| {
                    let subject = Subject::clinic(&staff.clinic_id)
                        .detail(format!("{} {}", staff.id, staff.role));
                    entry(&actor, Action::StaffCreate, subject, now)
                },
            )
            .await
    }

    /// The clinic's accounts, by name.
    pub async fn list(&self, clinic_id: &str) -> Result<Vec<Staff>> {
        Ok(self.0.store.list_staff(clinic_id).await?)
    }

    /// The account with this login email (for the operator's command line, which names
    /// accounts by email).
    pub async fn by_email(&self, email: &str) -> Result<Option<Staff>> {
        Ok(self
            .0
            .store
            .get_staff_by_email(&email.trim().to_lowercase())
            .await?)
    }

    /// Checks an email and password. A failure counts against the account in the same commit
    /// as its audit row (a burst of [`MAX_FAILURES`] adds a row of its own); success clears
    /// the count. An account an admin deactivated, or one locked by an older version until a
    /// time not yet reached, is refused alike.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        code: Option<&str>,
        address: Option<&str>,
    ) -> Result<SignIn> {
        let email = email.trim();
        let password = password.chars().take(MAX_PASSWORD + 1).collect::<String>();
        let staff = if email.is_empty() || email.len() > 254 {
            None
        } else {
            self.0.store.get_staff_by_email(email).await?
        };
        let now = self.0.now();
        let actor = |staff: Option<&Staff>| Actor {
            kind: if staff.is_some() {
                ActorKind::Staff
            } else {
                ActorKind::Anonymous
            },
            id: staff.map(|s| s.id.clone()),
            address: address.map(str::to_string),
        };
        let Some(staff) = staff else {
            // The same work as for a real account.
            verify_password(password, dummy_hash().to_string()).await?;
            let row = entry(
                &actor(None),
                Action::StaffLoginFailed,
                Subject::default(),
                now,
            );
            self.0.audit().append(row).await?;
            return Ok(SignIn::Refused);
        };
        let subject = || Subject::clinic(&staff.clinic_id);
        // A deactivated account is refused like a wrong password: nothing tells a guesser that
        // the address exists.
        let locked = staff.locked_until.is_some_and(|t| t > now) || staff.deactivated_at.is_some();
        let ok = verify_password(password, staff.password_hash.clone()).await?;
        if locked {
            let row = entry(
                &actor(Some(&staff)),
                Action::StaffLoginLocked,
                subject(),
                now,
            );
            self.0.audit().append(row).await?;
            return Ok(SignIn::Refused);
        }
        if !ok {
            self.count_failure(&staff, &actor(Some(&staff)), Action::StaffLoginFailed)
                .await?;
            return Ok(SignIn::Refused);
        }
        if staff.totp_secret.is_some() {
            let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
                return Ok(SignIn::CodeNeeded);
            };
            match self.0.second_factor().check(&staff, code).await? {
                Checked::Accepted => {}
                Checked::AcceptedRecovery => {
                    let row = entry(
                        &actor(Some(&staff)),
                        Action::StaffRecoveryCodeUsed,
                        subject(),
                        now,
                    );
                    self.0.audit().append(row).await?;
                }
                Checked::Refused => {
                    let who = actor(Some(&staff));
                    self.count_failure(&staff, &who, Action::StaffSecondFactorFailed)
                        .await?;
                    return Ok(SignIn::CodeRefused);
                }
            }
        }
        if staff.failed_logins != 0 || staff.locked_until.is_some() {
            let id = staff.id.clone();
            self.0
                .store
                .transaction(move |tx| tx.reset_login_failures(id.clone()))
                .await?;
        }
        Ok(SignIn::Accepted(Box::new(staff)))
    }

    /// Counts a failed sign-in against the account, in the commit of its audit row; every
    /// [`MAX_FAILURES`]th in a row adds a row of its own, for the admins.
    async fn count_failure(&self, staff: &Staff, actor: &Actor, action: Action) -> Result<()> {
        let now = self.0.now();
        let subject = || Subject::clinic(&staff.clinic_id);
        let row = entry(actor, action, subject(), now);
        let id = staff.id.clone();
        let burst = entry(actor, Action::StaffLoginBurst, subject(), now);
        let failures = self
            .0
            .store
            .transaction(move |tx| {
                let (row, burst, id) = (row.clone(), burst.clone(), id.clone());
                Box::pin(async move {
                    let failures = tx.record_login_failure(id).await?;
                    tx.append_audit(row).await?;
                    if failures % MAX_FAILURES == 0 {
                        let mut burst = burst;
                        burst.detail = Some(format!("{failures} failed sign-ins in a row"));
                        tx.append_audit(burst).await?;
                    }
                    Ok(failures)
                })
            })
            .await?;
        if failures % MAX_FAILURES == 0 {
            tracing::warn!(failures, "a burst of failed logins on one staff account");
        }
        Ok(())
    }

    /// A new session for `staff` lasting `ttl`, ending `replaced` (the session token the browser
    /// came with, if any), audited as the sign-in: one commit.
    pub async fn start_session(
        &self,
        staff: &Staff,
        replaced: Option<&str>,
        address: Option<&str>,
        ttl: Duration,
    ) -> Result<Started> {
        let token = random_token()?;
        let now = self.0.now();
        let new = NewSession {
            token_hash: token_hash(&token),
            staff_id: staff.id.clone(),
            csrf_token: random_token()?,
            expires_at: now + ttl,
        };
        let actor = Actor {
            kind: ActorKind::Staff,
            id: Some(staff.id.clone()),
            address: address.map(str::to_string),
        };
        let row = entry(
            &actor,
            Action::StaffLogin,
            Subject::clinic(&staff.clinic_id),
            now,
        );
        let old = replaced.map(token_hash);
        let session = self
            .0
            .store
            .transaction(move |tx| {
                let (new, row, old) = (new.clone(), row.clone(), old.clone());
                Box::pin(async move {
                    if let Some(old) = old {
                        tx.delete_session(old).await?;
                    }
                    let session = tx.create_session(new, now).await?;
                    tx.append_audit(row).await?;
                    Ok(session)
                })
            })
            .await?;
        Ok(Started { token, session })
    }

    /// The session of a token and its account, if the session is still valid and the account
    /// active.
    pub async fn session(&self, token: &str) -> Result<Option<(StaffSession, Staff)>> {
        self.session_by_hash(&token_hash(token)).await
    }

    /// The same, by the token's stored digest (for a request that has already checked it).
    pub async fn session_by_hash(&self, hash: &str) -> Result<Option<(StaffSession, Staff)>> {
        Ok(self
            .0
            .store
            .get_session(hash, self.0.now())
            .await?
            .filter(|(_, staff)| staff.deactivated_at.is_none()))
    }

    /// Ends a session (by its stored digest), audited.
    pub async fn end_session(&self, actor: &Actor, staff: &Staff, token_hash: &str) -> Result<()> {
        let now = self.0.now();
        let row = entry(
            actor,
            Action::StaffLogout,
            Subject::clinic(&staff.clinic_id),
            now,
        );
        let hash = token_hash.to_string();
        self.0
            .write_audited(
                move |tx| tx.delete_session(hash.clone()),
                move |_| row.clone(),
            )
            .await
    }

    /// Changes a password after checking the current one; every session of the account ends,
    /// in the same commit as the change and its audit row.
    pub async fn change_password(
        &self,
        actor: &Actor,
        staff: &Staff,
        current: &str,
        new: &str,
    ) -> Result<u64> {
        check_new_password("new_password", new)?;
        if !verify_password(current.to_string(), staff.password_hash.clone()).await? {
            return Err(Error::invalid(
                "current_password",
                "current_password: not right",
            ));
        }
        let hash = hash_password(new.to_string()).await?;
        let now = self.0.now();
        let (actor, id, clinic_id) = (actor.clone(), staff.id.clone(), staff.clinic_id.clone());
        Ok(self
            .0
            .store
            .transaction(move |tx| {
                let (actor, id, clinic_id, hash) =
                    (actor.clone(), id.clone(), clinic_id.clone(), hash.clone());
                Box::pin(async move {
                    tx.set_password_hash(id.clone(), hash).await?;
                    let ended = tx.delete_sessions_for_staff(id).await?;
                    let subject =
                        Subject::clinic(&clinic_id).detail(format!("{ended} sessions ended"));
                    tx.append_audit(entry(&actor, Action::StaffPasswordChanged, subject, now))
                        .await?;
                    Ok(ended)
                })
            })
            .await?)
    }
}

impl StaffAccounts<'_> {
    /// Sets the workspace language of her own account (`None`: follow the browser); audited.
    /// The code must be one of the content's languages.
    pub async fn set_language(
        &self,
        actor: &Actor,
        staff: &Staff,
        language: Option<String>,
    ) -> Result<Staff> {
        if let Some(code) = &language {
            if self.0.content.lang(code).is_none() {
                return Err(Error::invalid(
                    "language",
                    "language: not one of the content's",
                ));
            }
        }
        let now = self.0.now();
        let detail = language.clone().unwrap_or_else(|| "browser".into());
        let row = entry(
            actor,
            Action::StaffLanguage,
            Subject::clinic(&staff.clinic_id).detail(detail),
            now,
        );
        let id = staff.id.clone();
        self.0
            .write_audited(
                move |tx| tx.set_staff_language(id.clone(), language.clone()),
                move |_| row.clone(),
            )
            .await?;
        Ok(self
            .0
            .store
            .get_staff(&staff.id)
            .await?
            .unwrap_or_else(|| staff.clone()))
    }
}

/// How long a one-time password link works.
pub const RESET_HOURS: i64 = 24;

/// What an admin changes about an account of the clinic.
#[derive(Debug, Clone, Copy)]
pub enum AccountChange {
    Deactivate,
    Reactivate,
    Role(Role),
}

impl StaffAccounts<'_> {
    /// An account of the clinic: `NotFound` for another clinic's, so an admin learns nothing
    /// of it.
    pub(crate) async fn of_clinic(&self, clinic_id: &str, staff_id: &str) -> Result<Staff> {
        if !crate::limits::plausible_key(staff_id) {
            return Err(Error::NotFound);
        }
        self.0
            .store
            .get_staff(staff_id)
            .await?
            .filter(|s| s.clinic_id == clinic_id)
            .ok_or(Error::NotFound)
    }

    /// An account of the admin's clinic that is not the admin's own (an admin cannot lock
    /// themselves out, or leave the clinic without an admin by demoting themselves).
    async fn other_account(&self, admin: &Actor, clinic_id: &str, staff_id: &str) -> Result<Staff> {
        let staff = self.of_clinic(clinic_id, staff_id).await?;
        if admin.id.as_deref() == Some(staff.id.as_str()) {
            return Err(Error::Conflict(
                "you cannot change your own account here; ask another admin".into(),
            ));
        }
        Ok(staff)
    }

    /// Deactivates (ending its sessions), reactivates, or changes the role of an account of the
    /// clinic; one commit with its audit row.
    pub async fn change_account(
        &self,
        admin: &Actor,
        clinic_id: &str,
        staff_id: &str,
        change: AccountChange,
    ) -> Result<Staff> {
        let staff = self.other_account(admin, clinic_id, staff_id).await?;
        let now = self.0.now();
        let (action, detail) = match change {
            AccountChange::Deactivate => (Action::StaffDeactivate, staff.email.clone()),
            AccountChange::Reactivate => (Action::StaffReactivate, staff.email.clone()),
            AccountChange::Role(r) => (Action::StaffRoleChange, format!("{} {r}", staff.email)),
        };
        let row = entry(
            admin,
            action,
            Subject::clinic(clinic_id).detail(detail),
            now,
        );
        let id = staff.id.clone();
        self.0
            .write_audited(
                move |tx| {
                    let id = id.clone();
                    Box::pin(async move {
                        match change {
                            AccountChange::Deactivate => {
                                tx.set_staff_deactivated(id, Some(now)).await
                            }
                            AccountChange::Reactivate => tx.set_staff_deactivated(id, None).await,
                            AccountChange::Role(r) => tx.set_staff_role(id, r).await,
                        }
                    })
                },
                move |_| row.clone(),
            )
            .await?;
        Ok(self.0.store.get_staff(&staff.id).await?.unwrap_or(staff))
    }

    /// A one-time link for the account's owner to set a new password (the admin never sees a
    /// password); its token, shown once. Audited.
    pub async fn issue_reset(
        &self,
        admin: &Actor,
        clinic_id: &str,
        staff_id: &str,
    ) -> Result<String> {
        let staff = self.other_account(admin, clinic_id, staff_id).await?;
        let token = random_token()?;
        let now = self.0.now();
        let row = entry(
            admin,
            Action::StaffPasswordResetIssued,
            Subject::clinic(clinic_id).detail(staff.email.clone()),
            now,
        );
        let (hash, id) = (token_hash(&token), staff.id.clone());
        let expires = now + Duration::hours(RESET_HOURS);
        self.0
            .write_audited(
                move |tx| tx.create_password_reset(hash.clone(), id.clone(), expires, now),
                move |_| row.clone(),
            )
            .await?;
        Ok(token)
    }

    /// Sets a new password with a one-time link: the link is used up and every session of the
    /// account ends, in one commit with the audit row. `NotFound` for a link that is unknown,
    /// used or expired.
    pub async fn complete_reset(
        &self,
        token: &str,
        new: &str,
        address: Option<&str>,
    ) -> Result<()> {
        check_new_password("new_password", new)?;
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::NotFound);
        }
        let hash = hash_password(new.to_string()).await?;
        let now = self.0.now();
        let (token, address) = (token_hash(token), address.map(str::to_string));
        let store = self.0.store.clone();
        let done = store
            .transaction(move |tx| {
                let (token, hash, address) = (token.clone(), hash.clone(), address.clone());
                Box::pin(async move {
                    let Some(id) = tx.use_password_reset(token, now).await? else {
                        return Ok(None);
                    };
                    tx.set_password_hash(id.clone(), hash).await?;
                    tx.delete_sessions_for_staff(id.clone()).await?;
                    tx.reset_login_failures(id.clone()).await?;
                    Ok(Some((id, address)))
                })
            })
            .await?;
        let Some((id, address)) = done else {
            return Err(Error::NotFound);
        };
        let staff = self.0.store.get_staff(&id).await?.ok_or(Error::NotFound)?;
        let actor = Actor {
            kind: ActorKind::Staff,
            id: Some(id),
            address,
        };
        self.0
            .audit()
            .record(
                &actor,
                Action::StaffPasswordReset,
                Subject::clinic(&staff.clinic_id),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash_sync("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_sync("correct horse battery", &h));
        assert!(!verify_sync("correct horse batterx", &h));
        assert!(!verify_sync("anything", "not a hash"));
        assert!(!verify_sync("anything", dummy_hash()));
    }

    #[test]
    fn tokens_are_256_bits_and_only_their_digest_is_kept() {
        let t = random_token().expect("token");
        assert_eq!(t.len(), 64);
        assert_ne!(t, random_token().expect("token"));
        assert_eq!(token_hash(&t).len(), 64);
        assert_ne!(token_hash(&t), t);
    }
}
