//! CDS Hooks 2.0: the discovery document, the case an EHR's prefetch describes, and the card a
//! decision becomes.
//!
//! The prefetch asks for the patient, her procedures, her latest QuestionnaireResponse to our
//! Questionnaire and her latest pain score. The response's answers come first; the procedure and
//! the pain score only fill what the response left unanswered (it is the more specific record).
//! Without `patient` or `questionnaireResponses` the service cannot decide anything: 412. This
//! crate does no I/O; the server fills missing keys from the EHR's FHIR server first, when the
//! request names one the clinic allowed (`aftercare_web::cds_fetch`).

use crate::assessment::Assessment;
use crate::codes::{self, Canonical};
use crate::import::{self, ImportError};
use crate::outcome::IssueCode;
use aftercare_core::content::Texts;
use aftercare_core::{Case, Content, Profile};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value as Json};
use thiserror::Error;

/// The services and their hooks.
pub const SERVICES: &[(&str, &str)] = &[
    ("aftercare-patient-view", "patient-view"),
    ("aftercare-discharge", "encounter-discharge"),
];

/// The longest card summary the spec allows.
pub const SUMMARY_LIMIT: usize = 140;

/// The prefetch keys we need; see the module documentation.
pub const REQUIRED_PREFETCH: &[&str] = &["patient", "questionnaireResponses"];

