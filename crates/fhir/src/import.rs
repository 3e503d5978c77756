//! QuestionnaireResponse <-> case. Export writes a check-in's answers as a response to our
//! Questionnaire; import reads such a response (from an EHR or a forms tool) back into the case
//! JSON the engine takes, so both directions share one idea of what an answer looks like.
//!
//! Import is strict about what it does not understand (an unknown `linkId`, two answers to one
//! question, a code from another system) and names the item at fault with a FHIRPath
//! expression, because a silently dropped answer could lower a triage level. Missing answers are
//! fine: the engine treats them as unknown and says which questions are still open.

use crate::codes::{self, Canonical};
use crate::outcome::{operation_outcome, IssueCode};
use aftercare_core::content::FactKind;
use aftercare_core::{Case, CaseError, Content};
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;
use thiserror::Error;

/// Why a QuestionnaireResponse was refused.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{message}")]
pub struct ImportError {
    pub code: IssueCode,
    /// The item's `linkId`, when the problem is one answer.
    pub link_id: Option<String>,
    /// FHIRPath to the element at fault.
    pub expression: String,
    pub message: String,
}

impl ImportError {
    fn new(
        code: IssueCode,
        expression: impl Into<String>,
        message: impl Into<String>,
    ) -> ImportError {
        ImportError {
            code,
            link_id: None,
            expression: expression.into(),
            message: message.into(),
        }
    }

    fn item(
        code: IssueCode,
        link_id: &str,
        expression: &str,
        message: impl Into<String>,
    ) -> ImportError {
        ImportError {
            code,
            link_id: Some(link_id.to_string()),
            expression: expression.to_string(),
            message: format!("item '{link_id}': {}", message.into()),
        }
    }

    pub fn outcome(&self) -> Json {
        operation_outcome(self.code, &self.message, Some(&self.expression))
    }
}

/// Who and when a response is about, for export.
#[derive(Debug, Clone)]
pub struct ResponseMeta<'a> {
    pub id: &'a str,
    /// A reference, e.g. `Patient/123`.
    pub subject: Option<&'a str>,
    /// FHIR dateTime.
    pub authored: Option<&'a str>,
}

/// A case (fact id -> answer) as a QuestionnaireResponse to our Questionnaire, grouped by section
/// like the Questionnaire. Keys that are not facts of this content are left out.
pub fn to_response(
    content: &Content,
    canonical: &Canonical,
    answers: &Map<String, Json>,
    meta: &ResponseMeta,
) -> Json {
    let en = content.text(content.default_lang());
    let mut groups = Vec::new();
    for (s, section) in content.sections.iter().enumerate() {
        let items: Vec<Json> = content
            .facts
            .iter()
            .enumerate()
            .filter(|(_, f)| f.section == s)
            .filter_map(|(i, f)| {
                let answer = answer_value(content, canonical, i, answers.get(&f.id)?)?;
                Some(json!({ "linkId": f.id, "text": en.facts[i].question, "answer": [answer] }))
            })
            .collect();
        if !items.is_empty() {
            groups.push(json!({ "linkId": codes::group_link_id(section), "text": en.sections[s], "item": items }));
        }
    }
    let mut qr = Map::new();
    qr.insert("resourceType".into(), json!("QuestionnaireResponse"));
    qr.insert("id".into(), json!(meta.id));
    qr.insert(
        "questionnaire".into(),
        json!(format!("{}|{}", canonical.questionnaire(), content.version)),
    );
    qr.insert("status".into(), json!("completed"));
    if let Some(s) = meta.subject {
        qr.insert("subject".into(), json!({ "reference": s }));
    }
    if let Some(a) = meta.authored {
        qr.insert("authored".into(), json!(a));
    }
    if !groups.is_empty() {
        qr.insert("item".into(), json!(groups));
    }
    Json::Object(qr)
}

fn answer_value(content: &Content, canonical: &Canonical, idx: usize, v: &Json) -> Option<Json> {
    let fact = &content.facts[idx];
    Some(match &fact.kind {
        FactKind::Bool => json!({ "valueBoolean": v.as_bool()? }),
        FactKind::Enum { values, .. } => {
            let code = v.as_str()?;
            let pos = values.iter().position(|x| x == code)?;
            let display = &content.text(content.default_lang()).facts[idx].values[pos];
            json!({ "valueCoding": { "system": canonical.answers(&fact.id), "code": code, "display": display } })
        }
        FactKind::Number { .. }
            if codes::item_code(&fact.id)
                .and_then(|c| c.quantity_unit)
                .is_some() =>
        {
            let unit = codes::item_code(&fact.id).and_then(|c| c.quantity_unit)?;
            json!({ "valueQuantity": { "value": v.as_number()?, "unit": unit, "system": codes::UCUM, "code": unit } })
        }
        FactKind::Number { integer: true, .. } => json!({ "valueInteger": v.as_i64()? }),
        FactKind::Number { .. } => json!({ "valueDecimal": v.as_number()? }),
    })
}

