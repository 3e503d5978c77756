//! The integration tests of the `aftercare` binary, one test binary for the crate (one link,
//! one run); each module is one concern.

#[macro_use]
mod common;
mod alerts;
mod chat_two_servers;
mod checkin_durability;
mod cli;
mod durability;
mod edges;
mod export;
mod faults;
mod log_privacy;
