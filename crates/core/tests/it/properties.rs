//! Properties of the triage engine over generated cases.
//!
//! A *complete* case answers every question that applies to it (in questionnaire order, so a
//! gate such as `back_pain` or `bp_measured` is settled before the questions it opens) and leaves
//! the others out. Numbers are drawn from values on and around the thresholds of rules.toml,
//! terms.toml and plan.toml.
//!
//! Cases are generated from [`Choices`]: one number per fact, and how often a yes/no question
//! (or an ordered enum) gets a worrying answer in this case, drawn per case so that well, ill and
//! everything-in-between cases all come up (with even odds nearly every case would be an
//! emergency, and the level properties would say little). Proptest shrinks a failure towards the
//! first value of every answer: `false`, the first enum value, the smallest number.

use aftercare_core::content::ActionKind;
use aftercare_core::content::{Fact, FactKind};
use aftercare_core::engine::plan_questions;
use aftercare_core::logic::Tri;
use aftercare_core::questionnaire;
use aftercare_core::{triage, Case, Content, Decision, DecisionView, Level, Status, Value};
use proptest::prelude::*;
use std::sync::OnceLock;

fn content() -> &'static Content {
    static CONTENT: OnceLock<Content> = OnceLock::new();
    CONTENT.get_or_init(|| Content::bundled().expect("the bundled content is valid"))
}

fn fact_count() -> usize {
    content().facts.len()
}

/// Values on and either side of every threshold the content uses for this fact.
fn interesting_numbers(id: &str) -> &'static [f64] {
    match id {
        // 4 h (weakness within the block), 6 h (numbness, bladder), 72 h (haematoma window,
        // steroid effects), 1008 h (six weeks).
        "hours_since_procedure" => &[
            0.0, 1.0, 3.0, 3.5, 4.0, 5.0, 5.5, 6.0, 7.0, 24.0, 48.0, 72.0, 72.5, 73.0, 200.0,
            1008.0, 1009.0, 3000.0,
        ],
        // 1 day (lightheaded), 42 days (six weeks), 182 days (six months).
        "days_since_delivery" => &[
            0.0, 1.0, 1.5, 2.0, 3.0, 4.0, 7.0, 41.0, 42.0, 43.0, 182.0, 183.0, 400.0,
        ],
        "pain_score" => &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        // 3 days (injection site, cold then heat, severe persisting), 7 (rest), 42 (not improving).
        "pain_days" => &[
            0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 7.0, 8.0, 41.0, 42.0, 43.0, 200.0,
        ],
        // 42 days (neurology referral).
        "nerve_days" => &[0.0, 1.0, 7.0, 41.0, 42.0, 43.0, 120.0],
        "headache_days" => &[0.0, 1.0, 2.0, 3.0, 4.0, 7.0, 14.0],
        // 90 (sepsis), 100 (low), 140 (high), 150 (postpartum treatment), 160 (severe),
        // 180 (very high).
        "bp_systolic" => &[
            50.0, 85.0, 90.0, 91.0, 99.0, 100.0, 101.0, 120.0, 139.0, 140.0, 141.0, 149.0, 150.0,
            159.0, 160.0, 161.0, 179.0, 180.0, 200.0, 300.0,
        ],
        // 90 (high), 100 (postpartum treatment), 110 (severe), 120 (very high).
        "bp_diastolic" => &[
            30.0, 60.0, 89.0, 90.0, 91.0, 99.0, 100.0, 109.0, 110.0, 111.0, 119.0, 120.0, 150.0,
            200.0,
        ],
        _ => &[0.0, 1.0, 3.0, 4.0, 7.0, 42.0, 43.0, 100.0],
    }
}

fn number_for(fact: &Fact, choice: u32) -> f64 {
    let FactKind::Number {
        min, max, integer, ..
    } = fact.kind
    else {
        unreachable!("{} is not a number", fact.id)
    };
    let list = interesting_numbers(&fact.id);
    let mut x = list[choice as usize % list.len()];
    if let Some(m) = min {
        x = x.max(m);
    }
    if let Some(m) = max {
        x = x.min(m);
    }
    if integer {
        x = x.round();
    }
    x
}

/// The answers of one generated case.
#[derive(Debug, Clone)]
struct Choices {
    /// The chance, in percent, of a yes, or of a value above the first for an ordered enum.
    worrying_percent: u32,
    /// One per fact, in content order.
    picks: Vec<u32>,
}

