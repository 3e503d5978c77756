//! A decision as FHIR: a RiskAssessment (the level, the rules that fired, their reasons and
//! sources, the content version) and a CarePlan (the plan items as activities).
//!
//! Both are built from [`Assessment`], which reads the JSON of a `DecisionView`: that is what a
//! check-in stores, so an exported record says exactly what the patient was told then, even
//! after the content has changed. A live decision goes through the same JSON (see
//! [`Assessment::of`]), so there is one mapping, not two.

use crate::codes::Canonical;
use aftercare_core::{Content, Decision, DecisionView, Lang, Level};
use chrono::{Days, NaiveDate};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

/// The parts of a stored decision that FHIR needs. Unknown or missing fields default, so an old
/// stored decision still exports.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Assessment {
    pub status: String,
    pub level: String,
    pub headline: String,
    pub now: String,
    pub reasons: Vec<Reason>,
    pub plan: Vec<PlanEntry>,
    pub ask: Vec<String>,
    pub content_version: String,
    pub language: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Reason {
    pub rule: String,
    pub level: String,
    pub explanation: String,
    pub clinician: String,
    /// Empty in decisions stored before rules had short labels.
    pub short: String,
    pub source: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PlanEntry {
    pub action: String,
    pub title: String,
    pub text: String,
    pub starts_in_days: Option<i64>,
    pub ends_in_days: Option<i64>,
}

impl Assessment {
    /// Reads a stored decision (the JSON of a `DecisionView`).
    pub fn from_stored(decision: &Json) -> Assessment {
        Assessment::deserialize(decision).unwrap_or_default()
    }

    /// A live decision, rendered in `lang`.
    pub fn of(content: &Content, decision: &Decision, lang: Lang) -> Assessment {
        let view = DecisionView::new(content, decision, lang);
        serde_json::to_value(&view)
            .map(|v| Assessment::from_stored(&v))
            .unwrap_or_default()
    }

    pub fn is_final(&self) -> bool {
        self.status == "final"
    }
}

/// Where a resource sits: its id, the patient, and the time of the decision.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    pub id: &'a str,
    /// `Patient/<id>`, or `None` for an anonymous case.
    pub subject: Option<&'a str>,
    /// FHIR dateTime of the decision.
    pub at: Option<&'a str>,
    /// The resource the decision was made on (a QuestionnaireResponse reference).
    pub basis: Option<&'a str>,
}

fn subject(ctx: &Context) -> Json {
    match ctx.subject {
        Some(s) => json!({ "reference": s }),
        // RiskAssessment.subject is required; an anonymous case is described instead.
        None => json!({ "display": "The person described by the QuestionnaireResponse" }),
    }
}

/// The RiskAssessment of a decision. The level is the prediction's outcome (our level code
/// system); the fired rules are in `basis` (as identifiers) and `note` (reason and source in
/// markdown); the content version is the `method` coding's version.
pub fn risk_assessment(canonical: &Canonical, a: &Assessment, ctx: &Context) -> Json {
    let mut basis = Vec::new();
    if let Some(b) = ctx.basis {
        basis.push(json!({ "reference": b }));
    }
    for r in &a.reasons {
        basis.push(json!({
            "identifier": { "system": canonical.rules(), "value": r.rule },
            "display": format!("{} ({}): {}", r.rule, r.level, r.clinician),
        }));
    }
    let mut notes: Vec<Json> = a
        .reasons
        .iter()
        .map(|r| {
            json!({ "text": format!(
                "**{}** ({}): {}\n\nTold to the patient: {}\n\nSource: {}",
                r.rule, r.level, r.clinician, r.explanation, r.source
            ) })
        })
        .collect();
    if !a.is_final() && !a.ask.is_empty() {
        notes.push(json!({ "text": format!(
            "Not final: a more urgent rule is still open until these questions are answered: {}.",
            a.ask.join(", ")
        ) }));
    }
    notes.push(json!({ "text": format!("Aftercare content version {}", a.content_version) }));
    let mut ra = Map::new();
    ra.insert("resourceType".into(), json!("RiskAssessment"));
    ra.insert("id".into(), json!(ctx.id));
    ra.insert(
        "status".into(),
        json!(if a.is_final() { "final" } else { "preliminary" }),
    );
    ra.insert(
        "method".into(),
        json!({
            "coding": [{
                "system": canonical.method(),
                "code": "aftercare-triage",
                "version": a.content_version,
                "display": "Aftercare triage rules",
            }],
            "text": format!("Aftercare triage rules, content version {}", a.content_version),
        }),
    );
    ra.insert(
        "code".into(),
        json!({ "text": "Urgency of care for back pain after a neuraxial procedure" }),
    );
    ra.insert("subject".into(), subject(ctx));
    if let Some(at) = ctx.at {
        ra.insert("occurrenceDateTime".into(), json!(at));
    }
    if !basis.is_empty() {
        ra.insert("basis".into(), json!(basis));
    }
    ra.insert("prediction".into(), json!([{
        "outcome": {
            "coding": [{ "system": canonical.levels(), "code": a.level, "display": a.headline }],
            "text": a.headline,
        },
    }]));
    if !a.now.is_empty() {
        ra.insert("mitigation".into(), json!(a.now));
    }
    ra.insert("note".into(), json!(notes));
    Json::Object(ra)
}

