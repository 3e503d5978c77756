//! "A rule that can never fire" is a content error: usually a typo that makes a red flag
//! silently dead. This module decides whether a condition can be true for some case.
//!
//! The condition is put in negation normal form and expanded into a disjunction of conjunctions
//! of literals; a conjunction is possible when, fact by fact, its literals leave some value. A
//! positive literal about a fact also requires the fact to apply, so its "asked when" joins the
//! conjunction. Very large expansions are assumed satisfiable rather than searched.

use super::{Cmp, Condition, Fact, FactIdx, FactKind};
use crate::case::Value;
use std::collections::HashMap;

const MAX_CONJUNCTIONS: usize = 4096;

/// A literal: an atom or its negation.
#[derive(Clone)]
struct Literal {
    atom: Condition,
    positive: bool,
}

pub(super) fn satisfiable(c: &Condition, facts: &[Fact]) -> bool {
    match dnf(c, true, facts, 0) {
        Some(conjunctions) => conjunctions.iter().any(|c| consistent(c, facts)),
        None => true,
    }
}

/// The condition (negated when `positive` is false) as a list of conjunctions, or `None` when it
/// grows too large to check.
fn dnf(c: &Condition, positive: bool, facts: &[Fact], depth: usize) -> Option<Vec<Vec<Literal>>> {
    if depth > 32 {
        return None;
    }
    let conjoin = |parts: &[Condition]| -> Option<Vec<Vec<Literal>>> {
        let mut acc: Vec<Vec<Literal>> = vec![Vec::new()];
        for p in parts {
            let next = dnf(p, positive, facts, depth + 1)?;
            let mut product = Vec::new();
            for a in &acc {
                for b in &next {
                    product.push(a.iter().chain(b).cloned().collect());
                }
            }
            if product.len() > MAX_CONJUNCTIONS {
                return None;
            }
            acc = product;
        }
        Some(acc)
    };
    let disjoin = |parts: &[Condition]| -> Option<Vec<Vec<Literal>>> {
        let mut out = Vec::new();
        for p in parts {
            out.extend(dnf(p, positive, facts, depth + 1)?);
        }
        (out.len() <= MAX_CONJUNCTIONS).then_some(out)
    };
    match (c, positive) {
        (Condition::All(p), true) | (Condition::Any(p), false) => conjoin(p),
        (Condition::Any(p), true) | (Condition::All(p), false) => disjoin(p),
        (Condition::Not(inner), _) => dnf(inner, !positive, facts, depth + 1),
        (atom, _) => {
            let literal = Literal {
                atom: atom.clone(),
                positive,
            };
            let gate = atom_fact(atom).and_then(|f| facts[f as usize].asked_when.as_ref());
            match (positive, gate) {
                (true, Some(gate)) => {
                    let mut out = dnf(gate, true, facts, depth + 1)?;
                    out.iter_mut().for_each(|c| c.push(literal.clone()));
                    Some(out)
                }
                _ => Some(vec![vec![literal]]),
            }
        }
    }
}

fn atom_fact(c: &Condition) -> Option<FactIdx> {
    match c {
        Condition::Is(f, _) | Condition::In(f, _) | Condition::Compare(f, _, _) => Some(*f),
        _ => None,
    }
}

/// What one conjunction still allows for one fact.
enum Domain {
    Values(Vec<bool>),
    Range {
        lo: f64,
        lo_open: bool,
        hi: f64,
        hi_open: bool,
        integer: bool,
    },
}

fn consistent(literals: &[Literal], facts: &[Fact]) -> bool {
    let mut domains: HashMap<FactIdx, Domain> = HashMap::new();
    for lit in literals {
        let Some(f) = atom_fact(&lit.atom) else {
            continue;
        };
        let fact = &facts[f as usize];
        let domain = domains.entry(f).or_insert_with(|| initial(fact));
        match (&lit.atom, domain) {
            (Condition::Is(_, v), Domain::Values(allowed)) => {
                let idx = match v {
                    Value::Bool(b) => usize::from(*b),
                    Value::Enum(i) => *i as usize,
                    Value::Number(_) => continue,
                };
                for (i, a) in allowed.iter_mut().enumerate() {
                    if (i == idx) != lit.positive {
                        *a = false;
                    }
                }
            }
            (Condition::In(_, set), Domain::Values(allowed)) => {
                for (i, a) in allowed.iter_mut().enumerate() {
                    if set.contains(&(i as u16)) != lit.positive {
                        *a = false;
                    }
                }
            }
            (
                Condition::Compare(_, cmp, n),
                Domain::Range {
                    lo,
                    lo_open,
                    hi,
                    hi_open,
                    ..
                },
            ) => {
                let cmp = if lit.positive { *cmp } else { negate(*cmp) };
                match cmp {
                    Cmp::Gt | Cmp::Ge => {
                        let open = cmp == Cmp::Gt;
                        if *n > *lo || (*n == *lo && open) {
                            *lo = *n;
                            *lo_open = open;
                        }
                    }
                    Cmp::Lt | Cmp::Le => {
                        let open = cmp == Cmp::Lt;
                        if *n < *hi || (*n == *hi && open) {
                            *hi = *n;
                            *hi_open = open;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    domains.values().all(|d| match d {
        Domain::Values(allowed) => allowed.iter().any(|a| *a),
        Domain::Range {
            lo,
            lo_open,
            hi,
            hi_open,
            integer,
        } => {
            if lo > hi || (lo == hi && (*lo_open || *hi_open)) {
                return false;
            }
            if *integer {
                let first = if *lo_open {
                    lo.floor() + 1.0
                } else {
                    lo.ceil()
                };
                first < *hi || (first == *hi && !*hi_open)
            } else {
                true
            }
        }
    })
}

fn negate(c: Cmp) -> Cmp {
    match c {
        Cmp::Lt => Cmp::Ge,
        Cmp::Le => Cmp::Gt,
        Cmp::Gt => Cmp::Le,
        Cmp::Ge => Cmp::Lt,
    }
}

fn initial(fact: &Fact) -> Domain {
    match &fact.kind {
        FactKind::Bool => Domain::Values(vec![true, true]),
        FactKind::Enum { values, .. } => Domain::Values(vec![true; values.len()]),
        FactKind::Number {
            min, max, integer, ..
        } => Domain::Range {
            lo: min.unwrap_or(f64::NEG_INFINITY),
            lo_open: false,
            hi: max.unwrap_or(f64::INFINITY),
            hi_open: false,
            integer: *integer,
        },
    }
}
