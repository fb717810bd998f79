//! The API Gateway WebSocket routes. `$connect` negotiates the subprotocol and
//! registers the connection with a fresh session; `$default` runs one message
//! through the engine with the session loaded from (and, if it changed, saved
//! back to) the stores, pushes notifications with `PostToConnection`, and returns
//! the reply as the route response; `$disconnect` forgets the connection, best
//! effort (API Gateway does not wait for it).

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::app::LambdaApp;
use super::session::{Effects, load_session, settle};
use crate::unix_now;
use mcp_prompts_engine::jsonrpc::{self, RpcError};
use mcp_prompts_engine::ports::{ConnectionRecord, PushOutcome};
use mcp_prompts_engine::subprotocol::{self, ACCEPTED};

/// Response header naming the session `$connect` created (the `initialize`
/// result names it too, as `mcpSessionId`).
pub const SESSION_HEADER: &str = "mcp-session-id";

/// Routes on `requestContext.routeKey`, as one Lambda serving all three routes.
pub async fn handle(
    app: &LambdaApp,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    match event.request_context.route_key.as_deref() {
        Some("$connect") => connect(app, event).await,
        Some("$disconnect") => disconnect(app, event).await,
        _ => default_route(app, event).await,
    }
}

pub async fn connect(
    app: &LambdaApp,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let Some(connection_id) = event.request_context.connection_id.clone() else {
        return response(400, Some("no connection id".into()));
    };
    let offered = header_values(&event.headers, "sec-websocket-protocol");
    let Some(chosen) = subprotocol::negotiate(&offered) else {
        let body = format!("unsupported WebSocket subprotocol '{offered}'; accepted: {ACCEPTED}\n");
        return response(400, Some(body));
    };
    let now = unix_now();
    // The session is created lazily: `initialize` may resume a stored one.
    let session_id = uuid::Uuid::new_v4().to_string();
    let connection = ConnectionRecord {
        connection_id: connection_id.clone(),
        session_id: session_id.clone(),
        connected_at: now,
        expires_at: now + app.limits.connection_ttl_secs,
    };
    if let Err(e) = app.connections.put(&connection).await {
        tracing::error!(connection = %connection_id, error = %e, "$connect could not register the connection");
        return response(500, Some("could not register the connection".into()));
    }
    let mut ok = response(200, None);
    if let Ok(v) = HeaderValue::from_str(&chosen.echo) {
        ok.headers.insert("sec-websocket-protocol", v);
    }
    if let Ok(v) = HeaderValue::from_str(&session_id) {
        ok.headers.insert(SESSION_HEADER, v);
    }
    ok
}

pub async fn disconnect(
    app: &LambdaApp,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let Some(connection_id) = event.request_context.connection_id.as_deref() else {
        return response(200, None);
    };
    let now = unix_now();
    if let Ok(Some(conn)) = app.connections.get(connection_id, now).await
        && let Ok(Some(mut record)) = app.sessions.load(&conn.session_id, now).await
        && record.connection_id.as_deref() == Some(connection_id)
    {
        record.connection_id = None;
        record.expires_at = now + app.limits.session_ttl_secs;
        // Conditional: a resume on another connection may have got there first.
        if let Err(e) = app.sessions.detach(&record, connection_id, now).await {
            tracing::warn!(error = %e, "$disconnect could not detach the session");
        }
    }
    if let Err(e) = app.connections.delete(connection_id).await {
        tracing::warn!(connection = connection_id, error = %e, "$disconnect cleanup failed; TTL will remove it");
    }
    response(200, None)
}

pub async fn default_route(
    app: &LambdaApp,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let Some(connection_id) = event.request_context.connection_id.clone() else {
        return response(400, Some("no connection id".into()));
    };
    let text = match message_text(&event) {
        Ok(t) => t,
        Err(reply) => return response(200, Some(reply)),
    };
    if super::stateless::is_stateless(&text) {
        return match super::stateless::handle(app, &connection_id, &text).await {
            Some(reply) => {
                let reply = reply.map(|r| enforce_limit(r, app.limits.max_message_bytes));
                response(200, reply)
            }
            None => response(200, Some(timed_out(&text, app.limits.request_timeout))),
        };
    }
    let now = unix_now();
    let (conn, record) = match load_session(app, &connection_id, now).await {
        Ok(r) => r,
        Err(reply) => return response(200, Some(reply)),
    };
    let head = app.refresh_catalog().await;
    let mut session = record.session.clone();
    let handled = app.engine.handle_text_with_effects(&mut session, &text);
    let Ok(out) = tokio::time::timeout(app.limits.request_timeout, handled).await else {
        return response(200, Some(timed_out(&text, app.limits.request_timeout)));
    };
    let mut frames: Vec<String> = out.frames.into_iter().filter(|f| !f.is_empty()).collect();
    let reply = match frames.last() {
        Some(last) if !is_notification(last) => frames.pop(),
        _ => None,
    };
    let effects = Effects {
        takeover: out.takeover,
        changed: out.session_changed,
    };
    let replay = settle(app, conn, record, session, effects, head, now).await;
    for frame in frames.into_iter().map(Bytes::from).chain(replay) {
        match app.pusher.push(&connection_id, frame).await {
            PushOutcome::Delivered => {}
            other => {
                tracing::warn!(connection = %connection_id, ?other, "could not push a notification")
            }
        }
    }
    let reply = reply.map(|r| enforce_limit(r, app.limits.max_message_bytes));
    response(200, reply)
}

fn message_text(event: &ApiGatewayWebsocketProxyRequest) -> Result<String, String> {
    let body = event.body.clone().unwrap_or_default();
    if !event.is_base64_encoded {
        return Ok(body);
    }
    let binary = RpcError::new(
        jsonrpc::INVALID_REQUEST,
        "binary frames are not supported: send JSON-RPC as text frames",
    );
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| jsonrpc::failure(None, &binary))
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    method: Option<&'a RawValue>,
}

fn is_notification(frame: &str) -> bool {
    serde_json::from_str::<Probe<'_>>(frame).is_ok_and(|p| p.method.is_some() && p.id.is_none())
}

/// API Gateway refuses messages over 128 KB: a bigger reply becomes an error
/// that says so, with the request's id, instead of a silently dropped frame.
pub fn enforce_limit(reply: String, limit: usize) -> String {
    if reply.len() <= limit {
        return reply;
    }
    let id = serde_json::from_str::<Probe<'_>>(&reply)
        .ok()
        .and_then(|p| p.id);
    let err = RpcError::internal(format!(
        "reply of {} bytes exceeds the API Gateway WebSocket message limit of {} bytes; \
         ask for less (a smaller page, one version, a narrower search)",
        reply.len(),
        limit
    ))
    .with_data(json!({ "size": reply.len(), "limit": limit }));
    jsonrpc::failure(id, &err)
}

/// The reply to a request that ran into API Gateway's integration timeout. A
/// write may still have committed; its notification says so.
fn timed_out(request: &str, limit: std::time::Duration) -> String {
    let id = serde_json::from_str::<Probe<'_>>(request)
        .ok()
        .and_then(|p| p.id);
    let err = RpcError::internal(format!(
        "request did not finish within {} s (API Gateway's integration timeout is 29 s); \
         a write may still have been applied: re-read before retrying",
        limit.as_secs()
    ));
    jsonrpc::failure(id, &err)
}

fn response(status: i64, body: Option<String>) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = status;
    r.body = body.map(Body::Text);
    r
}

/// All values of a header, comma-joined (offers may come in several headers).
fn header_values(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
}
