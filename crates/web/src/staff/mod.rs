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

pub mod announcements;
pub mod audit_log;
pub mod auth;
pub mod board;
pub mod chat;
pub mod contact;
pub mod live;
pub mod patient;
pub mod settings;

pub use live::ChatHub;

use crate::state::AppState;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter};
use axum::Router;

/// What the workspace keeps for the life of the process.
#[derive(Default)]
pub struct StaffState {
    /// Login attempts per client address.
    pub login_limit: auth::LoginLimit,
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

    #[allow(dead_code)]
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
        .get("/clinic/patients/{patient}/qr.svg", Clinician, board::qr)
        .get(
            "/clinic/patients/{patient}/chat/events",
            Clinician,
            chat::staff_events,
        )
        .get("/clinic/audit.csv", Admin, audit_log::export_csv)
}

/// The staff pages' router.
pub fn router(_state: &AppState) -> Router<AppState> {
    table().router
}

/// The list of staff page routes (the JSON ones are in the OpenAPI document).
pub fn routes() -> Vec<StaffRoute> {
    table().routes
}
