//! Conditions: the structured expressions of rules, terms, plan items and "asked when".
//!
//! They are compiled from the raw tables into a tree over fact indices (terms are inlined), and
//! evaluated in three-valued logic against a case. An atom about a fact that does not apply
//! (its "asked when" is false) is false: a question that was rightly never asked cannot make a
//! rule fire, nor keep a decision open.

use crate::case::Value;
use crate::logic::Tri;

/// Index of a fact in [`crate::Content::facts`].
pub type FactIdx = u16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn holds(self, x: f64, n: f64) -> bool {
        match self {
            Cmp::Lt => x < n,
            Cmp::Le => x <= n,
            Cmp::Gt => x > n,
            Cmp::Ge => x >= n,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cmp::Lt => "lt",
            Cmp::Le => "le",
            Cmp::Gt => "gt",
            Cmp::Ge => "ge",
        }
    }
}

/// A compiled condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// The fact has this value (a bool, or an enum value's index).
    Is(FactIdx, Value),
    /// An enum fact has one of these value indices.
    In(FactIdx, Vec<u16>),
    /// A numeric fact compares with a threshold.
    Compare(FactIdx, Cmp, f64),
}

/// What an evaluation needs to know about a case: its values and, per fact, whether the fact's
/// question applies (computed once per case, in fact order).
pub trait Facts {
    fn value(&self, fact: FactIdx) -> Option<Value>;
    /// Whether an absent fact is unknown (`Unknown`/`True` applicability) or simply does not
    /// apply (`False`).
    fn absent_means(&self, fact: FactIdx) -> Tri;
}

impl Condition {
    pub fn eval(&self, facts: &impl Facts) -> Tri {
        match self {
            Condition::All(parts) => {
                let mut out = Tri::True;
                for part in parts {
                    match part.eval(facts) {
                        Tri::False => return Tri::False,
                        Tri::Unknown => out = Tri::Unknown,
                        Tri::True => {}
                    }
                }
                out
            }
            Condition::Any(parts) => {
                let mut out = Tri::False;
                for part in parts {
                    match part.eval(facts) {
                        Tri::True => return Tri::True,
                        Tri::Unknown => out = Tri::Unknown,
                        Tri::False => {}
                    }
                }
                out
            }
            Condition::Not(inner) => inner.eval(facts).negate(),
            Condition::Is(fact, want) => atom(facts, *fact, |v| v == *want),
            Condition::In(fact, set) => atom(facts, *fact, |v| match v {
                Value::Enum(i) => set.contains(&i),
                _ => false,
            }),
            Condition::Compare(fact, cmp, n) => atom(facts, *fact, |v| match v {
                Value::Number(x) => cmp.holds(x, *n),
                _ => false,
            }),
        }
    }

    /// Calls `f` with every fact the condition mentions, in order of appearance.
    pub fn visit_facts(&self, f: &mut impl FnMut(FactIdx)) {
        match self {
            Condition::All(parts) | Condition::Any(parts) => {
                parts.iter().for_each(|p| p.visit_facts(f))
            }
            Condition::Not(inner) => inner.visit_facts(f),
            Condition::Is(x, _) | Condition::In(x, _) | Condition::Compare(x, _, _) => f(*x),
        }
    }

    /// The facts whose answers could still change this condition's value: it walks only the
    /// branches that are themselves unknown, so a settled branch never prompts a question.
    pub fn unsettled_facts(&self, facts: &impl Facts, out: &mut impl FnMut(FactIdx)) {
        if self.eval(facts) != Tri::Unknown {
            return;
        }
        match self {
            Condition::All(parts) | Condition::Any(parts) => {
                parts.iter().for_each(|p| p.unsettled_facts(facts, out))
            }
            Condition::Not(inner) => inner.unsettled_facts(facts, out),
            Condition::Is(x, _) | Condition::In(x, _) | Condition::Compare(x, _, _) => out(*x),
        }
    }
}

fn atom(facts: &impl Facts, fact: FactIdx, test: impl Fn(Value) -> bool) -> Tri {
    match facts.value(fact) {
        Some(v) => Tri::from_bool(test(v)),
        None => match facts.absent_means(fact) {
            Tri::False => Tri::False,
            _ => Tri::Unknown,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Two([Option<Value>; 2]);
    impl Facts for Two {
        fn value(&self, fact: FactIdx) -> Option<Value> {
            self.0[fact as usize]
        }
        fn absent_means(&self, _: FactIdx) -> Tri {
            Tri::Unknown
        }
    }

    fn yes(f: FactIdx) -> Condition {
        Condition::Is(f, Value::Bool(true))
    }

    #[test]
    fn an_unknown_fact_cannot_rescue_a_false_conjunction() {
        let c = Condition::All(vec![yes(0), yes(1)]);
        assert_eq!(c.eval(&Two([None, Some(Value::Bool(false))])), Tri::False);
        assert_eq!(c.eval(&Two([None, Some(Value::Bool(true))])), Tri::Unknown);
    }

    #[test]
    fn an_unknown_fact_keeps_a_disjunction_open_until_one_part_is_true() {
        let c = Condition::Any(vec![yes(0), yes(1)]);
        assert_eq!(c.eval(&Two([None, Some(Value::Bool(false))])), Tri::Unknown);
        assert_eq!(c.eval(&Two([None, Some(Value::Bool(true))])), Tri::True);
        assert_eq!(
            Condition::Not(Box::new(c)).eval(&Two([None, None])),
            Tri::Unknown
        );
    }

    #[test]
    fn only_the_unsettled_branch_asks_for_facts() {
        let c = Condition::Any(vec![
            Condition::All(vec![yes(0), yes(1)]),
            Condition::Compare(1, Cmp::Ge, 3.0),
        ]);
        let mut asked = Vec::new();
        c.unsettled_facts(&Two([None, Some(Value::Bool(false))]), &mut |f| {
            asked.push(f)
        });
        assert!(asked.is_empty(), "settled false: {asked:?}");
        c.unsettled_facts(&Two([None, Some(Value::Bool(true))]), &mut |f| {
            asked.push(f)
        });
        assert_eq!(asked, vec![0]);
    }
}
