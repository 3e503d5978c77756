//! Code systems and codes. The terminologies (SNOMED CT, LOINC, UCUM) are fixed here; our own
//! vocabulary (facts, levels, rules, actions) gets code systems under the server's canonical
//! base, so a code means the same thing wherever the resource travels.
//!
//! The procedure values are clinical content (`content/facts.toml`), so the SNOMED table is keyed
//! by those values and [`ProcedureCodes::check`] refuses to start when a value has no entry: a
//! new procedure cannot reach an EHR uncoded by accident.

use aftercare_core::content::FactKind;
use aftercare_core::Content;
use thiserror::Error;

pub const SNOMED: &str = "http://snomed.info/sct";
pub const LOINC: &str = "http://loinc.org";
pub const UCUM: &str = "http://unitsofmeasure.org";
pub const BCP47: &str = "urn:ietf:bcp:47";

/// Pain severity - 0-10 verbal numeric rating [Score] - Reported.
pub const LOINC_PAIN_SEVERITY: &str = "72514-3";
pub const LOINC_PAIN_SEVERITY_DISPLAY: &str =
    "Pain severity - 0-10 verbal numeric rating [Score] - Reported";
/// Systolic and diastolic blood pressure, asked as quantities in mm[Hg].
pub const LOINC_BP_SYSTOLIC: (&str, &str) = ("8480-6", "Systolic blood pressure");
pub const LOINC_BP_DIASTOLIC: (&str, &str) = ("8462-4", "Diastolic blood pressure");
pub const UCUM_MM_HG: &str = "mm[Hg]";
/// The UCUM unit of a score without dimension.
pub const UCUM_SCORE: &str = "{score}";

pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
pub const TRANSLATION_EXT: &str = "http://hl7.org/fhir/StructureDefinition/translation";
pub const ITEM_CONTROL_EXT: &str =
    "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl";
pub const ITEM_CONTROL_SYSTEM: &str = "http://hl7.org/fhir/questionnaire-item-control";
pub const MIN_VALUE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/minValue";
pub const MAX_VALUE_EXT: &str = "http://hl7.org/fhir/StructureDefinition/maxValue";
pub const QUESTIONNAIRE_UNIT_EXT: &str =
    "http://hl7.org/fhir/StructureDefinition/questionnaire-unit";
pub const MIN_QUANTITY_EXT: &str =
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-minQuantity";
pub const MAX_QUANTITY_EXT: &str =
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-maxQuantity";

/// A section's group item in the Questionnaire and in responses: `section.<id>`, so no group
/// shares its `linkId` with a question (invariant que-2: a section and a fact may share an id,
/// `back_pain`, and a renderer that takes the first match would drop the section's questions).
pub fn group_link_id(section: &str) -> String {
    format!("section.{section}")
}

/// The section of a group `linkId` (also the bare section id older responses used).
pub fn section_of_link_id(link_id: &str) -> &str {
    link_id.strip_prefix("section.").unwrap_or(link_id)
}

/// The standard code of a question, where one exists (LOINC), and whether its answer is a
/// quantity with this UCUM unit. Keyed by fact id: the facts are clinical content, their LOINC
/// codes are this crate's mapping to FHIR.
pub fn item_code(fact: &str) -> Option<ItemCode> {
    let (code, unit) = match fact {
        "pain_score" => ((LOINC_PAIN_SEVERITY, LOINC_PAIN_SEVERITY_DISPLAY), None),
        "bp_systolic" => (LOINC_BP_SYSTOLIC, Some(UCUM_MM_HG)),
        "bp_diastolic" => (LOINC_BP_DIASTOLIC, Some(UCUM_MM_HG)),
        _ => return None,
    };
    Some(ItemCode {
        code: code.0,
        display: code.1,
        quantity_unit: unit,
    })
}

/// See [`item_code`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemCode {
    pub code: &'static str,
    pub display: &'static str,
    /// Set for a question answered as a quantity (`valueQuantity`) in this UCUM unit.
    pub quantity_unit: Option<&'static str>,
}

impl ItemCode {
    /// The item's `code` element.
    pub fn coding(&self) -> serde_json::Value {
        serde_json::json!([{ "system": LOINC, "code": self.code, "display": self.display }])
    }
}

/// The id (and name) of our Questionnaire.
pub const QUESTIONNAIRE_ID: &str = "aftercare";

/// The procedure fact's id in the content.
pub const PROCEDURE_FACT: &str = "procedure";

/// How one of our procedure values is coded. `snomed` is `None` for "no procedure".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcedureCode {
    pub value: &'static str,
    pub snomed: Option<(&'static str, &'static str)>,
}