/// The prefetch templates of both services, as `(key, template)` pairs: FHIR queries relative to
/// the EHR's FHIR base, with `{{context.patientId}}` to fill. The discovery document announces
/// them, and the server runs the same queries when a key is missing and it may fetch it.
pub fn prefetch_templates(canonical: &Canonical) -> Vec<(&'static str, String)> {
    // A search value with `:`, `/` or `|` is percent-encoded, as a URL query needs.
    let encode = |v: &str| -> String {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    vec![
        ("patient", "Patient/{{context.patientId}}".to_string()),
        (
            "procedures",
            format!(
                "Procedure?patient={{{{context.patientId}}}}&date=ge{{{{today() - {RELEVANT_FOR_DAYS} days}}}}&_sort=-date&_count={PROCEDURES_COUNT}"
            ),
        ),
        (
            "questionnaireResponses",
            format!(
                "QuestionnaireResponse?patient={{{{context.patientId}}}}&questionnaire={}&status=completed&_sort=-authored&_count={RESPONSES_COUNT}",
                encode(&canonical.questionnaire())
            ),
        ),
        (
            "painObservations",
            format!(
                "Observation?patient={{{{context.patientId}}}}&code={}&_sort=-date&_count=1",
                encode(&format!("{}|{}", codes::LOINC, codes::LOINC_PAIN_SEVERITY))
            ),
        ),
    ]
}

/// How many of her procedures (newest first) a prefetch asks for: a year of a busy chart.
pub const PROCEDURES_COUNT: usize = 200;
/// How many completed responses (newest first): the newest is used, the others say how many
/// were left aside.
pub const RESPONSES_COUNT: usize = 5;

/// The discovery document (`GET /cds-services`).
pub fn discovery(canonical: &Canonical) -> Json {
    let prefetch: Map<String, Json> = prefetch_templates(canonical)
        .into_iter()
        .map(|(k, t)| (k.to_string(), Json::String(t)))
        .collect();
    let services: Vec<Json> = SERVICES
        .iter()
        .map(|(id, hook)| {
            let (title, when) = match *hook {
                "patient-view" => ("Aftercare back pain triage", "when her chart is opened"),
                _ => ("Aftercare discharge check", "at discharge"),
            };
            json!({
                "hook": hook,
                "id": id,
                "title": title,
                "description": format!(
                    "Triage of back pain after an epidural, spinal or epidural steroid injection, {when}, from her latest Aftercare questionnaire, procedure and pain score."
                ),
                "prefetch": prefetch,
            })
        })
        .collect();
    json!({ "services": services })
}

/// Why a prefetch could not be turned into a case.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PrefetchError {
    /// A required key is absent or null (after any fetch by the server): 412.
    #[error("prefetch `{0}` is required")]
    Missing(&'static str),
    /// The data is there but wrong: 422, naming the element.
    #[error(transparent)]
    Invalid(#[from] ImportError),
}

/// The case described by a prefetch, and the patient's id in it (for linking to our record).
#[derive(Debug, Clone)]
pub struct PrefetchCase {
    pub case: Case,
    pub patient_id: Option<String>,
    /// The neuraxial procedure the case is built on, and when it was performed.
    pub procedure: Option<(&'static str, Option<DateTime<Utc>>)>,
    /// When the Aftercare answers used were given (`authored`), if any were used.
    pub answered_at: Option<DateTime<Utc>>,
    /// QuestionnaireResponses left out: not completed (in progress, entered in error, ...) or
    /// for another questionnaire.
    pub ignored_responses: usize,
}

/// How long a neuraxial procedure concerns this service: a chart whose latest one is older,
/// with no Aftercare answers either, gets no card.
pub const RELEVANT_FOR_DAYS: i64 = 365;

impl PrefetchCase {
    /// Whether there is anything to say: a recent neuraxial procedure, or Aftercare answers.
    pub fn concerns_us(&self, now: DateTime<Utc>) -> bool {
        let recent = self.procedure.is_some_and(|(_, at)| {
            at.is_none_or(|t| now - t <= chrono::Duration::days(RELEVANT_FOR_DAYS))
        });
        recent || self.answered_at.is_some()
    }
}

/// Builds the case from a request's `prefetch` object. `now` dates the procedure.
pub fn case_from_prefetch(
    content: &Content,
    canonical: &Canonical,
    prefetch: Option<&Json>,
    now: DateTime<Utc>,
) -> Result<PrefetchCase, PrefetchError> {
    let empty = Map::new();
    let prefetch = prefetch.and_then(Json::as_object).unwrap_or(&empty);
    for key in REQUIRED_PREFETCH {
        if !prefetch.contains_key(*key) {
            return Err(PrefetchError::Missing(key));
        }
    }
    let patient = prefetch
        .get("patient")
        .filter(|p| !p.is_null())
        .ok_or(PrefetchError::Missing("patient"))?;
    if patient.get("resourceType").and_then(Json::as_str) != Some("Patient") {
        return Err(ImportError {
            code: IssueCode::Structure,
            link_id: None,
            expression: "prefetch.patient".into(),
            message: "prefetch.patient must be a Patient".into(),
        }
        .into());
    }
    let patient_id = patient.get("id").and_then(Json::as_str).map(str::to_string);
    let mut facts = Map::new();
    // The most recent procedure that is neuraxial, not the most recent procedure: a dental
    // cleaning yesterday must not hide last week's epidural. Records entered in error or not
    // done do not count.
    let neuraxial: Vec<(&Json, &'static str)> = resources(prefetch.get("procedures"), "Procedure")
        .into_iter()
        .filter(|p| {
            !matches!(
                p.get("status").and_then(Json::as_str),
                Some("entered-in-error" | "not-done")
            )
        })
        .filter_map(|p| procedure_value(canonical, p).map(|v| (p, v)))
        .collect();
    // One without a date we can read (`performedString`, an age, a range) may be the newest:
    // then her hours since it are unknown, to be asked, rather than taken from an older one.
    let dated: Vec<(&'static str, Option<DateTime<Utc>>)> = neuraxial
        .iter()
        .map(|&(p, v)| (v, performed_at(p)))
        .collect();
    let found_procedure = dated
        .iter()
        .find(|(_, at)| at.is_none())
        .or_else(|| dated.iter().max_by_key(|(_, at)| *at))
        .copied();
    if let Some((value, performed)) = found_procedure {
        let profile = Profile {
            procedure: value.to_string(),
            hours_since_procedure: performed
                .map(|t| (now - t).num_minutes() as f64 / 60.0)
                .map(|h| h.max(0.0).floor()),
            days_since_delivery: None,
        };
        facts = profile.facts(content);
        // The profile says "not delivered" when it knows nothing of a birth; here we simply
        // do not know, so leave the question open.
        let c = &content.course.context;
        facts.remove(&content.facts[c.delivered as usize].id);
    }
    let responses = resources(
        prefetch.get("questionnaireResponses"),
        "QuestionnaireResponse",
    );
    // Only completed answers to our Questionnaire, newest first: an empty one in progress, one
    // entered in error or one for another form says nothing about her and must not mask one that
    // does.
    let total_responses = responses.len();
    let usable: Vec<&Json> = responses
        .into_iter()
        .filter(|r| {
            matches!(
                r.get("status").and_then(Json::as_str),
                Some("completed" | "amended")
            )
        })
        .filter(|r| {
            r.get("questionnaire")
                .and_then(Json::as_str)
                .is_some_and(|q| import::is_ours(canonical, q))
        })
        .collect();
    let ignored_responses = total_responses - usable.len();
    let mut answered = Map::new();
    let mut answered_at = None;
    if let Some((qr, at)) = latest(usable, |r| time(r.get("authored"))) {
        answered = import::answers(content, canonical, qr)?.facts;
        answered_at = at;
    }
    let c = &content.course.context;
    let (pain, score) = (
        &content.facts[c.pain as usize].id,
        &content.facts[c.score as usize].id,
    );
    if !answered.contains_key(pain) && !answered.contains_key(score) {
        let observations = resources(prefetch.get("painObservations"), "Observation")
            .into_iter()
            .filter(|o| is_pain_score(o))
            .collect();
        if let Some((o, _)) = latest(observations, |o| time(o.get("effectiveDateTime"))) {
            if let Some(x) = o.pointer("/valueQuantity/value").and_then(Json::as_f64) {
                facts.insert(pain.clone(), json!(x > 0.0));
                if x > 0.0 {
                    facts.insert(score.clone(), json!(x.round() as i64));
                }
            }
        }
    }
    for (k, v) in answered {
        facts.insert(k, v);
    }
    let case = Case::from_map(content, &facts).map_err(|e| ImportError {
        code: IssueCode::Value,
        link_id: e.field().map(str::to_string),
        expression: "prefetch".into(),
        message: e.to_string(),
    })?;
    Ok(PrefetchCase {
        case,
        patient_id,
        procedure: found_procedure,
        answered_at,
        ignored_responses,
    })
}

/// The resources of a type in a prefetch value: a Bundle's entries, or one resource.
fn resources<'a>(value: Option<&'a Json>, kind: &str) -> Vec<&'a Json> {
    let Some(v) = value.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let is = |r: &Json| r.get("resourceType").and_then(Json::as_str) == Some(kind);
    if v.get("resourceType").and_then(Json::as_str) == Some("Bundle") {
        v.get("entry")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("resource"))
            .filter(|r| is(r))
            .collect()
    } else if is(v) {
        vec![v]
    } else {
        Vec::new()
    }
}

/// The newest resource by `at` (resources without a time count as oldest).
fn latest(
    items: Vec<&Json>,
    at: impl Fn(&Json) -> Option<DateTime<Utc>>,
) -> Option<(&Json, Option<DateTime<Utc>>)> {
    items
        .into_iter()
        .map(|r| (r, at(r)))
        .max_by_key(|(_, t)| *t)
}

fn time(v: Option<&Json>) -> Option<DateTime<Utc>> {
    let s = v?.as_str()?;
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn performed_at(p: &Json) -> Option<DateTime<Utc>> {
    time(p.get("performedDateTime")).or_else(|| time(p.pointer("/performedPeriod/start")))
}

/// Our procedure value for a Procedure: our own coding first, then the terminology table
/// (`data/procedure-terminology.json`: codes, their descendants, then text).
fn procedure_value(canonical: &Canonical, p: &Json) -> Option<&'static str> {
    let empty = Vec::new();
    let codings = p
        .pointer("/code/coding")
        .and_then(Json::as_array)
        .unwrap_or(&empty);
    codings
        .iter()
        .filter(|c| {
            (c.get("system").and_then(Json::as_str))
                .is_some_and(|s| canonical.is_answers(s, codes::PROCEDURE_FACT))
        })
        .filter_map(|c| c.get("code").and_then(Json::as_str))
        .find_map(|c| codes::procedure(c).map(|p| p.value))
        .filter(|v| *v != codes::NO_PROCEDURE)
        .or_else(|| {
            codes::terminology().recognise(codings, p.pointer("/code/text").and_then(Json::as_str))
        })
}

fn is_pain_score(o: &Json) -> bool {
    o.pointer("/code/coding")
        .and_then(Json::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("system").and_then(Json::as_str) == Some(codes::LOINC)
                    && c.get("code").and_then(Json::as_str) == Some(codes::LOINC_PAIN_SEVERITY)
            })
        })
}

