//! Three-valued (Kleene) logic. A fact that was not answered is *unknown*, which is neither yes
//! nor no: `unknown AND false` is false (the rule cannot fire whatever the answer), while
//! `unknown OR false` stays unknown (the answer could still make it fire).

/// A truth value that may not be known yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    False,
    Unknown,
    True,
}

impl Tri {
    pub fn negate(self) -> Tri {
        match self {
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
            Tri::True => Tri::False,
        }
    }

    pub fn from_bool(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }

    pub fn is_true(self) -> bool {
        self == Tri::True
    }
}
