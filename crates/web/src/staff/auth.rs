//! Who is at the clinic's keyboard: staff passwords, logins and sessions, and the extractors
//! that give handlers a checked [`StaffUser`] with a role.
//!
//! Why it is built this way:
//! - Passwords are Argon2id hashes, computed on the blocking pool (never on the async
//!   executor, which serves every other request) and inside the request's tracing span.
//! - A wrong email and a wrong password answer alike, with the same message and the same work
//!   (an unknown email is checked against a dummy hash), so the login form does not tell who
//!   has an account. Only failures count: per address, and per account and address (in
//!   memory: an address that keeps failing on one account waits, the account's owner elsewhere
//!   does not); the store counts an account's failures in a row and records a burst of
//!   [`MAX_FAILURES`] for its admins. No account is ever locked by failures.
//! - Sessions live on the server, so logging out and changing a password really end them.
//!   The browser holds a random 256-bit token in an HttpOnly, Secure, SameSite=Strict cookie;
//!   the store holds only its SHA-256, so a leaked database opens no session. A new token is
//!   issued at every login and password change (which also ends every other session).
//! - Each session has its own CSRF token: JSON clients that authenticate with the cookie send
//!   it in `x-csrf-token` on every write ([`StaffUser::check_csrf`]).

use crate::audit::{Actor, ClientAddress};
use crate::error::AppError;
use crate::lang;
use crate::state::AppState;
use aftercare_app::staff::SignIn;
use aftercare_store::{Staff, StaffSession};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};

/// The session cookie.
pub const SESSION_COOKIE: &str = "aftercare_staff";
/// The header JSON clients send the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
pub use aftercare_app::staff::{MAX_FAILURES, MAX_PASSWORD, MIN_PASSWORD};
/// Failed logins per client address per window ([`login_limit`]).
pub const ADDRESS_ATTEMPTS: usize = 20;
/// Failed logins for one account from one client address per window ([`pair_limit`]).
pub const PAIR_ATTEMPTS: usize = 5;

pub use aftercare_app::staff::Role;

// --- passwords and secrets (the application layer's) -------------------------------------

pub use aftercare_app::secrets::{random_bytes, random_token, token_hash};
pub use aftercare_app::staff::{check_new_password, hash_password, verify_password};

// --- login limits -------------------------------------------------------------------------

/// After [`PAIR_ATTEMPTS`] failures for one account from one address, that address waits 15
/// minutes before it may try that account again; the account itself is never locked, so a
/// guesser elsewhere cannot keep its owner out.
pub fn pair_limit() -> crate::limit::RateLimit {
    crate::limit::RateLimit::new(
        "login.pair",
        PAIR_ATTEMPTS,
        std::time::Duration::from_secs(900),
    )
}

/// Failed logins per client address (an IPv6 client by its /64) in a sliding window.
pub fn login_limit() -> crate::limit::RateLimit {
    crate::limit::RateLimit::new(
        "login.address",
        ADDRESS_ATTEMPTS,
        std::time::Duration::from_secs(600),
    )
}

// --- logging in and out -------------------------------------------------------------------

/// Why a login was refused.
#[derive(Debug)]
pub enum LoginError {
    /// Wrong email, wrong password or a locked account: the same answer for all three.
    Refused,
    /// This address tried too often.
    RateLimited,
    /// The password is right; the code of her second factor is needed.
    CodeNeeded,
    /// The password is right; the code is not (counted as a failure).
    CodeRefused,
    Other(AppError),
}

impl From<AppError> for LoginError {
    fn from(e: AppError) -> Self {
        LoginError::Other(e)
    }
}

impl From<aftercare_store::StoreError> for LoginError {
    fn from(e: aftercare_store::StoreError) -> Self {
        LoginError::Other(e.into())
    }
}

impl From<LoginError> for AppError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Refused | LoginError::CodeNeeded | LoginError::CodeRefused => {
                AppError::Unauthorized
            }
            LoginError::RateLimited => AppError::TooManyRequests,
            LoginError::Other(e) => e,
        }
    }
}

