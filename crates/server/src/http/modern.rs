//! Revision 2026-07-28 over Streamable HTTP: every POST stands alone (no
//! `initialize`, no `Mcp-Session-Id`); its headers must agree with the body's
//! envelope; `subscriptions/listen` answers with an SSE stream that stays open
//! and carries the change notifications the client asked for.

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::headers::{Accepts, PROTOCOL_VERSION};
use super::{HttpEdge, json_response, reject};
use mcp_prompts_engine::Session;
use mcp_prompts_engine::domain::Principal;
use mcp_prompts_engine::jsonrpc;
use mcp_prompts_engine::modern::{self, META_SUBSCRIPTION_ID, MODERN_VERSION, RequestProbe};
use mcp_prompts_engine::realtime::{Connection, Outgoing, Registry};

/// JSON-RPC code for headers that disagree with the body.
pub const HEADER_MISMATCH: i64 = -32020;

/// Whether this POST speaks the stateless revision (by its header).
pub fn is_modern(headers: &HeaderMap) -> bool {
    headers
        .get(PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == MODERN_VERSION)
}

#[derive(Deserialize, Default)]
struct Named<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    uri: Option<Cow<'a, str>>,
}

pub async fn handle(
    edge: &HttpEdge,
    headers: &HeaderMap,
    text: &str,
    accepts: Accepts,
    principal: Option<Principal>,
) -> Response {
    let Ok(probe) = serde_json::from_str::<RequestProbe<'_>>(text) else {
        return reject(
            StatusCode::BAD_REQUEST,
            jsonrpc::PARSE_ERROR,
            "the body is not a JSON-RPC message",
        );
    };
    if let Err(message) = check_headers(headers, &probe) {
        return reject(StatusCode::BAD_REQUEST, HEADER_MISMATCH, message);
    }
    if probe.id.is_none() {
        // No client notifications are defined for this revision over HTTP.
        return StatusCode::ACCEPTED.into_response();
    }
    if probe.method.as_deref() == Some("subscriptions/listen") {
        return listen(edge, text, principal).await;
    }
    // Each request stands alone, but still as its caller: the role applies.
    let mut session = Session::new("http-stateless");
    session.principal = principal;
    let mut frames = edge.gw.host.engine.handle_text(&mut session, text).await;
    let Some(reply) = frames.pop() else {
        return StatusCode::ACCEPTED.into_response();
    };
    let status = status_of(&reply);
    if frames.is_empty() || !accepts.sse {
        return json_response(status, reply);
    }
    frames.push(reply);
    let events: Vec<Result<Event, Infallible>> = frames
        .into_iter()
        .map(|f| Ok(Event::default().data(f)))
        .collect();
    (status, Sse::new(stream::iter(events))).into_response()
}

/// `MCP-Protocol-Version` must equal the envelope's version, `Mcp-Method` the
/// method, and `Mcp-Name` (Base64 sentinel decoded) the `params.name`/`uri`.
fn check_headers(headers: &HeaderMap, probe: &RequestProbe<'_>) -> Result<(), String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let declared = header(PROTOCOL_VERSION).unwrap_or_default();
    let envelope = modern::envelope(probe.params).map(|e| e.protocol_version);
    if probe.id.is_some() && envelope.as_deref() != Some(declared) {
        return Err(format!(
            "MCP-Protocol-Version '{declared}' does not match _meta[\"{}\"] ({})",
            modern::META_PROTOCOL_VERSION,
            envelope.as_deref().unwrap_or("absent")
        ));
    }
    if let Some(method) = header("mcp-method")
        && Some(method) != probe.method.as_deref()
    {
        return Err(format!(
            "Mcp-Method '{method}' does not match the body's method"
        ));
    }
    if let Some(name) = header("mcp-name") {
        let name = decode_header_value(name).ok_or("Mcp-Name is not valid Base64")?;
        let named: Named<'_> = probe
            .params
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_default();
        let body = named.name.or(named.uri);
        if body.as_deref() != Some(name.as_str()) {
            return Err(format!(
                "Mcp-Name '{name}' does not match params.name/params.uri"
            ));
        }
    }
    Ok(())
}

