//! The personal care plan: the self-care items that apply to this case, when each starts and
//! ends (in days from today, which the caller turns into dates), the red flags to watch for,
//! and when to check in again.

use crate::case::Value;
use crate::content::{ActionIdx, ActionKind, Condition, Content, Known};
use crate::level::Level;
use crate::logic::Tri;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CarePlan {
    pub items: Vec<PlannedItem>,
    /// Indices into [`Content::watch`]: the red flags that concern this person.
    pub watch: Vec<usize>,
    pub check_in_again_hours: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedItem {
    /// Index into [`Content::plan_items`].
    pub item: usize,
    pub action: ActionIdx,
    /// Days from today until the item starts (0 or less: it has started) and until its last day,
    /// when the item has a window and the day of the pain is known.
    pub starts_in_days: Option<i64>,
    pub ends_in_days: Option<i64>,
    /// The item that takes over afterwards, and in how many days (cold, then heat).
    pub then: Option<(usize, i64)>,
}

pub(crate) fn build(content: &Content, known: &Known, level: Level) -> CarePlan {
    let pain_day = match known.case.get(content.pain_day_fact) {
        // Rounded up: a window "until day 3" matches the rule "pain_days <= 3", so on day 3.5 the
        // plan has moved on to warmth exactly when the rules have, and some item always covers today.
        Some(Value::Number(d)) => Some(d.ceil() as i64),
        _ => None,
    };
    let home_care = content.level_info(level).home_care;
    let mut items = Vec::new();
    for (idx, item) in content.plan_items.iter().enumerate() {
        if !home_care && content.actions[item.action as usize].kind != ActionKind::Caution {
            continue;
        }
        let excluded = item
            .unless
            .as_ref()
            .is_some_and(|u| u.eval(known) == Tri::True);
        if excluded || !item.when.eval(known).is_true() {
            continue;
        }
        let starts_in_days = pain_day.and_then(|d| item.from_pain_day.map(|f| f as i64 - d));
        let ends_in_days = pain_day.and_then(|d| item.until_pain_day.map(|u| u as i64 - d));
        let then = match (item.then, ends_in_days) {
            (Some(next), Some(end)) if !is_excluded(content, next, known) => Some((next, end + 1)),
            _ => None,
        };
        items.push(PlannedItem {
            item: idx,
            action: item.action,
            starts_in_days,
            ends_in_days,
            then,
        });
    }
    let watch = content
        .watch
        .iter()
        .enumerate()
        .filter(|(_, w)| {
            w.when
                .as_ref()
                .is_none_or(|c: &Condition| c.eval(known).is_true())
        })
        .map(|(i, _)| i)
        .collect();
    CarePlan {
        items,
        watch,
        check_in_again_hours: content.level_info(level).check_in_again_hours,
    }
}

fn is_excluded(content: &Content, item: usize, known: &Known) -> bool {
    content.plan_items[item]
        .unless
        .as_ref()
        .is_some_and(|u| u.eval(known) == Tri::True)
}