/// `critical` for emergency, `warning` for urgent and soon, `info` for self-care.
pub fn indicator(level: &str) -> &'static str {
    match level {
        "emergency" => "critical",
        "urgent" | "soon" => "warning",
        _ => "info",
    }
}

/// What a card needs besides the decision.
#[derive(Debug, Clone)]
pub struct CardContext<'a> {
    pub uuid: &'a str,
    /// The patient's page in Aftercare, when she is known to us.
    pub link: Option<&'a str>,
    /// When the answers behind the card were given (`YYYY-MM-DD HH:MM UTC`), and whether
    /// that is longer ago than the check-in interval of the level.
    pub answered: Option<(String, bool)>,
    /// QuestionnaireResponses that were left out (not completed, or another questionnaire).
    pub ignored_responses: usize,
}

impl<'a> CardContext<'a> {
    pub fn new(uuid: &'a str, link: Option<&'a str>) -> CardContext<'a> {
        CardContext {
            uuid,
            link,
            answered: None,
            ignored_responses: 0,
        }
    }
}

/// The card of a decision. Every field present has a value: no nulls, no empty strings or lists.
pub fn card(content: &Content, a: &Assessment, ctx: &CardContext) -> Json {
    let mut card = Map::new();
    card.insert("uuid".into(), json!(ctx.uuid));
    let texts = content.text(content.lang(&a.language).unwrap_or(content.default_lang()));
    card.insert("summary".into(), json!(summary(texts, a)));
    card.insert("indicator".into(), json!(indicator(&a.level)));
    card.insert("detail".into(), json!(detail(content, texts, a, ctx)));
    card.insert(
        "source".into(),
        json!({
            "label": format!("{} {}", texts.ui("cds_source_label"), short_version(&a.content_version)),
        }),
    );
    if let Some(link) = ctx.link {
        card.insert(
            "links".into(),
            json!([{ "label": texts.ui("cds_open"), "url": link, "type": "absolute" }]),
        );
    }
    Json::Object(card)
}

