//! One catalog file's text → the prompts in it.
//!
//! A JSON or YAML file holds one prompt object, a list of them, or
//! `{"prompts": [...]}`. A Markdown file holds the fields in YAML front matter
//! and the content in its body; without front matter it is a document. A text
//! file is all content. Category `index.json` files and READMEs are not
//! prompts: they are reported as skipped, never as failures.

use std::fmt;

use serde_json::{Map, Value};

use super::CatalogPrompt;
use super::fields::{self, FileContext};
use super::format::Format;
use super::layout;

/// What a file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum FileContent {
    Prompts(Vec<CatalogPrompt>),
    /// Not a prompt (an index, a README, a document, another kind of file):
    /// why.
    NotAPrompt(String),
}

/// Why a file could not be read as a prompt; `line` (1-based) for syntax errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for ParseError {}

fn invalid(reason: impl Into<String>) -> ParseError {
    ParseError {
        line: None,
        reason: reason.into(),
    }
}

/// Parses the file at `rel_path` (relative to the catalog root, `/`-separated),
/// whose text is `text`.
pub fn parse_file(rel_path: &str, text: &str) -> Result<FileContent, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(format) = Format::of_path(rel_path) else {
        return Ok(FileContent::NotAPrompt("not a catalog file format".into()));
    };
    let ctx = FileContext {
        stem: layout::stem(rel_path),
        folder_category: layout::folder_category(rel_path),
    };
    let index = layout::is_index(rel_path);
    // A Markdown README is told by its lack of front matter; a text one only
    // by its name.
    if layout::is_readme(rel_path) && format == Format::Text {
        return Ok(FileContent::NotAPrompt("a README".into()));
    }
    match format {
        Format::Json => {
            let value: Value = serde_json::from_str(text).map_err(|e| ParseError {
                line: Some(e.line()),
                reason: format!("invalid JSON: {e}"),
            })?;
            from_value(value, &ctx, index)
        }
        Format::Yaml => from_value(yaml(text, 0)?, &ctx, index),
        Format::Markdown => markdown(text, rel_path, &ctx),
        Format::Text => {
            let obj = Map::from_iter([("content".to_string(), Value::String(body(text)))]);
            one(obj, &ctx)
        }
    }
}

/// Parses YAML into JSON values; `offset` is the number of lines before it in
/// the file (the opening `---` of front matter), so lines point into the file.
fn yaml(text: &str, offset: usize) -> Result<Value, ParseError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    if let Some(line) = flow_deeper_than(text, MAX_YAML_FLOW_DEPTH) {
        return Err(ParseError {
            line: Some(line + offset),
            reason: format!("invalid YAML: nested deeper than {MAX_YAML_FLOW_DEPTH} levels"),
        });
    }
    yaml_serde::from_str::<Value>(text).map_err(|e| ParseError {
        line: e.location().map(|l| l.line() + offset),
        reason: format!("invalid YAML: {e}"),
    })
}

/// yaml_serde refuses nesting past 128 levels, but only after scanning the
/// whole document, which takes time quadratic in the flow depth (`[[[[…`:
/// 16k levels took 3 s in a debug build; found by the catalog-file fuzz test).
const MAX_YAML_FLOW_DEPTH: usize = 128;