/// The CarePlan of a decision: one activity per plan item, scheduled from the decision's day.
/// A decision that sends her to a clinician (any level but self-care) leads with that: its
/// first activity is the level's instruction ("get emergency help now"), so a reader of the
/// plan alone never takes an emergency for home care. `None` when there is nothing to plan.
pub fn care_plan(
    canonical: &Canonical,
    a: &Assessment,
    ctx: &Context,
    day: Option<NaiveDate>,
    risk: Option<&str>,
) -> Option<Json> {
    let level = Level::parse(&a.level);
    let seek_help = a.is_final() && level.is_some_and(|l| l > Level::SelfCare) && !a.now.is_empty();
    if a.plan.is_empty() && !seek_help {
        return None;
    }
    let date = |offset: i64| -> Option<String> {
        let d = day?;
        let shifted = if offset >= 0 {
            d.checked_add_days(Days::new(offset.unsigned_abs()))
        } else {
            d.checked_sub_days(Days::new(offset.unsigned_abs()))
        };
        shifted.map(|x| x.format("%Y-%m-%d").to_string())
    };
    let help = seek_help.then(|| {
        json!({ "detail": {
            "code": {
                "coding": [{ "system": canonical.levels(), "code": a.level, "display": a.headline }],
                "text": a.headline,
            },
            "status": "not-started",
            "description": a.now,
        } })
    });
    let plan_items =
        a.plan.iter().map(|p| {
            let started = p.starts_in_days.is_none_or(|s| s <= 0);
            let mut detail = Map::new();
            detail.insert("code".into(), json!({
                "coding": [{ "system": canonical.actions(), "code": p.action, "display": p.title }],
                "text": p.title,
            }));
            detail.insert(
                "status".into(),
                json!(if started { "in-progress" } else { "scheduled" }),
            );
            let mut period = Map::new();
            if let Some(s) = p.starts_in_days.and_then(date) {
                period.insert("start".into(), json!(s));
            }
            if let Some(e) = p.ends_in_days.and_then(date) {
                period.insert("end".into(), json!(e));
            }
            if !period.is_empty() {
                detail.insert("scheduledPeriod".into(), Json::Object(period));
            }
            if !p.text.is_empty() {
                detail.insert("description".into(), json!(p.text));
            }
            json!({ "detail": detail })
        });
    let activities: Vec<Json> = help.into_iter().chain(plan_items).collect();
    let mut plan = Map::new();
    plan.insert("resourceType".into(), json!("CarePlan"));
    plan.insert("id".into(), json!(ctx.id));
    plan.insert("status".into(), json!("active"));
    plan.insert("intent".into(), json!("plan"));
    plan.insert("title".into(), json!("Aftercare recovery plan"));
    if !a.now.is_empty() {
        plan.insert("description".into(), json!(a.now));
    }
    plan.insert("subject".into(), subject(ctx));
    if let Some(at) = ctx.at {
        plan.insert("created".into(), json!(at));
    }
    if let Some(r) = risk {
        plan.insert("supportingInfo".into(), json!([{ "reference": r }]));
    }
    plan.insert("activity".into(), json!(activities));
    Some(Json::Object(plan))
}