/// Whether other questions depend on this fact (`delivered`, `back_pain`, `headache`...).
fn is_gate(idx: usize) -> bool {
    static GATES: OnceLock<Vec<bool>> = OnceLock::new();
    GATES.get_or_init(|| {
        let mut gates = vec![false; fact_count()];
        for fact in &content().facts {
            if let Some(when) = &fact.asked_when {
                when.visit_facts(&mut |f| gates[f as usize] = true);
            }
        }
        gates
    })[idx]
}

/// The answer a choice stands for.
fn value_for(fact: &Fact, choices: &Choices, idx: usize) -> Option<Value> {
    let choice = choices.picks[idx];
    let worrying = choice % 100 >= 100 - choices.worrying_percent;
    match &fact.kind {
        // A gate gets even odds, so the questions it opens are answered in half the cases.
        FactKind::Bool if is_gate(idx) => Some(Value::Bool(choice % 2 == 1)),
        FactKind::Bool => Some(Value::Bool(worrying)),
        FactKind::Enum {
            values,
            ordered: true,
        } => {
            let v = if worrying && values.len() > 1 {
                1 + (choice / 100) as usize % (values.len() - 1)
            } else {
                0
            };
            Some(Value::Enum(v as u16))
        }
        FactKind::Enum { values, .. } => Some(Value::Enum((choice as usize % values.len()) as u16)),
        FactKind::Number { .. } => Some(Value::Number(number_for(fact, choice))),
    }
}

/// Walks the facts in content order: answers each question that applies and is still open (with
/// the fact's choice), and clears any answer to a question that does not apply.
fn complete(case: &mut Case, choices: &Choices) {
    let content = content();
    let mut applies = content.applicability(case);
    let mut stale = false;
    for (idx, fact) in content.facts.iter().enumerate() {
        let f = idx as u16;
        if stale && fact.asked_when.is_some() {
            applies = content.applicability(case);
            stale = false;
        }
        match applies[idx] {
            Tri::True => {
                if case.get(f).is_none() {
                    case.set(f, value_for(fact, choices, idx));
                    stale = true;
                }
            }
            Tri::False => {
                if case.get(f).is_some() {
                    case.set(f, None);
                    stale = true;
                }
            }
            Tri::Unknown => panic!(
                "{}: its question is still undecided although every earlier fact is settled",
                fact.id
            ),
        }
    }
}

/// A complete case from one choice per fact.
fn complete_case(choices: &Choices) -> Case {
    let content = content();
    let mut case = Case::empty(content);
    complete(&mut case, choices);
    case
}

/// The case without the facts whose mask entry is set.
fn without(case: &Case, mask: &[bool]) -> Case {
    let mut out = case.clone();
    for (idx, &removed) in mask.iter().enumerate() {
        if removed {
            out.set(idx as u16, None);
        }
    }
    out
}

/// The questionnaire as a patient meets it: start from nothing and answer, one at a time and
/// from the complete case, only the first fact the engine asks for; once the level is final,
/// the questions that complete the decision (its actions and plan). Returns the last decision.
fn ask_loop(complete: &Case) -> Result<(Case, Decision), String> {
    let content = content();
    let mut case = Case::empty(content);
    for _ in 0..=content.facts.len() {
        let d = triage(content, &case);
        let next = if d.status == Status::Incomplete {
            d.ask.clone()
        } else {
            plan_questions(content, &case, &d)
        };
        let Some(&f) = next.first() else {
            return Ok((case, d));
        };
        let Some(answer) = complete.get(f) else {
            return Err(format!(
                "asks {} which the complete case {} leaves out, having {}",
                content.facts[f as usize].id,
                show(complete),
                show(&case)
            ));
        };
        case.set(f, Some(answer));
    }
    Err(format!(
        "no end after every fact was asked: {}",
        show(&case)
    ))
}

