//! Recovery tracking: whether a diary has left the expected course (`content/course.toml`), e.g.
//! injection-site soreness still there after day 3, or no meaningful improvement by 6 weeks.
//! The triage rules judge one day; this looks at the series.

use crate::case::Case;
use crate::content::{Content, Milestone, MilestoneCheck};
use crate::level::Level;
use crate::logic::Tri;

/// One diary day: days since the pain began (day 0 = the first day) and the 0-10 pain score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiaryPoint {
    pub day: i64,
    pub pain: u8,
}

/// A milestone of the expected course that the diary shows was missed.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryCheck {
    /// Index into `content.course.milestones`.
    pub milestone: usize,
    pub id: String,
    pub level: Level,
}

/// Whether a change from `first` to `latest` is a meaningful improvement: at least the content's
/// number of points, or its fraction of the starting score (Farrar et al., in course.toml).
pub fn meaningful_improvement(content: &Content, first: u8, latest: u8) -> bool {
    let drop = f64::from(first) - f64::from(latest);
    drop >= content.course.change_points
        || (first > 0 && drop >= content.course.change_fraction * f64::from(first))
}

/// Whether any milestone of the expected course concerns this person (today's case) and is
/// already behind her on `latest_day`. When none is, the diary series need not be read.
pub fn milestones_due(content: &Content, today: &Case, latest_day: i64) -> bool {
    due(content, today, latest_day).next().is_some()
}

/// The milestones the diary has missed, given today's case (which says which milestones concern
/// this person) and the diary points in any order. Only the first and the latest point matter,
/// so a caller may pass just those two.
pub fn missed_milestones(
    content: &Content,
    today: &Case,
    points: &[DiaryPoint],
) -> Vec<RecoveryCheck> {
    let first = points.iter().min_by_key(|p| p.day);
    let latest = points.iter().max_by_key(|p| p.day);
    let Some(latest_day) = latest.map(|p| p.day) else {
        return Vec::new();
    };
    due(content, today, latest_day)
        .filter(|(_, m)| match (m.check, first, latest) {
            (MilestoneCheck::StillPresent, _, _) => true,
            (MilestoneCheck::PainGone, _, Some(latest)) => latest.pain > 0,
            (MilestoneCheck::MeaningfulImprovement, Some(first), Some(latest)) => {
                !meaningful_improvement(content, first.pain, latest.pain)
            }
            _ => false,
        })
        .map(|(idx, m)| RecoveryCheck {
            milestone: idx,
            id: m.id.clone(),
            level: m.escalate,
        })
        .collect()
}

/// The milestones that concern today's case and whose day is behind `latest_day`.
fn due<'a>(
    content: &'a Content,
    today: &'a Case,
    latest_day: i64,
) -> impl Iterator<Item = (usize, &'a Milestone)> + 'a {
    let absent = content.applicability(today);
    content
        .course
        .milestones
        .iter()
        .enumerate()
        .filter(move |(_, m)| {
            let known = crate::content::Known {
                case: today,
                absent: &absent,
            };
            // A milestone with its own day count reads it from today's case.
            let day = match m.day_fact {
                Some(f) => match today.get(f) {
                    Some(crate::case::Value::Number(d)) => d.floor() as i64,
                    _ => return false,
                },
                None => latest_day,
            };
            day > i64::from(m.day) && m.when.eval(&known).is_true()
        })
}

/// The day's decision with what the missed milestones call for added to its actions
/// (physiotherapy when the pain has not improved by six weeks).
pub fn with_missed(
    content: &Content,
    mut decision: crate::Decision,
    missed: &[RecoveryCheck],
) -> crate::Decision {
    for check in missed {
        for &a in &content.course.milestones[check.milestone].adds {
            if !decision.actions.contains(&a) {
                decision.actions.push(a);
            }
        }
    }
    decision
}

/// What the clinic knows of a patient, in days counted by the caller's calendar (the core has no
/// clock): the facts every diary day and check-in starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// A value of the content's procedure fact (validated when the patient is enrolled).
    pub procedure: String,
    /// Hours since the procedure, if it is known.
    pub hours_since_procedure: Option<f64>,
    /// Days since the birth; `None` when she has not given birth in this episode.
    pub days_since_delivery: Option<f64>,
}

