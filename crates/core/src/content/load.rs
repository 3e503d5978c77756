//! Reading the content files (the only I/O in the core, done once at start-up) and the digest
//! that versions them.

use super::compile;
use super::{Content, ContentError, ContentErrors};
use sha2::{Digest, Sha256};
use std::path::Path;

/// One content file: its name relative to the content folder (`rules.toml`, `text/es.toml`) and
/// its text.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// The files every content folder must have, besides `text/*.toml`.
pub(crate) const REQUIRED: [&str; 8] = [
    "facts.toml",
    "terms.toml",
    "rules.toml",
    "actions.toml",
    "levels.toml",
    "sections.toml",
    "plan.toml",
    "course.toml",
];

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../../../content/", $name)))),*]
    };
}

/// The content shipped inside the binary, so that Aftercare runs with no files beside it.
const BUNDLED: [(&str, &str); 10] = bundled!(
    "facts.toml",
    "terms.toml",
    "rules.toml",
    "actions.toml",
    "levels.toml",
    "sections.toml",
    "plan.toml",
    "course.toml",
    "text/en.toml",
    "text/es.toml",
);

impl Content {
    /// The content compiled into the binary (the repository's `content/` folder at build time).
    pub fn bundled() -> Result<Content, ContentErrors> {
        Content::from_sources(Content::bundled_sources())
    }

    /// The texts of the built-in content files, e.g. to change one in a test.
    pub fn bundled_sources() -> Vec<Source> {
        BUNDLED
            .iter()
            .map(|(name, text)| Source {
                name: (*name).to_string(),
                text: (*text).to_string(),
            })
            .collect()
    }

    /// Reads and validates a content folder.
    pub fn load_dir(dir: &Path) -> Result<Content, ContentErrors> {
        let mut sources = Vec::new();
        let mut errors = Vec::new();
        let mut read = |name: String| match std::fs::read_to_string(dir.join(&name)) {
            Ok(text) => sources.push(Source { name, text }),
            Err(e) => errors.push(ContentError {
                file: name,
                line: None,
                id: None,
                message: format!("cannot be read: {e}"),
            }),
        };
        for name in REQUIRED {
            read(name.to_string());
        }
        match std::fs::read_dir(dir.join("text")) {
            Ok(entries) => {
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".toml"))
                    .collect();
                names.sort();
                for n in names {
                    read(format!("text/{n}"));
                }
            }
            Err(e) => errors.push(ContentError {
                file: "text/".into(),
                line: None,
                id: None,
                message: format!("the language folder cannot be read: {e}"),
            }),
        }
        if !errors.is_empty() {
            return Err(ContentErrors(errors));
        }
        Content::from_sources(sources)
    }

    /// Validates content given as texts (for tests, and for content held elsewhere).
    pub fn from_sources(mut sources: Vec<Source>) -> Result<Content, ContentErrors> {
        sources.sort_by(|a, b| a.name.cmp(&b.name));
        let version = digest(&sources);
        compile::compile(&sources, version)
    }
}

/// The content version: the first 16 hex digits of a SHA-256 over every file's name and text.
fn digest(sources: &[Source]) -> String {
    let mut hash = Sha256::new();
    for s in sources {
        hash.update(s.name.as_bytes());
        hash.update([0]);
        hash.update(s.text.as_bytes());
        hash.update([0]);
    }
    let bytes = hash.finalize();
    bytes[..8].iter().map(|b| format!("{b:02x}")).collect()
}