/// The questionnaire as the pages show it: her concern (one whose answers the complete case
/// holds), then each screen answered whole from the complete case. Returns the last case, its
/// decision and the number of screens after the concern.
fn screen_loop(complete: &Case, pick: usize) -> Result<(Case, Decision, usize), String> {
    let content = content();
    let fitting: Vec<_> = (content.concerns.iter())
        .filter(|c| {
            c.answers
                .iter()
                .all(|&f| complete.get(f) == Some(Value::Bool(true)))
        })
        .collect();
    let concern = fitting[pick % fitting.len()];
    let mut case = Case::empty(content);
    for &f in &concern.answers {
        case.set(f, Some(Value::Bool(true)));
    }
    for screens in 0..=content.facts.len() {
        let d = triage(content, &case);
        let Some(screen) = questionnaire::next_screen(content, &case, &d, Some(concern)) else {
            return Ok((case, d, screens));
        };
        for f in screen.facts() {
            let applies = content.applicability(&case)[f as usize];
            match complete.get(f) {
                Some(v) => case.set(f, Some(v)),
                // A question that follows another answer on the screen, which did not open it.
                None if applies != Tri::True => {}
                None => {
                    return Err(format!(
                        "shows {} which the complete case {} leaves out",
                        content.facts[f as usize].id,
                        show(complete)
                    ))
                }
            }
        }
        // The page hides a question no answer on the screen opened: none may still apply.
        let applies = content.applicability(&case);
        for q in screen.groups.iter().flat_map(|g| g.questions.iter()) {
            if !q.is_open(&case) && applies[q.fact as usize] == Tri::True {
                return Err(format!(
                    "hides {}, which applies, on {}",
                    content.facts[q.fact as usize].id,
                    show(&case)
                ));
            }
        }
    }
    Err(format!("no end: {}", show(&case)))
}

fn sorted(mut v: Vec<&'static str>) -> Vec<&'static str> {
    v.sort_unstable();
    v
}

fn actions(d: &Decision) -> Vec<&'static str> {
    sorted(
        d.actions
            .iter()
            .map(|&a| content().actions[a as usize].id.as_str())
            .collect(),
    )
}

fn fact(id: &str) -> u16 {
    content()
        .facts
        .iter()
        .position(|f| f.id == id)
        .unwrap_or_else(|| panic!("no fact {id}")) as u16
}

fn choices() -> impl Strategy<Value = Choices> {
    // Mostly few worrying answers (about 50 questions: at 4 % a case has two yeses on average).
    let worrying_percent = prop_oneof![3 => 0u32..=4, 2 => 0u32..=12, 1 => 0u32..=50];
    (
        worrying_percent,
        prop::collection::vec(any::<u32>(), fact_count()),
    )
        .prop_map(|(worrying_percent, picks)| Choices {
            worrying_percent,
            picks,
        })
}

/// A removal mask: each fact is removed with a probability drawn per case, so that both nearly
/// complete and nearly empty cases come up (mostly nearly complete ones: those are the partial
/// cases that can still be final).
fn mask() -> impl Strategy<Value = Vec<bool>> {
    prop_oneof![1u32..10, 1u32..100].prop_flat_map(|percent| {
        prop::collection::vec(
            prop::bool::weighted(f64::from(percent) / 100.0),
            fact_count(),
        )
    })
}

fn show(case: &Case) -> String {
    serde_json::Value::Object(case.to_json(content())).to_string()
}

fn fired(d: &Decision) -> Vec<&'static str> {
    d.fired
        .iter()
        .map(|&i| content().rules[i].id.as_str())
        .collect()
}

fn ask(d: &Decision) -> Vec<&'static str> {
    d.ask
        .iter()
        .map(|&f| content().facts[f as usize].id.as_str())
        .collect()
}

/// Every "worse" answer to a present fact: a yes for a no, a later value of an ordered enum.
/// Blood pressure is two-sided by nature (a normal reading answers the question that "not
/// measured" leaves open), so `bp_measured` has its own property below.
fn worse_answers(case: &Case) -> Vec<(u16, Value)> {
    let mut out = Vec::new();
    let bp_measured = fact("bp_measured");
    for (idx, fact) in content().facts.iter().enumerate() {
        let f = idx as u16;
        if f == bp_measured {
            continue;
        }
        match (&fact.kind, case.get(f)) {
            (FactKind::Bool, Some(Value::Bool(false))) => out.push((f, Value::Bool(true))),
            (
                FactKind::Enum {
                    values,
                    ordered: true,
                },
                Some(Value::Enum(v)),
            ) => {
                for w in v + 1..values.len() as u16 {
                    out.push((f, Value::Enum(w)));
                }
            }
            _ => {}
        }
    }
    out
}

