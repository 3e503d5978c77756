//! The second stage of loading: cross-check the parsed files and build the indexed [`Content`].
//! Problems are collected, never thrown, so a clinician sees every one of them in one run.

use super::load::REQUIRED;
use super::raw::{self, RawCondition};
use super::satisfiable::satisfiable;
use super::text::{FactText, LevelText, PlanText, RuleText, Text, Texts};
use super::{
    Action, ActionIdx, ActionKind, Cmp, Concern, Condition, Content, ContentError, ContentErrors,
    ContextFacts, Course, Fact, FactIdx, FactKind, LevelInfo, Milestone, MilestoneCheck, PlanItem,
    Rule, Source, Watch,
};
use crate::case::Value;
use crate::level::Level;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Where a problem is: file, line, id.
#[derive(Clone)]
struct Loc {
    file: String,
    line: Option<usize>,
    id: Option<String>,
}

struct Compiler<'s> {
    sources: &'s [Source],
    errors: Vec<ContentError>,
}

impl Compiler<'_> {
    fn error(&mut self, at: &Loc, message: impl Into<String>) {
        self.errors.push(ContentError {
            file: at.file.clone(),
            line: at.line,
            id: at.id.clone(),
            message: message.into(),
        });
    }

    fn source(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.name == name)
    }

    fn parse<T: DeserializeOwned>(&mut self, name: &str) -> Option<T> {
        let Some(source) = self.source(name) else {
            self.error(&file_loc(name), "the file is missing");
            return None;
        };
        let text = source.text.clone();
        match toml::from_str::<T>(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                let line = e.span().map(|s| line_of(&text, s.start));
                // The toml crate leaves the message empty for some errors (a key with no value
                // at the end of the text): never hand a clinician an empty problem.
                let message = match e.message().trim() {
                    "" => "invalid TOML here: a value is missing (is the file cut short?)".into(),
                    m => m.to_string(),
                };
                self.error(
                    &Loc {
                        file: name.into(),
                        line,
                        id: None,
                    },
                    message,
                );
                None
            }
        }
    }

    fn loc(&self, file: &str, id: &toml::Spanned<String>) -> Loc {
        let line = self.source(file).map(|s| line_of(&s.text, id.span().start));
        Loc {
            file: file.into(),
            line,
            id: Some(id.get_ref().clone()),
        }
    }
}

fn file_loc(file: &str) -> Loc {
    Loc {
        file: file.into(),
        line: None,
        id: None,
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// What a condition may refer to while it is compiled.
struct Scope<'a> {
    facts: &'a [Fact],
    fact_ids: &'a HashMap<String, FactIdx>,
    terms: &'a HashMap<String, Condition>,
    /// For "asked when": only facts before this index (keeps applicability acyclic).
    facts_before: Option<FactIdx>,
}

pub(super) fn compile(sources: &[Source], version: String) -> Result<Content, ContentErrors> {
    let mut cx = Compiler {
        sources,
        errors: Vec::new(),
    };
    for s in sources {
        let known = REQUIRED.contains(&s.name.as_str())
            || (s.name.starts_with("text/") && s.name.ends_with(".toml"));
        if !known {
            cx.error(&file_loc(&s.name), "not a content file Aftercare knows");
        }
    }
    let facts_file: Option<raw::FactsFile> = cx.parse("facts.toml");
    let terms_file: Option<raw::TermsFile> = cx.parse("terms.toml");
    let rules_file: Option<raw::RulesFile> = cx.parse("rules.toml");
    let actions_file: Option<raw::ActionsFile> = cx.parse("actions.toml");
    let levels_file: Option<raw::LevelsFile> = cx.parse("levels.toml");
    let sections_file: Option<raw::SectionsFile> = cx.parse("sections.toml");
    let plan_file: Option<raw::PlanFile> = cx.parse("plan.toml");
    let course_file: Option<raw::CourseFile> = cx.parse("course.toml");
    let text_names: Vec<String> = sources
        .iter()
        .filter(|s| s.name.starts_with("text/"))
        .map(|s| s.name.clone())
        .collect();
    let text_files: Vec<(String, raw::TextFile)> = text_names
        .iter()
        .filter_map(|n| cx.parse(n).map(|t| (n.clone(), t)))
        .collect();
    if text_names.is_empty() {
        cx.error(
            &file_loc("text/"),
            "no language file: at least text/en.toml is needed",
        );
    }
    let (
        Some(facts_file),
        Some(terms_file),
        Some(rules_file),
        Some(actions_file),
        Some(levels_file),
        Some(sections_file),
        Some(plan_file),
        Some(course_file),
    ) = (
        facts_file,
        terms_file,
        rules_file,
        actions_file,
        levels_file,
        sections_file,
        plan_file,
        course_file,
    )
    else {
        return Err(ContentErrors(cx.errors));
    };

    let sections = compile_sections(&mut cx, &sections_file);
    let (facts, fact_ids) = compile_facts(&mut cx, &facts_file, &sections);
    let (context_sections, concerns) =
        compile_concerns(&mut cx, &sections_file, &sections, &facts, &fact_ids);
    let terms = compile_terms(&mut cx, &terms_file, &facts, &fact_ids);
    let scope = Scope {
        facts: &facts,
        fact_ids: &fact_ids,
        terms: &terms,
        facts_before: None,
    };
    let confirm: Vec<(usize, Condition)> = (facts_file.fact.iter().enumerate())
        .filter_map(|(i, raw)| {
            let when = raw.confirm_when.as_ref()?;
            let at = cx.loc("facts.toml", &raw.id);
            let c = compile_condition(&mut cx, when, &at, &scope)?;
            let mut reads_itself = false;
            c.visit_facts(&mut |f| reads_itself |= f as usize == i);
            if !reads_itself {
                cx.error(&at, "confirm_when must read the fact it confirms");
            }
            Some((i, c))
        })
        .collect();
    let (actions, action_ids) = compile_actions(&mut cx, &actions_file);
    let levels = compile_levels(&mut cx, &levels_file, &action_ids);
    let rules = compile_rules(&mut cx, &rules_file, &scope, &action_ids);
    // A rule that did not compile is reported once, at the rule: warnings naming it say nothing.
    let declared: HashSet<&str> = rules_file
        .rule
        .iter()
        .map(|r| r.id.get_ref().as_str())
        .collect();
    let (plan_items, watch) = compile_plan(
        &mut cx,
        &plan_file,
        &scope,
        &action_ids,
        (&rules, &declared),
    );
    let pain_day_fact = match fact_ids.get(&plan_file.pain_day_fact) {
        Some(&f) if matches!(facts[f as usize].kind, FactKind::Number { .. }) => f,
        _ => {
            cx.error(
                &file_loc("plan.toml"),
                "pain_day_fact must name a number fact",
            );
            0
        }
    };
    let course = compile_course(&mut cx, &course_file, &scope, &action_ids);

    let mut facts = facts;
    for (i, c) in confirm {
        if let Some(f) = facts.get_mut(i) {
            f.confirm_when = Some(c);
        }
    }
    let mut content = Content {
        facts,
        sections,
        context_sections,
        concerns,
        rules,
        actions,
        levels,
        plan_items,
        pain_day_fact,
        watch,
        course,
        texts: Vec::new(),
        version,
        fact_ids,
        action_ids,
    };
    let mut seen_langs = HashSet::new();
    for (name, file) in &text_files {
        if let Some(t) = compile_texts(&mut cx, name, file, &content) {
            if !seen_langs.insert(t.code.clone()) {
                cx.error(
                    &file_loc(name),
                    format!("language {} is defined twice", t.code),
                );
            }
            content.texts.push(t);
        }
    }
    if let Some(first) = content.texts.first() {
        for other in &content.texts[1..] {
            for group in ["ui", "workspace"] {
                let (a, b) = (first.flat(group), other.flat(group));
                let file = format!("text/{}.toml", other.code);
                for key in a.keys().filter(|k| !b.contains_key(*k)) {
                    let at = Loc {
                        file: file.clone(),
                        line: None,
                        id: Some(format!("{group}.{key}")),
                    };
                    cx.error(&at, "missing translation");
                }
                for key in b.keys().filter(|k| !a.contains_key(*k)) {
                    let at = Loc {
                        file: file.clone(),
                        line: None,
                        id: Some(format!("{group}.{key}")),
                    };
                    cx.error(&at, format!("not in text/{}.toml", first.code));
                }
            }
        }
    }
    if cx.errors.is_empty() {
        Ok(content)
    } else {
        Err(ContentErrors(cx.errors))
    }
}

fn compile_sections(cx: &mut Compiler, file: &raw::SectionsFile) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &file.section {
        if out.contains(s.id.get_ref()) {
            let at = cx.loc("sections.toml", &s.id);
            cx.error(&at, "duplicate section id");
        }
        out.push(s.id.get_ref().clone());
    }
    out
}

