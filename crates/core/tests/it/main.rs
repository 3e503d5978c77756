//! The integration tests of `aftercare-core`, one binary for the crate (one link, one
//! run); each module is one concern.

mod case_errors;
mod content_errors;
mod content_fuzz;
mod properties;
mod recovery;
mod safety_case;
mod texts;
mod vignettes;
