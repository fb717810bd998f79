//! Catalog files: the prompt files people already keep (the public
//! mcp-prompts-catalog and its relatives), in four formats — JSON, YAML,
//! Markdown with YAML front matter, plain text — laid out in a folder per
//! category. Pure: callers hand in a file's path (relative to the catalog root,
//! `/`-separated) and its text, and get prompts back; writing returns text.
//!
//! - [`format`]: which format a path is in.
//! - [`parse`]: one file's text → the prompts in it, or why it is not a prompt
//!   (an `index.json`, a README), or a parse error with its line.
//! - [`fields`]: the lenient mapping of a file's fields onto a prompt.
//! - [`resolve`]: a [`CatalogPrompt`] → the prompt the hub would store, with
//!   variables a template uses but the file forgot declared for it.
//! - [`duplicates`]: the same id in two files.
//! - [`write`] and [`layout`]: a prompt → a file's text and path.

pub mod duplicates;
pub mod fields;
pub mod format;
pub mod layout;
pub mod parse;
pub mod resolve;
pub mod write;

#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
mod tests;

pub use duplicates::{Duplicate, merge_duplicates};
pub use format::Format;
pub use parse::{FileContent, ParseError, parse_file};
pub use resolve::{Resolved, same_fields};
pub use write::{Exported, export};

use serde_json::{Map, Value};

use super::prompt_id::PromptId;
use super::variable::DeclaredVariable;

/// A prompt as a catalog file describes it, before the hub validates it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogPrompt {
    pub id: PromptId,
    pub name: String,
    pub description: String,
    pub content: String,
    /// `None`: inferred from the content (a template when it has `{{`).
    pub is_template: Option<bool>,
    /// Empty: the arguments are inferred from the template.
    pub variables: Vec<DeclaredVariable>,
    pub tags: Vec<String>,
    pub category: Option<String>,
    /// The category came from the file's folder, not from the file.
    pub category_from_folder: bool,
    pub metadata: Map<String, Value>,
    /// What leniency did to this file's fields (kept, guessed, dropped), for
    /// the import report.
    pub notes: Vec<String>,
}
