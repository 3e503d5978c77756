//! The clinic workspace: staff accounts and roles, the patient board, patient pages, live chat
//! with patients, contact requests, announcements, clinic settings and the audit log.
//!
//! Every staff route is declared once, in [`table`], with the access it needs ([`Access`]);
//! the router and the list a test walks ([`routes`]) are both built from it, so a route cannot
//! be added without the test trying it as a visitor who is signed out and as a member of
//! another clinic. Handlers take the [`auth::Clinician`] or [`auth::Admin`] extractor, and find
//! a patient only through [`board::clinic_patient`], which answers 404 for another clinic's.
//!
//! The JSON API routes of the workspace (`/api/v1/clinic/...`, `/api/v1/messages`) are
//! registered with the OpenAPI router in `crate::api`, documented with the `staff_session`
//! cookie scheme.

pub mod alerts;
pub mod announcements;
pub mod appointments;
pub mod audit_log;
pub mod audit_words;
pub mod auth;
pub mod board;
pub mod board_live;
pub mod chat;
pub mod contact;
pub mod live;
pub mod patient;
pub mod second_factor;
pub mod settings;
pub mod view;

pub use live::ChatHub;

use crate::state::AppState;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{get, on, MethodFilter};
use axum::Router;

/// What the workspace keeps for the life of the process.
pub struct StaffState {
    /// Login attempts per client address.
    pub login_limit: crate::limit::RateLimit,
    /// Failed logins per account and client address ([`auth::pair_limit`]).
    pub pair_limit: crate::limit::RateLimit,
}

impl Default for StaffState {
    fn default() -> Self {
        StaffState {
            login_limit: auth::login_limit(),
            pair_limit: auth::pair_limit(),
        }
    }
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the login form).
    Public,
    /// Any signed-in staff member.
    Staff,
    Clinician,
    Admin,
}

/// One staff route. Path parameters are named after what they hold (`{patient}`,
/// `{escalation}`, `{request}`), so a test can fill them in.
#[derive(Debug, Clone)]
pub struct StaffRoute {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// The router and the list of its routes, built together.
pub struct Table {
    router: Router<AppState>,
    routes: Vec<StaffRoute>,
}

impl Table {
    fn new() -> Table {
        Table {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    fn add<H, T>(mut self, method: Method, path: &'static str, access: Access, handler: H) -> Table
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = if method == Method::POST {
            MethodFilter::POST
        } else {
            MethodFilter::GET
        };
        self.router = self.router.route(path, on(filter, handler));
        self.routes.push(StaffRoute {
            method,
            path,
            access,
        });
        self
    }

    fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Table {
        self.add(Method::GET, path, access, h)
    }

    fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Table {
        self.add(Method::POST, path, access, h)
    }
}

/// Every staff page route.
pub fn table() -> Table {
    use Access::*;
    Table::new()
        .get("/clinic/login", Public, auth::login_form)
        .post("/clinic/login", Public, auth::login_submit)
        .get("/clinic/reset/{token}", Public, settings::reset_form)
        .post("/clinic/reset/{token}", Public, settings::reset_submit)
        .post("/clinic/logout", Staff, auth::logout_submit)
        .get("/clinic/password", Staff, auth::password_form)
        .post("/clinic/password", Staff, auth::password_submit)
        .post("/clinic/account/language", Staff, auth::language_submit)
        .get("/clinic/account/second-factor", Staff, second_factor::page)
        .post(
            "/clinic/account/second-factor",
            Staff,
            second_factor::submit,
        )
        // Clinicians (admins who open /clinic are sent to their own pages).
        .get("/clinic", Staff, board::board_page)
        .get("/clinic/board/events", Clinician, board_live::events)
        .get("/clinic/appointments", Clinician, appointments::page)
        .post(
            "/clinic/appointments/{appointment}/answer",
            Clinician,
            appointments::answer,
        )
        .post(
            "/clinic/appointments/{appointment}/cancel",
            Clinician,
            appointments::cancel,
        )
        .get("/clinic/patients/new", Clinician, board::enrol_form)
        .post("/clinic/patients", Clinician, board::enrol_submit)
        .get("/clinic/patients/{patient}", Clinician, patient::page)
        .get(
            "/clinic/patients/{patient}/link",
            Clinician,
            board::link_page,
        )
        .get("/clinic/patients/{patient}/qr.svg", Clinician, board::qr)
        .get(
            "/clinic/patients/{patient}/fhir.json",
            Clinician,
            patient::fhir_export,
        )
        .post(
            "/clinic/patients/{patient}/messages",
            Clinician,
            chat::staff_post,
        )
        .get(
            "/clinic/patients/{patient}/chat/events",
            Clinician,
            chat::staff_events,
        )
        .post(
            "/clinic/escalations/{escalation}/acknowledge",
            Clinician,
            patient::acknowledge_submit,
        )
        .post(
            "/clinic/patients/{patient}/phone",
            Clinician,
            patient::phone_submit,
        )
        .post(
            "/clinic/patients/{patient}/link/replace",
            Clinician,
            board::replace_link_submit,
        )
        .post(
            "/clinic/escalations/{escalation}/close",
            Clinician,
            patient::close_submit,
        )
        .get("/clinic/contact", Clinician, contact::page)
        .post(
            "/clinic/contact/{request}/handled",
            Clinician,
            contact::handled_submit,
        )
        // Admins.
        .get("/clinic/staff", Admin, settings::staff_page)
        .post("/clinic/staff", Admin, settings::staff_submit)
        .post(
            "/clinic/staff/{staff}/deactivate",
            Admin,
            settings::deactivate,
        )
        .post(
            "/clinic/staff/{staff}/reactivate",
            Admin,
            settings::reactivate,
        )
        .post("/clinic/staff/{staff}/role", Admin, settings::change_role)
        .post("/clinic/staff/{staff}/reset", Admin, settings::issue_reset)
        .post(
            "/clinic/staff/{staff}/second-factor",
            Admin,
            second_factor::reset,
        )
        .get("/clinic/alerts", Admin, alerts::page)
        .post("/clinic/alerts", Admin, alerts::add)
        .post("/clinic/alerts/{target}/remove", Admin, alerts::remove)
        .post("/clinic/alerts/{target}/test", Admin, alerts::test)
        .get("/clinic/settings", Admin, settings::page)
        .post("/clinic/settings", Admin, settings::submit)
        .get("/clinic/announcements", Admin, announcements::page)
        .post("/clinic/announcements", Admin, announcements::submit)
        .get("/clinic/audit", Admin, audit_log::audit_page)
        .get("/clinic/audit.csv", Admin, audit_log::export_csv)
}

/// The workspace pages (with the pages' CSRF layer and the workspace's error pages), and the
/// patient's chat page (with the patient pages' error pages).
pub fn router(state: &AppState) -> Router<AppState> {
    use crate::pages::{csrf, errors};
    use axum::middleware::from_fn_with_state;
    let clinic = table()
        .router
        .layer(from_fn_with_state(state.clone(), csrf::protect))
        .layer(from_fn_with_state(state.clone(), view::staff_errors));
    let me = Router::new()
        .route("/me/chat", get(chat::patient_page).post(chat::patient_post))
        .route("/me/chat/events", get(chat::patient_events))
        .layer(from_fn_with_state(state.clone(), csrf::protect))
        .layer(from_fn_with_state(state.clone(), errors::html_errors));
    clinic.merge(me)
}

/// The list of staff page routes (the JSON ones are in the OpenAPI document).
pub fn routes() -> Vec<StaffRoute> {
    table().routes
}
