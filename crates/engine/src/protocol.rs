//! Protocol revisions and what the server declares.

use serde_json::{Value, json};

/// Handshake-era revisions we speak, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
pub const LATEST_VERSION: &str = SUPPORTED_VERSIONS[0];

pub const SERVER_NAME: &str = "mcp-prompts";
pub const SERVER_TITLE: &str = "mcp-prompts realtime prompt hub";
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The client's requested revision if we speak it, else our newest (the client then
/// decides whether it can continue, as the lifecycle spec says).
pub fn negotiate(requested: &str) -> &'static str {
    SUPPORTED_VERSIONS
        .iter()
        .find(|v| **v == requested)
        .copied()
        .unwrap_or(LATEST_VERSION)
}

/// The experimental capability under which catalog events are offered.
pub const CATALOG_EVENTS_CAPABILITY: &str = "mcp-prompts/catalogEvents";

pub fn server_capabilities() -> Value {
    json!({
        "prompts": {"listChanged": true},
        "resources": {"subscribe": true, "listChanged": true},
        "tools": {"listChanged": false},
        "logging": {},
        "completions": {},
        "experimental": {
            CATALOG_EVENTS_CAPABILITY: {
                "notification": "notifications/catalog/changed",
                "filters": ["category", "tag"]
            }
        }
    })
}

pub fn server_info() -> Value {
    json!({
        "name": SERVER_NAME,
        "title": SERVER_TITLE,
        "version": SERVER_VERSION,
        "websiteUrl": "https://github.com/mcp-prompts/mcp-prompts"
    })
}

pub const INSTRUCTIONS: &str = "A prompt catalog. Use prompts/list and prompts/get to find and \
render prompts; the *_prompt tools edit the catalog (writes take expectedVersion). Every \
prompt is also a resource at prompt://{id}; subscribe to hear about changes.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_known_versions_and_falls_back_to_latest() {
        assert_eq!(negotiate("2025-03-26"), "2025-03-26");
        assert_eq!(negotiate("2024-11-05"), "2024-11-05");
        assert_eq!(negotiate("1999-01-01"), LATEST_VERSION);
    }
}
