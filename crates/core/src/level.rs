//! The four triage levels. Their order is part of the domain model (what "higher" means), so it
//! lives in code; what each level asks of the patient lives in `content/levels.toml`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How urgently the person needs care, from least to most urgent (so `Ord` means "more urgent").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    SelfCare,
    Soon,
    Urgent,
    Emergency,
}

impl Level {
    /// All levels, most urgent first: the order in which rules are weighed and questions asked.
    pub const DESCENDING: [Level; 4] = [
        Level::Emergency,
        Level::Urgent,
        Level::Soon,
        Level::SelfCare,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::SelfCare => "self_care",
            Level::Soon => "soon",
            Level::Urgent => "urgent",
            Level::Emergency => "emergency",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::DESCENDING.into_iter().find(|l| l.as_str() == s)
    }

    /// A dense index (0 = self_care) for tables indexed by level.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
