//! The application layer of Aftercare, between the adapters (HTTP, pages, CLI) and the store.
//!
//! One service per aggregate (check-ins, diary, escalations, chat, contact requests,
//! announcements, clinics, staff, enrolment, export, the audit log). Each takes a typed
//! command, validates it, and commits what it writes together with its audit row and the
//! escalation it raises, in one unit of work ([`aftercare_store::Store::transaction`]): no path
//! stores patient data without its audit row, or a decision that calls for an alert without
//! the alert. The adapters only translate requests into commands and results into responses.
//!
//! The layer reads the time from its [`Clock`], never from the system, so tests can move time.

pub mod alerts;
pub mod announcements;
pub mod appointments;
pub mod audit;
pub mod cds;
pub mod chat;
pub mod checkins;
pub mod clinics;
pub mod clock;
pub mod contacts;
pub mod diary;
pub mod enrolment;
pub mod error;
pub mod escalations;
pub mod export;
pub mod limits;
pub mod patient_email;
pub mod patients;
pub mod second_factor;
pub mod secrets;
pub mod staff;
pub mod text;
pub mod throttle;

pub use audit::{Action, Actor, ActorKind, Subject};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result};

use aftercare_core::{Content, Level};
use aftercare_store::{Backend, BoxFuture, NewAuditEntry, Store, Tx};

type StoreResult<T> = aftercare_store::Result<T>;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Told of every decision the engine makes (the server counts them by level for its metrics).
pub trait DecisionObserver: Send + Sync {
    fn decided(&self, level: Level);
}

struct Unobserved;

impl DecisionObserver for Unobserved {
    fn decided(&self, _: Level) {}
}

/// The application: the content, the store, the clock. Cheap to clone.
#[derive(Clone)]
pub struct App {
    content: Arc<Content>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    observer: Arc<dyn DecisionObserver>,
    /// The emergency number where a clinic has set none (`AFTERCARE_EMERGENCY_NUMBER`).
    emergency_number: Arc<str>,
}

impl App {
    /// The application on the real clock.
    pub fn new(content: Arc<Content>, store: Arc<dyn Store>) -> App {
        App {
            content,
            store,
            clock: Arc::new(SystemClock),
            observer: Arc::new(Unobserved),
            emergency_number: Arc::from("112"),
        }
    }

    /// The emergency number to give where the clinic has not set its own.
    pub fn with_emergency_number(mut self, number: &str) -> App {
        self.emergency_number = Arc::from(number);
        self
    }

    pub fn emergency_number(&self) -> &str {
        &self.emergency_number
    }

    /// The same application on another clock (a test's [`ManualClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> App {
        self.clock = clock;
        self
    }

    pub fn with_observer(mut self, observer: Arc<dyn DecisionObserver>) -> App {
        self.observer = observer;
        self
    }

    pub fn content(&self) -> &Arc<Content> {
        &self.content
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Which database is underneath (live chat across servers needs PostgreSQL's LISTEN).
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Readiness: the store answers and takes a write.
    pub async fn ready(&self) -> Result<()> {
        Ok(self.store.ping().await?)
    }

    /// Brings the database's schema up to date; a schema already current is left alone.
    pub async fn migrate(&self) -> Result<()> {
        Ok(self.store.migrate().await?)
    }

    /// A consistent copy of the whole database, every clinic's patients in it, written to
    /// `path` while the server runs (SQLite; PostgreSQL refuses and names `pg_dump`). The
    /// audit row comes first: a copy that cannot be audited is not made.
    pub async fn backup(&self, actor: &Actor, path: &std::path::Path) -> Result<()> {
        let subject = Subject {
            patient_id: None,
            clinic_id: None,
            detail: Some(path.display().to_string()),
        };
        self.audit()
            .record(actor, Action::DatabaseBackup, subject)
            .await?;
        Ok(self.store.backup_to(path).await?)
    }

    /// Deletes expired staff sessions and replay-cache entries; returns how many went.
    pub async fn purge_expired(&self) -> Result<u64> {
        let now = self.now();
        Ok(self
            .store
            .transaction(move |tx| tx.purge_expired(now))
            .await?)
    }

    /// Rate limits shared by the servers of one database.
    pub fn throttle(&self) -> throttle::Throttle<'_> {
        throttle::Throttle(self)
    }

    pub fn audit(&self) -> audit::Audit<'_> {
        audit::Audit(self)
    }
    pub fn alerts(&self) -> alerts::Alerts<'_> {
        alerts::Alerts(self)
    }
    pub fn appointments(&self) -> appointments::Appointments<'_> {
        appointments::Appointments(self)
    }
    pub fn announcements(&self) -> announcements::Announcements<'_> {
        announcements::Announcements(self)
    }
    pub fn cds(&self) -> cds::Cds<'_> {
        cds::Cds(self)
    }
    pub fn chat(&self) -> chat::Chat<'_> {
        chat::Chat(self)
    }
    pub fn checkins(&self) -> checkins::Checkins<'_> {
        checkins::Checkins(self)
    }
    pub fn clinics(&self) -> clinics::Clinics<'_> {
        clinics::Clinics(self)
    }
    pub fn contacts(&self) -> contacts::Contacts<'_> {
        contacts::Contacts(self)
    }
    pub fn diary(&self) -> diary::Diary<'_> {
        diary::Diary(self)
    }
    pub fn enrolment(&self) -> enrolment::Enrolment<'_> {
        enrolment::Enrolment(self)
    }
    pub fn escalations(&self) -> escalations::Escalations<'_> {
        escalations::Escalations(self)
    }
    pub fn export(&self) -> export::Export<'_> {
        export::Export(self)
    }
    pub fn patient_emails(&self) -> patient_email::PatientEmails<'_> {
        patient_email::PatientEmails(self)
    }
    pub fn patients(&self) -> patients::Patients<'_> {
        patients::Patients(self)
    }
    pub fn second_factor(&self) -> second_factor::SecondFactors<'_> {
        second_factor::SecondFactors(self)
    }
    pub fn staff(&self) -> staff::StaffAccounts<'_> {
        staff::StaffAccounts(self)
    }

    /// Tells the observer of a decision the engine made.
    pub(crate) fn observe(&self, level: Level) {
        self.observer.decided(level);
    }

    /// The usual unit of work: `write`, then the audit row `audit` makes of its result, in one
    /// commit. Both may run twice (see [`aftercare_store::Store::transaction`]).
    pub(crate) async fn write_audited<T, W, A>(&self, write: W, audit: A) -> Result<T>
    where
        T: Send + 'static,
        W: for<'t> Fn(&'t mut dyn Tx) -> BoxFuture<'t, StoreResult<T>> + Send + Sync + 'static,
        A: Fn(&T) -> NewAuditEntry + Send + Sync + 'static,
    {
        let work = Arc::new((write, audit));
        Ok(self
            .store
            .transaction(move |tx| {
                let work = work.clone();
                Box::pin(async move {
                    let value = (work.0)(&mut *tx).await?;
                    tx.append_audit((work.1)(&value)).await?;
                    Ok(value)
                })
            })
            .await?)
    }
}
