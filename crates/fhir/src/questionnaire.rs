//! Our facts as a FHIR R4 Questionnaire (SDC style), so a forms tool can render the questionnaire
//! and send back a QuestionnaireResponse that [`crate::import`] turns into a case.
//!
//! Shape: one `group` item per section, one question item per fact (`linkId` = the fact id), a
//! `display` child with the help text (item control `help`), answer options from the enum
//! values, `minValue`/`maxValue` from the number ranges. Texts are in the default language
//! (English) with the other languages as `translation` extensions on `_text` and `_display`.
//!
//! `enableWhen` comes from the fact's "asked when" condition. FHIR can only say: one list of
//! simple tests on other items, combined with `enableBehavior` all or any. So a condition maps
//! when it is a single test, an `any`/`all` of single tests, or an `in` (= any of several
//! values). A condition nested deeper (an `all` inside an `any`, a `not` around a group) cannot be
//! written that way: the item is then always enabled and carries the condition in words in an
//! `asked-when` extension, and [`crate::import`] still refuses answers the engine would refuse.
//! Always enabled is the safe side: a form may show a question that does not apply, never hide
//! one that does. The bundled content has no such condition (a test checks it).

use crate::codes::{self, Canonical};
use aftercare_core::case::Value;
use aftercare_core::content::{Cmp, Condition, FactKind};
use aftercare_core::{Content, Lang};
use serde_json::{json, Map, Value as Json};

/// The whole Questionnaire resource.
pub fn questionnaire(content: &Content, canonical: &Canonical) -> Json {
    let en = content.default_lang();
    let others: Vec<Lang> = content
        .languages()
        .filter_map(|(code, _)| content.lang(code))
        .filter(|l| *l != en)
        .collect();
    let tr = Translator {
        content,
        others: &others,
    };
    let mut groups = Vec::new();
    for (s, section) in content.sections.iter().enumerate() {
        let items: Vec<Json> = content
            .facts
            .iter()
            .enumerate()
            .filter(|(_, f)| f.section == s)
            .map(|(i, _)| fact_item(content, canonical, &tr, en, i))
            .collect();
        if items.is_empty() {
            continue;
        }
        let mut group = json!({
            "linkId": codes::group_link_id(section),
            "type": "group",
            "text": content.text(en).sections[s],
            "item": items,
        });
        tr.add(&mut group, "_text", |t| t.sections[s].clone());
        groups.push(group);
    }
    json!({
        "resourceType": "Questionnaire",
        "id": codes::QUESTIONNAIRE_ID,
        "url": canonical.questionnaire(),
        "version": content.version,
        "name": "Aftercare",
        "title": "Aftercare check-in",
        "status": "active",
        "subjectType": ["Patient"],
        "language": content.text(en).code,
        "description": "Questions about back pain and warning signs after an epidural, a spinal or a steroid injection in the back. Answers are triaged by Aftercare; see QuestionnaireResponse/$triage.",
        "item": groups,
    })
}

/// Adds `translation` extensions for every language but the default.
struct Translator<'a> {
    content: &'a Content,
    others: &'a [Lang],
}

impl Translator<'_> {
    fn add(
        &self,
        target: &mut Json,
        key: &str,
        text: impl Fn(&aftercare_core::content::Texts) -> String,
    ) {
        let ext: Vec<Json> = self
            .others
            .iter()
            .map(|&l| {
                let t = self.content.text(l);
                json!({
                    "url": codes::TRANSLATION_EXT,
                    "extension": [
                        { "url": "lang", "valueCode": t.code },
                        { "url": "content", "valueString": text(t) },
                    ],
                })
            })
            .collect();
        if !ext.is_empty() {
            if let Some(obj) = target.as_object_mut() {
                obj.insert(key.to_string(), json!({ "extension": ext }));
            }
        }
    }
}

