//! The Streamable HTTP headers: `Mcp-Session-Id`, `MCP-Protocol-Version`,
//! `Accept`, `Last-Event-ID`, checked the same way by every method.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::reject;
use mcp_prompts_engine::jsonrpc;
use mcp_prompts_engine::protocol::SUPPORTED_VERSIONS;

pub const SESSION_ID: &str = "mcp-session-id";
pub const PROTOCOL_VERSION: &str = "mcp-protocol-version";
pub const LAST_EVENT_ID: &str = "last-event-id";

pub fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers.get(SESSION_ID).and_then(|v| v.to_str().ok())
}

/// An unsupported `MCP-Protocol-Version` is refused with 400 (transport spec);
/// a missing one is allowed (the session's negotiated revision applies).
pub fn check_protocol_version(headers: &HeaderMap) -> Result<(), Box<Response>> {
    let Some(value) = headers.get(PROTOCOL_VERSION) else {
        return Ok(());
    };
    let version = value.to_str().unwrap_or_default().trim();
    if SUPPORTED_VERSIONS.contains(&version) {
        return Ok(());
    }
    Err(Box::new(reject(
        StatusCode::BAD_REQUEST,
        jsonrpc::INVALID_REQUEST,
        format!(
            "unsupported MCP-Protocol-Version '{version}'; supported: {}",
            SUPPORTED_VERSIONS.join(", ")
        ),
    )))
}

/// Which response bodies the client takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepts {
    pub json: bool,
    pub sse: bool,
}

/// Reads `Accept`; a missing header accepts anything.
pub fn accepts(headers: &HeaderMap) -> Accepts {
    let mut found = Accepts {
        json: false,
        sse: false,
    };
    let mut any_header = false;
    for value in headers.get_all(header::ACCEPT) {
        any_header = true;
        for item in value.to_str().unwrap_or_default().split(',') {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
            });
            if refused {
                continue;
            }
            match media.as_str() {
                "*/*" => {
                    found.json = true;
                    found.sse = true;
                }
                "application/json" | "application/*" => found.json = true,
                "text/event-stream" | "text/*" => found.sse = true,
                _ => {}
            }
        }
    }
    if !any_header {
        return Accepts {
            json: true,
            sse: true,
        };
    }
    found
}

/// The numeric event id a resuming client names, if it is one of ours.
pub fn last_event_id(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(LAST_EVENT_ID)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn accept_lists_are_read_with_wildcards_and_refusals() {
        let both = accepts(&with("accept", "application/json, text/event-stream"));
        assert_eq!((both.json, both.sse), (true, true));
        let sse = accepts(&with("accept", "text/event-stream"));
        assert_eq!((sse.json, sse.sse), (false, true));
        let any = accepts(&with("accept", "*/*"));
        assert_eq!((any.json, any.sse), (true, true));
        let refused = accepts(&with("accept", "application/json;q=0, text/event-stream"));
        assert_eq!((refused.json, refused.sse), (false, true));
        let html = accepts(&with("accept", "text/html"));
        assert_eq!((html.json, html.sse), (false, false));
        let missing = accepts(&HeaderMap::new());
        assert_eq!((missing.json, missing.sse), (true, true));
    }

    #[test]
    fn protocol_version_header_must_name_a_supported_revision() {
        assert!(check_protocol_version(&HeaderMap::new()).is_ok());
        assert!(check_protocol_version(&with(PROTOCOL_VERSION, "2025-11-25")).is_ok());
        assert!(check_protocol_version(&with(PROTOCOL_VERSION, "2025-03-26")).is_ok());
        let bad = check_protocol_version(&with(PROTOCOL_VERSION, "1999-01-01")).unwrap_err();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn last_event_ids_are_ours_only_when_numeric() {
        assert_eq!(last_event_id(&with(LAST_EVENT_ID, "42")), Some(42));
        assert_eq!(last_event_id(&with(LAST_EVENT_ID, "abc")), None);
        assert_eq!(last_event_id(&HeaderMap::new()), None);
    }
}