/// The context sections and the concerns: each names known sections, and answers only yes/no
/// facts that always apply (so a concern can never make a case inconsistent).
fn compile_concerns(
    cx: &mut Compiler,
    file: &raw::SectionsFile,
    sections: &[String],
    facts: &[Fact],
    fact_ids: &HashMap<String, FactIdx>,
) -> (Vec<usize>, Vec<Concern>) {
    let context = (file.section.iter().enumerate())
        .filter(|(_, s)| s.context)
        .map(|(i, _)| i)
        .collect();
    let mut concerns: Vec<Concern> = Vec::new();
    for raw in &file.concern {
        let at = cx.loc("sections.toml", &raw.id);
        if concerns.iter().any(|c| c.id == *raw.id.get_ref()) {
            cx.error(&at, "duplicate concern id");
        }
        let mut own = Vec::new();
        for s in &raw.sections {
            match sections.iter().position(|x| x == s) {
                Some(i) => own.push(i),
                None => cx.error(&at, format!("unknown section {s:?}")),
            }
        }
        let mut answers = Vec::new();
        for f in &raw.answers {
            match fact_ids.get(f) {
                Some(&i)
                    if facts[i as usize].kind == FactKind::Bool
                        && facts[i as usize].asked_when.is_none() =>
                {
                    answers.push(i)
                }
                _ => cx.error(
                    &at,
                    format!("{f:?} is not a yes/no fact that is always asked"),
                ),
            }
        }
        concerns.push(Concern {
            id: raw.id.get_ref().clone(),
            sections: own,
            answers,
        });
    }
    if concerns.is_empty() {
        cx.error(
            &file_loc("sections.toml"),
            "no [[concern]]: the check-in asks one first",
        );
    }
    (context, concerns)
}