/// Checks an email and password after the limits; on success the failure count is cleared, on
/// failure it counts against the account, audited either way. Each attempt takes its slot in
/// both limits before the password is checked (so guesses sent in parallel cannot all slip
/// through) and gives it back when it succeeds: only failures count.
pub async fn authenticate(
    state: &AppState,
    email: &str,
    password: &str,
    code: Option<&str>,
    address: Option<&str>,
) -> Result<Staff, LoginError> {
    // Only failures count: a ward behind one address signing in at shift change is not a
    // guesser.
    let from = crate::limit::address_key(address.unwrap_or("-"));
    let limits = &state.staff;
    let app = &state.app;
    let address_limit = [(&limits.login_limit, from.as_str())];
    if !crate::limit::take(app, &address_limit).await? {
        tracing::info!("login refused: too many failed attempts from this address");
        return Err(LoginError::RateLimited);
    }
    // No account has a longer address: such a login fails anyway, and must not make a key.
    let email_key: String = email
        .trim()
        .chars()
        .take(254)
        .collect::<String>()
        .to_lowercase();
    let pair = format!("{email_key}\u{0}{from}");
    let pair_limit = [(&limits.pair_limit, pair.as_str())];
    if !crate::limit::take(app, &pair_limit).await? {
        // The same answer as a wrong password; the password is not even tried. One account's
        // wait does not spill over onto the address's other accounts.
        tracing::info!("login refused: too many failed attempts on this account from here");
        crate::limit::give_back(app, &address_limit).await?;
        return Err(LoginError::Refused);
    }
    let result = state
        .app
        .staff()
        .sign_in(email, password, code, address)
        .await;
    // A wrong code counts like a wrong password: it is a guess at the second factor.
    if !matches!(result, Ok(SignIn::Refused | SignIn::CodeRefused)) {
        crate::limit::give_back(app, &[address_limit[0], pair_limit[0]]).await?;
    }
    match result {
        Ok(SignIn::Accepted(staff)) => Ok(*staff),
        Ok(SignIn::Refused) => Err(LoginError::Refused),
        Ok(SignIn::CodeNeeded) => Err(LoginError::CodeNeeded),
        Ok(SignIn::CodeRefused) => Err(LoginError::CodeRefused),
        Err(e) => Err(LoginError::Other(e.into())),
    }
}

/// A new session for `staff`: its cookie header and its CSRF token. Ends `replaced` (the
/// session the browser came with, if any): a login always gets a fresh token.
pub async fn start_session(
    state: &AppState,
    staff: &Staff,
    replaced: Option<&str>,
    address: Option<&str>,
) -> Result<(HeaderValue, StaffSession), AppError> {
    let ttl = state.settings.staff_session_ttl;
    let started = state
        .app
        .staff()
        .start_session(staff, replaced, address, ttl)
        .await?;
    let cookie = session_cookie(state, &started.token, ttl.num_seconds())?;
    Ok((cookie, started.session))
}

/// The `Set-Cookie` value of a session (`max_age` 0 deletes it).
pub fn session_cookie(
    state: &AppState,
    token: &str,
    max_age: i64,
) -> Result<HeaderValue, AppError> {
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .map_err(|e| AppError::Internal(e.to_string()))
}

