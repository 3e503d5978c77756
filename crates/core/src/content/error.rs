//! Content problems, each located by file, line and id, and reported all at once.

use std::fmt;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentError {
    pub file: String,
    pub line: Option<usize>,
    pub id: Option<String>,
    pub message: String,
}

impl fmt::Display for ContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(id) = &self.id {
            write!(f, ": [{id}]")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in the content. Loading fails if there is at least one.
#[derive(Debug, Clone, Error)]
#[error("{} problem(s) in the clinical content:\n{}", .0.len(), render(.0))]
pub struct ContentErrors(pub Vec<ContentError>);

fn render(errors: &[ContentError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}
