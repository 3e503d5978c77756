//! The clinical core of Aftercare.
//!
//! Everything here is pure: clinical content goes in (parsed once, validated as a whole), a
//! [`Case`] goes in, a [`Decision`] comes out. No I/O except reading the content files when asked
//! to, no clock (callers pass days), no async. The storage, HTTP and CLI crates depend on this
//! one; it depends on none of them.
//!
//! The path of a check-in:
//! 1. [`Content::load_dir`] (or [`Content::bundled`]) parses and validates the content files.
//! 2. [`Case::from_json`] turns a JSON object of answers into a typed case, naming the field on
//!    bad input.
//! 3. [`triage`] evaluates every rule in three-valued logic and builds the [`Decision`]: level,
//!    reasons, actions, the next questions to ask, and the [`CarePlan`].
//! 4. [`DecisionView`] renders a decision in one language for people and for JSON clients.

pub mod case;
pub mod content;
pub mod engine;
pub mod level;
pub mod logic;
pub mod plan;
pub mod questionnaire;
pub mod recovery;
pub mod view;

pub use case::{Case, CaseError, Value};
pub use content::{Content, ContentError, ContentErrors, Lang, Texts};
pub use engine::{deciding_facts, triage, Decision, Status};
pub use level::Level;
pub use plan::CarePlan;
pub use recovery::{DiaryPoint, EscalationReason, Profile, RecoveryCheck};
pub use view::{DecisionView, QuestionView};