/// The SNOMED CT code of each procedure value of the content.
///
/// * `labour_epidural`: 18946005 |Epidural anesthesia|, as in HL7's birth and fetal death
///   reporting guide.
/// * `spinal`: 231249005 |Spinal anesthesia| (DICOM CID 612 lists it with 18946005).
/// * `combined_spinal_epidural`: no pre-coordinated concept could be verified from here, so it is
///   coded with its verified parent 27372005 |Regional anesthesia|; the text says which one.
///   Review with a terminology server before relying on it.
/// * `epidural_steroid_injection`: no concept could be verified from here either, and the
///   anaesthesia parent would say the wrong thing (it is a steroid injection for pain), so it
///   carries our own code and the text only. Add its SNOMED CT concept once a terminology server
///   confirms it.
/// * `none`: no Procedure resource is written.
pub const PROCEDURES: &[ProcedureCode] = &[
    ProcedureCode {
        value: "labour_epidural",
        snomed: Some(("18946005", "Epidural anesthesia")),
    },
    ProcedureCode {
        value: "combined_spinal_epidural",
        snomed: Some(("27372005", "Regional anesthesia")),
    },
    ProcedureCode {
        value: "spinal",
        snomed: Some(("231249005", "Spinal anesthesia")),
    },
    ProcedureCode {
        value: "epidural_steroid_injection",
        snomed: None,
    },
    ProcedureCode {
        value: "none",
        snomed: None,
    },
];

/// Values that mean "there was no procedure": no Procedure resource for them.
pub const NO_PROCEDURE: &str = "none";

#[derive(Debug, Clone, PartialEq, Error)]
pub enum CodesError {
    #[error("the content has no `{PROCEDURE_FACT}` enum fact")]
    NoProcedureFact,
    #[error("procedure values without a FHIR code in aftercare-fhir's codes.rs: {0}")]
    Uncoded(String),
}

/// The procedure code table, checked against the content.
#[derive(Debug, Clone)]
pub struct ProcedureCodes;

impl ProcedureCodes {
    /// Checks that every procedure value of the content has an entry in [`PROCEDURES`]. Called
    /// at start-up: a content change that adds a procedure must come with its code.
    pub fn check(content: &Content) -> Result<(), CodesError> {
        let fact = content
            .fact(PROCEDURE_FACT)
            .ok_or(CodesError::NoProcedureFact)?;
        let FactKind::Enum { values, .. } = &fact.kind else {
            return Err(CodesError::NoProcedureFact);
        };
        let missing: Vec<&str> = values
            .iter()
            .map(String::as_str)
            .filter(|v| procedure(v).is_none())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(CodesError::Uncoded(missing.join(", ")))
        }
    }
}

/// The coding entry of a procedure value.
pub fn procedure(value: &str) -> Option<&'static ProcedureCode> {
    PROCEDURES.iter().find(|p| p.value == value)
}

/// The canonical base of Aftercare's own definitions: the same for every deployment, so a code
/// means the same thing whichever server wrote it and wherever the resource travels. It names,
/// it is not an address: the definitions are served by each server under `/fhir`.
pub const CANONICAL_BASE: &str = "https://aftercare.health/fhir";

/// The canonical URLs of our definitions and code systems ([`CANONICAL_BASE`]), and the
/// server's own FHIR base (its public URL + `/fhir`), where they are served and where resource
/// `fullUrl`s point. Resources written before the canonical base was fixed used the server's
/// base as their canonical; reading accepts those too.
#[derive(Debug, Clone)]
pub struct Canonical {
    base: String,
    server: String,
}

impl Canonical {
    /// `public_url` without a trailing slash, e.g. `https://aftercare.example.org`.
    pub fn new(public_url: &str) -> Canonical {
        Canonical {
            base: CANONICAL_BASE.to_string(),
            server: format!("{}/fhir", public_url.trim_end_matches('/')),
        }
    }

    /// The canonical base of our definitions.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// This server's FHIR base (an address).
    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn questionnaire(&self) -> String {
        format!("{}/Questionnaire/{QUESTIONNAIRE_ID}", self.base)
    }

    /// The code system of one enum fact's answers, e.g. `.../CodeSystem/answers-pain-site`
    /// (a FHIR id has no `_`).
    pub fn answers(&self, fact: &str) -> String {
        format!(
            "{}/CodeSystem/answers-{}",
            self.base,
            fact.replace('_', "-")
        )
    }

