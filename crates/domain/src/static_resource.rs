//! Static resources: read-only MCP resources served beside the prompts, from a
//! JSON file given at startup (`--resources FILE`). A fixed entry carries its text
//! or base64 blob; a template entry (`uriTemplate`) has a handlebars body rendered
//! with the URI's placeholder values. Everything is checked here, once, so a bad
//! file stops startup and serving never meets an invalid entry.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::template::{self, TemplateError};
use super::uri_template::{UriTemplate, UriTemplateError};

/// The scheme of the catalog's own resources; static ones may not use it.
const RESERVED_SCHEME: &str = "prompt";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileFormat {
    #[serde(default)]
    resources: Vec<RawResource>,
    #[serde(default)]
    resource_templates: Vec<RawTemplate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawResource {
    uri: String,
    name: String,
    title: Option<String>,
    description: Option<String>,
    mime_type: Option<String>,
    text: Option<String>,
    blob: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTemplate {
    uri_template: String,
    name: String,
    title: Option<String>,
    description: Option<String>,
    mime_type: Option<String>,
    text: String,
}

/// What a fixed resource holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Text(String),
    /// Base64 (standard alphabet, padded), checked to decode.
    Blob(String),
}

/// What list entries show, for fixed resources and templates alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Describe {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub mime_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticResource {
    pub uri: String,
    pub describe: Describe,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticTemplate {
    pub uri_template: UriTemplate,
    pub describe: Describe,
    /// Handlebars source; reads only the template's placeholders.
    pub text: String,
}

/// The validated contents of a static resources file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticResources {
    resources: Vec<StaticResource>,
    templates: Vec<StaticTemplate>,
}

/// What a URI resolves to.
#[derive(Debug, PartialEq, Eq)]
pub enum Found<'a> {
    Fixed(&'a StaticResource),
    Templated(&'a StaticTemplate, BTreeMap<String, String>),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StaticResourceError {
    #[error("not a valid static resources file: {0}")]
    Json(String),
    #[error("{at}: {problem}")]
    Entry { at: String, problem: Problem },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Problem {
    #[error("name must not be empty")]
    EmptyName,
    #[error("must start with a scheme such as 'docs:'")]
    NoScheme,
    #[error("must not contain whitespace or control characters")]
    BadCharacter,
    #[error("the prompt:// scheme is reserved for the catalog's prompts")]
    ReservedScheme,
    #[error("duplicate of {0}")]
    Duplicate(String),
    #[error("has both \"text\" and \"blob\"; give one")]
    TextAndBlob,
    #[error("has neither \"text\" nor \"blob\"")]
    NoBody,
    #[error("\"blob\" is not valid base64: {0}")]
    BadBase64(String),
    #[error("\"uriTemplate\": {0}")]
    BadUriTemplate(UriTemplateError),
    #[error("\"text\": {0}")]
    BadBody(TemplateError),
    #[error(
        "\"text\" uses '{{{{{name}}}}}', which is not a placeholder of the uriTemplate (placeholders: {known})"
    )]
    UnknownPlaceholder { name: String, known: String },
    #[error("\"text\" includes '{{{{> {0}}}}}': static templates cannot include prompts")]
    Partial(String),
}

