//! The education pages, written by the clinic's team from the clinical pathway, one Markdown
//! file per page and language in `content/education/<lang>/<slug>.md`, embedded in the binary.
//! Only a tiny, safe subset of Markdown is read (`#`/`##` headings, paragraphs, `- ` lists,
//! `**strong**`): it becomes a list of blocks the template renders with auto-escaping, so the
//! files can never carry markup.

use super::layout::Ctx;
use crate::error::AppError;
use axum::extract::Path;
use axum::response::Response;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The slugs, in the order the index lists them (the action ids of content/actions.toml point
/// at these).
pub const SLUGS: [&str; 6] = [
    "epidural-and-what-is-normal",
    "back-pain-after-birth",
    "cold-and-heat",
    "moving-and-exercise",
    "pain-relief-and-medicines",
    "when-to-get-help",
];

macro_rules! pages {
    ($($lang:literal / $slug:literal),* $(,)?) => {
        &[$(($lang, $slug, include_str!(concat!("../../../../content/education/", $lang, "/", $slug, ".md")))),*]
    };
}

const SOURCES: &[(&str, &str, &str)] = pages!(
    "en" / "epidural-and-what-is-normal",
    "en" / "back-pain-after-birth",
    "en" / "cold-and-heat",
    "en" / "moving-and-exercise",
    "en" / "pain-relief-and-medicines",
    "en" / "when-to-get-help",
    "es" / "epidural-and-what-is-normal",
    "es" / "back-pain-after-birth",
    "es" / "cold-and-heat",
    "es" / "moving-and-exercise",
    "es" / "pain-relief-and-medicines",
    "es" / "when-to-get-help",
);

/// A piece of text, plain or strong.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Span {
    pub text: String,
    pub strong: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    Heading {
        spans: Vec<Span>,
    },
    Paragraph {
        spans: Vec<Span>,
    },
    List {
        items: Vec<Vec<Span>>,
    },
    /// `@warnings` on a line of its own: every warning sign of the content, grouped by what to
    /// do, so the page cannot drift from the rules the warnings stand for.
    Warnings,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub slug: String,
    pub title: String,
    /// The first paragraph, for the index.
    pub summary: String,
    pub blocks: Vec<Block>,
}

pub struct Library {
    pages: BTreeMap<(String, String), Page>,
}

impl Library {
    pub fn bundled() -> Library {
        let pages = SOURCES
            .iter()
            .map(|(lang, slug, text)| ((lang.to_string(), slug.to_string()), parse(slug, text)))
            .collect();
        Library { pages }
    }

    /// A page in a language, falling back to English.
    pub fn get(&self, slug: &str, lang: &str) -> Option<&Page> {
        self.pages
            .get(&(lang.to_string(), slug.to_string()))
            .or_else(|| self.pages.get(&("en".to_string(), slug.to_string())))
    }

    pub fn has(&self, slug: &str, lang: &str) -> bool {
        self.pages
            .contains_key(&(lang.to_string(), slug.to_string()))
    }
}

/// Reads the Markdown subset. The first `# ` heading is the title.
pub fn parse(slug: &str, text: &str) -> Page {
    let mut title = String::new();
    let mut blocks = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut list: Vec<Vec<Span>> = Vec::new();
    let flush = |para: &mut Vec<&str>, list: &mut Vec<Vec<Span>>, blocks: &mut Vec<Block>| {
        if !para.is_empty() {
            blocks.push(Block::Paragraph {
                spans: spans(&para.join(" ")),
            });
            para.clear();
        }
        if !list.is_empty() {
            blocks.push(Block::List {
                items: std::mem::take(list),
            });
        }
    };
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim() == "@warnings" {
            flush(&mut para, &mut list, &mut blocks);
            blocks.push(Block::Warnings);
        } else if let Some(h) = line.strip_prefix("# ") {
            flush(&mut para, &mut list, &mut blocks);
            title = h.trim().to_string();
        } else if let Some(h) = line.strip_prefix("## ") {
            flush(&mut para, &mut list, &mut blocks);
            blocks.push(Block::Heading {
                spans: spans(h.trim()),
            });
        } else if let Some(item) = line.strip_prefix("- ") {
            if !para.is_empty() {
                let mut none = Vec::new();
                flush(&mut para, &mut none, &mut blocks);
            }
            list.push(spans(item.trim()));
        } else if line.trim().is_empty() {
            flush(&mut para, &mut list, &mut blocks);
        } else if !list.is_empty() && line.starts_with("  ") {
            // A list item continued on the next line.
            if let Some(last) = list.last_mut() {
                last.extend(spans(&format!(" {}", line.trim())));
            }
        } else {
            if !list.is_empty() {
                let mut none = Vec::new();
                flush(&mut none, &mut list, &mut blocks);
            }
            para.push(line.trim());
        }
    }
    flush(&mut para, &mut list, &mut blocks);
    let summary = blocks
        .iter()
        .find_map(|b| match b {
            Block::Paragraph { spans } => {
                Some(spans.iter().map(|s| s.text.as_str()).collect::<String>())
            }
            _ => None,
        })
        .unwrap_or_default();
    Page {
        slug: slug.to_string(),
        title,
        summary,
        blocks,
    }
}

