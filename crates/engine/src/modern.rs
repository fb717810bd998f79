//! The stateless revision (2026-07-28): every request carries its protocol version,
//! client identity and capabilities in `params._meta`; there is no `initialize`.
//! This module reads that envelope and decorates results the way the revision
//! wants (`resultType`, server identity, cache hints).

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::jsonrpc::RpcError;
use super::protocol::{self, SUPPORTED_VERSIONS};
use super::session::LogLevel;

pub const MODERN_VERSION: &str = "2026-07-28";
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// The per-request envelope of a modern request.
#[derive(Debug, Default)]
pub struct Envelope {
    pub protocol_version: String,
    pub log_level: Option<LogLevel>,
    pub client_capabilities: Value,
}

#[derive(Deserialize)]
struct Params<'a> {
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<Meta<'a>>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    protocol_version: Option<&'a str>,
    #[serde(rename = "io.modelcontextprotocol/logLevel", default)]
    log_level: Option<LogLevel>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", default)]
    client_capabilities: Option<Value>,
}

/// Just enough of a message to route it before the engine sees it (an edge
/// deciding whether a request is stateless). A `null` id reads as absent.
#[derive(Deserialize)]
pub struct RequestProbe<'a> {
    #[serde(default, borrow)]
    pub id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub method: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub params: Option<&'a RawValue>,
}

/// The envelope of `params`, if this is a modern request. Cheap for legacy
/// requests: a substring check before any parsing.
pub fn envelope(params: Option<&RawValue>) -> Option<Envelope> {
    // Built once: `str::contains` sets up a searcher for the pattern per call.
    static FINDER: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(META_PROTOCOL_VERSION));
    let raw = params?.get();
    FINDER.find(raw.as_bytes())?;
    let meta = serde_json::from_str::<Params<'_>>(raw).ok()?.meta?;
    Some(Envelope {
        protocol_version: meta.protocol_version?.to_string(),
        log_level: meta.log_level,
        client_capabilities: meta.client_capabilities.unwrap_or_else(|| json!({})),
    })
}

/// Every revision this server speaks, newest first.
pub fn all_versions() -> Vec<&'static str> {
    std::iter::once(MODERN_VERSION)
        .chain(SUPPORTED_VERSIONS.iter().copied())
        .collect()
}

pub fn unsupported_version(requested: &str) -> RpcError {
    RpcError::new(UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version")
        .with_data(json!({ "supported": all_versions(), "requested": requested }))
}

/// `server/discover`.
pub fn discover() -> Value {
    json!({
        "supportedVersions": all_versions(),
        "capabilities": protocol::server_capabilities(),
        "instructions": protocol::INSTRUCTIONS,
        "ttlMs": 3_600_000,
        "cacheScope": "public",
    })
}

/// Adds what the modern revision requires of every result; list and read results
/// are cacheable, and the catalog changes live, so they are never fresh for long.
pub fn decorate(method: &str, result: &mut Value) {
    let Some(obj) = result.as_object_mut() else {
        return;
    };
    obj.insert("resultType".into(), json!("complete"));
    let meta = obj.entry("_meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(
            "io.modelcontextprotocol/serverInfo".into(),
            protocol::server_info(),
        );
    }
    let cacheable = matches!(
        method,
        "prompts/list"
            | "tools/list"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
    );
    if cacheable {
        obj.entry("ttlMs").or_insert(json!(0));
        obj.entry("cacheScope").or_insert(json!("public"));
    }
}

/// [`decorate`] for a result already written as a JSON object with at least
/// one member and none of the members `decorate` adds.
pub fn decorate_written(method: &str, written: &str) -> String {
    let mut extra = Value::Object(Default::default());
    decorate(method, &mut extra);
    let extra = extra.to_string();
    let members = written.trim_start().strip_prefix('{').unwrap_or(written);
    format!("{},{members}", &extra[..extra.len() - 1])
}

/// Methods of the handshake era that the modern revision removed.
pub fn removed_in_modern(method: &str) -> bool {
    matches!(
        method,
        "resources/subscribe" | "resources/unsubscribe" | "logging/setLevel"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn written_results_are_decorated_like_values() {
        for method in ["prompts/get", "prompts/list"] {
            let written = r#"{"description":"d","messages":[{"role":"user"}]}"#;
            let mut value: Value = serde_json::from_str(written).unwrap();
            decorate(method, &mut value);
            let decorated: Value =
                serde_json::from_str(&decorate_written(method, written)).unwrap();
            assert_eq!(decorated, value, "{method}");
        }
    }

    #[test]
    fn reads_the_envelope_only_of_modern_requests() {
        assert!(envelope(Some(&raw(r#"{"name":"x"}"#))).is_none());
        assert!(envelope(None).is_none());
        let e = envelope(Some(&raw(
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/logLevel":"info"}}"#,
        )))
        .unwrap();
        assert_eq!(e.protocol_version, "2026-07-28");
        assert_eq!(e.log_level, Some(LogLevel::Info));
    }

    #[test]
    fn decorates_results() {
        let mut r = json!({"prompts": []});
        decorate("prompts/list", &mut r);
        assert_eq!(r["resultType"], "complete");
        assert_eq!(r["ttlMs"], 0);
        assert_eq!(
            r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "mcp-prompts"
        );
        let mut g = json!({"messages": []});
        decorate("prompts/get", &mut g);
        assert!(g.get("ttlMs").is_none());
    }
}