/// The session token the request carries, if it looks like one.
pub fn presented_token(headers: &HeaderMap) -> Option<String> {
    lang::cookie(headers, SESSION_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Ends the request's session; returns the header that deletes the cookie.
pub async fn end_session(state: &AppState, user: &StaffUser) -> Result<HeaderValue, AppError> {
    state
        .app
        .staff()
        .end_session(&user.actor, &user.staff, &user.token_hash)
        .await?;
    session_cookie(state, "", 0)
}

/// Changes the password: checks the current one, ends every session of the account and starts
/// a new one for this browser.
pub async fn change_password(
    state: &AppState,
    user: &StaffUser,
    current: &str,
    new: &str,
) -> Result<(HeaderValue, StaffSession), AppError> {
    state
        .app
        .staff()
        .change_password(&user.actor, &user.staff, current, new)
        .await?;
    start_session(state, &user.staff, None, user.actor.address.as_deref()).await
}

// --- extractors ---------------------------------------------------------------------------

/// A signed-in staff member (any role). Rejects with 401 without a live session.
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub staff: Staff,
    pub session: StaffSession,
    pub role: Role,
    /// For the audit log.
    pub actor: Actor,
    token_hash: String,
}

impl StaffUser {
    pub fn clinic_id(&self) -> &str {
        &self.staff.clinic_id
    }

    /// Whether this session still stands, with the same role: a long-lived stream asks, so
    /// signing out, expiry, deactivation or a new role ends what the old session opened. A
    /// store error counts as no (the client reconnects and signs in again if it must).
    pub async fn still_signed_in(&self, state: &AppState) -> bool {
        matches!(
            state.app.staff().session_by_hash(&self.token_hash).await,
            Ok(Some((_, staff))) if staff.id == self.staff.id && staff.role == self.role
        )
    }

    /// 403 unless the staff member has `role`.
    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.role == role {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// For cookie-authenticated JSON writes: the session's CSRF token must be in
    /// `x-csrf-token`.
    pub fn check_csrf(&self, headers: &HeaderMap) -> Result<(), AppError> {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if constant_time_eq(sent.as_bytes(), self.session.csrf_token.as_bytes()) {
            Ok(())
        } else {
            tracing::info!("staff write refused: CSRF token missing or wrong");
            Err(AppError::Forbidden)
        }
    }
}

/// Compares in time independent of where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a session may reach before its second factor is set up, when her role or her clinic
/// requires one: setting it up, and her own account (signing out, the password, the language).
const OPEN_WITHOUT_SECOND_FACTOR: &[&str] = &[
    super::second_factor::PATH,
    "/clinic/login",
    "/clinic/logout",
    "/clinic/password",
    "/clinic/account/language",
    "/api/v1/clinic/session",
    "/api/v1/clinic/session/password",
];

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(user) = parts.extensions.get::<StaffUser>() {
            return Ok(user.clone());
        }
        let ClientAddress(address) = ClientAddress::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientAddress(None));
        let token = presented_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        let hash = token_hash(&token);
        let (session, staff) = state
            .app
            .staff()
            .session(&token)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if !OPEN_WITHOUT_SECOND_FACTOR.contains(&parts.uri.path())
            && state.app.second_factor().required(&staff).await?
        {
            return Err(AppError::SecondFactorRequired);
        }
        let role = staff.role;
        let user = StaffUser {
            actor: Actor {
                kind: crate::audit::ActorKind::Staff,
                id: Some(staff.id.clone()),
                address,
            },
            staff,
            session,
            role,
            token_hash: hash,
        };
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

/// A signed-in clinician: 401 when signed out, 403 for an admin.
#[derive(Debug, Clone)]
pub struct Clinician(pub StaffUser);

impl FromRequestParts<AppState> for Clinician {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let user = StaffUser::from_request_parts(parts, state).await?;
        user.require(Role::Clinician)?;
        Ok(Clinician(user))
    }
}

/// A signed-in admin: 401 when signed out, 403 for a clinician.
#[derive(Debug, Clone)]
pub struct Admin(pub StaffUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let user = StaffUser::from_request_parts(parts, state).await?;
        user.require(Role::Admin)?;
        Ok(Admin(user))
    }
}

/// Sets a cookie on a response.
pub fn with_cookie(
    mut response: axum::response::Response,
    cookie: HeaderValue,
) -> axum::response::Response {
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

// --- the JSON API ------------------------------------------------------------------------------

/// Email and password.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
    /// The code from the authenticator app, or one of the recovery codes, once a second factor
    /// is set up.
    #[serde(default)]
    pub code: Option<String>,
}

/// The signed-in staff member and the session's CSRF token (send it as `x-csrf-token` on
/// every write).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub staff_id: String,
    pub clinic_id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub csrf_token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl SessionInfo {
    pub fn new(staff: &Staff, session: &StaffSession, role: Role) -> SessionInfo {
        SessionInfo {
            staff_id: staff.id.clone(),
            clinic_id: staff.clinic_id.clone(),
            email: staff.email.clone(),
            display_name: staff.display_name.clone(),
            role,
            csrf_token: session.csrf_token.clone(),
            expires_at: session.expires_at,
        }
    }
}