    /// Whether `system` is the code system of `fact`'s answers: ours, or the server-based one
    /// of older resources.
    pub fn is_answers(&self, system: &str, fact: &str) -> bool {
        system == self.answers(fact) || system == format!("{}/CodeSystem/{fact}", self.server)
    }

    /// Triage levels (`emergency`, `urgent`, `soon`, `self_care`).
    pub fn levels(&self) -> String {
        format!("{}/CodeSystem/triage-level", self.base)
    }

    /// Rule ids of the content (`EM-CAUDA`, ...).
    pub fn rules(&self) -> String {
        format!("{}/CodeSystem/rule", self.base)
    }

    /// Action ids of the content (`cold_therapy`, ...).
    pub fn actions(&self) -> String {
        format!("{}/CodeSystem/action", self.base)
    }

    /// The triage method itself; its `version` is the content version.
    pub fn method(&self) -> String {
        format!("{}/CodeSystem/method", self.base)
    }

    /// `QuestionnaireResponse/$triage`.
    pub fn triage_operation(&self) -> String {
        format!("{}/OperationDefinition/triage", self.base)
    }

    /// This server's patient ids: an identifier system per deployment (two servers' ids are
    /// different patients), under the server's own base.
    pub fn patient_ids(&self) -> String {
        format!("{}/NamingSystem/patient", self.server)
    }

    /// Extension saying why an item's condition could not be written as `enableWhen`.
    pub fn asked_when_ext(&self) -> String {
        format!("{}/StructureDefinition/asked-when", self.base)
    }
}

/// How Aftercare recognises a neuraxial procedure in an EHR's data: the table in
/// `data/procedure-terminology.json` (codes by system, their descendants, codes never to be read
/// as a procedure, and text as the last resort). Reading only; what Aftercare writes is
/// [`PROCEDURES`].
#[derive(Debug, serde::Deserialize)]
pub struct Terminology {
    systems: std::collections::HashMap<String, String>,
    concepts: Vec<TermConcept>,
    descendants: Vec<TermDescendant>,
    never: Vec<TermNever>,
    text: Vec<TermText>,
}

#[derive(Debug, serde::Deserialize)]
struct TermConcept {
    system: String,
    code: String,
    value: String,
}

#[derive(Debug, serde::Deserialize)]
struct TermDescendant {
    system: String,
    code: String,
    of: String,
}

#[derive(Debug, serde::Deserialize)]
struct TermNever {
    system: String,
    code: String,
}

#[derive(Debug, serde::Deserialize)]
struct TermText {
    contains: Vec<String>,
    value: String,
}

const TERMINOLOGY_JSON: &str = include_str!("../data/procedure-terminology.json");

/// The bundled table, parsed once. A broken table is a build-time mistake that a unit test
/// catches; should it happen anyway, nothing is recognised rather than the wrong thing.
pub fn terminology() -> &'static Terminology {
    static TABLE: std::sync::OnceLock<Terminology> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str(TERMINOLOGY_JSON).unwrap_or(Terminology {
            systems: Default::default(),
            concepts: Vec::new(),
            descendants: Vec::new(),
            never: Vec::new(),
            text: Vec::new(),
        })
    })
}

impl Terminology {
    fn system(&self, key: &str) -> &str {
        self.systems
            .get(key)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Our procedure value for one coding, if the table knows it (directly or as a descendant).
    fn by_code(&self, system: &str, code: &str) -> Option<&'static str> {
        if self
            .never
            .iter()
            .any(|n| self.system(&n.system) == system && n.code == code)
        {
            return None;
        }
        let code = self
            .descendants
            .iter()
            .find(|d| self.system(&d.system) == system && d.code == code)
            .map(|d| d.of.as_str())
            .unwrap_or(code);
        self.concepts
            .iter()
            .find(|c| self.system(&c.system) == system && c.code == code)
            .and_then(|c| procedure(&c.value))
            .map(|p| p.value)
    }

