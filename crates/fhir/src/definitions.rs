//! Aftercare's own terminology and operation, published as FHIR resources so a code in a
//! resource Aftercare wrote can be looked up: one CodeSystem per answer list of the
//! questionnaire, the triage levels, the rules, the plan actions and the method, and the
//! OperationDefinition of `QuestionnaireResponse/$triage`.
//!
//! Their canonical URLs are [`Canonical`]'s, the same for every deployment; their `version` is
//! the content version, since the codes and their words come from the clinical content.

use crate::codes::{Canonical, QUESTIONNAIRE_ID};
use aftercare_core::content::FactKind;
use aftercare_core::{Content, Lang, Level};
use serde_json::{json, Value as Json};

/// Every CodeSystem Aftercare publishes.
pub fn code_systems(content: &Content, canonical: &Canonical) -> Vec<Json> {
    let en = content.default_lang();
    let texts = content.text(en);
    let others: Vec<Lang> = content
        .languages()
        .filter_map(|(code, _)| content.lang(code))
        .filter(|l| *l != en)
        .collect();
    let mut out = Vec::new();
    for (i, fact) in content.facts.iter().enumerate() {
        let FactKind::Enum { values, .. } = &fact.kind else {
            continue;
        };
        let concepts = values
            .iter()
            .enumerate()
            .map(|(v, code)| {
                concept(
                    code,
                    &texts.facts[i].values[v],
                    |l| content.text(l).facts[i].values[v].clone(),
                    content,
                    &others,
                )
            })
            .collect();
        out.push(code_system(
            canonical.answers(&fact.id),
            &format!("Answers: {}", texts.facts[i].question),
            content,
            concepts,
        ));
    }
    let levels = Level::DESCENDING
        .iter()
        .map(|&l| {
            concept(
                l.as_str(),
                texts.levels[l.index()].title.as_str(),
                |lang| {
                    content.text(lang).levels[l.index()]
                        .title
                        .as_str()
                        .to_string()
                },
                content,
                &others,
            )
        })
        .collect();
    out.push(code_system(
        canonical.levels(),
        "Aftercare triage levels",
        content,
        levels,
    ));
    let rules = (content.rules.iter().enumerate())
        .map(|(i, r)| {
            concept(
                &r.id,
                texts.rules[i].short.as_str(),
                |lang| content.text(lang).rules[i].short.as_str().to_string(),
                content,
                &others,
            )
        })
        .collect();
    out.push(code_system(
        canonical.rules(),
        "Aftercare triage rules",
        content,
        rules,
    ));
    let actions = (content.actions.iter().enumerate())
        .map(|(i, a)| {
            concept(
                &a.id,
                &texts.actions[i],
                |lang| content.text(lang).actions[i].clone(),
                content,
                &others,
            )
        })
        .collect();
    out.push(code_system(
        canonical.actions(),
        "Aftercare plan actions",
        content,
        actions,
    ));
    let method = vec![json!({ "code": "aftercare-triage", "display": "Aftercare triage rules" })];
    out.push(code_system(
        canonical.method(),
        "Aftercare triage method",
        content,
        method,
    ));
    out
}

/// The id of a CodeSystem or other definition: the last segment of its canonical URL.
pub fn id_of(resource: &Json) -> &str {
    resource["id"].as_str().unwrap_or_default()
}

fn code_system(url: String, title: &str, content: &Content, concept: Vec<Json>) -> Json {
    let id = url.rsplit('/').next().unwrap_or_default().to_string();
    json!({
        "resourceType": "CodeSystem",
        "id": id,
        "url": url,
        "version": content.version,
        "name": id.replace('-', "_"),
        "title": title,
        "status": "active",
        "experimental": false,
        "publisher": "Aftercare",
        "caseSensitive": true,
        "content": "complete",
        "count": concept.len(),
        "concept": concept,
    })
}

fn concept(
    code: &str,
    display: &str,
    other: impl Fn(Lang) -> String,
    content: &Content,
    others: &[Lang],
) -> Json {
    let designation: Vec<Json> = others
        .iter()
        .map(|&l| json!({ "language": content.text(l).code, "value": other(l) }))
        .collect();
    let mut c = json!({ "code": code, "display": display });
    if !designation.is_empty() {
        c["designation"] = json!(designation);
    }
    c
}

/// The OperationDefinition of `QuestionnaireResponse/$triage`: a response to the Aftercare
/// Questionnaire in; the decision out as Parameters (a RiskAssessment, the level, the decision's
/// JSON and, when there is a plan, a CarePlan).
pub fn triage_operation(canonical: &Canonical) -> Json {
    json!({
        "resourceType": "OperationDefinition",
        "id": "triage",
        "url": canonical.triage_operation(),
        "name": "Triage",
        "title": "Triage a QuestionnaireResponse to the Aftercare questionnaire",
        "status": "active",
        "kind": "operation",
        "publisher": "Aftercare",
        "description": "Decides how urgent the answers are, with the rules that fired and their sources. Nothing is stored.",
        "affectsState": false,
        "code": "triage",
        "resource": ["QuestionnaireResponse"],
        "system": false,
        "type": true,
        "instance": false,
        "inputProfile": "http://hl7.org/fhir/StructureDefinition/QuestionnaireResponse",
        "parameter": [
            {
                "name": "resource", "use": "in", "min": 1, "max": "1", "type": "QuestionnaireResponse",
                "documentation": format!("Answers to {}/Questionnaire/{QUESTIONNAIRE_ID}; the request body itself may be the response.", canonical.base()),
            },
            {
                "name": "riskAssessment", "use": "out", "min": 1, "max": "1", "type": "RiskAssessment",
                "documentation": "The level as the prediction's outcome, the fired rules with their sources, the content version.",
            },
            {
                "name": "level", "use": "out", "min": 1, "max": "1", "type": "code",
                "documentation": "The triage level: emergency, urgent, soon or self_care.",
            },
            {
                "name": "decision", "use": "out", "min": 1, "max": "1", "type": "string",
                "documentation": "The whole decision as Aftercare's JSON, as the patient would read it.",
            },
            {
                "name": "carePlan", "use": "out", "min": 0, "max": "1", "type": "CarePlan",
                "documentation": "The plan: getting help first when the level calls for it, then the self-care items.",
            },
        ],
    })
}