fn compile_facts(
    cx: &mut Compiler,
    file: &raw::FactsFile,
    sections: &[String],
) -> (Vec<Fact>, HashMap<String, FactIdx>) {
    let mut facts = Vec::new();
    let mut ids = HashMap::new();
    let no_terms = HashMap::new();
    for raw in &file.fact {
        let at = cx.loc("facts.toml", &raw.id);
        let id = raw.id.get_ref().clone();
        if ids.contains_key(&id) {
            cx.error(&at, "duplicate fact id");
            continue;
        }
        let section = sections
            .iter()
            .position(|s| *s == raw.section)
            .unwrap_or_else(|| {
                cx.error(&at, format!("unknown section {:?}", raw.section));
                0
            });
        let kind = match raw.kind.as_str() {
            "bool" => FactKind::Bool,
            "enum" => match &raw.values {
                Some(values) if !values.is_empty() => {
                    let distinct: HashSet<_> = values.iter().collect();
                    if distinct.len() != values.len() {
                        cx.error(&at, "an enum value is listed twice");
                    }
                    FactKind::Enum {
                        values: values.clone(),
                        ordered: raw.ordered,
                    }
                }
                _ => {
                    cx.error(&at, "an enum needs a non-empty `values` list");
                    FactKind::Enum {
                        values: vec![],
                        ordered: false,
                    }
                }
            },
            "number" => {
                if let (Some(a), Some(b)) = (raw.min, raw.max) {
                    if a > b {
                        cx.error(&at, "min is greater than max");
                    }
                }
                FactKind::Number {
                    min: raw.min,
                    max: raw.max,
                    integer: raw.integer,
                }
            }
            other => {
                cx.error(
                    &at,
                    format!("unknown kind {other:?} (bool, enum or number)"),
                );
                FactKind::Bool
            }
        };
        let enum_keys = raw.values.is_some() || raw.ordered;
        let number_keys = raw.min.is_some() || raw.max.is_some() || raw.integer;
        let misplaced = (enum_keys && raw.kind != "enum") || (number_keys && raw.kind != "number");
        if misplaced {
            cx.error(
                &at,
                format!("a key does not belong to a fact of kind {}", raw.kind),
            );
        }
        let unsure_as = match (&kind, &raw.unsure_as) {
            (FactKind::Bool, None) => None,
            (FactKind::Enum { values, .. }, Some(v)) if raw.unsure => {
                let i = values.iter().position(|x| x == v);
                if i.is_none() {
                    cx.error(&at, format!("unsure_as {v:?} is not one of the values"));
                }
                i.map(|i| i as u16)
            }
            (FactKind::Enum { .. }, None) if raw.unsure => {
                cx.error(
                    &at,
                    "an enum with `unsure` names the value it reads as (unsure_as)",
                );
                None
            }
            (_, None) if !raw.unsure => None,
            _ => {
                cx.error(
                    &at,
                    "`unsure` is for yes/no facts (read as yes) and enums with `unsure_as`",
                );
                None
            }
        };
        if raw.sign && (raw.kind != "bool" || raw.unsure) {
            cx.error(&at, "`sign` is for yes/no facts without \"Not sure\"");
        }
        let asked_as_time = match raw.asked_as.as_deref() {
            None => false,
            Some("time") if raw.kind == "number" && raw.min == Some(0.0) && !raw.integer => true,
            Some(other) => {
                cx.error(
                    &at,
                    format!("asked_as {other:?}: only \"time\", for a number of hours from min 0"),
                );
                false
            }
        };
        ids.insert(id.clone(), facts.len() as FactIdx);
        facts.push(Fact {
            id,
            section,
            kind,
            asked_when: None,
            unsure: raw.unsure,
            unsure_as,
            sign: raw.sign,
            asked_as_time,
            confirm_when: None,
        });
    }
    // Asked-when conditions may only look at earlier facts, so applicability is computed in one
    // pass and can never loop.
    for (idx, raw) in file.fact.iter().enumerate() {
        let Some(when) = &raw.asked_when else {
            continue;
        };
        let Some(&fidx) = ids.get(raw.id.get_ref()) else {
            continue;
        };
        if fidx as usize != idx {
            continue;
        }
        let at = cx.loc("facts.toml", &raw.id);
        let scope = Scope {
            facts: &facts,
            fact_ids: &ids,
            terms: &no_terms,
            facts_before: Some(fidx),
        };
        let compiled = compile_condition(cx, when, &at, &scope);
        facts[idx].asked_when = compiled;
    }
    (facts, ids)
}

fn compile_terms(
    cx: &mut Compiler,
    file: &raw::TermsFile,
    facts: &[Fact],
    fact_ids: &HashMap<String, FactIdx>,
) -> HashMap<String, Condition> {
    let mut terms = HashMap::new();
    for raw in &file.term {
        let at = cx.loc("terms.toml", &raw.id);
        if terms.contains_key(raw.id.get_ref()) {
            cx.error(&at, "duplicate term id");
            continue;
        }
        if raw.note.trim().is_empty() {
            cx.error(&at, "a term needs a note saying where it comes from");
        }
        let scope = Scope {
            facts,
            fact_ids,
            terms: &terms,
            facts_before: None,
        };
        if let Some(c) = compile_condition(cx, &raw.when, &at, &scope) {
            if !satisfiable(&c, facts) {
                cx.error(&at, "the term can never be true");
            }
            terms.insert(raw.id.get_ref().clone(), c);
        }
    }
    terms
}

fn compile_actions(
    cx: &mut Compiler,
    file: &raw::ActionsFile,
) -> (Vec<Action>, HashMap<String, ActionIdx>) {
    let mut actions = Vec::new();
    let mut ids = HashMap::new();
    for raw in &file.action {
        let at = cx.loc("actions.toml", &raw.id);
        if ids.contains_key(raw.id.get_ref()) {
            cx.error(&at, "duplicate action id");
            continue;
        }
        let kind = match raw.kind.as_str() {
            "care" => ActionKind::Care,
            "referral" => ActionKind::Referral,
            "self_care" => ActionKind::SelfCare,
            "caution" => ActionKind::Caution,
            other => {
                cx.error(
                    &at,
                    format!("unknown kind {other:?} (care, referral, self_care or caution)"),
                );
                ActionKind::SelfCare
            }
        };
        ids.insert(raw.id.get_ref().clone(), actions.len() as ActionIdx);
        actions.push(Action {
            id: raw.id.get_ref().clone(),
            kind,
            education: raw.education.clone(),
            booking: raw.booking,
        });
    }
    (actions, ids)
}

fn action_ref(
    cx: &mut Compiler,
    at: &Loc,
    ids: &HashMap<String, ActionIdx>,
    id: &str,
) -> Option<ActionIdx> {
    let found = ids.get(id).copied();
    if found.is_none() {
        cx.error(at, format!("undefined action {id:?}"));
    }
    found
}

