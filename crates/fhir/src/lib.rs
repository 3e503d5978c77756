//! FHIR R4 and CDS Hooks 2.0 for Aftercare: how our records, questionnaire and decisions look to
//! an electronic health record, and how an EHR's data becomes a case.
//!
//! Pure mapping, like the core: JSON in, JSON out, no I/O, no clock (callers pass times), no
//! HTTP. The web crate serves it (`crates/web/src/fhir.rs`, `cds.rs`) and the CLI prints it.
//!
//! - [`codes`] holds SNOMED CT, LOINC, UCUM and our own code systems; the procedure code table.
//! - [`questionnaire`] holds the facts as a Questionnaire, with `enableWhen` from "asked when".
//! - [`import`] holds QuestionnaireResponse <-> case, with OperationOutcome errors naming the item.
//! - [`assessment`] holds a decision as RiskAssessment and CarePlan.
//! - [`bundle`] holds a patient's whole record as a Bundle.
//! - [`cds`] holds CDS Hooks discovery, prefetch to case, decision to card.
//! - [`definitions`] holds our CodeSystems and the `$triage` OperationDefinition.
//! - [`outcome`] holds OperationOutcome.

pub mod assessment;
pub mod bundle;
pub mod cds;
pub mod codes;
pub mod definitions;
pub mod import;
pub mod outcome;
pub mod questionnaire;

pub use assessment::Assessment;
pub use codes::Canonical;
pub use import::ImportError;
