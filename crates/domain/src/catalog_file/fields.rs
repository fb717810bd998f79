//! The lenient mapping of a catalog file's fields onto a [`CatalogPrompt`].
//!
//! Real files vary: the content is `content`, `template` or `prompt_text`; the
//! category `category` or `categories` (an array or a string), or only the
//! folder; `variables` are names, objects, a name → description map, or null;
//! tags an array or a comma-separated string. Fields the hub does not model
//! (`examples`, `author`, ...) are kept in `metadata`, so nothing is lost.
//! `createdAt`, `updatedAt` and `version` are the hub's own and are ignored.

use serde_json::{Map, Value};

use super::CatalogPrompt;
use crate::prompt_id::PromptId;
use crate::variable::{DeclaredVariable, Variable};

/// Names the content may go by, in order of preference.
pub const CONTENT_FIELDS: &[&str] = &["content", "template", "prompt_text"];
/// Fields the hub owns: read and ignored.
const HUB_FIELDS: &[&str] = &[
    "createdAt",
    "updatedAt",
    "created_at",
    "updated_at",
    "version",
];

/// Where a file's fields came from, for what the file does not say.
pub struct FileContext<'a> {
    /// The file name without extension: the id (and name) when the file has none.
    pub stem: &'a str,
    /// The category its folder gives.
    pub folder_category: Option<String>,
}

/// Maps one object of a file onto a prompt; `Err` is the reason it is not one.
pub fn prompt_from_object(
    mut obj: Map<String, Value>,
    ctx: &FileContext<'_>,
) -> Result<CatalogPrompt, String> {
    let mut notes = Vec::new();
    let content = take_content(&mut obj)?;
    let id = match obj.remove("id") {
        Some(Value::String(raw)) => PromptId::parse(raw.trim()).map_err(|e| e.to_string())?,
        Some(Value::Null) | None => id_from_stem(ctx.stem)?,
        Some(other) => return Err(format!("'id' must be a string, not {}", kind(&other))),
    };
    let name = match take_string(&mut obj, "name")? {
        Some(n) if !n.trim().is_empty() => n,
        _ => match take_string(&mut obj, "title")? {
            Some(t) if !t.trim().is_empty() => t,
            _ => id.to_string(),
        },
    };
    let description = take_string(&mut obj, "description")?.unwrap_or_default();
    let is_template = match obj
        .remove("isTemplate")
        .or_else(|| obj.remove("is_template"))
    {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::Null) | None => None,
        Some(other) => return Err(format!("'isTemplate' must be true or false, not {other}")),
    };
    let variables = match obj.remove("variables").or_else(|| obj.remove("arguments")) {
        Some(v) => variables(v, &mut notes)?,
        None => Vec::new(),
    };
    let tags = tags(obj.remove("tags"))?;
    let (category, category_from_folder) = category(&mut obj, ctx, &mut notes)?;
    let mut metadata = match obj.remove("metadata") {
        Some(Value::Object(m)) => m,
        Some(Value::Null) | None => Map::new(),
        Some(other) => {
            return Err(format!(
                "'metadata' must be an object, not {}",
                kind(&other)
            ));
        }
    };
    for field in HUB_FIELDS {
        obj.remove(*field);
    }
    for (key, value) in obj {
        if metadata.contains_key(&key) {
            notes.push(format!(
                "field '{key}' dropped: metadata already has a '{key}'"
            ));
        } else {
            metadata.insert(key, value);
        }
    }
    Ok(CatalogPrompt {
        id,
        name,
        description,
        content,
        is_template,
        variables,
        tags,
        category,
        category_from_folder,
        metadata,
        notes,
    })
}

/// Whether an object looks like it meant to be a prompt (so a missing content
/// is an error, not "not a prompt").
pub fn looks_like_prompt(obj: &Map<String, Value>) -> bool {
    CONTENT_FIELDS
        .iter()
        .chain(&["id", "name", "description", "variables", "tags"])
        .any(|f| obj.contains_key(*f))
}

/// The id a file without one gets: its file name, made into an id if need be.
pub fn id_from_stem(stem: &str) -> Result<PromptId, String> {
    PromptId::parse(stem)
        .or_else(|_| PromptId::from_name(stem))
        .map_err(|e| format!("no 'id', and the file name gives none: {e}"))
}