fn compile_levels(
    cx: &mut Compiler,
    file: &raw::LevelsFile,
    actions: &HashMap<String, ActionIdx>,
) -> [LevelInfo; 4] {
    let mut out: [LevelInfo; 4] = Default::default();
    let mut seen = HashSet::new();
    for raw in &file.level {
        let at = cx.loc("levels.toml", &raw.id);
        let Some(level) = Level::parse(raw.id.get_ref()) else {
            cx.error(&at, "unknown level (emergency, urgent, soon or self_care)");
            continue;
        };
        if !seen.insert(level) {
            cx.error(&at, "duplicate level");
        }
        out[level.index()] = LevelInfo {
            action: raw
                .action
                .as_deref()
                .and_then(|a| action_ref(cx, &at, actions, a)),
            check_in_again_hours: raw.check_in_again_hours,
            home_care: raw.home_care.unwrap_or(true),
        };
    }
    for level in Level::DESCENDING {
        if !seen.contains(&level) {
            cx.error(
                &file_loc("levels.toml"),
                format!("level {level} is not described"),
            );
        }
    }
    out
}

fn compile_rules(
    cx: &mut Compiler,
    file: &raw::RulesFile,
    scope: &Scope,
    actions: &HashMap<String, ActionIdx>,
) -> Vec<Rule> {
    let mut rules = Vec::new();
    let mut seen = HashSet::new();
    for raw in &file.rule {
        let at = cx.loc("rules.toml", &raw.id);
        if !seen.insert(raw.id.get_ref().clone()) {
            cx.error(&at, "duplicate rule id");
            continue;
        }
        let level = match Level::parse(&raw.level) {
            Some(Level::SelfCare) | None => {
                cx.error(
                    &at,
                    format!("level {:?} is not emergency, urgent or soon", raw.level),
                );
                continue;
            }
            Some(l) => l,
        };
        if raw.source.trim().is_empty() {
            cx.error(&at, "a rule needs its clinical source");
        } else if !cites_an_authority(&raw.source) {
            cx.error(
                &at,
                "the source must cite a guideline or paper with its year (e.g. \"NICE NG51, 2016\")",
            );
        }
        let adds = raw
            .adds
            .iter()
            .filter_map(|a| action_ref(cx, &at, actions, a))
            .collect();
        let mut adds_when = Vec::new();
        for cond in &raw.adds_when {
            let action = action_ref(cx, &at, actions, &cond.action);
            let when = compile_condition(cx, &cond.when, &at, scope);
            if let (Some(a), Some(w)) = (action, when) {
                adds_when.push((a, w));
            }
        }
        let Some(when) = compile_condition(cx, &raw.when, &at, scope) else {
            continue;
        };
        if !satisfiable(&when, scope.facts) {
            cx.error(
                &at,
                "the rule can never fire: its condition contradicts itself",
            );
        }
        for fact in unaskable_facts(&when, adds_when.iter().map(|(_, w)| w), scope.facts) {
            cx.error(
                &at,
                format!(
                    "the rule reads {:?}, whose question can never be asked (its asked_when is never true)",
                    scope.facts[fact as usize].id
                ),
            );
        }
        rules.push(Rule {
            id: raw.id.get_ref().clone(),
            level,
            when,
            adds,
            adds_when,
            source: raw.source.clone().into(),
        });
    }
    // Most urgent first; stable, so file order is kept within a level.
    rules.sort_by_key(|r| std::cmp::Reverse(r.level));
    rules
}

fn compile_plan(
    cx: &mut Compiler,
    file: &raw::PlanFile,
    scope: &Scope,
    actions: &HashMap<String, ActionIdx>,
    (rules, declared): (&[Rule], &HashSet<&str>),
) -> (Vec<PlanItem>, Vec<Watch>) {
    let mut items = Vec::new();
    let mut by_action: HashMap<String, usize> = HashMap::new();
    for raw in &file.item {
        let at = cx.loc("plan.toml", &raw.action);
        let Some(action) = action_ref(cx, &at, actions, raw.action.get_ref()) else {
            continue;
        };
        if by_action
            .insert(raw.action.get_ref().clone(), items.len())
            .is_some()
        {
            cx.error(&at, "the action has two plan items");
        }
        if let (Some(a), Some(b)) = (raw.from_pain_day, raw.until_pain_day) {
            if a > b {
                cx.error(&at, "from_pain_day is after until_pain_day");
            }
        }
        let when = compile_condition(cx, &raw.when, &at, scope);
        let unless = raw
            .unless
            .as_ref()
            .and_then(|u| compile_condition(cx, u, &at, scope));
        let Some(when) = when else { continue };
        let never = match &unless {
            Some(u) => !satisfiable(
                &Condition::All(vec![when.clone(), Condition::Not(Box::new(u.clone()))]),
                scope.facts,
            ),
            None => !satisfiable(&when, scope.facts),
        };
        if never {
            cx.error(&at, "the plan item can never apply");
        }
        items.push(PlanItem {
            action,
            when,
            unless,
            from_pain_day: raw.from_pain_day,
            until_pain_day: raw.until_pain_day,
            then: None,
            params: raw.params.clone(),
        });
    }
    for (idx, raw) in file.item.iter().enumerate() {
        let Some(next) = &raw.then else { continue };
        let at = cx.loc("plan.toml", &raw.action);
        match by_action.get(next) {
            Some(&n) if idx < items.len() => items[idx].then = Some(n),
            Some(_) => {}
            None => cx.error(
                &at,
                format!("`then` names {next:?}, which has no plan item"),
            ),
        }
    }
    let mut watch = Vec::new();
    let mut seen = HashSet::new();
    for raw in &file.watch {
        let at = cx.loc("plan.toml", &raw.id);
        if !seen.insert(raw.id.get_ref().clone()) {
            cx.error(&at, "duplicate watch id");
        }
        let when = raw
            .when
            .as_ref()
            .and_then(|w| compile_condition(cx, w, &at, scope));
        let urgency = match Level::parse(&raw.urgency) {
            Some(Level::SelfCare) | None => {
                cx.error(
                    &at,
                    format!("urgency {:?} is not emergency, urgent or soon", raw.urgency),
                );
                Level::Emergency
            }
            Some(l) => l,
        };
        if raw.rules.is_empty() {
            cx.error(&at, "a warning must name the rules it stands for");
        }
        let mut named = Vec::new();
        for id in &raw.rules {
            let Some(idx) = rules.iter().position(|r| &r.id == id) else {
                if !declared.contains(id.as_str()) {
                    cx.error(&at, format!("unknown rule {id:?}"));
                }
                continue;
            };
            if rules[idx].level > urgency {
                cx.error(
                    &at,
                    format!(
                        "the warning says {urgency} but stands for {id}, which is {}",
                        rules[idx].level
                    ),
                );
            }
            named.push(idx);
        }
        watch.push(Watch {
            id: raw.id.get_ref().clone(),
            when,
            urgency,
            rules: named,
        });
    }
    for (idx, rule) in rules.iter().enumerate() {
        if rule.level == Level::Emergency && !watch.iter().any(|w| w.rules.contains(&idx)) {
            cx.error(
                &file_loc("plan.toml"),
                format!("no warning describes the signs of {}", rule.id),
            );
        }
    }
    (items, watch)
}