fn fact_item(
    content: &Content,
    canonical: &Canonical,
    tr: &Translator,
    en: Lang,
    idx: usize,
) -> Json {
    let fact = &content.facts[idx];
    let text = &content.text(en).facts[idx];
    let mut item = Map::new();
    let coded = codes::item_code(&fact.id);
    let quantity = coded.and_then(|c| c.quantity_unit);
    item.insert("linkId".into(), json!(fact.id));
    if let Some(c) = coded {
        item.insert("code".into(), c.coding());
    }
    let kind = if quantity.is_some() {
        "quantity"
    } else {
        item_type(&fact.kind)
    };
    item.insert("type".into(), json!(kind));
    item.insert("text".into(), json!(text.question));
    let mut extensions = Vec::new();
    if let Some(unit) = quantity {
        extensions.push(json!({
            "url": codes::QUESTIONNAIRE_UNIT_EXT,
            "valueCoding": { "system": codes::UCUM, "code": unit, "display": unit },
        }));
    }
    match &fact.kind {
        FactKind::Enum { values, .. } => {
            let system = canonical.answers(&fact.id);
            let options: Vec<Json> = values
                .iter()
                .enumerate()
                .map(|(v, value)| {
                    let mut coding = json!({
                        "system": system,
                        "code": value,
                        "display": text.values[v],
                    });
                    tr.add(&mut coding, "_display", |t| t.facts[idx].values[v].clone());
                    json!({ "valueCoding": coding })
                })
                .collect();
            item.insert("answerOption".into(), json!(options));
        }
        FactKind::Number {
            min, max, integer, ..
        } => {
            let bound = |url: &str, x: f64| {
                if let Some(unit) = quantity {
                    let url = if url == codes::MIN_VALUE_EXT {
                        codes::MIN_QUANTITY_EXT
                    } else {
                        codes::MAX_QUANTITY_EXT
                    };
                    json!({ "url": url, "valueQuantity": { "value": x, "system": codes::UCUM, "code": unit, "unit": unit } })
                } else if *integer {
                    json!({ "url": url, "valueInteger": x as i64 })
                } else {
                    json!({ "url": url, "valueDecimal": x })
                }
            };
            if let Some(m) = min {
                extensions.push(bound(codes::MIN_VALUE_EXT, *m));
            }
            if let Some(m) = max {
                extensions.push(bound(codes::MAX_VALUE_EXT, *m));
            }
        }
        FactKind::Bool => {}
    }
    if let Some(when) = &fact.asked_when {
        match enable_when(content, canonical, when) {
            Some((tests, behavior)) => {
                item.insert("enableWhen".into(), json!(tests));
                if let Some(b) = behavior {
                    item.insert("enableBehavior".into(), json!(b));
                }
            }
            None => extensions.push(json!({
                "url": canonical.asked_when_ext(),
                "valueString": content.describe(when),
            })),
        }
    }
    if !extensions.is_empty() {
        item.insert("extension".into(), json!(extensions));
    }
    let mut item = Json::Object(item);
    tr.add(&mut item, "_text", |t| t.facts[idx].question.clone());
    let mut help = json!({
        "linkId": format!("{}.help", fact.id),
        "type": "display",
        "text": text.help,
        "extension": [{
            "url": codes::ITEM_CONTROL_EXT,
            "valueCodeableConcept": { "coding": [{ "system": codes::ITEM_CONTROL_SYSTEM, "code": "help" }] },
        }],
    });
    tr.add(&mut help, "_text", |t| t.facts[idx].help.clone());
    if let Some(obj) = item.as_object_mut() {
        obj.insert("item".into(), json!([help]));
    }
    item
}

/// The FHIR item type of a fact.
pub fn item_type(kind: &FactKind) -> &'static str {
    match kind {
        FactKind::Bool => "boolean",
        FactKind::Enum { .. } => "choice",
        FactKind::Number { integer: true, .. } => "integer",
        FactKind::Number { .. } => "decimal",
    }
}

/// The `enableWhen` tests and `enableBehavior` of a condition, or `None` when FHIR's flat list
/// cannot express it (see the module documentation).
pub fn enable_when(
    content: &Content,
    canonical: &Canonical,
    when: &Condition,
) -> Option<(Vec<Json>, Option<&'static str>)> {
    if let Some(tests) = tests(content, canonical, when) {
        let behavior = (tests.len() > 1).then_some("any");
        return Some((tests, behavior));
    }
    let (parts, behavior) = match when {
        Condition::All(parts) => (parts, "all"),
        Condition::Any(parts) => (parts, "any"),
        _ => return None,
    };
    let mut out = Vec::new();
    for part in parts {
        let t = tests(content, canonical, part)?;
        // An `in` inside an `all` would need its own "any": not expressible.
        if t.len() > 1 && behavior == "all" {
            return None;
        }
        out.extend(t);
    }
    Some((out, Some(behavior)))
}