fn short_version(v: &str) -> &str {
    v.get(..12).unwrap_or(v)
}

/// At most [`SUMMARY_LIMIT`] characters: the level, then the most urgent reason, in the
/// language of `texts`.
pub fn summary(texts: &Texts, a: &Assessment) -> String {
    let level = texts.ui(match a.level.as_str() {
        "emergency" => "cds_emergency",
        "urgent" => "cds_urgent",
        "soon" => "cds_soon",
        _ => "cds_self_care",
    });
    // One phrase, never cut: the most urgent finding's short label, how many more there are,
    // and the rule id alone if a label (from older stored decisions, or a long translation)
    // would not fit.
    let more = match a.reasons.len() {
        0 | 1 => String::new(),
        n => format!(
            " {}",
            texts
                .ui("cds_more")
                .replace("{count}", &(n - 1).to_string())
        ),
    };
    let fits = |s: &String| s.chars().count() < SUMMARY_LIMIT;
    match a.reasons.first() {
        Some(r) => Some(format!("Aftercare {level}: {}{more}", r.short))
            .filter(|s| !r.short.is_empty() && fits(s))
            .unwrap_or_else(|| format!("Aftercare {level}: {}{more}", r.rule)),
        None if !a.is_final() => format!("Aftercare {level} {}", texts.ui("cds_incomplete")),
        None => format!("Aftercare {level}: {}", texts.ui("cds_no_signs")),
    }
}

