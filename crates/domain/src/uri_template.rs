//! URI templates with simple `{name}` placeholders (RFC 6570 level 1), as used by
//! static resource templates: parsed once at startup, then matched against the
//! concrete URIs clients read. Operators (`{+x}`, `{?x}`, ...) are refused rather
//! than half-supported.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(String),
}

/// A parsed template such as `notes://{team}/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UriTemplateError {
    #[error("'{{' at byte {0} is never closed")]
    Unclosed(usize),
    #[error("'}}' at byte {0} closes no placeholder")]
    StrayClose(usize),
    #[error(
        "placeholder '{{{0}}}' is not a simple name (ASCII letters, digits, '_'); operators such as '+', '?' and '#' are not supported"
    )]
    BadName(String),
    #[error("placeholder '{{{0}}}' appears twice")]
    Duplicate(String),
    #[error("placeholders '{{{0}}}' and '{{{1}}}' must be separated by literal text")]
    Adjacent(String, String),
}

/// Characters a placeholder's value never contains: it stays within one path
/// segment and never swallows a query or fragment.
const VALUE_STOPS: [char; 3] = ['/', '?', '#'];

impl UriTemplate {
    pub fn parse(source: &str) -> Result<Self, UriTemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = source.char_indices();
        while let Some((at, c)) = rest.next() {
            match c {
                '{' => {
                    let close = source[at..]
                        .find('}')
                        .map(|i| at + i)
                        .ok_or(UriTemplateError::Unclosed(at))?;
                    let name = &source[at + 1..close];
                    if name.is_empty()
                        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        return Err(UriTemplateError::BadName(name.to_string()));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    if let Some(Part::Var(previous)) = parts.last() {
                        return Err(UriTemplateError::Adjacent(
                            previous.clone(),
                            name.to_string(),
                        ));
                    }
                    if parts.iter().any(|p| p == &Part::Var(name.to_string())) {
                        return Err(UriTemplateError::Duplicate(name.to_string()));
                    }
                    parts.push(Part::Var(name.to_string()));
                    // Skip the name and the closing brace.
                    for _ in source[at + 1..=close].chars() {
                        rest.next();
                    }
                }
                '}' => return Err(UriTemplateError::StrayClose(at)),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Self {
            source: source.to_string(),
            parts,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The placeholder names, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The text before the first placeholder (where the scheme must be).
    pub fn literal_prefix(&self) -> &str {
        match self.parts.first() {
            Some(Part::Literal(text)) => text,
            _ => "",
        }
    }

    /// The placeholder values when `uri` is an expansion of this template. Each
    /// value is non-empty and holds no '/', '?' or '#'; it is taken as written
    /// (no percent-decoding).
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let mut values = BTreeMap::new();
        match_parts(&self.parts, uri, &mut values).then_some(values)
    }
}

fn match_parts(parts: &[Part], uri: &str, values: &mut BTreeMap<String, String>) -> bool {
    match parts.split_first() {
        None => uri.is_empty(),
        Some((Part::Literal(text), rest)) => uri
            .strip_prefix(text.as_str())
            .is_some_and(|tail| match_parts(rest, tail, values)),
        Some((Part::Var(name), rest)) => {
            let longest = uri.find(VALUE_STOPS).unwrap_or(uri.len());
            // Shortest value first; a literal always follows a placeholder, so
            // only ends where that literal starts are worth trying.
            for end in (1..=longest).filter(|&e| uri.is_char_boundary(e)) {
                if match_parts(rest, &uri[end..], values) {
                    values.insert(name.clone(), uri[..end].to_string());
                    return true;
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matches_expansions_and_nothing_else() {
        let t = UriTemplate::parse("test://template/{id}/data").unwrap();
        assert_eq!(t.variables().collect::<Vec<_>>(), ["id"]);
        assert_eq!(t.literal_prefix(), "test://template/");
        assert_eq!(
            t.matches("test://template/123/data"),
            Some(values(&[("id", "123")]))
        );
        for miss in [
            "test://template//data",
            "test://template/1/2/data",
            "test://template/123/data/",
            "test://template/123",
            "other://template/123/data",
        ] {
            assert_eq!(t.matches(miss), None, "{miss}");
        }
    }

    #[test]
    fn several_placeholders_and_a_trailing_one() {
        let t = UriTemplate::parse("docs://{team}/{page}.md").unwrap();
        assert_eq!(
            t.matches("docs://core/intro.v2.md"),
            Some(values(&[("team", "core"), ("page", "intro.v2")]))
        );
        let tail = UriTemplate::parse("kb://item/{name}").unwrap();
        assert_eq!(
            tail.matches("kb://item/é-1"),
            Some(values(&[("name", "é-1")]))
        );
        assert_eq!(tail.matches("kb://item/a?b"), None);
    }

    #[test]
    fn refuses_what_it_cannot_match_precisely() {
        use UriTemplateError::*;
        let cases = [
            ("x://{id", Unclosed(4)),
            ("x://id}", StrayClose(6)),
            ("x://{}", BadName(String::new())),
            ("x://{+path}", BadName("+path".into())),
            ("x://{a.b}", BadName("a.b".into())),
            ("x://{a}/{a}", Duplicate("a".into())),
            ("x://{a}{b}", Adjacent("a".into(), "b".into())),
        ];
        for (source, error) in cases {
            assert_eq!(UriTemplate::parse(source), Err(error), "{source}");
        }
    }
}
