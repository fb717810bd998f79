//! `POST /mcp`: one client message (or, for 2025-03-26 clients, a batch) in.
//!
//! Requests are answered in the response: JSON when the client accepts it, else
//! (or when the engine produced notifications to send before the reply, such as
//! log messages) a short SSE stream that ends after the reply. Notifications and
//! responses from the client get 202. `initialize` without a session id opens a
//! session and returns its id in `Mcp-Session-Id`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::headers::{self, Accepts, SESSION_ID};
use super::session::HttpSession;
use super::sessions::TableFull;
use super::{HttpEdge, json_response, reject, too_many};
use crate::auth::Caller;
use axum::Extension;
use mcp_prompts_engine::domain::Principal;
use mcp_prompts_engine::host::Turn;
use mcp_prompts_engine::jsonrpc;

pub async fn handle(
    State(edge): State<Arc<HttpEdge>>,
    caller: Option<Extension<Caller>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let principal = Caller::principal(caller);
    let modern = super::modern::is_modern(&headers);
    if !modern && let Err(response) = headers::check_protocol_version(&headers) {
        return *response;
    }
    if !is_json(&headers) {
        return reject(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            jsonrpc::INVALID_REQUEST,
            "Content-Type must be application/json",
        );
    }
    let accepts = headers::accepts(&headers);
    if !accepts.json && !accepts.sse {
        return reject(
            StatusCode::NOT_ACCEPTABLE,
            jsonrpc::INVALID_REQUEST,
            "Accept must include application/json or text/event-stream",
        );
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return reject(
            StatusCode::BAD_REQUEST,
            jsonrpc::PARSE_ERROR,
            "the body is not UTF-8",
        );
    };
    if modern {
        return super::modern::handle(&edge, &headers, text, accepts, principal).await;
    }
    let Some(kind) = Kind::of(text) else {
        return reject(
            StatusCode::BAD_REQUEST,
            jsonrpc::PARSE_ERROR,
            "the body is not a JSON-RPC message",
        );
    };
    match headers::session_id(&headers) {
        None if kind.initialize => initialize(&edge, text, accepts, principal, peer).await,
        None => reject(
            StatusCode::BAD_REQUEST,
            jsonrpc::INVALID_REQUEST,
            "Bad Request: Mcp-Session-Id header is required (send initialize first)",
        ),
        Some(_) if kind.initialize => reject(
            StatusCode::BAD_REQUEST,
            jsonrpc::INVALID_REQUEST,
            "initialize must not carry Mcp-Session-Id: it opens a new session",
        ),
        Some(id) => {
            let not_found =
                "Session not found: it ended or expired; send initialize to start a new one";
            let session = match edge.session(id, principal.as_ref(), peer, not_found).await {
                Ok(session) => session,
                Err(refused) => return refused,
            };
            // Held until answered: requests wait for the session one at a time.
            let Ok(_pending) = session.try_pending() else {
                let limit = edge.config.max_pending;
                return too_many(
                    jsonrpc::TOO_MANY_PENDING,
                    format!(
                        "too many requests pending on this session (limit {limit}); wait for the answers before sending more"
                    ),
                    1,
                );
            };
            in_session(&edge, &session, text, kind, accepts).await
        }
    }
}

async fn initialize(
    edge: &HttpEdge,
    text: &str,
    accepts: Accepts,
    principal: Option<Principal>,
    peer: std::net::SocketAddr,
) -> Response {
    if !edge.sessions.has_room() {
        return table_full(&TableFull(edge.sessions.len()));
    }
    let owner = crate::per_principal::Owner::of(principal.as_ref(), peer);
    let slot = match edge.sessions.slot_for(owner) {
        Ok(slot) => slot,
        Err(full) => return too_many(jsonrpc::TOO_MANY_SESSIONS, full.to_string(), 60),
    };
    let gw = &edge.gw;
    let (conn, rx) = gw.registry.register();
    let mut attachment = match gw.host.connect_as(&conn.key, "mcp", principal).await {
        Ok(connected) => connected.attachment,
        Err(e) => {
            gw.registry.remove(conn.id);
            return reject(
                StatusCode::INTERNAL_SERVER_ERROR,
                jsonrpc::INTERNAL_ERROR,
                e.to_string(),
            );
        }
    };
    let turn = gw.host.message(&mut attachment, text).await;
    if !attachment.session.is_initialized() {
        // The engine refused it: no session.
        gw.host.disconnect(&conn.key, Some(attachment)).await;
        gw.registry.remove(conn.id);
        return respond(None, turn, accepts);
    }
    let id = attachment.session.id.clone();
    let key = conn.key.clone();
    let conn_id = conn.id;
    let http = match edge
        .sessions
        .open(attachment.clone(), (conn, rx), edge.doors(), slot)
    {
        Ok(http) => http,
        Err(full) => {
            gw.host.end(&attachment).await;
            let _ = key;
            gw.registry.remove(conn_id);
            return table_full(&full);
        }
    };
    tracing::debug!(session = %id, "HTTP session opened");
    let mut response = respond(Some(&http), turn, accepts);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(SESSION_ID, value);
    }
    response
}