/// The reasons with their sources, what to do now, and any open questions, in markdown.
fn detail(content: &Content, texts: &Texts, a: &Assessment, ctx: &CardContext) -> String {
    let mut md = format!("**{}**\n\n{}\n", a.headline, a.now);
    match &ctx.answered {
        Some((at, stale)) => {
            md.push_str(&format!(
                "\n{}\n",
                texts.ui("cds_answered_at").replace("{at}", at)
            ));
            if *stale {
                md.push_str(&format!("\n**{}**\n", texts.ui("cds_stale")));
            }
        }
        None => md.push_str(&format!("\n{}\n", texts.ui("cds_no_answers"))),
    }
    if ctx.ignored_responses > 0 {
        md.push_str(&format!(
            "\n{}\n",
            texts
                .ui("cds_ignored")
                .replace("{count}", &ctx.ignored_responses.to_string())
        ));
    }
    if !a.reasons.is_empty() {
        md.push_str(&format!("\n**{}**\n\n", texts.ui("why")));
        for r in &a.reasons {
            md.push_str(&format!(
                "- **{}** ({}): {} *{}: {}*\n",
                r.rule,
                r.level,
                r.clinician,
                texts.ui("source"),
                r.source
            ));
        }
    }
    if !a.is_final() && !a.ask.is_empty() {
        md.push_str(&format!("\n**{}**\n\n", texts.ui("cds_not_final")));
        for id in &a.ask {
            let q = content
                .fact_index(id)
                .map(|i| texts.facts[i as usize].question.as_str())
                .unwrap_or(id);
            md.push_str(&format!("- {q}\n"));
        }
    }
    md.push_str(&format!(
        "\n{} {}.",
        texts.ui("cds_content_version"),
        a.content_version
    ));
    md
}