fn take_content(obj: &mut Map<String, Value>) -> Result<String, String> {
    for field in CONTENT_FIELDS {
        match obj.get(*field) {
            Some(Value::String(_)) => {
                let Some(Value::String(s)) = obj.remove(*field) else {
                    unreachable!("just matched")
                };
                return Ok(s);
            }
            Some(Value::Null) | None => continue,
            Some(other) => {
                return Err(format!("'{field}' must be a string, not {}", kind(other)));
            }
        }
    }
    Err(format!(
        "missing content (none of {})",
        CONTENT_FIELDS.join(", ")
    ))
}

fn take_string(obj: &mut Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match obj.remove(field) {
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Null) | None => Ok(None),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("'{field}' must be a string, not {}", kind(&other))),
    }
}

fn tags(value: Option<Value>) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()),
        Some(Value::Array(items)) => items
            .into_iter()
            .filter(|v| !v.is_null())
            .map(|v| match v {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                other => Err(format!("a tag must be a string, not {}", kind(&other))),
            })
            .collect(),
        Some(other) => Err(format!(
            "'tags' must be a list of strings, not {}",
            kind(&other)
        )),
    }
}

/// The category: the file's `category`, else its `categories` (the first; a
/// longer list is also kept in metadata), else the folder's.
fn category(
    obj: &mut Map<String, Value>,
    ctx: &FileContext<'_>,
    notes: &mut Vec<String>,
) -> Result<(Option<String>, bool), String> {
    let declared = take_string(obj, "category")?.filter(|c| !c.trim().is_empty());
    let listed = match obj.remove("categories") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s).filter(|s| !s.trim().is_empty()),
        Some(Value::Array(items)) => {
            let names: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            if names.len() > 1 {
                notes.push(format!(
                    "'categories' has {} entries: the first is the category, all are kept in metadata.categories",
                    names.len()
                ));
                obj.insert("categories".into(), Value::Array(items));
            }
            names.into_iter().next()
        }
        Some(other) => {
            return Err(format!(
                "'categories' must be a string or a list, not {}",
                kind(&other)
            ));
        }
    };
    if let (Some(d), Some(l)) = (&declared, &listed)
        && d != l
    {
        notes.push(format!(
            "both 'category' ({d}) and 'categories' ({l}): 'category' is used"
        ));
    }
    Ok(match declared.or(listed) {
        Some(c) => (Some(c), false),
        None => (ctx.folder_category.clone(), ctx.folder_category.is_some()),
    })
}

fn variables(value: Value, notes: &mut Vec<String>) -> Result<Vec<DeclaredVariable>, String> {
    let items: Vec<Value> = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        // `{ "code": "the code", "language": {"description": ...} }`
        Value::Object(map) => map
            .into_iter()
            .map(|(name, v)| match v {
                Value::Object(mut o) => {
                    o.insert("name".into(), Value::String(name));
                    Value::Object(o)
                }
                Value::String(d) => serde_json::json!({ "name": name, "description": d }),
                _ => Value::String(name),
            })
            .collect(),
        other => {
            return Err(format!("'variables' must be a list, not {}", kind(&other)));
        }
    };
    items
        .into_iter()
        .map(|item| variable(item, notes))
        .collect()
}

fn variable(item: Value, notes: &mut Vec<String>) -> Result<DeclaredVariable, String> {
    const KNOWN: &[&str] = &["name", "description", "required", "choices", "enum"];
    if let Value::Object(o) = &item {
        let name = o.get("name").and_then(Value::as_str).unwrap_or("?");
        let dropped: Vec<&str> = o
            .keys()
            .map(String::as_str)
            .filter(|k| !KNOWN.contains(k))
            .collect();
        if !dropped.is_empty() {
            notes.push(format!(
                "variable '{name}': {} not kept (not modelled)",
                dropped.join(", ")
            ));
        }
    }
    if let Value::String(name) = &item {
        return Ok(DeclaredVariable {
            variable: Variable {
                name: name.trim().to_string(),
                description: None,
                required: true,
                choices: Vec::new(),
            },
            required_explicit: false,
        });
    }
    serde_json::from_value::<DeclaredVariable>(item).map_err(|e| {
        format!("a variable must be a name or {{name, description, required, choices}}: {e}")
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