fn compile_course(
    cx: &mut Compiler,
    file: &raw::CourseFile,
    scope: &Scope,
    actions: &HashMap<String, ActionIdx>,
) -> Course {
    let at = file_loc("course.toml");
    if file.change.points <= 0.0 || !(0.0..1.0).contains(&file.change.fraction) {
        cx.error(
            &at,
            "[change] needs points > 0 and a fraction between 0 and 1",
        );
    }
    let mut milestones = Vec::new();
    let mut seen = HashSet::new();
    for raw in &file.milestone {
        let at = cx.loc("course.toml", &raw.id);
        if !seen.insert(raw.id.get_ref().clone()) {
            cx.error(&at, "duplicate milestone id");
        }
        let check = match raw.check.as_str() {
            "pain_gone" => MilestoneCheck::PainGone,
            "meaningful_improvement" => MilestoneCheck::MeaningfulImprovement,
            "still_present" => MilestoneCheck::StillPresent,
            other => {
                cx.error(&at, format!("unknown check {other:?}"));
                continue;
            }
        };
        let Some(escalate) = Level::parse(&raw.escalate) else {
            cx.error(&at, format!("unknown level {:?}", raw.escalate));
            continue;
        };
        let day_fact = match &raw.day_fact {
            None => None,
            Some(id) => match scope.fact_ids.get(id) {
                Some(&f) if matches!(scope.facts[f as usize].kind, FactKind::Number { .. }) => {
                    Some(f)
                }
                _ => {
                    cx.error(&at, format!("day_fact {id:?} is not a number fact"));
                    continue;
                }
            },
        };
        if (day_fact.is_some()) != (check == MilestoneCheck::StillPresent) {
            cx.error(
                &at,
                "still_present needs a day_fact, and only still_present takes one",
            );
        }
        let adds = raw
            .adds
            .iter()
            .filter_map(|a| action_ref(cx, &at, actions, a))
            .collect();
        if let Some(when) = compile_condition(cx, &raw.when, &at, scope) {
            milestones.push(Milestone {
                id: raw.id.get_ref().clone(),
                day: raw.day,
                day_fact,
                when,
                check,
                escalate,
                adds,
            });
        }
    }
    let want = |cx: &mut Compiler, id: &str, kind: &str| -> FactIdx {
        let found = scope.fact_ids.get(id).copied().filter(|f| {
            let k = &scope.facts[*f as usize].kind;
            matches!(
                (kind, k),
                ("bool", FactKind::Bool)
                    | ("enum", FactKind::Enum { .. })
                    | ("number", FactKind::Number { .. })
            )
        });
        found.unwrap_or_else(|| {
            cx.error(
                &file_loc("course.toml"),
                format!("[context] {id:?} must be a {kind} fact"),
            );
            0
        })
    };
    let c = &file.context;
    let context = ContextFacts {
        pain: want(cx, &c.pain, "bool"),
        score: want(cx, &c.score, "number"),
        pain_days: want(cx, &c.pain_days, "number"),
        procedure: want(cx, &c.procedure, "enum"),
        hours_since_procedure: want(cx, &c.hours_since_procedure, "number"),
        delivered: want(cx, &c.delivered, "bool"),
        days_since_delivery: want(cx, &c.days_since_delivery, "number"),
    };
    Course {
        context,
        change_points: file.change.points,
        change_fraction: file.change.fraction,
        milestones,
    }
}