/// The case JSON of a QuestionnaireResponse, checked by the engine's own parser (so the same
/// answers are refused here as in the JSON API), with errors naming the item.
pub fn from_response(
    content: &Content,
    canonical: &Canonical,
    qr: &Json,
) -> Result<(Case, Map<String, Json>), ImportError> {
    let answers = answers(content, canonical, qr)?;
    let case =
        Case::from_map(content, &answers.facts).map_err(|e| case_error(&answers.paths, e))?;
    Ok((case, answers.facts))
}

/// The answers of a response, before the engine's checks.
pub struct Answers {
    pub facts: Map<String, Json>,
    /// Where each fact's answer was, for error messages.
    pub paths: HashMap<String, String>,
}

/// Reads the answers of a response (the shape and value types), without the engine's
/// consistency checks; the CDS service merges them with the prefetch before checking.
pub fn answers(
    content: &Content,
    canonical: &Canonical,
    qr: &Json,
) -> Result<Answers, ImportError> {
    const ROOT: &str = "QuestionnaireResponse";
    let obj = qr.as_object().ok_or_else(|| {
        ImportError::new(IssueCode::Structure, ROOT, "the body must be a JSON object")
    })?;
    if obj.get("resourceType").and_then(Json::as_str) != Some(ROOT) {
        return Err(ImportError::new(
            IssueCode::Structure,
            format!("{ROOT}.resourceType"),
            "expected a QuestionnaireResponse",
        ));
    }
    if let Some(q) = obj.get("questionnaire") {
        let ok = q.as_str().is_some_and(|q| is_ours(canonical, q));
        if !ok {
            return Err(ImportError::new(
                IssueCode::NotSupported,
                format!("{ROOT}.questionnaire"),
                format!(
                    "only responses to {} are understood",
                    canonical.questionnaire()
                ),
            ));
        }
    }
    if obj.get("status").and_then(Json::as_str) == Some("entered-in-error") {
        return Err(ImportError::new(
            IssueCode::Value,
            format!("{ROOT}.status"),
            "a response entered in error cannot be triaged",
        ));
    }
    let mut out = Answers {
        facts: Map::new(),
        paths: HashMap::new(),
    };
    if let Some(items) = obj.get("item") {
        walk(content, canonical, items, ROOT, &mut out)?;
    }
    Ok(out)
}

/// Our canonical (with or without `|version`), or any URL or reference ending in
/// `Questionnaire/aftercare`, so a copy loaded into another server still matches.
pub(crate) fn is_ours(canonical: &Canonical, q: &str) -> bool {
    let url = q.split('|').next().unwrap_or(q);
    url == canonical.questionnaire()
        || url.ends_with(&format!("Questionnaire/{}", codes::QUESTIONNAIRE_ID))
}

fn walk(
    content: &Content,
    canonical: &Canonical,
    items: &Json,
    parent: &str,
    out: &mut Answers,
) -> Result<(), ImportError> {
    let items = items.as_array().ok_or_else(|| {
        ImportError::new(
            IssueCode::Structure,
            format!("{parent}.item"),
            "item must be a list",
        )
    })?;
    for (i, item) in items.iter().enumerate() {
        let path = format!("{parent}.item[{i}]");
        let link_id = item.get("linkId").and_then(Json::as_str).ok_or_else(|| {
            ImportError::new(IssueCode::Required, &path, "every item needs a linkId")
        })?;
        let answers = item.get("answer").and_then(Json::as_array);
        match content.fact_index(link_id) {
            Some(idx) => {
                if out.facts.contains_key(link_id) {
                    return Err(ImportError::item(
                        IssueCode::Structure,
                        link_id,
                        &path,
                        "answered twice",
                    ));
                }
                let answers = answers.map(Vec::as_slice).unwrap_or_default();
                match answers {
                    [] => {}
                    [one] => {
                        let apath = format!("{path}.answer[0]");
                        let value = read_answer(content, canonical, idx as usize, one, &apath)?;
                        out.facts.insert(link_id.to_string(), value);
                        out.paths.insert(link_id.to_string(), apath);
                    }
                    _ => {
                        return Err(ImportError::item(
                            IssueCode::Structure,
                            link_id,
                            &path,
                            "expected one answer",
                        ));
                    }
                }
            }
            None => {
                let section = codes::section_of_link_id(link_id);
                let is_group = content.sections.iter().any(|s| s == section);
                let is_help = link_id
                    .strip_suffix(".help")
                    .is_some_and(|f| content.fact_index(f).is_some());
                if !(is_group || is_help) {
                    return Err(ImportError::item(
                        IssueCode::NotSupported,
                        link_id,
                        &path,
                        "not a question of the Aftercare questionnaire",
                    ));
                }
                if answers.is_some_and(|a| !a.is_empty()) {
                    return Err(ImportError::item(
                        IssueCode::Structure,
                        link_id,
                        &path,
                        "this item takes no answer",
                    ));
                }
            }
        }
        if let Some(children) = item.get("item") {
            walk(content, canonical, children, &path, out)?;
        }
    }
    Ok(())
}