/// The 1-based line where flow collections (`[`, `{`) nest deeper than
/// `limit`. Quoted scalars and comments are skipped; a bracket counts only
/// where a flow collection can start (after `:`, `-`, `,`, `?`, another
/// bracket, or at the start of a line), so `a[[b` in a plain scalar does not.
/// Where it errs, it errs towards counting less: yaml_serde still checks.
fn flow_deeper_than(text: &str, limit: usize) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    let mut comment = false;
    let mut plain = false;
    // The last byte that was not a space or tab on this line (`\n`: none yet).
    let mut before = b'\n';
    // The byte just before this one, spaces included.
    let mut prev = b'\n';
    for &b in text.as_bytes() {
        let space_before = matches!(prev, b'\n' | b' ' | b'\t');
        prev = b;
        if b == b'\n' {
            line += 1;
            comment = false;
            plain = false;
            before = b'\n';
            continue;
        }
        if comment {
            continue;
        }
        if let Some(q) = quote {
            match b {
                b'\\' if q == b'"' && !escaped => escaped = true,
                _ if b == q && !escaped => quote = None,
                _ => escaped = false,
            }
            continue;
        }
        match b {
            b' ' | b'\t' | b'\r' => continue,
            b'#' if space_before => comment = true,
            // Inside a plain scalar (`a[b`) until `:`, `,` or a closing bracket.
            b':' | b',' if plain => plain = false,
            b']' | b'}' if plain => {
                plain = false;
                depth = depth.saturating_sub(1);
            }
            _ if plain => {}
            b'"' | b'\'' if starts_node(before) => quote = Some(b),
            b'[' | b'{' if starts_node(before) => {
                depth += 1;
                if depth > limit {
                    return Some(line);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b':' | b'-' | b',' | b'?' => {}
            _ => plain = true,
        }
        before = b;
    }
    None
}

/// Whether a scalar or collection can start after `before`.
fn starts_node(before: u8) -> bool {
    matches!(before, b'\n' | b':' | b'-' | b',' | b'?' | b'[' | b'{')
}

fn from_value(value: Value, ctx: &FileContext<'_>, index: bool) -> Result<FileContent, ParseError> {
    match value {
        Value::Object(obj) if obj.is_empty() => Ok(FileContent::NotAPrompt(
            "an empty object (a category index)".into(),
        )),
        Value::Object(mut obj)
            if obj.len() == 1 && obj.get("prompts").is_some_and(Value::is_array) =>
        {
            let Some(Value::Array(items)) = obj.remove("prompts") else {
                unreachable!("just matched")
            };
            many(items, ctx, index)
        }
        Value::Object(obj) if index && !fields::looks_like_prompt(&obj) => {
            Ok(FileContent::NotAPrompt("a category index".into()))
        }
        // A JSON schema, a settings file: nothing in it is a prompt's field.
        Value::Object(obj) if !fields::looks_like_prompt(&obj) => Ok(FileContent::NotAPrompt(
            "an object without any prompt field".into(),
        )),
        Value::Object(obj) => one(obj, ctx),
        Value::Array(items) => many(items, ctx, index),
        _ => Ok(FileContent::NotAPrompt(
            "neither a prompt object nor a list of them".into(),
        )),
    }
}

fn one(obj: Map<String, Value>, ctx: &FileContext<'_>) -> Result<FileContent, ParseError> {
    fields::prompt_from_object(obj, ctx)
        .map(|p| FileContent::Prompts(vec![p]))
        .map_err(invalid)
}

/// A list: of prompt objects (a multi-prompt file), or of anything else (an
/// index listing file names).
fn many(items: Vec<Value>, ctx: &FileContext<'_>, index: bool) -> Result<FileContent, ParseError> {
    if items.is_empty() || index || !items.iter().all(Value::is_object) {
        return Ok(FileContent::NotAPrompt(
            "a list that is not of prompts (a category index)".into(),
        ));
    }
    let mut prompts = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(obj) = item else {
            unreachable!("checked above")
        };
        let ctx = FileContext {
            stem: ctx.stem,
            folder_category: ctx.folder_category.clone(),
        };
        if !obj.contains_key("id") && !obj.contains_key("name") {
            return Err(invalid(format!("prompt [{i}] has neither 'id' nor 'name'")));
        }
        let mut obj = obj;
        if !obj.contains_key("id")
            && let Some(Value::String(name)) = obj.get("name")
        {
            let id = crate::prompt_id::PromptId::from_name(name)
                .map_err(|e| invalid(format!("prompt [{i}]: {e}")))?;
            obj.insert("id".into(), Value::String(id.to_string()));
        }
        prompts.push(
            fields::prompt_from_object(obj, &ctx)
                .map_err(|e| invalid(format!("prompt [{i}]: {e}")))?,
        );
    }
    Ok(FileContent::Prompts(prompts))
}

/// Front matter between a first line `---` and the next line `---` (or
/// `...`); the rest is the content.
fn markdown(text: &str, rel_path: &str, ctx: &FileContext<'_>) -> Result<FileContent, ParseError> {
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        let what = if layout::is_readme(rel_path) {
            "a README"
        } else {
            "Markdown without front matter (a document, not a prompt)"
        };
        return Ok(FileContent::NotAPrompt(what.into()));
    };
    let mut offset = 0;
    let mut end = None;
    for line in rest.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare == "---" || bare == "..." {
            end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((yaml_end, body_start)) = end else {
        return Err(ParseError {
            line: Some(1),
            reason: "front matter opened with '---' is never closed by a '---' line".into(),
        });
    };
    let front = match yaml(&rest[..yaml_end], 1)? {
        Value::Object(obj) => obj,
        Value::Null => Map::new(),
        _ => {
            return Err(ParseError {
                line: Some(2),
                reason: "front matter must be a YAML mapping of fields".into(),
            });
        }
    };
    let mut obj = front;
    let content = rest[body_start..]
        .strip_prefix('\n')
        .or_else(|| rest[body_start..].strip_prefix("\r\n"))
        .unwrap_or(&rest[body_start..]);
    if fields::CONTENT_FIELDS.iter().all(|f| !obj.contains_key(*f)) {
        obj.insert("content".into(), Value::String(body(content)));
    } else if !content.trim().is_empty() {
        return Err(invalid(
            "the content is given twice: in the front matter and in the body",
        ));
    }
    one(obj, ctx)
}

/// A body as content: without the one final line end editors add (an export
/// writes one after the content, so this round-trips exactly).
fn body(text: &str) -> String {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text)
        .to_string()
}