/// Compiles one condition table, reporting every problem at `at`.
fn compile_condition(
    cx: &mut Compiler,
    raw: &RawCondition,
    at: &Loc,
    scope: &Scope,
) -> Option<Condition> {
    let forms = [
        ("fact", raw.fact.is_some()),
        ("term", raw.term.is_some()),
        ("all", raw.all.is_some()),
        ("any", raw.any.is_some()),
        ("not", raw.not.is_some()),
    ];
    let used: Vec<&str> = forms.iter().filter(|f| f.1).map(|f| f.0).collect();
    if used.len() != 1 {
        cx.error(
            at,
            format!("a condition needs exactly one of fact, term, all, any, not; found {used:?}"),
        );
        return None;
    }
    let has_test = raw.is.is_some()
        || raw.is_not.is_some()
        || raw.one_of.is_some()
        || raw.lt.is_some()
        || raw.le.is_some()
        || raw.gt.is_some()
        || raw.ge.is_some();
    if raw.fact.is_none() && has_test {
        cx.error(at, "is, is_not, in, lt, le, gt and ge go with `fact`");
        return None;
    }
    if let Some(parts) = raw.all.as_ref().or(raw.any.as_ref()) {
        if parts.is_empty() {
            cx.error(at, "an empty all/any list");
            return None;
        }
        let compiled: Vec<Condition> = parts
            .iter()
            .filter_map(|p| compile_condition(cx, p, at, scope))
            .collect();
        if compiled.len() != parts.len() {
            return None;
        }
        return Some(if raw.all.is_some() {
            Condition::All(compiled)
        } else {
            Condition::Any(compiled)
        });
    }
    if let Some(inner) = &raw.not {
        return compile_condition(cx, inner, at, scope).map(|c| Condition::Not(Box::new(c)));
    }
    if let Some(term) = &raw.term {
        let found = scope.terms.get(term).cloned();
        if found.is_none() {
            cx.error(
                at,
                format!("unknown term {term:?} (terms must be defined above their use)"),
            );
        }
        return found;
    }
    let id = raw.fact.as_ref()?;
    let idx = fact_ref(cx, at, scope, id)?;
    let fact = &scope.facts[idx as usize];
    let comparisons = [
        (Cmp::Lt, raw.lt),
        (Cmp::Le, raw.le),
        (Cmp::Gt, raw.gt),
        (Cmp::Ge, raw.ge),
    ];
    let tests = comparisons.iter().filter(|c| c.1.is_some()).count()
        + [raw.is.is_some(), raw.is_not.is_some(), raw.one_of.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
    if tests > 1 {
        cx.error(
            at,
            format!("{id}: one test per condition (is, is_not, in, lt, le, gt or ge)"),
        );
        return None;
    }
    if tests == 0 {
        return match fact.kind {
            FactKind::Bool => Some(Condition::Is(idx, Value::Bool(true))),
            _ => {
                cx.error(
                    at,
                    format!("{id} is not yes/no: say what to compare it with"),
                );
                None
            }
        };
    }
    if let Some((cmp, Some(n))) = comparisons.iter().find(|c| c.1.is_some()) {
        let FactKind::Number { min, max, .. } = fact.kind else {
            cx.error(
                at,
                format!("{id} is not a number: {} cannot compare it", cmp.as_str()),
            );
            return None;
        };
        if min.is_some_and(|m| *n < m) || max.is_some_and(|m| *n > m) {
            cx.error(
                at,
                format!(
                    "{id} {} {n}: outside the fact's range ({})",
                    cmp.as_str(),
                    fact.range_text()
                ),
            );
            return None;
        }
        return Some(Condition::Compare(idx, *cmp, *n));
    }
    if let Some(list) = &raw.one_of {
        let values: Option<Vec<u16>> = list.iter().map(|v| enum_value(cx, at, fact, v)).collect();
        let values = values?;
        if values.is_empty() {
            cx.error(at, format!("{id}: an empty `in` list"));
            return None;
        }
        return Some(Condition::In(idx, values));
    }
    let (value, negate) = match (&raw.is, &raw.is_not) {
        (Some(v), _) => (v, false),
        (_, Some(v)) => (v, true),
        _ => return None,
    };
    match &fact.kind {
        FactKind::Bool => match value.as_bool() {
            Some(b) => Some(Condition::Is(idx, Value::Bool(b != negate))),
            None => {
                cx.error(
                    at,
                    format!(
                        "{id} is yes/no: compare it with true or false, not {}",
                        show(value)
                    ),
                );
                None
            }
        },
        FactKind::Enum { values, .. } => {
            let v = enum_value(cx, at, fact, value)?;
            if negate {
                // "is not" keeps the atom about the fact: false when the fact does not apply.
                let rest = (0..values.len() as u16).filter(|i| *i != v).collect();
                Some(Condition::In(idx, rest))
            } else {
                Some(Condition::Is(idx, Value::Enum(v)))
            }
        }
        FactKind::Number { .. } => {
            cx.error(at, format!("{id} is a number: use lt, le, gt or ge"));
            None
        }
    }
}

fn fact_ref(cx: &mut Compiler, at: &Loc, scope: &Scope, id: &str) -> Option<FactIdx> {
    let Some(&idx) = scope.fact_ids.get(id) else {
        cx.error(at, format!("unknown fact {id:?}"));
        return None;
    };
    if scope.facts_before.is_some_and(|limit| idx >= limit) {
        cx.error(
            at,
            format!("asked_when may only use facts listed before this one, not {id:?}"),
        );
        return None;
    }
    Some(idx)
}

fn enum_value(cx: &mut Compiler, at: &Loc, fact: &Fact, v: &toml::Value) -> Option<u16> {
    let FactKind::Enum { values, .. } = &fact.kind else {
        cx.error(at, format!("{}: `in` is only for enum facts", fact.id));
        return None;
    };
    let found = v.as_str().and_then(|s| values.iter().position(|x| x == s));
    if found.is_none() {
        cx.error(
            at,
            format!(
                "{}: {} is not one of {}",
                fact.id,
                show(v),
                values.join(", ")
            ),
        );
    }
    found.map(|i| i as u16)
}

/// One language file against the content: every id has every text, no text is for an unknown id.
fn compile_texts(
    cx: &mut Compiler,
    name: &str,
    file: &raw::TextFile,
    content: &Content,
) -> Option<Texts> {
    let stem = name.trim_start_matches("text/").trim_end_matches(".toml");
    if file.meta.language != stem {
        cx.error(
            &file_loc(name),
            format!(
                "[meta] language {:?} should match the file name",
                file.meta.language
            ),
        );
    }
    let mut reader = TextReader {
        cx,
        file: name,
        groups: &file.groups,
    };
    for group in file.groups.keys() {
        if ![
            "level",
            "section",
            "fact",
            "rule",
            "action",
            "booking",
            "plan",
            "watch",
            "urgency",
            "status",
            "milestone",
            "concern",
            "ui",
            "workspace",
        ]
        .contains(&group.as_str())
        {
            reader
                .cx
                .error(&file_loc(name), format!("unknown text group [{group}]"));
        }
    }
    let level_ids: Vec<String> = [
        Level::SelfCare,
        Level::Soon,
        Level::Urgent,
        Level::Emergency,
    ]
    .iter()
    .map(|l| l.as_str().to_string())
    .collect();
    let mut levels: [LevelText; 4] = Default::default();
    for (i, t) in reader
        .group("level", &level_ids, &["title", "now"])
        .into_iter()
        .enumerate()
    {
        levels[i] = LevelText {
            title: t[0].clone().into(),
            now: t[1].clone().into(),
        };
    }
    let sections = reader
        .group("section", &content.sections, &["title"])
        .into_iter()
        .map(|mut t| t.remove(0))
        .collect();
    let fact_ids: Vec<String> = content.facts.iter().map(|f| f.id.clone()).collect();
    let fact_texts = reader.group("fact", &fact_ids, &["question", "help"]);
    let mut facts = Vec::new();
    for (fact, t) in content.facts.iter().zip(fact_texts) {
        let values = match &fact.kind {
            FactKind::Enum { values, .. } => reader.enum_labels(&fact.id, values),
            _ => Vec::new(),
        };
        let sign = reader.sign(fact);
        facts.push(FactText {
            question: t[0].clone(),
            help: t[1].clone(),
            values,
            sign,
        });
    }
    let rule_ids: Vec<String> = content.rules.iter().map(|r| r.id.clone()).collect();
    let rules = reader
        .group("rule", &rule_ids, &["patient", "clinician", "short"])
        .into_iter()
        .map(|t| RuleText {
            patient: t[0].clone().into(),
            clinician: t[1].clone().into(),
            short: t[2].clone().into(),
        })
        .collect();
    let action_ids: Vec<String> = content.actions.iter().map(|a| a.id.clone()).collect();
    let actions = reader
        .group("action", &action_ids, &["text"])
        .into_iter()
        .map(|mut t| t.remove(0))
        .collect();
    // Whom she would see, for each action she can book: every language names each one.
    let booking_ids: Vec<String> = content
        .actions
        .iter()
        .filter(|a| a.booking)
        .map(|a| a.id.clone())
        .collect();
    let mut booking_texts = reader.group("booking", &booking_ids, &["who"]).into_iter();
    let booking: Vec<Option<String>> = content
        .actions
        .iter()
        .map(|a| {
            a.booking
                .then(|| booking_texts.next().map(|mut t| t.remove(0)))
                .flatten()
        })
        .collect();
    let plan_ids: Vec<String> = content
        .plan_items
        .iter()
        .map(|p| content.actions[p.action as usize].id.clone())
        .collect();
    let plan: Vec<PlanText> = reader
        .group("plan", &plan_ids, &["title", "text"])
        .into_iter()
        .map(|t| PlanText {
            title: t[0].clone().into(),
            text: t[1].clone().into(),
        })
        .collect();
    for (item, (id, text)) in content.plan_items.iter().zip(plan_ids.iter().zip(&plan)) {
        for placeholder in placeholders(&text.text) {
            if !item.params.contains_key(placeholder) {
                let at = reader.loc("plan", id);
                reader.cx.error(
                    &at,
                    format!("{{{placeholder}}} is not a parameter of this item"),
                );
            }
        }
    }
    // The parameters are content too: fill them in once, here, not on every decision.
    let plan: Vec<PlanText> = plan
        .into_iter()
        .zip(&content.plan_items)
        .map(|(t, item)| PlanText {
            text: fill(&t.text, &item.params).into(),
            title: t.title,
        })
        .collect();
    // A warning is its signs and what to do about them; the second half comes from the urgency
    // it states, so that the words and the checked level cannot drift apart.
    let urgency_ids: Vec<String> = [Level::Emergency, Level::Urgent, Level::Soon]
        .iter()
        .map(|l| l.as_str().to_string())
        .collect();
    let urgency = reader.group("urgency", &urgency_ids, &["act", "heading"]);
    let watch_ids: Vec<String> = content.watch.iter().map(|w| w.id.clone()).collect();
    let watch_signs: Vec<String> = reader
        .group("watch", &watch_ids, &["signs"])
        .into_iter()
        .map(|mut t| t.remove(0))
        .collect();
    let watch = watch_signs
        .iter()
        .zip(&content.watch)
        .map(|(signs, w)| {
            let act = urgency
                .get(urgency_index(w.urgency))
                .map(|a| a[0].as_str())
                .unwrap_or_default();
            Text::new(format!("{signs}: {act}"))
        })
        .collect();
    let urgency_headings = urgency.into_iter().map(|mut a| a.remove(1)).collect();
    let incomplete = reader
        .group("status", &["incomplete".to_string()], &["title", "now"])
        .into_iter()
        .next()
        .map(|t| LevelText {
            title: t[0].clone().into(),
            now: t[1].clone().into(),
        })
        .unwrap_or_default();
    let milestone_ids: Vec<String> = content
        .course
        .milestones
        .iter()
        .map(|m| m.id.clone())
        .collect();
    let (milestones, milestone_labels) = reader
        .group("milestone", &milestone_ids, &["text", "label"])
        .into_iter()
        .map(|mut t| {
            let label = t.remove(1);
            (t.remove(0), label)
        })
        .unzip();
    let concern_ids: Vec<String> = content.concerns.iter().map(|c| c.id.clone()).collect();
    let concerns = reader
        .group("concern", &concern_ids, &["label"])
        .into_iter()
        .map(|mut t| t.remove(0))
        .collect();
    let ui = flat_group(&mut reader, "ui");
    let workspace = flat_group(&mut reader, "workspace");
    Some(Texts {
        ui,
        workspace,
        code: file.meta.language.clone(),
        name: file.meta.name.clone(),
        levels,
        sections,
        concerns,
        facts,
        rules,
        actions,
        booking,
        plan,
        watch,
        watch_signs,
        urgency_headings,
        incomplete,
        milestones,
        milestone_labels,
    })
}

/// A group of free texts by key (the words around the clinical texts): each a non-empty string.
fn flat_group(reader: &mut TextReader, group: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Some(table) = reader.groups.get(group).and_then(|u| u.as_table()) {
        for (key, value) in table {
            match value.as_str() {
                Some(text) if !text.trim().is_empty() => {
                    out.insert(key.clone(), text.to_string());
                }
                _ => {
                    let at = reader.loc(group, key);
                    reader
                        .cx
                        .error(&at, format!("a {group} text must be a non-empty string"));
                }
            }
        }
    }
    out
}

/// Replaces `{name}` placeholders with the item's parameters (each checked above).
fn fill(text: &str, params: &std::collections::BTreeMap<String, f64>) -> String {
    let mut out = text.to_string();
    for (name, value) in params {
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    out
}

fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

struct TextReader<'a, 'c, 's> {
    cx: &'c mut Compiler<'s>,
    file: &'a str,
    groups: &'a BTreeMap<String, toml::Value>,
}

impl TextReader<'_, '_, '_> {
    fn loc(&self, group: &str, id: &str) -> Loc {
        let header = format!("[{group}.{id}]");
        let line = self.cx.source(self.file).and_then(|s| {
            s.text
                .lines()
                .position(|l| l.trim() == header)
                .map(|i| i + 1)
        });
        Loc {
            file: self.file.into(),
            line,
            id: Some(format!("{group}.{id}")),
        }
    }

    /// For each id, the listed keys' strings (empty when missing, with the error recorded).
    fn group(&mut self, group: &str, ids: &[String], keys: &[&str]) -> Vec<Vec<String>> {
        let table = self.groups.get(group).and_then(|g| g.as_table());
        if let Some(table) = table {
            for id in table.keys() {
                if !ids.contains(id) {
                    let at = self.loc(group, id);
                    self.cx
                        .error(&at, format!("text for an unknown {group} id"));
                }
            }
        }
        let mut out = Vec::new();
        for id in ids {
            let entry = table.and_then(|t| t.get(id)).and_then(|e| e.as_table());
            let at = self.loc(group, id);
            let Some(entry) = entry else {
                self.cx.error(&at, "missing translation");
                out.push(vec![String::new(); keys.len()]);
                continue;
            };
            for k in entry.keys() {
                let enum_labels = group == "fact" && (k == "values" || k == "sign");
                if !keys.contains(&k.as_str()) && !enum_labels {
                    self.cx.error(&at, format!("unknown key {k:?}"));
                }
            }
            let mut texts = Vec::new();
            for key in keys {
                let text = entry.get(*key).and_then(|v| v.as_str()).unwrap_or("");
                if text.trim().is_empty() {
                    self.cx.error(&at, format!("missing translation: {key}"));
                }
                texts.push(text.to_string());
            }
            out.push(texts);
        }
        out
    }

    /// A sign's checklist label: required for a sign, refused for any other fact.
    fn sign(&mut self, fact: &Fact) -> String {
        let at = self.loc("fact", &fact.id);
        let text = (self.groups.get("fact"))
            .and_then(|g| g.get(&fact.id))
            .and_then(|f| f.get("sign"))
            .map(|v| v.as_str().unwrap_or_default().to_string());
        match (fact.sign, text) {
            (true, Some(t)) if !t.trim().is_empty() => t,
            (true, _) => {
                self.cx.error(&at, "missing translation: sign");
                String::new()
            }
            (false, Some(_)) => {
                self.cx
                    .error(&at, "a `sign` text for a fact that is not a sign");
                String::new()
            }
            (false, None) => String::new(),
        }
    }

    fn enum_labels(&mut self, fact: &str, values: &[String]) -> Vec<String> {
        let at = self.loc("fact", fact);
        let table = self
            .groups
            .get("fact")
            .and_then(|g| g.get(fact))
            .and_then(|f| f.get("values"))
            .and_then(|v| v.as_table());
        let Some(table) = table else {
            self.cx.error(&at, "missing translation: values");
            return vec![String::new(); values.len()];
        };
        for k in table.keys() {
            if !values.contains(k) {
                self.cx
                    .error(&at, format!("label for an unknown value {k:?}"));
            }
        }
        values
            .iter()
            .map(|v| {
                let label = table.get(v).and_then(|l| l.as_str()).unwrap_or("");
                if label.trim().is_empty() {
                    self.cx
                        .error(&at, format!("missing translation: values.{v}"));
                }
                label.to_string()
            })
            .collect()
    }
}

