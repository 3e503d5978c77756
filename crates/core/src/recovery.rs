//! Recovery tracking: whether a diary has left the expected course (`content/course.toml`), e.g.
//! injection-site soreness still there after day 3, or no meaningful improvement by 6 weeks.
//! The triage rules judge one day; this looks at the series.

use crate::case::Case;
use crate::content::{Content, MilestoneCheck};
use crate::level::Level;

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

/// The milestones the diary has missed, given today's case (which says which milestones concern
/// this person) and the diary points in any order.
pub fn missed_milestones(content: &Content, today: &Case, points: &[DiaryPoint]) -> Vec<RecoveryCheck> {
    let mut sorted: Vec<DiaryPoint> = points.to_vec();
    sorted.sort_by_key(|p| p.day);
    let (Some(first), Some(latest)) = (sorted.first(), sorted.last()) else {
        return Vec::new();
    };
    let absent = content.applicability(today);
    let known = crate::content::Known {
        case: today,
        absent: &absent,
    };
    let mut out = Vec::new();
    for (idx, m) in content.course.milestones.iter().enumerate() {
        if latest.day <= i64::from(m.day) || !m.when.eval(&known).is_true() {
            continue;
        }
        let missed = match m.check {
            MilestoneCheck::PainGone => latest.pain > 0,
            MilestoneCheck::MeaningfulImprovement => {
                !meaningful_improvement(content, first.pain, latest.pain)
            }
        };
        if missed {
            out.push(RecoveryCheck {
                milestone: idx,
                id: m.id.clone(),
                level: m.escalate,
            });
        }
    }
    out
}