impl StaticResources {
    /// Parses and validates a static resources file.
    pub fn parse(json: &str) -> Result<Self, StaticResourceError> {
        let file: FileFormat =
            serde_json::from_str(json).map_err(|e| StaticResourceError::Json(e.to_string()))?;
        let mut seen: HashMap<String, String> = HashMap::new();
        let mut resources = Vec::with_capacity(file.resources.len());
        for (i, raw) in file.resources.into_iter().enumerate() {
            let at = format!("resources[{i}] ({:?})", raw.uri);
            let fail = |problem| StaticResourceError::Entry {
                at: at.clone(),
                problem,
            };
            check_uri(&raw.uri, &raw.uri).map_err(fail)?;
            if let Some(first) = seen.insert(raw.uri.clone(), at.clone()) {
                return Err(fail(Problem::Duplicate(first)));
            }
            let (body, default_mime) = match (raw.text, raw.blob) {
                (Some(_), Some(_)) => return Err(fail(Problem::TextAndBlob)),
                (None, None) => return Err(fail(Problem::NoBody)),
                (Some(text), None) => (Body::Text(text), "text/plain"),
                (None, Some(blob)) => {
                    STANDARD
                        .decode(&blob)
                        .map_err(|e| fail(Problem::BadBase64(e.to_string())))?;
                    (Body::Blob(blob), "application/octet-stream")
                }
            };
            let describe = describe(raw.name, raw.title, raw.description, raw.mime_type)
                .ok_or_else(|| fail(Problem::EmptyName))?;
            resources.push(StaticResource {
                uri: raw.uri,
                describe: describe.or_mime(default_mime),
                body,
            });
        }
        let mut templates = Vec::with_capacity(file.resource_templates.len());
        for (i, raw) in file.resource_templates.into_iter().enumerate() {
            let at = format!("resourceTemplates[{i}] ({:?})", raw.uri_template);
            let fail = |problem| StaticResourceError::Entry {
                at: at.clone(),
                problem,
            };
            let uri_template = UriTemplate::parse(&raw.uri_template)
                .map_err(|e| fail(Problem::BadUriTemplate(e)))?;
            check_uri(uri_template.literal_prefix(), &raw.uri_template).map_err(fail)?;
            if let Some(first) = seen.insert(raw.uri_template.clone(), at.clone()) {
                return Err(fail(Problem::Duplicate(first)));
            }
            check_body(&uri_template, &raw.text).map_err(fail)?;
            let describe = describe(raw.name, raw.title, raw.description, raw.mime_type)
                .ok_or_else(|| fail(Problem::EmptyName))?;
            templates.push(StaticTemplate {
                uri_template,
                describe: describe.or_mime("text/plain"),
                text: raw.text,
            });
        }
        Ok(Self {
            resources,
            templates,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.templates.is_empty()
    }

    pub fn resources(&self) -> &[StaticResource] {
        &self.resources
    }

    pub fn templates(&self) -> &[StaticTemplate] {
        &self.templates
    }

    /// The fixed resource named `uri`, else the first template it expands.
    pub fn find(&self, uri: &str) -> Option<Found<'_>> {
        if let Some(fixed) = self.resources.iter().find(|r| r.uri == uri) {
            return Some(Found::Fixed(fixed));
        }
        self.templates.iter().find_map(|t| {
            t.uri_template
                .matches(uri)
                .map(|values| Found::Templated(t, values))
        })
    }
}

impl Describe {
    fn or_mime(mut self, default: &str) -> Self {
        if self.mime_type.is_empty() {
            self.mime_type = default.to_string();
        }
        self
    }
}

/// `None` when the name is empty. An absent MIME type stays empty for `or_mime`.
fn describe(
    name: String,
    title: Option<String>,
    description: Option<String>,
    mime_type: Option<String>,
) -> Option<Describe> {
    (!name.trim().is_empty()).then(|| Describe {
        name,
        title,
        description,
        mime_type: mime_type.unwrap_or_default(),
    })
}

/// `head` must start with a scheme (`[A-Za-z][A-Za-z0-9+.-]*:`) other than
/// prompt's; `whole` must hold no whitespace or control characters.
fn check_uri(head: &str, whole: &str) -> Result<(), Problem> {
    if whole.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Problem::BadCharacter);
    }
    let scheme = head.split_once(':').map(|(s, _)| s).unwrap_or_default();
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
    if !valid {
        return Err(Problem::NoScheme);
    }
    if scheme.eq_ignore_ascii_case(RESERVED_SCHEME) {
        return Err(Problem::ReservedScheme);
    }
    Ok(())
}

/// The body must be a valid template reading only the URI's placeholders.
fn check_body(uri_template: &UriTemplate, text: &str) -> Result<(), Problem> {
    let analysis = template::analyze(text).map_err(Problem::BadBody)?;
    if let Some(partial) = analysis.partials.into_iter().next() {
        return Err(Problem::Partial(partial));
    }
    let known: Vec<&str> = uri_template.variables().collect();
    match analysis
        .variables
        .keys()
        .find(|name| !known.contains(&name.as_str()))
    {
        Some(name) => Err(Problem::UnknownPlaceholder {
            name: name.clone(),
            known: known.join(", "),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "static_resource_tests.rs"]
mod tests;
