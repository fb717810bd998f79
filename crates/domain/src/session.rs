//! MCP session state: everything the engine remembers between messages of one
//! client, and the part of it the fan-out reads ([`Interest`]). Plain data, so
//! any deployment keeps it where it likes (the embedded store, a DynamoDB item)
//! and the ports can name it without importing the engine.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Principal, PromptId};

/// The revision a fresh session speaks until `initialize` negotiates one.
pub const DEFAULT_PROTOCOL_VERSION: &str = "2025-11-25";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Nothing but `initialize` and `ping` yet.
    New,
    /// `initialize` answered; waiting for `notifications/initialized`.
    Initializing,
    Ready,
}

/// Syslog severities, as MCP's `logging/setLevel` names them (lowest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
    /// Above every level: nothing is logged (not an MCP level; never sent).
    #[serde(skip)]
    Off,
}

/// Which catalog events a session asked for (`notifications/catalog/changed`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CatalogFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

impl CatalogFilter {
    pub fn matches(&self, category: Option<&str>, tags: &[String]) -> bool {
        let category_ok = self
            .category
            .as_deref()
            .is_none_or(|want| category.is_some_and(|c| c.eq_ignore_ascii_case(want)));
        let tag_ok = self
            .tag
            .as_deref()
            .is_none_or(|want| tags.iter().any(|t| t.eq_ignore_ascii_case(want)));
        category_ok && tag_ok
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub phase: Phase,
    pub protocol_version: String,
    #[serde(default)]
    pub client_info: Value,
    #[serde(default)]
    pub client_capabilities: Value,
    pub log_level: LogLevel,
    /// Prompts whose resource the client subscribed to.
    #[serde(default)]
    pub subscriptions: BTreeSet<PromptId>,
    /// Set when the client opted into catalog events.
    #[serde(default)]
    pub catalog_events: Option<CatalogFilter>,
    /// `false` when the client opted out of `list_changed` notifications.
    pub list_changed: bool,
    /// Open `subscriptions/listen` streams (revision 2026-07-28).
    #[serde(default)]
    pub listeners: Vec<Listener>,
    /// Set by `initialize` when missed changes must be replayed from this
    /// position; the transport runs the replay once `notifications/initialized`
    /// arrives (see `Engine::replay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_from: Option<u64>,
    /// Who opened the session, when the hub requires credentials: only the
    /// same principal may resume it, and its role bounds what it may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
}

/// One `subscriptions/listen` stream: what it asked for, under its request id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// The JSON text of the listen request's id, echoed as the subscription id.
    pub id: String,
    pub prompts_list_changed: bool,
    pub resources_list_changed: bool,
    pub resource_subscriptions: BTreeSet<PromptId>,
    pub catalog_events: Option<CatalogFilter>,
}

impl Session {
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            phase: Phase::New,
            protocol_version: DEFAULT_PROTOCOL_VERSION.to_string(),
            client_info: Value::Null,
            client_capabilities: Value::Null,
            log_level: LogLevel::Warning,
            subscriptions: BTreeSet::new(),
            catalog_events: None,
            list_changed: true,
            listeners: Vec::new(),
            replay_from: None,
            principal: None,
        }
    }

    /// Whether this session may write (create, update, delete, label, import):
    /// always without credentials, else when its role allows.
    pub fn can_write(&self) -> bool {
        self.principal.as_ref().is_none_or(|p| p.role.can_write())
    }

    /// A throwaway session for one stateless (2026-07-28) request.
    pub fn stateless(
        protocol_version: &str,
        log_level: Option<LogLevel>,
        capabilities: Value,
    ) -> Self {
        let mut s = Self::new("stateless");
        s.phase = Phase::Ready;
        s.protocol_version = protocol_version.to_string();
        s.client_capabilities = capabilities;
        // No level in the envelope means no log messages for this request.
        s.log_level = log_level.unwrap_or(LogLevel::Off);
        s
    }

    pub fn is_initialized(&self) -> bool {
        self.phase != Phase::New
    }

    pub fn logs_at(&self, level: LogLevel) -> bool {
        level >= self.log_level
    }

    /// What this session wants to hear about catalog changes.
    pub fn interest(&self) -> Interest {
        Interest {
            // Notifications start once the client said `notifications/initialized`.
            initialized: self.phase == Phase::Ready,
            list_changed: self.list_changed,
            subscriptions: self.subscriptions.clone(),
            catalog_events: self.catalog_events.clone(),
            listeners: self.listeners.clone(),
        }
    }
}

/// The part of a session the fan-out reads: which notifications it wants.
/// Hashable, so a door can tell "changed since I indexed it" from a digest
/// instead of keeping a copy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Interest {
    pub initialized: bool,
    pub list_changed: bool,
    pub subscriptions: BTreeSet<PromptId>,
    pub catalog_events: Option<CatalogFilter>,
    pub listeners: Vec<Listener>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_filter_matches_category_and_tag_case_insensitively() {
        let f = CatalogFilter {
            category: Some("Dev".into()),
            tag: None,
        };
        assert!(f.matches(Some("dev"), &[]));
        assert!(!f.matches(Some("data"), &[]));
        assert!(!f.matches(None, &[]));
        let t = CatalogFilter {
            category: None,
            tag: Some("sql".into()),
        };
        assert!(t.matches(None, &["SQL".into()]));
        assert!(!t.matches(None, &["rust".into()]));
        assert!(CatalogFilter::default().matches(None, &[]));
    }

    #[test]
    fn log_levels_order_by_severity() {
        let mut s = Session::new("s");
        assert!(!s.logs_at(LogLevel::Info));
        s.log_level = LogLevel::Debug;
        assert!(s.logs_at(LogLevel::Info));
    }
}