    /// Our procedure value for a Procedure's codings and text: a recognised code first, then
    /// the words of the text and the codings' displays. `None`: not a neuraxial procedure that
    /// Aftercare knows (a dental cleaning, a peripheral nerve block).
    pub fn recognise(
        &self,
        codings: &[serde_json::Value],
        text: Option<&str>,
    ) -> Option<&'static str> {
        let field = |c: &serde_json::Value, k: &str| {
            c.get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        if let Some(v) = codings.iter().find_map(|c| {
            let (system, code) = (field(c, "system")?, field(c, "code")?);
            self.by_code(&system, &code)
        }) {
            return Some(v);
        }
        let words: String = std::iter::once(text.map(str::to_string))
            .chain(codings.iter().map(|c| field(c, "display")))
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        self.text
            .iter()
            .find(|t| t.contains.iter().all(|w| words.contains(w.as_str())))
            .and_then(|t| procedure(&t.value))
            .map(|p| p.value)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn canonical_urls_are_the_same_whatever_the_public_url() {
        let (a, b) = (
            Canonical::new("https://a.test"),
            Canonical::new("https://b.test/"),
        );
        assert_eq!(a.questionnaire(), b.questionnaire());
        assert_eq!(a.answers("pain_site"), b.answers("pain_site"));
        assert_eq!(
            a.answers("pain_site"),
            format!("{CANONICAL_BASE}/CodeSystem/answers-pain-site")
        );
        assert_eq!(a.server(), "https://a.test/fhir");
        // What a server wrote before the base was fixed is still read as ours, by that server.
        assert!(a.is_answers("https://a.test/fhir/CodeSystem/pain_site", "pain_site"));
        assert!(!a.is_answers("https://b.test/fhir/CodeSystem/pain_site", "pain_site"));
    }

    use super::*;

    #[test]
    fn the_terminology_table_parses_and_names_only_our_procedures() {
        let table: Terminology =
            serde_json::from_str(TERMINOLOGY_JSON).expect("data/procedure-terminology.json parses");
        for c in &table.concepts {
            assert!(
                procedure(&c.value).is_some(),
                "{} maps to unknown {}",
                c.code,
                c.value
            );
            assert!(!table.system(&c.system).is_empty(), "system {}", c.system);
        }
        for t in &table.text {
            assert!(
                procedure(&t.value).is_some(),
                "text rule maps to unknown {}",
                t.value
            );
        }
        for d in &table.descendants {
            assert!(
                table.concepts.iter().any(|c| c.code == d.of),
                "{} of unknown {}",
                d.code,
                d.of
            );
        }
    }

    #[test]
    fn regional_anaesthesia_is_never_read_as_a_combined_spinal_epidural() {
        let t = terminology();
        let coding = |code: &str| serde_json::json!({ "system": SNOMED, "code": code });
        assert_eq!(t.recognise(&[coding("27372005")], None), None);
        assert_eq!(
            t.recognise(&[coding("27372005")], Some("Interscalene nerve block")),
            None
        );
        // Our own export: the code says nothing, the text says which one.
        assert_eq!(
            t.recognise(&[coding("27372005")], Some("Combined spinal-epidural")),
            Some("combined_spinal_epidural")
        );
        assert_eq!(
            t.recognise(&[coding("18946005")], None),
            Some("labour_epidural")
        );
        let cpt = |code: &str| serde_json::json!({ "system": "http://www.ama-assn.org/go/cpt", "code": code });
        assert_eq!(t.recognise(&[cpt("01967")], None), Some("labour_epidural"));
        assert_eq!(
            t.recognise(&[cpt("64483")], None),
            Some("epidural_steroid_injection")
        );
        assert_eq!(
            t.recognise(&[coding("234794009")], Some("Dental cleaning")),
            None
        );
        assert_eq!(
            t.recognise(&[], Some("Lumbar epidural steroid injection L4-5")),
            Some("epidural_steroid_injection")
        );
    }

    #[test]
    fn every_procedure_of_the_bundled_content_has_a_code_entry() {
        let content = Content::bundled().expect("bundled content is valid");
        assert_eq!(ProcedureCodes::check(&content), Ok(()));
    }

    #[test]
    fn the_labour_epidural_is_snomed_epidural_anaesthesia() {
        let p = procedure("labour_epidural").expect("entry");
        assert_eq!(p.snomed.map(|s| s.0), Some("18946005"));
        let coding = serde_json::json!({ "system": SNOMED, "code": "18946005" });
        assert_eq!(
            terminology().recognise(&[coding], None),
            Some("labour_epidural")
        );
    }

    #[test]
    fn a_procedure_value_without_a_code_stops_the_start() {
        let mut sources = Content::bundled_sources();
        let facts = sources
            .iter_mut()
            .find(|s| s.name == "facts.toml")
            .expect("facts.toml");
        facts.text = facts.text.replace("\"spinal\",", "\"spinal\", \"caudal\",");
        for s in sources.iter_mut().filter(|s| s.name.starts_with("text/")) {
            s.text = s
                .text
                .replace("\nspinal = ", "\ncaudal = \"Caudal\"\nspinal = ");
        }
        let content = Content::from_sources(sources).expect("edited content is valid");
        assert_eq!(
            ProcedureCodes::check(&content),
            Err(CodesError::Uncoded("caudal".into()))
        );
    }
}
