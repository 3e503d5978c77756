//! Her second factor, from her account: set it up (a QR code and the secret to type, then a
//! first code), see how many recovery codes are left, and make new ones. An admin removes the
//! second factor of a colleague who lost her phone from the staff page.

use aftercare_app::second_factor::RECOVERY_CODES;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::auth::{Admin, StaffUser};
use super::view::{see_other, StaffPage};
use crate::error::AppError;
use crate::pages::form::Form;

/// Where she sets it up (a session that must have one is sent here).
pub const PATH: &str = "/clinic/account/second-factor";

/// `GET /clinic/account/second-factor`.
pub async fn page(page: StaffPage, user: StaffUser) -> Result<Response, AppError> {
    render(&page, &user, StatusCode::OK, None, None).await
}

async fn render(
    page: &StaffPage,
    user: &StaffUser,
    status: StatusCode,
    error: Option<&'static str>,
    codes: Option<Vec<String>>,
) -> Result<Response, AppError> {
    let factors = page.state.app.second_factor();
    let ctx = if user.staff.totp_secret.is_some() || codes.is_some() {
        json!({
            "on": true,
            "left": factors.recovery_codes_left(&user.staff).await?,
            "codes": codes,
            "count": RECOVERY_CODES,
            "error": error.map(|k| page.ws(k)),
        })
    } else {
        let setup = factors.setup(&user.staff).await?;
        json!({
            "on": false,
            "required": factors.required(&user.staff).await?,
            "secret": setup.secret,
            "qr": super::board::qr_svg(&setup.uri)?,
            "error": error.map(|k| page.ws(k)),
        })
    };
    page.render_status(status, "staff/second_factor.html", ctx)
        .await
}

/// `POST /clinic/account/second-factor`: the first code confirms the setup (her recovery
/// codes are shown this once); with a second factor on, a current code makes new recovery
/// codes.
pub async fn submit(page: StaffPage, user: StaffUser, form: Form) -> Result<Response, AppError> {
    let code = form.text("code");
    let factors = page.state.app.second_factor();
    let made = if user.staff.totp_secret.is_some() {
        factors
            .new_recovery_codes(&user.actor, &user.staff, &code)
            .await
    } else {
        factors.confirm(&user.actor, &user.staff, &code).await
    };
    match made {
        Ok(codes) => render(&page, &user, StatusCode::OK, None, Some(codes)).await,
        Err(aftercare_app::Error::Invalid { .. }) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&page, &user, status, Some("second_factor_wrong_code"), None).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /clinic/staff/{staff}/second-factor`: removes a colleague's second factor and ends
/// her sessions (audited); 404 for another clinic's account.
pub async fn reset(
    Admin(user): Admin,
    Path(id): Path<String>,
    page: StaffPage,
) -> Result<Response, AppError> {
    page.state
        .app
        .second_factor()
        .reset(&user.actor, user.clinic_id(), &id)
        .await?;
    Ok(see_other("/clinic/staff"))
}