impl Profile {
    /// The profile's facts as a JSON object, to merge under the patient's own answers.
    pub fn facts(&self, content: &Content) -> serde_json::Map<String, serde_json::Value> {
        let c = &content.course.context;
        let id = |f: u16| content.facts[f as usize].id.clone();
        let mut out = serde_json::Map::new();
        out.insert(id(c.procedure), self.procedure.clone().into());
        // Hours since the procedure only apply when there was one (the content's "asked when").
        let has_procedure = Case::from_map(content, &out)
            .map(|case| content.applicability(&case)[c.hours_since_procedure as usize] == Tri::True)
            .unwrap_or(false);
        if let (true, Some(h)) = (has_procedure, self.hours_since_procedure) {
            out.insert(id(c.hours_since_procedure), h.max(0.0).into());
        }
        out.insert(id(c.delivered), self.days_since_delivery.is_some().into());
        if let Some(d) = self.days_since_delivery {
            out.insert(id(c.days_since_delivery), d.max(0.0).into());
        }
        out
    }
}

/// The case of one diary day: the patient's answers of the day over her profile, with the pain
/// score (and, when she has pain and did not say since when, the day of the pain).
pub fn diary_case(
    content: &Content,
    profile: &Profile,
    pain: u8,
    pain_day: Option<i64>,
    answers: &serde_json::Map<String, serde_json::Value>,
) -> Result<Case, crate::CaseError> {
    let c = &content.course.context;
    let id = |f: u16| content.facts[f as usize].id.clone();
    let mut facts = profile.facts(content);
    let has_pain = pain > 0;
    facts.insert(id(c.pain), has_pain.into());
    if has_pain {
        facts.insert(id(c.score), pain.into());
        if let Some(d) = pain_day {
            facts.insert(id(c.pain_days), d.max(0).into());
        }
    }
    Case::from_answers_over(content, facts, answers)
}

/// Why the clinic is alerted.
#[derive(Debug, Clone, PartialEq)]
pub enum EscalationReason {
    /// Today's decision is above the patient's last level; the rules that fired.
    LevelRose(Vec<String>),
    /// The diary left the expected course at this milestone.
    OffCourse(String),
}

impl EscalationReason {
    /// A stable code for storage: `level:EM-CAUDA,UR-FEVER` or `course:improving_by_six_weeks`.
    pub fn code(&self) -> String {
        match self {
            EscalationReason::LevelRose(rules) => format!("level:{}", rules.join(",")),
            EscalationReason::OffCourse(id) => format!("course:{id}"),
        }
    }

    /// Reads a stored code back; `None` for a code this version does not know.
    pub fn parse(code: &str) -> Option<EscalationReason> {
        if let Some(rules) = code.strip_prefix("level:") {
            let rules = rules
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_string);
            return Some(EscalationReason::LevelRose(rules.collect()));
        }
        code.strip_prefix("course:")
            .map(|id| EscalationReason::OffCourse(id.to_string()))
    }

    /// The reason for a clinician, in one language: the clinician explanation of each rule, or
    /// the milestone of the expected course that was missed. Ids the content no longer has are
    /// shown as they are.
    pub fn describe(&self, content: &Content, lang: crate::Lang) -> String {
        let texts = content.text(lang);
        match self {
            EscalationReason::LevelRose(rules) => rules
                .iter()
                .map(|id| {
                    content
                        .rules
                        .iter()
                        .position(|r| &r.id == id)
                        .map(|i| format!("{id}: {}", texts.rules[i].clinician))
                        .unwrap_or_else(|| id.clone())
                })
                .collect::<Vec<_>>()
                .join(" "),
            EscalationReason::OffCourse(id) => content
                .course
                .milestones
                .iter()
                .position(|m| &m.id == id)
                .map(|i| texts.milestones[i].clone())
                .unwrap_or_else(|| id.clone()),
        }
    }
}

/// Whether a new decision (and the diary's course) should alert the clinic: when the level rises
/// above the patient's last one, or the recovery has missed a milestone.
pub fn escalation(
    content: &Content,
    previous: Option<Level>,
    decision: &crate::Decision,
    missed: &[RecoveryCheck],
) -> Option<(Level, EscalationReason)> {
    let baseline = previous.unwrap_or(Level::SelfCare);
    if decision.level > baseline {
        let rules = decision
            .fired
            .iter()
            .filter(|&&i| content.rules[i].level == decision.level)
            .map(|&i| content.rules[i].id.clone())
            .collect();
        return Some((decision.level, EscalationReason::LevelRose(rules)));
    }
    missed
        .iter()
        .max_by_key(|m| m.level)
        .map(|m| (m.level, EscalationReason::OffCourse(m.id.clone())))
}
