//! A decision rendered in one language: what the CLI prints with `--json`, what the API returns
//! and what the pages show. It borrows its texts from the content, so rendering allocates little.

use crate::content::{urgency_index, Content, Lang, Text};
use crate::engine::{Decision, Status};
use crate::level::Level;
use serde::Serialize;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct DecisionView<'a> {
    pub status: Status,
    /// The level reached so far; while `status` is incomplete only a floor that the questions
    /// in `ask` may raise.
    pub level: Level,
    /// The level in plain words and what to do right now; for an incomplete decision, that it
    /// is not an answer yet and which signs mean calling for help at once.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub headline: &'a Text,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub now: &'a Text,
    pub reasons: Vec<ReasonView<'a>>,
    pub actions: Vec<&'a str>,
    pub plan: Vec<PlanItemView<'a>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub watch_for: Vec<&'a Text>,
    /// The same warnings grouped by what to do, most urgent first, for pages and handouts.
    pub warnings: Vec<WarningGroup<'a>>,
    pub ask: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_in_again_hours: Option<u32>,
    pub language: &'a str,
    pub content_version: &'a str,
}

/// Warning signs that call for the same action, under one heading.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct WarningGroup<'a> {
    pub urgency: Level,
    pub heading: &'a str,
    pub signs: Vec<&'a str>,
}

/// Groups warnings (indices into [`Content::watch`]) by their urgency, most urgent first,
/// keeping the content's order within a group.
pub fn warning_groups<'a>(
    content: &'a Content,
    lang: Lang,
    watch: impl Iterator<Item = usize> + Clone,
) -> Vec<WarningGroup<'a>> {
    let texts = content.text(lang);
    [Level::Emergency, Level::Urgent, Level::Soon]
        .into_iter()
        .filter_map(|urgency| {
            let signs: Vec<&str> = watch
                .clone()
                .filter(|&w| content.watch[w].urgency == urgency)
                .map(|w| texts.watch_signs[w].as_str())
                .collect();
            let heading = texts.urgency_headings.get(urgency_index(urgency))?;
            (!signs.is_empty()).then_some(WarningGroup {
                urgency,
                heading,
                signs,
            })
        })
        .collect()
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct ReasonView<'a> {
    pub rule: &'a str,
    pub level: Level,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub explanation: &'a Text,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub clinician: &'a Text,
    /// The finding in a phrase, for one-line summaries (EHR cards).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub short: &'a Text,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub source: &'a Text,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct PlanItemView<'a> {
    pub action: &'a str,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub title: &'a Text,
    /// With the item's parameters filled in (at load time).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub text: &'a Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub education: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_in_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_in_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub then: Option<ThenView<'a>>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct ThenView<'a> {
    pub action: &'a str,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub title: &'a Text,
    pub starts_in_days: i64,
}

impl<'a> DecisionView<'a> {
    pub fn new(content: &'a Content, decision: &Decision, lang: Lang) -> DecisionView<'a> {
        let texts = content.text(lang);
        // Until the red flags are ruled out the level is only a floor: an incomplete decision
        // says so instead of the provisional level's headline. An emergency is never provisional.
        let level_text =
            if decision.status == Status::Incomplete && decision.level < Level::Emergency {
                &texts.incomplete
            } else {
                &texts.levels[decision.level.index()]
            };
        let reasons = decision
            .fired
            .iter()
            .map(|&i| {
                let rule = &content.rules[i];
                ReasonView {
                    rule: &rule.id,
                    level: rule.level,
                    explanation: &texts.rules[i].patient,
                    clinician: &texts.rules[i].clinician,
                    short: &texts.rules[i].short,
                    source: &rule.source,
                }
            })
            .collect();
        let plan = decision
            .plan
            .items
            .iter()
            .map(|p| {
                let action = &content.actions[p.action as usize];
                PlanItemView {
                    action: &action.id,
                    title: &texts.plan[p.item].title,
                    text: &texts.plan[p.item].text,
                    education: action.education.as_deref(),
                    starts_in_days: p.starts_in_days,
                    ends_in_days: p.ends_in_days,
                    then: p.then.map(|(next, starts_in_days)| ThenView {
                        action: &content.actions[content.plan_items[next].action as usize].id,
                        title: &texts.plan[next].title,
                        starts_in_days,
                    }),
                }
            })
            .collect();
        DecisionView {
            status: decision.status,
            level: decision.level,
            headline: &level_text.title,
            now: &level_text.now,
            reasons,
            actions: decision
                .actions
                .iter()
                .map(|&a| content.actions[a as usize].id.as_str())
                .collect(),
            plan,
            watch_for: decision
                .plan
                .watch
                .iter()
                .map(|&w| &texts.watch[w])
                .collect(),
            warnings: warning_groups(content, lang, decision.plan.watch.iter().copied()),
            ask: decision
                .ask
                .iter()
                .map(|&f| content.facts[f as usize].id.as_str())
                .collect(),
            check_in_again_hours: decision.plan.check_in_again_hours,
            language: &texts.code,
            content_version: &content.version,
        }
    }
}

/// One question of the questionnaire, in one language.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct QuestionView<'a> {
    pub id: &'a str,
    pub section: &'a str,
    pub section_title: &'a str,
    /// `bool`, `enum` or `number`.
    pub kind: &'static str,
    pub question: &'a str,
    pub help: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    pub integer: bool,
    /// A question that may be answered "Not sure": for a yes/no question send `true` (the
    /// safer answer), for a choice send `unsure_as`, and say so to the patient.
    pub unsure: bool,
    /// For a choice that may be answered "Not sure": the value to send for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsure_as: Option<&'a str>,
    /// For a sign asked in a checklist ("Do you have any of these?"): its short label.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub sign: &'a str,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct OptionView<'a> {
    pub value: &'a str,
    pub label: &'a str,
}

impl<'a> QuestionView<'a> {
    pub fn new(content: &'a Content, fact: u16, lang: Lang) -> QuestionView<'a> {
        use crate::content::FactKind;
        let f = &content.facts[fact as usize];
        let texts = content.text(lang);
        let t = &texts.facts[fact as usize];
        let (kind, options, min, max, integer) = match &f.kind {
            FactKind::Bool => ("bool", Vec::new(), None, None, false),
            FactKind::Enum { values, .. } => (
                "enum",
                values
                    .iter()
                    .zip(&t.values)
                    .map(|(v, l)| OptionView { value: v, label: l })
                    .collect(),
                None,
                None,
                false,
            ),
            FactKind::Number { min, max, integer } => ("number", Vec::new(), *min, *max, *integer),
        };
        QuestionView {
            id: &f.id,
            section: &content.sections[f.section],
            section_title: &texts.sections[f.section],
            kind,
            question: &t.question,
            help: &t.help,
            options,
            min,
            max,
            integer,
            unsure: f.unsure,
            unsure_as: match (&f.kind, f.unsure_as) {
                (FactKind::Enum { values, .. }, Some(i)) => Some(values[i as usize].as_str()),
                _ => None,
            },
            sign: &t.sign,
        }
    }
}
