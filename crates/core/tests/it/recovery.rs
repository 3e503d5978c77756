//! The expected course over generated diaries: the milestones missed depend only on the first
//! and the latest day (which lets the server read two entries, not the whole series), and a
//! milestone that is not yet due is never reported.

use aftercare_core::recovery::{diary_case, milestones_due, missed_milestones};
use aftercare_core::{Content, DiaryPoint, Profile};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

fn content() -> &'static Content {
    static CONTENT: OnceLock<Content> = OnceLock::new();
    CONTENT.get_or_init(|| Content::bundled().expect("the bundled content is valid"))
}

fn profile() -> Profile {
    Profile {
        procedure: "epidural_steroid_injection".into(),
        hours_since_procedure: Some(24.0 * 60.0),
        days_since_delivery: None,
    }
}

/// The facts a day may add: where the pain is (the injection-site milestone concerns only that).
fn answers(site: Option<&str>) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(site) = site {
        m.insert("pain_site".into(), json!(site));
    }
    m
}

fn points() -> impl Strategy<Value = Vec<DiaryPoint>> {
    prop::collection::vec((0_i64..80, 0_u8..=10), 1..30).prop_map(|v| {
        v.into_iter()
            .map(|(day, pain)| DiaryPoint { day, pain })
            .collect()
    })
}

proptest! {
    #[test]
    fn only_the_first_and_latest_day_matter(
        series in points(),
        site in prop::option::of(prop::sample::select(vec!["injection_site", "lower_back"])),
    ) {
        let first = *series.iter().min_by_key(|p| p.day).expect("non-empty");
        let latest = *series.iter().max_by_key(|p| p.day).expect("non-empty");
        // Where the pain is can only be said when there is pain.
        let site = site.filter(|_| latest.pain > 0);
        let case = diary_case(content(), &profile(), latest.pain, Some(latest.day), &answers(site))
            .expect("a valid diary case");
        let all = missed_milestones(content(), &case, &series);
        let ends = missed_milestones(content(), &case, &[first, latest]);
        prop_assert_eq!(&all, &ends);
        if !milestones_due(content(), &case, latest.day) {
            prop_assert!(all.is_empty(), "{all:?} reported before any milestone was due");
        }
    }
}

#[test]
fn injection_site_pain_past_day_three_is_off_course() {
    let case = diary_case(
        content(),
        &profile(),
        4,
        Some(5),
        &answers(Some("injection_site")),
    )
    .expect("a valid diary case");
    assert!(milestones_due(content(), &case, 5));
    assert!(!milestones_due(content(), &case, 3), "due only after day 3");
    let missed = missed_milestones(
        content(),
        &case,
        &[
            DiaryPoint { day: 1, pain: 4 },
            DiaryPoint { day: 5, pain: 4 },
        ],
    );
    let ids: Vec<&str> = missed.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["injection_site_settled"]);
}

#[test]
fn no_pain_means_no_milestone_is_due() {
    let case = diary_case(content(), &profile(), 0, Some(50), &Map::new()).expect("a valid case");
    assert!(!milestones_due(content(), &case, 50));
}

fn headache_day(days: u32) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("headache", json!(true)),
        ("headache_postural", json!(true)),
        ("headache_no_longer_postural", json!(false)),
        ("headache_thunderclap", json!(false)),
        ("headache_usual_pattern", json!(false)),
        ("headache_days", json!(days)),
    ] {
        m.insert(k.into(), v);
    }
    m
}

#[test]
fn a_post_puncture_headache_past_two_weeks_leaves_the_course() {
    let point = [DiaryPoint { day: 15, pain: 0 }];
    for (days, off_course) in [(10, false), (14, false), (15, true), (30, true)] {
        let case = diary_case(content(), &profile(), 0, None, &headache_day(days)).expect("case");
        let ids: Vec<String> = missed_milestones(content(), &case, &point)
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(
            ids.contains(&"pdph_within_two_weeks".to_string()),
            off_course,
            "headache for {days} days: {ids:?}"
        );
    }
}

#[test]
fn no_improvement_by_six_weeks_adds_physiotherapy() {
    let site = answers(Some("lower_back"));
    let case = diary_case(content(), &profile(), 6, Some(50), &site).expect("case");
    let series = [
        DiaryPoint { day: 0, pain: 6 },
        DiaryPoint { day: 50, pain: 6 },
    ];
    let missed = missed_milestones(content(), &case, &series);
    assert!(
        missed.iter().any(|m| m.id == "improving_by_six_weeks"),
        "{missed:?}"
    );
    let decision = aftercare_core::recovery::with_missed(
        content(),
        aftercare_core::triage(content(), &case),
        &missed,
    );
    let actions: Vec<&str> = decision
        .actions
        .iter()
        .map(|&a| content().actions[a as usize].id.as_str())
        .collect();
    assert!(actions.contains(&"physiotherapy"), "{actions:?}");
}
