//! Prompt identifiers: parsed once, valid forever after.

use std::fmt;

/// A prompt id: 1–128 chars of lowercase ASCII letters, digits, `-`, `_` and `.`,
/// starting with a letter or digit. Ids appear in URIs (`prompt://{id}`) and in
/// handlebars partial names (`{{> id}}`), so they must stay free of `/`, `@`,
/// spaces and braces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromptId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PromptIdError {
    #[error("prompt id must not be empty")]
    Empty,
    #[error("prompt id is longer than 128 characters")]
    TooLong,
    #[error(
        "prompt id '{0}' may only contain lowercase letters, digits, '-', '_' and '.', and must start with a letter or digit"
    )]
    InvalidCharacters(String),
}

impl PromptId {
    pub fn parse(raw: &str) -> Result<Self, PromptIdError> {
        if raw.is_empty() {
            return Err(PromptIdError::Empty);
        }
        if raw.len() > 128 {
            return Err(PromptIdError::TooLong);
        }
        let first_ok = raw.as_bytes()[0].is_ascii_lowercase() || raw.as_bytes()[0].is_ascii_digit();
        let rest_ok = raw.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        });
        if !first_ok || !rest_ok {
            return Err(PromptIdError::InvalidCharacters(raw.to_string()));
        }
        Ok(Self(raw.to_string()))
    }

    /// Derives an id from a human name ("Code Review!" → "code-review"), the way the
    /// TypeScript mcp-prompts server does when a create request names no id.
    pub fn from_name(name: &str) -> Result<Self, PromptIdError> {
        let mut slug = String::with_capacity(name.len());
        for c in name.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        while slug.ends_with('-') {
            slug.pop();
        }
        slug.truncate(128);
        Self::parse(&slug)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PromptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PromptId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The schema of an id in the OpenAPI document: the rules of [`PromptId::parse`].
impl utoipa::PartialSchema for PromptId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[a-z0-9][a-z0-9._-]*$"))
            .min_length(Some(1))
            .max_length(Some(128))
            .description(Some(
                "lowercase letters, digits, '-', '_' and '.', starting with a letter or digit",
            ))
            .into()
    }
}

impl utoipa::ToSchema for PromptId {}

impl serde::Serialize for PromptId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PromptId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        PromptId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_catalog_style_ids() {
        assert_eq!(
            PromptId::parse("code-review").unwrap().as_str(),
            "code-review"
        );
        assert!(PromptId::parse("v2.sql_helper").is_ok());
    }

    #[test]
    fn rejects_uri_breaking_ids() {
        for bad in ["", "A", "a/b", "a@b", "-x", "a b", "{{x}}"] {
            assert!(PromptId::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(
            PromptId::parse(&"a".repeat(129)),
            Err(PromptIdError::TooLong)
        );
    }

    #[test]
    fn slugs_names() {
        assert_eq!(
            PromptId::from_name("Code Review!").unwrap().as_str(),
            "code-review"
        );
        assert_eq!(
            PromptId::from_name("  SQL -- helper ").unwrap().as_str(),
            "sql-helper"
        );
        assert!(PromptId::from_name("!!!").is_err());
    }
}