/// One answer as the case JSON value the engine's parser expects.
fn read_answer(
    content: &Content,
    canonical: &Canonical,
    idx: usize,
    answer: &Json,
    path: &str,
) -> Result<Json, ImportError> {
    let fact = &content.facts[idx];
    let id = fact.id.as_str();
    let wrong = |expected: &str| {
        ImportError::item(IssueCode::Invalid, id, path, format!("expected {expected}"))
    };
    match &fact.kind {
        FactKind::Bool => answer
            .get("valueBoolean")
            .filter(|v| v.is_boolean())
            .cloned()
            .ok_or_else(|| wrong("valueBoolean")),
        FactKind::Enum { .. } => {
            if let Some(coding) = answer.get("valueCoding") {
                if let Some(system) = coding.get("system").and_then(Json::as_str) {
                    if !canonical.is_answers(system, id) {
                        return Err(ImportError::item(
                            IssueCode::Value,
                            id,
                            &format!("{path}.valueCoding.system"),
                            format!("the code system must be {}", canonical.answers(id)),
                        ));
                    }
                }
                return coding
                    .get("code")
                    .filter(|c| c.is_string())
                    .cloned()
                    .ok_or_else(|| wrong("valueCoding.code"));
            }
            answer
                .get("valueString")
                .filter(|v| v.is_string())
                .cloned()
                .ok_or_else(|| wrong("valueCoding"))
        }
        FactKind::Number { integer, .. } => {
            // A quantity in another unit (kPa for a blood pressure) must not be read as ours.
            let unit = codes::item_code(id).and_then(|c| c.quantity_unit);
            if let (Some(q), Some(unit)) = (answer.get("valueQuantity"), unit) {
                let given = q
                    .get("code")
                    .or_else(|| q.get("unit"))
                    .and_then(Json::as_str);
                if given.is_some_and(|g| g != unit) {
                    return Err(ImportError::item(
                        IssueCode::Value,
                        id,
                        &format!("{path}.valueQuantity.code"),
                        format!("expected a quantity in {unit}"),
                    ));
                }
            }
            let v = answer
                .get("valueInteger")
                .or_else(|| answer.get("valueDecimal"))
                .or_else(|| answer.get("valueQuantity").and_then(|q| q.get("value")))
                .filter(|v| v.is_number());
            v.cloned().ok_or_else(|| {
                wrong(if *integer {
                    "valueInteger"
                } else {
                    "valueDecimal"
                })
            })
        }
    }
}

