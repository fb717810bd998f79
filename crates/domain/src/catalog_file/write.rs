//! A prompt → a catalog file. JSON, YAML and Markdown carry every field the
//! hub keeps, in the catalog's own field names, so exporting and importing
//! again gives the same prompts. Text carries only the content: an export to
//! text says which fields it could not write.

use serde_json::Value;

use super::format::Format;
use super::layout;
use crate::prompt::Prompt;
use crate::template;

/// One exported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// Relative to the export folder, `/`-separated.
    pub path: String,
    pub text: String,
    /// Fields the format or the layout could not carry.
    pub lost: Vec<String>,
}

pub fn export(prompt: &Prompt, format: Format) -> Exported {
    let path = layout::export_path(prompt, format);
    let mut lost = Vec::new();
    let text = match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(prompt).expect("a prompt is JSON");
            text.push('\n');
            text
        }
        Format::Yaml => yaml(&to_value(prompt)),
        Format::Markdown => {
            let mut fields = to_value(prompt);
            if let Value::Object(obj) = &mut fields {
                obj.shift_remove("content");
            }
            format!(
                "---\n{}---\n\n{}{}",
                yaml(&fields),
                prompt.content,
                eol(prompt)
            )
        }
        Format::Text => {
            lost = lost_in_text(prompt);
            if layout::is_readme(&path) {
                lost.push("the prompt itself (a README.txt is not read back as a prompt)".into());
            }
            // A re-import drops one leading byte-order mark, as editors write.
            let bom = if prompt.content.starts_with('\u{feff}') {
                "\u{feff}"
            } else {
                ""
            };
            format!("{bom}{}{}", prompt.content, eol(prompt))
        }
    };
    if let Some(category) = &prompt.category
        && layout::category_dir(category).is_none()
        && format == Format::Text
    {
        lost.push(format!("category '{category}' (not a safe folder name)"));
    }
    Exported { path, text, lost }
}

/// The line end written after a body, which a re-import strips again: `\r\n`
/// after a content ending in `\r`, so that `\r` survives.
fn eol(prompt: &Prompt) -> &'static str {
    if prompt.content.ends_with('\r') {
        "\r\n"
    } else {
        "\n"
    }
}

fn to_value(prompt: &Prompt) -> Value {
    serde_json::to_value(prompt).expect("a prompt is JSON")
}

fn yaml(value: &Value) -> String {
    yaml_serde::to_string(value).expect("JSON values are YAML")
}

/// What a text file cannot say: everything a re-import would not infer back
/// (id and name from the file name, variables from the template).
fn lost_in_text(p: &Prompt) -> Vec<String> {
    let mut lost = Vec::new();
    if p.name != p.id.as_str() {
        lost.push("name".to_string());
    }
    if !p.description.is_empty() {
        lost.push("description".to_string());
    }
    if !p.tags.is_empty() {
        lost.push("tags".to_string());
    }
    if !p.metadata.is_empty() {
        lost.push("metadata".to_string());
    }
    if p.is_template != p.content.contains("{{") {
        lost.push("isTemplate".to_string());
    }
    let inferred = match template::analyze(&p.content) {
        Ok(a) if p.is_template => a
            .variables
            .iter()
            .map(|(name, required)| (name.clone(), *required))
            .collect(),
        _ => Vec::new(),
    };
    let declared: Vec<(String, bool)> = p
        .variables
        .iter()
        .map(|v| (v.name.clone(), v.required))
        .collect();
    let detailed = p
        .variables
        .iter()
        .any(|v| v.description.is_some() || !v.choices.is_empty());
    if declared != inferred || detailed {
        lost.push("variables".to_string());
    }
    lost
}
