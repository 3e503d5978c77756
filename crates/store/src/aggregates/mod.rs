//! The store by aggregate: each module holds one aggregate's SQL, its write trait (`…Tx`,
//! implemented for every [`Conn`](crate::sql::Conn), used inside a unit of work) and its read
//! trait (`…Read`, implemented for every [`Engine`](crate::Engine)).

pub mod announcements;
pub mod appointments;
pub mod audit;
pub mod cds;
pub mod checkins;
pub mod clinics;
pub mod contacts;
pub mod diary;
pub mod escalations;
pub mod housekeeping;
pub mod messages;
pub mod outbox;
pub mod patients;
pub mod second_factor;
pub mod staff;
pub mod throttle;
