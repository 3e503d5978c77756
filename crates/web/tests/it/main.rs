//! The integration tests of `aftercare-web`, one binary for the crate (one link, one
//! run); each module is one concern.

#[macro_use]
mod support;
mod api;
mod cds_fetch;
mod fhir_cds;
mod fuzz;
mod pages;
mod second_factor;
mod security;
mod snapshots;
mod staff;