/// `**strong**` spans; everything else is plain text.
fn spans(text: &str) -> Vec<Span> {
    text.split("**")
        .enumerate()
        .filter(|(_, t)| !t.is_empty())
        .map(|(i, t)| Span {
            text: t.to_string(),
            strong: i % 2 == 1,
        })
        .collect()
}

/// The index's links, for the home pages.
pub fn links(ctx: &Ctx) -> Vec<serde_json::Value> {
    let code = &ctx.texts().code;
    SLUGS
        .iter()
        .filter_map(|s| ctx.state.pages.education.get(s, code))
        .map(|p| json!({ "slug": p.slug, "title": p.title, "summary": p.summary }))
        .collect()
}

/// `GET /learn`.
pub async fn index(ctx: Ctx) -> Result<Response, AppError> {
    ctx.render("learn_index.html", json!({ "pages": links(&ctx) }))
        .await
}

/// `GET /learn/{slug}`.
pub async fn page(ctx: Ctx, Path(slug): Path<String>) -> Result<Response, AppError> {
    let page = ctx
        .state
        .pages
        .education
        .get(&slug, &ctx.texts().code)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let content = &ctx.state.content;
    let warnings = aftercare_core::view::warning_groups(content, ctx.lang, 0..content.watch.len());
    ctx.render(
        "learn.html",
        json!({ "page": page, "others": links(&ctx), "warnings": warnings }),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_education_page_exists_in_every_language_with_a_title() {
        let lib = Library::bundled();
        for slug in SLUGS {
            for lang in ["en", "es"] {
                assert!(lib.has(slug, lang), "{lang}/{slug} is missing");
                let page = lib
                    .get(slug, lang)
                    .map(|p| p.title.clone())
                    .unwrap_or_default();
                assert!(!page.is_empty(), "{lang}/{slug} has no title");
            }
        }
    }

    #[test]
    fn every_action_links_to_an_existing_education_page() {
        let content = aftercare_core::Content::bundled().unwrap_or_else(|e| panic!("{e}"));
        for action in &content.actions {
            if let Some(slug) = &action.education {
                assert!(
                    SLUGS.contains(&slug.as_str()),
                    "{} links to unknown page {slug}",
                    action.id
                );
            }
        }
    }

    #[test]
    fn the_markdown_subset_reads_headings_paragraphs_lists_and_strong_text() {
        let page = parse(
            "x",
            "# Title\n\nOne\ntwo.\n\n## Part\n- a **b**\n- c\nAfter.\n",
        );
        assert_eq!(page.title, "Title");
        assert_eq!(page.summary, "One two.");
        assert_eq!(page.blocks.len(), 4);
        assert_eq!(
            page.blocks[2],
            Block::List {
                items: vec![
                    vec![
                        Span {
                            text: "a ".into(),
                            strong: false
                        },
                        Span {
                            text: "b".into(),
                            strong: true
                        }
                    ],
                    vec![Span {
                        text: "c".into(),
                        strong: false
                    }],
                ]
            }
        );
    }
}