async fn in_session(
    edge: &HttpEdge,
    http: &HttpSession,
    text: &str,
    kind: Kind,
    accepts: Accepts,
) -> Response {
    let turn = {
        let mut attachment = http.state.lock().await;
        edge.gw.host.message(&mut attachment, text).await
    };
    http.touch();
    if let Some(wait) = turn.retry_after {
        // Over the session's rate limit: nothing ran. A notification was dropped.
        let Some(reply) = turn.reply else {
            return StatusCode::ACCEPTED.into_response();
        };
        let mut response = json_response(StatusCode::TOO_MANY_REQUESTS, reply);
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        return response;
    }
    if !kind.has_requests {
        for frame in turn.before.into_iter().chain(turn.reply) {
            http.publish(frame.into());
        }
        for frame in turn.after {
            http.publish(frame);
        }
        return StatusCode::ACCEPTED.into_response();
    }
    respond(Some(http), turn, accepts)
}

/// 503 with `Retry-After`: the session table is full.
fn table_full(full: &TableFull) -> Response {
    let mut response = reject(
        StatusCode::SERVICE_UNAVAILABLE,
        jsonrpc::INTERNAL_ERROR,
        full.to_string(),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    response
}

/// Answers with the turn's reply (and the notices before it); frames after the
/// reply (a replay) go to the session's stream.
fn respond(session: Option<&HttpSession>, turn: Turn, accepts: Accepts) -> Response {
    if let Some(session) = session {
        for frame in turn.after {
            session.publish(frame);
        }
    }
    let Some(reply) = turn.reply else {
        return StatusCode::ACCEPTED.into_response();
    };
    if accepts.sse && (!accepts.json || !turn.before.is_empty()) {
        let mut frames = turn.before;
        frames.push(reply);
        return sse_response(&frames);
    }
    // A JSON body holds one message: earlier notifications go to the stream.
    if let Some(session) = session {
        for frame in turn.before {
            session.publish(frame.into());
        }
    }
    json_response(StatusCode::OK, reply)
}

/// A complete SSE body: the frames in order, then the end of the stream.
fn sse_response(frames: &[String]) -> Response {
    let mut body = String::with_capacity(frames.iter().map(|f| f.len() + 8).sum());
    for frame in frames {
        body.push_str("data: ");
        body.push_str(frame);
        body.push_str("\n\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// What a POST body holds, read without building a value tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kind {
    /// At least one request, so the response carries replies.
    has_requests: bool,
    /// A single `initialize` request.
    initialize: bool,
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default)]
    method: Option<std::borrow::Cow<'a, str>>,
}

impl Probe<'_> {
    fn is_request(&self) -> bool {
        self.method.is_some() && self.id.is_some_and(|id| id.get() != "null")
    }
}

impl Kind {
    /// `None` when the body is not JSON. Messages that are JSON but not valid
    /// JSON-RPC count as requests, so the engine's error reaches the client.
    fn of(text: &str) -> Option<Kind> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            let items: Vec<&RawValue> = serde_json::from_str(trimmed).ok()?;
            let has_requests = items.is_empty()
                || items.iter().any(|item| {
                    serde_json::from_str::<Probe<'_>>(item.get()).map_or(true, |p| {
                        p.is_request() || p.method.is_none() && p.id.is_none()
                    })
                });
            return Some(Kind {
                has_requests,
                initialize: false,
            });
        }
        serde_json::from_str::<&RawValue>(trimmed).ok()?;
        let Ok(probe) = serde_json::from_str::<Probe<'_>>(trimmed) else {
            return Some(Kind {
                has_requests: true,
                initialize: false,
            });
        };
        let is_response = probe.method.is_none() && probe.id.is_some();
        Some(Kind {
            has_requests: probe.is_request() || (probe.method.is_none() && !is_response),
            initialize: probe.is_request() && probe.method.as_deref() == Some("initialize"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<(bool, bool)> {
        Kind::of(text).map(|k| (k.has_requests, k.initialize))
    }

    #[test]
    fn bodies_are_classified_by_what_they_need_back() {
        let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
        assert_eq!(kind(init), Some((true, true)));
        let req = r#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#;
        assert_eq!(kind(req), Some((true, false)));
        let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        assert_eq!(kind(note), Some((false, false)));
        let response = r#"{"jsonrpc":"2.0","id":7,"result":{}}"#;
        assert_eq!(kind(response), Some((false, false)));
        let batch = format!("[{note},{req}]");
        assert_eq!(kind(&batch), Some((true, false)));
        assert_eq!(kind(&format!("[{note}]")), Some((false, false)));
        assert_eq!(kind("[]"), Some((true, false)));
        assert_eq!(kind("{\"jsonrpc\":\"2.0\"}"), Some((true, false)));
        assert_eq!(kind("42"), Some((true, false)));
        assert_eq!(kind("{nope"), None);
    }
}