fn describe_value(f: u16, v: Value) -> String {
    let fact = &content().facts[f as usize];
    format!("{} = {}", fact.id, fact.value_to_json(v))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn a_complete_case_always_gets_a_final_decision(choices in choices()) {
        let case = complete_case(&choices);
        let d = triage(content(), &case);
        prop_assert_eq!(
            d.status, Status::Final,
            "case {} asks {:?} (fired {:?})", show(&case), ask(&d), fired(&d)
        );
        prop_assert!(d.ask.is_empty(), "a final decision asks {:?}", ask(&d));
    }

    #[test]
    fn the_same_case_always_gets_the_same_decision(choices in choices(), mask in mask()) {
        for case in [complete_case(&choices), without(&complete_case(&choices), &mask)] {
            let first = triage(content(), &case);
            let second = triage(content(), &case.clone());
            prop_assert_eq!(&first, &second, "case {}", show(&case));
        }
    }

    #[test]
    fn a_worse_answer_never_lowers_the_level(choices in choices(), refill in choices()) {
        let case = complete_case(&choices);
        let before = triage(content(), &case);
        for (f, worse) in worse_answers(&case) {
            let mut changed = case.clone();
            changed.set(f, Some(worse));
            complete(&mut changed, &refill);
            let after = triage(content(), &changed);
            prop_assert!(
                after.level >= before.level,
                "{} lowers the level from {} (fired {:?}) to {} (fired {:?})\n  before: {}\n  after:  {}",
                describe_value(f, worse),
                before.level, fired(&before),
                after.level, fired(&after),
                show(&case), show(&changed)
            );
        }
    }

    #[test]
    fn a_blood_pressure_further_from_normal_never_lowers_the_level(choices in choices(), pick in 0usize..20) {
        let case = complete_case(&choices);
        let (sys, dia) = (fact("bp_systolic"), fact("bp_diastolic"));
        let (Some(Value::Number(s)), Some(Value::Number(d))) = (case.get(sys), case.get(dia)) else {
            return Ok(());
        };
        let before = triage(content(), &case);
        let systolics = interesting_numbers("bp_systolic");
        let diastolics = interesting_numbers("bp_diastolic");
        let new_s = systolics[pick % systolics.len()];
        let new_d = diastolics[pick % diastolics.len()];
        let mut moves = Vec::new();
        if (s >= 100.0 && new_s > s) || (s <= 139.0 && new_s < s) {
            moves.push((sys, new_s));
        }
        if new_d > d {
            moves.push((dia, new_d));
        }
        for (f, x) in moves {
            let mut changed = case.clone();
            changed.set(f, Some(Value::Number(x)));
            let after = triage(content(), &changed);
            prop_assert!(
                after.level >= before.level,
                "{} = {} lowers the level from {} (fired {:?}) to {} (fired {:?}) in {}",
                content().facts[f as usize].id, x,
                before.level, fired(&before), after.level, fired(&after), show(&case)
            );
        }
    }

    #[test]
    fn the_questionnaire_reaches_the_complete_decision(choices in choices()) {
        let case = complete_case(&choices);
        let want = triage(content(), &case);
        let (asked, got) = match ask_loop(&case) {
            Ok(end) => end,
            Err(e) => return Err(TestCaseError::fail(e)),
        };
        prop_assert_eq!(got.status, Status::Final, "the loop ended incomplete on {}", show(&asked));
        prop_assert_eq!(
            got.level, want.level,
            "answering what was asked ({}) gives {} (fired {:?}); the complete case {} gives {} (fired {:?})",
            show(&asked), got.level, fired(&got), show(&case), want.level, fired(&want)
        );
        prop_assert_eq!(
            actions(&got), actions(&want),
            "answering what was asked ({}) gives other actions than the complete case {}",
            show(&asked), show(&case)
        );
    }

    #[test]
    fn the_screens_reach_the_complete_level_and_stop_at_an_emergency(choices in choices(), pick in 0usize..6) {
        let case = complete_case(&choices);
        let want = triage(content(), &case);
        let (asked, got, screens) = match screen_loop(&case, pick) {
            Ok(end) => end,
            Err(e) => return Err(TestCaseError::fail(e)),
        };
        prop_assert_eq!(
            got.level, want.level,
            "the screens ({}) give {}; the complete case {} gives {}",
            show(&asked), got.level, show(&case), want.level
        );
        if got.level < Level::Emergency {
            prop_assert_eq!(got.status, Status::Final, "ended incomplete on {}", show(&asked));
            prop_assert_eq!(actions(&got), actions(&want), "other actions on {}", show(&asked));
        }
        prop_assert!(screens <= 8, "{} screens for {}", screens, show(&asked));
    }

    #[test]
    fn an_emergency_plan_holds_no_self_care(choices in choices()) {
        let case = complete_case(&choices);
        let d = triage(content(), &case);
        if d.level == Level::Emergency {
            for item in &d.plan.items {
                let action = &content().actions[item.action as usize];
                prop_assert_eq!(action.kind, ActionKind::Caution,
                    "an emergency plan offers {} in {}", &action.id, show(&case));
            }
        }
    }

    #[test]
    fn blood_thinners_or_a_bleeding_risk_never_get_an_nsaid(choices in choices()) {
        let case = complete_case(&choices);
        let at_risk = [fact("anticoagulant"), fact("bleeding_risk")]
            .iter()
            .any(|&f| case.get(f) == Some(Value::Bool(true)));
        if at_risk {
            let got = actions(&triage(content(), &case));
            prop_assert!(!got.contains(&"pain_relief"), "pain relief offered in {}", show(&case));
            if case.get(fact("back_pain")) == Some(Value::Bool(true)) {
                prop_assert!(got.contains(&"medication_check"), "no medication check in {}", show(&case));
            }
        }
    }

    #[test]
    fn cold_or_warmth_covers_every_day_of_back_pain(choices in choices(), tenths in 0u32..600) {
        let mut case = complete_case(&choices);
        if case.get(fact("back_pain")) != Some(Value::Bool(true))
            || case.get(fact("back_numb_patch")) == Some(Value::Bool(true))
        {
            return Ok(());
        }
        case.set(fact("pain_days"), Some(Value::Number(f64::from(tenths) / 10.0)));
        let d = triage(content(), &case);
        if d.level == Level::Emergency {
            return Ok(());
        }
        let today = d.plan.items.iter().any(|p| {
            let id = content().actions[p.action as usize].id.as_str();
            (id == "cold_therapy" || id == "heat_therapy")
                && p.starts_in_days.is_none_or(|s| s <= 0)
                && p.ends_in_days.is_none_or(|e| e >= 0)
        });
        prop_assert!(today, "no cold or warmth for today on pain day {} in {}", f64::from(tenths) / 10.0, show(&case));
    }

    #[test]
    fn a_missing_answer_never_gives_a_final_decision_below_the_complete_one(
        choices in choices(),
        mask in mask(),
    ) {
        let case = complete_case(&choices);
        let complete_decision = triage(content(), &case);
        let partial = without(&case, &mask);
        let d = triage(content(), &partial);
        if d.status == Status::Final {
            prop_assert!(
                d.level >= complete_decision.level,
                "partial case {} is final at {} (fired {:?}) but the complete case {} is {} (fired {:?})",
                show(&partial), d.level, fired(&d),
                show(&case), complete_decision.level, fired(&complete_decision)
            );
        }
    }

    #[test]
    fn an_incomplete_decision_asks_open_questions_that_apply(
        choices in choices(),
        mask in mask(),
    ) {
        let partial = without(&complete_case(&choices), &mask);
        let d = triage(content(), &partial);
        if d.status == Status::Incomplete {
            prop_assert!(!d.ask.is_empty(), "case {} is incomplete but asks nothing (fired {:?})",
                show(&partial), fired(&d));
            let applies = content().applicability(&partial);
            for (i, &f) in d.ask.iter().enumerate() {
                let id = &content().facts[f as usize].id;
                prop_assert!(partial.get(f).is_none(), "asks {} which is answered, case {}", id, show(&partial));
                prop_assert_eq!(applies[f as usize], Tri::True,
                    "asks {} whose question does not surely apply, case {}", id, show(&partial));
                prop_assert!(!d.ask[..i].contains(&f), "asks {} twice", id);
            }
        }
    }

    #[test]
    fn an_incomplete_decision_never_reads_as_an_answer(choices in choices(), mask in mask()) {
        let partial = without(&complete_case(&choices), &mask);
        let d = triage(content(), &partial);
        if d.status == Status::Incomplete && d.level < Level::Emergency {
            for (code, _) in content().languages() {
                let lang = content().lang(code).expect("listed");
                let view = DecisionView::new(content(), &d, lang);
                let texts = content().text(lang);
                for level in [Level::SelfCare, Level::Soon, Level::Urgent] {
                    let provisional = &texts.levels[level.index()];
                    prop_assert!(view.headline.as_str() != provisional.title.as_str(),
                        "{} shows the headline of {}", show(&partial), level);
                    prop_assert!(view.now.as_str() != provisional.now.as_str());
                }
            }
        }
    }

    #[test]
    fn a_case_survives_a_round_trip_through_json(choices in choices(), mask in mask()) {
        let complete = complete_case(&choices);
        for case in [complete.clone(), without(&complete, &mask)] {
            let json = serde_json::Value::Object(case.to_json(content()));
            let back = Case::from_json(content(), &json);
            prop_assert!(back.is_ok(), "case {} is refused: {:?}", json, back.err());
            prop_assert_eq!(back.ok(), Some(case));
        }
    }
}

#[test]
fn the_empty_case_asks_the_first_questions() {
    let d = triage(content(), &Case::empty(content()));
    assert_eq!(d.status, Status::Incomplete);
    assert!(!d.ask.is_empty());
}