/// Header values may carry `=?base64?…?=` for text that is not plain ASCII.
fn decode_header_value(value: &str) -> Option<String> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(encoded) => String::from_utf8(STANDARD.decode(encoded).ok()?).ok(),
        None => Some(value.to_string()),
    }
}

/// Unknown methods are 404, unsupported versions 400 (transport spec).
fn status_of(reply: &str) -> StatusCode {
    let code = serde_json::from_str::<Value>(reply)
        .ok()
        .and_then(|v| v["error"]["code"].as_i64());
    match code {
        Some(jsonrpc::METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        Some(modern::UNSUPPORTED_PROTOCOL_VERSION) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// Opens a listen stream: the acknowledgement first, then the notifications the
/// fan-out queues for it, until the client closes it or the server shuts down
/// (then the listen request gets its closing result).
async fn listen(edge: &HttpEdge, text: &str, principal: Option<Principal>) -> Response {
    let registry = edge.gw.registry.clone();
    let (conn, rx) = registry.register();
    let mut session = Session::new(format!("http-listen-{}", conn.id));
    session.principal = principal;
    let frames = edge.gw.host.engine.handle_text(&mut session, text).await;
    let Some(listener) = session.listeners.first() else {
        registry.remove(conn.id);
        let reply = frames.into_iter().last().unwrap_or_default();
        return json_response(status_of(&reply), reply);
    };
    let subscription: Value = serde_json::from_str(&listener.id).unwrap_or(Value::Null);
    conn.set_interest(&session.interest());
    let closing = jsonrpc::success(
        &RawValue::from_string(listener.id.clone()).unwrap_or_else(|_| RawValue::NULL.to_owned()),
        &json!({"resultType": "complete", "_meta": {META_SUBSCRIPTION_ID: subscription}}),
    );
    let state = ListenState {
        registry,
        rx,
        conn,
        shutdown: edge.gw.shutdown.clone(),
        first: frames,
        closing: Some(closing),
    };
    Sse::new(listen_events(state))
        .keep_alive(
            KeepAlive::new()
                .interval(edge.config.keep_alive)
                .text("keep-alive"),
        )
        .into_response()
}

struct ListenState {
    registry: Arc<Registry>,
    conn: Arc<Connection>,
    rx: mpsc::Receiver<Outgoing>,
    shutdown: CancellationToken,
    first: Vec<String>,
    closing: Option<String>,
}

impl Drop for ListenState {
    fn drop(&mut self) {
        self.registry.remove(self.conn.id);
    }
}

fn listen_events(state: ListenState) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(state, |mut st| async move {
        if !st.first.is_empty() {
            let frame = st.first.remove(0);
            return Some((Ok(Event::default().data(frame)), st));
        }
        tokio::select! {
            next = st.rx.recv() => match next {
                Some(Outgoing::Frame(bytes)) => {
                    let data = String::from_utf8_lossy(&bytes).into_owned();
                    Some((Ok(Event::default().data(data)), st))
                }
                Some(Outgoing::Close { .. }) | None => None,
            },
            _ = st.conn.dropped.cancelled() => None,
            _ = st.shutdown.cancelled() => {
                let closing = st.closing.take()?;
                Some((Ok(Event::default().data(closing)), st))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_decode_base64_sentinels() {
        assert_eq!(
            decode_header_value("get_weather").as_deref(),
            Some("get_weather")
        );
        let encoded = format!("=?base64?{}?=", STANDARD.encode("héllo"));
        assert_eq!(decode_header_value(&encoded).as_deref(), Some("héllo"));
        assert_eq!(decode_header_value("=?base64?***?="), None);
    }

    #[test]
    fn unknown_methods_are_404_and_bad_versions_400() {
        assert_eq!(
            status_of(r#"{"id":1,"error":{"code":-32601,"message":"x"}}"#),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status_of(r#"{"id":1,"error":{"code":-32022,"message":"x"}}"#),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(status_of(r#"{"id":1,"result":{}}"#), StatusCode::OK);
    }
}
