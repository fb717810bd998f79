//! Who is asking and what they may do. Roles are ordered: an editor can do all a
//! reader can, an admin all an editor can.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// List, get, render, search, subscribe.
    Reader,
    /// And every write: create, update, delete, labels, import.
    Editor,
    /// And key management.
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{0}' (roles: reader, editor, admin)")]
pub struct UnknownRole(pub String);

impl Role {
    pub fn parse(text: &str) -> Result<Self, UnknownRole> {
        match text.trim().to_ascii_lowercase().as_str() {
            "reader" => Ok(Role::Reader),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            _ => Err(UnknownRole(text.to_string())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn can_write(self) -> bool {
        self >= Role::Editor
    }
}

/// An authenticated caller: the name of its key (or token subject) and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_order() {
        assert_eq!(Role::parse("Editor"), Ok(Role::Editor));
        assert!(Role::parse("root").is_err());
        assert!(!Role::Reader.can_write());
        assert!(Role::Editor.can_write() && Role::Admin.can_write());
    }
}