/// A TOML value as it would be written, for messages.
fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => format!("a {}", other.type_str()),
    }
}

/// Whether a source names an authority the way a citation does: a year (a guideline's or a
/// paper's) or a guideline number. A bare phrase ("Postpartum haemorrhage") is an opinion.
fn cites_an_authority(source: &str) -> bool {
    source
        .as_bytes()
        .windows(4)
        .any(|w| w.iter().all(u8::is_ascii_digit) && (w.starts_with(b"19") || w.starts_with(b"20")))
}

/// The facts a rule reads whose question no questionnaire can ever reach: the engine asks a
/// fact only once its "asked when" holds, so a fact whose gate can never be true is never
/// answered, and every rule that needs it silently waits forever.
fn unaskable_facts<'c>(
    when: &'c Condition,
    more: impl Iterator<Item = &'c Condition>,
    facts: &[Fact],
) -> Vec<FactIdx> {
    let mut read = Vec::new();
    for c in std::iter::once(when).chain(more) {
        c.visit_facts(&mut |f| {
            if !read.contains(&f) {
                read.push(f)
            }
        });
    }
    read.retain(|&f| {
        facts[f as usize]
            .asked_when
            .as_ref()
            .is_some_and(|gate| !satisfiable(gate, facts))
    });
    read
}

/// Where a warning's urgency sits in the `[urgency.*]` texts: emergency, urgent, soon.
pub(crate) fn urgency_index(level: Level) -> usize {
    match level {
        Level::Emergency => 0,
        Level::Urgent => 1,
        Level::Soon | Level::SelfCare => 2,
    }
}