/// The engine's refusal, pointed at the item it concerns.
fn case_error(paths: &HashMap<String, String>, e: CaseError) -> ImportError {
    let code = match &e {
        CaseError::NotAllowed { .. }
        | CaseError::OutOfRange { .. }
        | CaseError::Inconsistent { .. } => IssueCode::Value,
        _ => IssueCode::Invalid,
    };
    let Some(field) = e.field() else {
        return ImportError::new(code, "QuestionnaireResponse", e.to_string());
    };
    // The engine's messages start with the field (`pain_score: ...`).
    let text = e.to_string();
    let rest = text.strip_prefix(&format!("{field}: ")).unwrap_or(&text);
    let path = paths
        .get(field)
        .map(String::as_str)
        .unwrap_or("QuestionnaireResponse.item");
    ImportError::item(code, field, path, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftercare_core::triage;

    fn setup() -> (Content, Canonical) {
        (
            Content::bundled().expect("bundled content is valid"),
            Canonical::new("https://a.test"),
        )
    }

    fn case(json: Json) -> Map<String, Json> {
        json.as_object().cloned().expect("object")
    }

    #[test]
    fn a_case_survives_the_round_trip_through_a_response() {
        let (content, canonical) = setup();
        let answers = case(json!({
            "procedure": "labour_epidural", "hours_since_procedure": 20, "delivered": true,
            "days_since_delivery": 1, "back_pain": true, "pain_score": 7, "saddle_numbness": true,
        }));
        let meta = ResponseMeta {
            id: "r1",
            subject: Some("Patient/p"),
            authored: None,
        };
        let qr = to_response(&content, &canonical, &answers, &meta);
        let (case, back) = from_response(&content, &canonical, &qr).expect("imports");
        assert_eq!(back, answers);
        let direct = Case::from_map(&content, &answers).expect("valid");
        assert_eq!(triage(&content, &case), triage(&content, &direct));
    }

    #[test]
    fn an_out_of_range_answer_names_its_item() {
        let (content, canonical) = setup();
        let qr = json!({
            "resourceType": "QuestionnaireResponse", "status": "completed",
            "item": [{ "linkId": "back_pain", "item": [
                { "linkId": "back_pain", "answer": [{ "valueBoolean": true }] },
                { "linkId": "pain_score", "answer": [{ "valueInteger": 12 }] },
            ]}],
        });
        let err = from_response(&content, &canonical, &qr).expect_err("refused");
        assert_eq!(err.link_id.as_deref(), Some("pain_score"));
        assert_eq!(
            err.expression,
            "QuestionnaireResponse.item[0].item[1].answer[0]"
        );
        assert!(
            err.message.starts_with("item 'pain_score':"),
            "{}",
            err.message
        );
        let outcome = err.outcome();
        assert_eq!(
            outcome["issue"][0]["expression"][0],
            err.expression.as_str()
        );
    }

    #[test]
    fn a_wrong_value_type_and_an_unknown_item_are_refused() {
        let (content, canonical) = setup();
        let wrong_type = json!({ "resourceType": "QuestionnaireResponse", "status": "completed",
            "item": [{ "linkId": "fever", "answer": [{ "valueString": "yes" }] }] });
        let err = from_response(&content, &canonical, &wrong_type).expect_err("refused");
        assert_eq!(err.link_id.as_deref(), Some("fever"));
        let unknown = json!({ "resourceType": "QuestionnaireResponse", "status": "completed",
            "item": [{ "linkId": "mood_swings", "answer": [{ "valueBoolean": true }] }] });
        let err = from_response(&content, &canonical, &unknown).expect_err("refused");
        assert_eq!(err.link_id.as_deref(), Some("mood_swings"));
        let other = json!({ "resourceType": "QuestionnaireResponse", "status": "completed",
            "questionnaire": "http://other.test/Questionnaire/phq9" });
        assert!(from_response(&content, &canonical, &other).is_err());
    }

    #[test]
    fn a_blood_pressure_in_another_unit_is_refused_and_mm_hg_is_read() {
        let (content, canonical) = setup();
        let qr = |value: u32, unit: &str| {
            json!({ "resourceType": "QuestionnaireResponse", "status": "completed",
                "item": [{ "linkId": "section.headache", "item": [
                    { "linkId": "bp_measured", "answer": [{ "valueBoolean": true }] },
                    { "linkId": "bp_systolic", "answer": [{ "valueQuantity": { "value": value, "code": unit, "system": codes::UCUM } }] },
                ]}] })
        };
        let err = from_response(&content, &canonical, &qr(21, "kPa")).expect_err("refused");
        assert_eq!(err.link_id.as_deref(), Some("bp_systolic"));
        let (_, facts) = from_response(&content, &canonical, &qr(160, "mm[Hg]")).expect("read");
        assert_eq!(facts["bp_systolic"], json!(160));
    }

    #[test]
    fn an_answer_whose_question_does_not_apply_is_refused() {
        let (content, canonical) = setup();
        let qr = json!({ "resourceType": "QuestionnaireResponse", "status": "completed",
            "item": [
                { "linkId": "delivered", "answer": [{ "valueBoolean": false }] },
                { "linkId": "days_since_delivery", "answer": [{ "valueInteger": 3 }] },
            ] });
        let err = from_response(&content, &canonical, &qr).expect_err("refused");
        assert_eq!(err.link_id.as_deref(), Some("days_since_delivery"));
        assert_eq!(err.code, IssueCode::Value);
    }
}