/// Checks the CDS Hooks rule that a response holds no null, empty string, empty list or empty
/// object; returns the JSON pointer of the first offender.
pub fn first_empty(v: &Json, at: &str) -> Option<String> {
    match v {
        Json::Null => Some(at.to_string()),
        Json::String(s) if s.is_empty() => Some(at.to_string()),
        Json::Array(a) if a.is_empty() => Some(at.to_string()),
        Json::Object(o) if o.is_empty() => Some(at.to_string()),
        Json::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| first_empty(x, &format!("{at}/{i}"))),
        Json::Object(o) => o
            .iter()
            .find_map(|(k, x)| first_empty(x, &format!("{at}/{k}"))),
        _ => None,
    }
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

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-03-04T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("time")
    }

    #[test]
    fn a_missing_prefetch_key_is_a_precondition_failure() {
        let (content, canonical) = setup();
        let prefetch = json!({ "patient": { "resourceType": "Patient", "id": "p1" } });
        let err =
            case_from_prefetch(&content, &canonical, Some(&prefetch), now()).expect_err("refused");
        assert_eq!(err, PrefetchError::Missing("questionnaireResponses"));
        assert!(matches!(
            case_from_prefetch(&content, &canonical, None, now()),
            Err(PrefetchError::Missing("patient"))
        ));
    }

    #[test]
    fn the_procedure_and_pain_score_fill_what_the_response_leaves_open() {
        let (content, canonical) = setup();
        let prefetch = json!({
            "patient": { "resourceType": "Patient", "id": "p1" },
            "procedures": { "resourceType": "Bundle", "type": "searchset", "entry": [{ "resource": {
                "resourceType": "Procedure", "status": "completed", "subject": { "reference": "Patient/p1" },
                "code": { "coding": [{ "system": codes::SNOMED, "code": "18946005" }] },
                "performedDateTime": "2025-03-03T10:00:00Z",
            } }] },
            "questionnaireResponses": null,
            "painObservations": { "resourceType": "Bundle", "type": "searchset", "entry": [{ "resource": {
                "resourceType": "Observation", "status": "final",
                "code": { "coding": [{ "system": codes::LOINC, "code": codes::LOINC_PAIN_SEVERITY }] },
                "effectiveDateTime": "2025-03-04T09:00:00Z",
                "valueQuantity": { "value": 6, "unit": "{score}", "system": codes::UCUM, "code": "{score}" },
            } }] },
        });
        let got = case_from_prefetch(&content, &canonical, Some(&prefetch), now()).expect("case");
        let json = got.case.to_json(&content);
        assert_eq!(json["procedure"], "labour_epidural");
        assert_eq!(json["hours_since_procedure"], 24);
        assert_eq!(json["back_pain"], true);
        assert_eq!(json["pain_score"], 6);
        assert_eq!(got.patient_id.as_deref(), Some("p1"));
    }

    #[test]
    fn an_undated_neuraxial_procedure_leaves_the_hours_unknown_rather_than_older_ones() {
        let (content, canonical) = setup();
        let epidural = |extra: Json| {
            let mut p = json!({
                "resourceType": "Procedure", "status": "completed",
                "subject": { "reference": "Patient/p1" },
                "code": { "coding": [{ "system": codes::SNOMED, "code": "18946005" }] },
            });
            if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
                p.extend(extra.clone());
            }
            json!({ "resource": p })
        };
        let prefetch = json!({
            "patient": { "resourceType": "Patient", "id": "p1" },
            "procedures": { "resourceType": "Bundle", "type": "searchset", "entry": [
                epidural(json!({ "performedDateTime": "2023-03-03T10:00:00Z" })),
                epidural(json!({ "performedString": "this morning" })),
            ] },
            "questionnaireResponses": null,
            "painObservations": null,
        });
        let got = case_from_prefetch(&content, &canonical, Some(&prefetch), now()).expect("case");
        let json = got.case.to_json(&content);
        assert_eq!(json["procedure"], "labour_epidural");
        assert!(json.get("hours_since_procedure").is_none(), "{json:?}");
        assert!(
            got.concerns_us(now()),
            "an undated epidural may be today's: a card"
        );
    }

    #[test]
    fn an_emergency_card_is_critical_short_and_has_no_empty_fields() {
        let (content, _) = setup();
        let case = Case::from_json(&content, &json!({
            "procedure": "labour_epidural", "back_pain": true, "saddle_numbness": true, "bladder_change": true,
        }))
        .expect("case");
        let decision = triage(&content, &case);
        let a = Assessment::of(&content, &decision, content.default_lang());
        assert_eq!(a.level, "emergency");
        let card = card(&content, &a, &CardContext::new("u1", None));
        assert_eq!(card["indicator"], "critical");
        assert!(card["summary"]
            .as_str()
            .is_some_and(|s| s.chars().count() <= SUMMARY_LIMIT));
        assert!(card.get("links").is_none());
        assert_eq!(first_empty(&card, ""), None);
        assert!(card["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&a.reasons[0].rule)));
    }

    #[test]
    fn every_rule_gets_a_whole_summary_under_the_limit_in_every_language() {
        let (content, _) = setup();
        for (code, _) in content.languages() {
            let texts = content.text(content.lang(code).expect("listed"));
            for (rule, t) in content.rules.iter().zip(&texts.rules) {
                let a = Assessment {
                    status: "final".into(),
                    level: rule.level.as_str().into(),
                    reasons: vec![
                        crate::assessment::Reason {
                            rule: rule.id.clone(),
                            short: t.short.as_str().into(),
                            ..Default::default()
                        };
                        3
                    ],
                    ..Default::default()
                };
                let s = summary(texts, &a);
                assert!(s.chars().count() < SUMMARY_LIMIT, "{code} {}: {s}", rule.id);
                assert!(
                    s.contains(t.short.as_str()),
                    "{code} {}: the label was dropped: {s}",
                    rule.id
                );
                assert!(!s.contains('…'), "{s}");
            }
        }
    }
}