/// One simple test (or, for `in`, several tests meant with "any").
fn tests(content: &Content, canonical: &Canonical, c: &Condition) -> Option<Vec<Json>> {
    let fact_id = |f: u16| content.facts[f as usize].id.as_str();
    let coding = |f: u16, v: u16| {
        let fact = &content.facts[f as usize];
        json!({ "system": canonical.answers(&fact.id), "code": fact.value_to_json(Value::Enum(v)) })
    };
    let test = |f: u16, op: &str, answer: (&str, Json)| {
        let mut t = json!({ "question": fact_id(f), "operator": op });
        if let Some(obj) = t.as_object_mut() {
            obj.insert(answer.0.to_string(), answer.1);
        }
        t
    };
    let answer = |f: u16, v: Value| match v {
        Value::Bool(b) => ("answerBoolean", json!(b)),
        Value::Enum(i) => ("answerCoding", coding(f, i)),
        Value::Number(x) => number_answer(content, f, x),
    };
    match c {
        Condition::Is(f, v) => Some(vec![test(*f, "=", answer(*f, *v))]),
        Condition::Not(inner) => match inner.as_ref() {
            Condition::Is(f, v) => Some(vec![test(*f, "!=", answer(*f, *v))]),
            _ => None,
        },
        Condition::In(f, values) => Some(
            values
                .iter()
                .map(|v| test(*f, "=", ("answerCoding", coding(*f, *v))))
                .collect(),
        ),
        Condition::Compare(f, cmp, n) => {
            let op = match cmp {
                Cmp::Lt => "<",
                Cmp::Le => "<=",
                Cmp::Gt => ">",
                Cmp::Ge => ">=",
            };
            Some(vec![test(*f, op, number_answer(content, *f, *n))])
        }
        Condition::All(_) | Condition::Any(_) => None,
    }
}

fn number_answer(content: &Content, f: u16, x: f64) -> (&'static str, Json) {
    match content.facts[f as usize].kind {
        FactKind::Number { integer: true, .. } if x.fract() == 0.0 => {
            ("answerInteger", json!(x as i64))
        }
        _ => ("answerDecimal", json!(x)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> Content {
        Content::bundled().expect("bundled content is valid")
    }

    fn items(q: &Json) -> Vec<&Json> {
        q["item"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["item"].as_array().into_iter().flatten())
            .collect()
    }

    #[test]
    fn every_fact_is_one_item_in_its_section_group() {
        let content = bundled();
        let q = questionnaire(&content, &Canonical::new("https://a.test"));
        let ids: Vec<&str> = items(&q)
            .iter()
            .filter_map(|i| i["linkId"].as_str())
            .collect();
        let facts: Vec<&str> = content.facts.iter().map(|f| f.id.as_str()).collect();
        let mut sorted_ids = ids.clone();
        sorted_ids.sort_unstable();
        let mut sorted_facts = facts.clone();
        sorted_facts.sort_unstable();
        assert_eq!(sorted_ids, sorted_facts);
    }

    #[test]
    fn every_asked_when_of_the_bundled_content_becomes_enable_when() {
        let content = bundled();
        let canonical = Canonical::new("https://a.test");
        for fact in &content.facts {
            if let Some(when) = &fact.asked_when {
                assert!(
                    enable_when(&content, &canonical, when).is_some(),
                    "{}: {}",
                    fact.id,
                    content.describe(when)
                );
            }
        }
    }

    #[test]
    fn nerve_questions_apply_when_either_leg_is_affected() {
        let content = bundled();
        let q = questionnaire(&content, &Canonical::new("https://a.test"));
        let item = items(&q)
            .into_iter()
            .find(|i| i["linkId"] == "nerve_course")
            .expect("nerve_course item");
        assert_eq!(item["enableBehavior"], "any");
        let tests = item["enableWhen"].as_array().expect("enableWhen");
        // "is not none" is compiled to "is one of the other values", for each leg.
        let codes: Vec<(&str, &str)> = tests
            .iter()
            .map(|t| {
                (
                    t["question"].as_str().unwrap_or(""),
                    t["answerCoding"]["code"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            codes,
            [
                ("leg_numbness", "one_leg"),
                ("leg_numbness", "both_legs"),
                ("leg_weakness", "one_leg"),
                ("leg_weakness", "both_legs")
            ]
        );
    }

    #[test]
    fn questions_carry_their_spanish_translation() {
        let content = bundled();
        let q = questionnaire(&content, &Canonical::new("https://a.test"));
        let item = items(&q)
            .into_iter()
            .find(|i| i["linkId"] == "procedure")
            .expect("procedure item");
        let ext = &item["_text"]["extension"][0];
        assert_eq!(ext["url"], codes::TRANSLATION_EXT);
        assert_eq!(ext["extension"][0]["valueCode"], "es");
        assert!(ext["extension"][1]["valueString"]
            .as_str()
            .is_some_and(|s| s.starts_with('¿')));
    }

    #[test]
    fn a_nested_condition_is_left_enabled_and_said_in_words() {
        let content = bundled();
        let canonical = Canonical::new("https://a.test");
        let a = content.fact_index("fever").expect("fever");
        let b = content.fact_index("headache").expect("headache");
        let c = content.fact_index("rash").expect("rash");
        let yes = |f| Condition::Is(f, Value::Bool(true));
        let nested = Condition::Any(vec![Condition::All(vec![yes(a), yes(b)]), yes(c)]);
        assert!(enable_when(&content, &canonical, &nested).is_none());
    }
}
