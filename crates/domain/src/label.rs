//! Labels: movable names (`production`, `staging`, ...) pointing at one version.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "label '{0}' must be 1-64 characters of letters, digits, '-', '_' or '.', and not a number"
)]
pub struct LabelError(pub String);

impl Label {
    pub fn parse(raw: &str) -> Result<Self, LabelError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && !raw.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(LabelError(raw.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_names_not_numbers() {
        assert!(Label::parse("production").is_ok());
        assert!(Label::parse("v1.2-rc").is_ok());
        assert!(Label::parse("12").is_err());
        assert!(Label::parse("").is_err());
        assert!(Label::parse("a b").is_err());
    }
}