/// Sign in: sets the session cookie.
#[utoipa::path(post, path = "/api/v1/clinic/session", tag = "clinic",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in; the cookie is set", body = SessionInfo),
        (status = 401, description = "Wrong email or password, a second factor code missing or wrong, or too many failed attempts on this account from this address (wait a while)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_login(
    axum::extract::State(state): axum::extract::State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    crate::extract::ValidJson(body): crate::extract::ValidJson<LoginBody>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let staff = authenticate(
        &state,
        &body.email,
        &body.password,
        body.code.as_deref(),
        address.as_deref(),
    )
    .await?;
    let role = staff.role;
    let old = presented_token(&headers);
    let (cookie, session) =
        start_session(&state, &staff, old.as_deref(), address.as_deref()).await?;
    Ok(with_cookie(
        axum::Json(SessionInfo::new(&staff, &session, role)).into_response(),
        cookie,
    ))
}

/// Who is signed in, and the session's CSRF token.
#[utoipa::path(get, path = "/api/v1/clinic/session", tag = "clinic",
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "The session", body = SessionInfo),
        (status = 401, description = "Not signed in", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_whoami(user: StaffUser) -> axum::Json<SessionInfo> {
    axum::Json(SessionInfo::new(&user.staff, &user.session, user.role))
}

/// Sign out: ends the session and deletes the cookie.
#[utoipa::path(delete, path = "/api/v1/clinic/session", tag = "clinic",
    params(("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    security(("staff_session" = [])),
    responses((status = 204, description = "Signed out")))]
pub async fn api_logout(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: StaffUser,
    headers: HeaderMap,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    user.check_csrf(&headers)?;
    let cookie = end_session(&state, &user).await?;
    Ok(with_cookie(
        axum::http::StatusCode::NO_CONTENT.into_response(),
        cookie,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub current_password: String,
    pub new_password: String,
}

/// Change the password: every other session of the account ends; this one gets a new cookie.
#[utoipa::path(put, path = "/api/v1/clinic/session/password", tag = "clinic",
    params(("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    request_body = PasswordBody,
    security(("staff_session" = [])),
    responses(
        (status = 200, description = "Changed; a new session", body = SessionInfo),
        (status = 422, description = "The current password is wrong or the new one too short", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn api_change_password(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: StaffUser,
    headers: HeaderMap,
    crate::extract::ValidJson(body): crate::extract::ValidJson<PasswordBody>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    user.check_csrf(&headers)?;
    let (cookie, session) =
        change_password(&state, &user, &body.current_password, &body.new_password).await?;
    Ok(with_cookie(
        axum::Json(SessionInfo::new(&user.staff, &session, user.role)).into_response(),
        cookie,
    ))
}

// --- pages -------------------------------------------------------------------------------------

use super::view::{see_other, StaffPage};
use crate::pages::form::Form;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

/// `GET /clinic/login`.
pub async fn login_form(page: StaffPage) -> Result<Response, AppError> {
    if page.user.is_some() {
        return Ok(see_other("/clinic"));
    }
    page.render("staff/login.html", json!({"email": "", "error": null}))
        .await
}

/// `POST /clinic/login`: the same answer for an unknown email, a wrong password and a locked
/// account.
pub async fn login_submit(
    mut page: StaffPage,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, AppError> {
    let email = form.text("email");
    let password = form.get("password").unwrap_or_default().to_string();
    let code = form.get("code").map(str::to_string);
    match authenticate(
        &page.state,
        &email,
        &password,
        code.as_deref(),
        address.as_deref(),
    )
    .await
    {
        Ok(staff) => {
            let old = presented_token(&headers);
            let (cookie, _) =
                start_session(&page.state, &staff, old.as_deref(), address.as_deref()).await?;
            // Always set or cleared: on a shared computer the previous user's choice must not
            // outlive her session.
            let response = with_cookie(see_other("/clinic"), cookie);
            Ok(with_lang_cookie(
                &page.state,
                response,
                staff.language.as_deref(),
            ))
        }
        Err(LoginError::Refused) => {
            page.user = None;
            page.render_status(
                StatusCode::UNAUTHORIZED,
                "staff/login.html",
                json!({"email": email, "error": page.ws("login_refused")}),
            )
            .await
        }
        Err(e @ (LoginError::CodeNeeded | LoginError::CodeRefused)) => {
            page.user = None;
            let key = match e {
                LoginError::CodeNeeded => "login_code_needed",
                _ => "login_code_refused",
            };
            page.render_status(
                StatusCode::UNAUTHORIZED,
                "staff/login.html",
                json!({"email": email, "error": page.ws(key), "code_needed": true}),
            )
            .await
        }
        Err(LoginError::RateLimited) => {
            page.user = None;
            page.render_status(
                StatusCode::TOO_MANY_REQUESTS,
                "staff/login.html",
                json!({"email": email, "error": page.ws("login_rate_limited")}),
            )
            .await
        }
        Err(LoginError::Other(e)) => Err(e),
    }
}

/// `POST /clinic/logout`.
pub async fn logout_submit(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: StaffUser,
) -> Result<Response, AppError> {
    let cookie = end_session(&state, &user).await?;
    Ok(with_cookie(see_other("/clinic/login"), cookie))
}

/// The account page's context: the password form and her language choice.
fn account(page: &StaffPage, user: &StaffUser, done: Option<&str>, error: Option<String>) -> Value {
    let chosen = user.staff.language.as_deref();
    let languages: Vec<Value> = page
        .state
        .content
        .languages()
        .map(|(code, name)| json!({"code": code, "name": name, "chosen": Some(code) == chosen}))
        .collect();
    json!({
        "min": MIN_PASSWORD,
        "done": done,
        "error": error,
        "languages": languages,
        "browser": chosen.is_none(),
    })
}

/// `GET /clinic/password`: her account (password and language).
pub async fn password_form(page: StaffPage, user: StaffUser) -> Result<Response, AppError> {
    let ctx = account(&page, &user, None, None);
    page.render("staff/password.html", ctx).await
}

/// `POST /clinic/password`.
pub async fn password_submit(
    page: StaffPage,
    user: StaffUser,
    form: Form,
) -> Result<Response, AppError> {
    let current = form.get("current_password").unwrap_or_default();
    let new = form.get("new_password").unwrap_or_default();
    match change_password(&page.state, &user, current, new).await {
        Ok((cookie, _)) => {
            let ctx = account(&page, &user, Some("password"), None);
            let response = page.render("staff/password.html", ctx).await?;
            Ok(with_cookie(response, cookie))
        }
        Err(AppError::BadRequest { field, .. }) => {
            let key = match field.as_deref() {
                Some("current_password") => "account_current_wrong",
                _ => "account_new_invalid",
            };
            let error = page.ws(key).replace("{min}", &MIN_PASSWORD.to_string());
            let ctx = account(&page, &user, None, Some(error));
            page.render_status(StatusCode::UNPROCESSABLE_ENTITY, "staff/password.html", ctx)
                .await
        }
        Err(e) => Err(e),
    }
}

/// `POST /clinic/account/language`: the workspace's language for her account (empty: her
/// browser's). The page answers in the new language at once.
pub async fn language_submit(
    mut page: StaffPage,
    user: StaffUser,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, AppError> {
    let code = Some(form.text("language")).filter(|c| !c.is_empty());
    let staff = page
        .state
        .app
        .staff()
        .set_language(&user.actor, &user.staff, code)
        .await?;
    // Her new choice, or her browser's language (not the cookie of the choice she just left).
    page.lang = super::view::browser_lang(&page.state, staff.language.as_deref(), &headers);
    let user = StaffUser {
        staff: staff.clone(),
        ..user
    };
    page.user = Some(user.clone());
    let ctx = account(&page, &user, Some("language"), None);
    let response = page.render("staff/password.html", ctx).await?;
    Ok(with_lang_cookie(
        &page.state,
        response,
        staff.language.as_deref(),
    ))
}

/// Remembers her language for pages rendered without her session (see
/// [`super::view::STAFF_LANG_COOKIE`]).
fn with_lang_cookie(state: &AppState, response: Response, code: Option<&str>) -> Response {
    match super::view::remember_lang(state, code) {
        Some(v) => with_cookie(response, v),
        None => response,
    }
}
