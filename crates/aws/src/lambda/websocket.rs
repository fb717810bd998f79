//! The API Gateway WebSocket routes, thin over the session host. `$connect`
//! negotiates the subprotocol and registers the connection with a fresh session
//! of the caller the authorizer admitted (`requestContext.authorizer`, which
//! API Gateway repeats on every `$default` of the connection);
//! `$default` runs one message (its session loaded from the stores, settled back
//! by the host), pushes the notices and replay with `PostToConnection`, and
//! returns the reply as the route response; `$disconnect` detaches the session
//! for resume and forgets the connection, best effort (API Gateway does not
//! wait for it). Each invocation writes one EMF line (`super::emf`): the
//! engine's request and render counts of it, plus the pushes that found a
//! gone (410) or throttled (429) connection.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use bytes::Bytes;
use serde_json::json;
use serde_json::value::RawValue;

use super::app::LambdaApp;
use super::authorizer::principal_of;
use super::emf::{Metric, Metrics};
use super::runtime::HandlerKind;
use mcp_prompts_engine::host::{ConnectError, Turn};
use mcp_prompts_engine::jsonrpc::{self, RpcError};
use mcp_prompts_engine::metrics::tallied;
use mcp_prompts_engine::ports::PushOutcome;

/// Response header naming the session `$connect` created (the `initialize`
/// result names it too, as `mcpSessionId`).
pub const SESSION_HEADER: &str = "mcp-session-id";

/// Routes on `requestContext.routeKey`, as one Lambda serving all three
/// routes, and writes the invocation's metrics.
pub async fn handle(
    app: &LambdaApp,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let mut m = Metrics::zeroed(&[
        Metric::Requests,
        Metric::Errors,
        Metric::Gone410,
        Metric::PostThrottled,
    ]);
    let routed = async {
        match event.request_context.route_key.as_deref() {
            Some("$connect") => connect(app, event, &mut m).await,
            Some("$disconnect") => disconnect(app, event).await,
            _ => default_route(app, event, &mut m).await,
        }
    };
    let (response, tally) = tallied(routed).await;
    m.add_tally(&tally, true);
    app.emf.emit(HandlerKind::WebSocket, &m);
    response
}

pub async fn connect(
    app: &LambdaApp,
    event: ApiGatewayWebsocketProxyRequest,
    m: &mut Metrics,
) -> ApiGatewayProxyResponse {
    let Some(connection_id) = event.request_context.connection_id.clone() else {
        return response(400, Some("no connection id".into()));
    };
    let offered = header_values(&event.headers, "sec-websocket-protocol");
    let caller = principal_of(&event.request_context.authorizer);
    let connected = match app.host.connect_as(&connection_id, &offered, caller).await {
        Ok(c) => c,
        Err(refused @ ConnectError::Subprotocol { .. }) => {
            return response(400, Some(format!("{refused}\n")));
        }
        Err(e) => {
            tracing::error!(connection = %connection_id, error = %e, "$connect could not register the connection");
            m.count(Metric::Errors, 1);
            return response(500, Some("could not register the connection".into()));
        }
    };
    let mut ok = response(200, None);
    if let Ok(v) = HeaderValue::from_str(&connected.negotiated.echo) {
        ok.headers.insert("sec-websocket-protocol", v);
    }
    if let Ok(v) = HeaderValue::from_str(&connected.attachment.session.id) {
        ok.headers.insert(SESSION_HEADER, v);
    }
    ok
}

pub async fn disconnect(
    app: &LambdaApp,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    if let Some(connection_id) = event.request_context.connection_id.as_deref() {
        app.host.disconnect(connection_id, None).await;
    }
    response(200, None)
}

/// Runs one message; what the engine did not answer itself (a binary frame,
/// an unknown connection, a timeout, an oversize reply) is counted in `m`.
pub async fn default_route(
    app: &LambdaApp,
    event: ApiGatewayWebsocketProxyRequest,
    m: &mut Metrics,
) -> ApiGatewayProxyResponse {
    let Some(connection_id) = event.request_context.connection_id.clone() else {
        return response(400, Some("no connection id".into()));
    };
    let text = match message_text(&event) {
        Ok(t) => t,
        Err(reply) => {
            failed_request(m, true);
            return response(200, Some(reply));
        }
    };
    let shape = app.engine.classify(&text);
    app.refresh_catalog().await;
    let caller = principal_of(&event.request_context.authorizer);
    let handled = async {
        if shape.stateless {
            // 2026-07-28: the request carries its own session; nothing to load or save.
            return Ok(app.host.stateless(&text, caller).await);
        }
        let mut attachment = app.host.attachment(&connection_id, caller.as_ref()).await?;
        Ok(app.host.message(&mut attachment, &text).await)
    };
    let turn: Turn = match tokio::time::timeout(app.limits.request_timeout, handled).await {
        Ok(Ok(turn)) => turn,
        Ok(Err(reply)) => {
            failed_request(m, shape.id.is_some());
            return response(200, Some(reply));
        }
        Err(_) => {
            failed_request(m, shape.id.is_some());
            return response(200, Some(timed_out(shape.id.as_deref(), app)));
        }
    };
    let frames = turn.before.into_iter().map(Bytes::from).chain(turn.after);
    for frame in frames {
        push_retrying(app, &connection_id, frame, m).await;
    }
    let limit = app.limits.max_message_bytes;
    let reply = turn.reply.map(|r| {
        if r.len() > limit {
            // The engine counted an answer; the client gets an error instead.
            m.count(Metric::Errors, 1);
        }
        enforce_limit(r, shape.id.as_deref(), limit)
    });
    response(200, reply)
}

/// A message answered with an error before the engine saw it (or instead of
/// its answer): one more error, and one more request if it was one.
fn failed_request(m: &mut Metrics, request: bool) {
    m.count(Metric::Requests, usize::from(request));
    m.count(Metric::Errors, 1);
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

/// API Gateway refuses messages over 128 KB: a bigger reply becomes an error
/// that says so, with the request's id, instead of a silently dropped frame.
pub fn enforce_limit(reply: String, id: Option<&str>, limit: usize) -> String {
    if reply.len() <= limit {
        return reply;
    }
    let err = RpcError::internal(format!(
        "reply of {} bytes exceeds the API Gateway WebSocket message limit of {} bytes; \
         ask for less (a smaller page, one version, a narrower search)",
        reply.len(),
        limit
    ))
    .with_data(json!({ "size": reply.len(), "limit": limit }));
    failure(id, &err)
}

/// The reply to a request that ran into API Gateway's integration timeout. A
/// write may still have committed; its notification says so.
fn timed_out(id: Option<&str>, app: &LambdaApp) -> String {
    let err = RpcError::internal(format!(
        "request did not finish within {} s (API Gateway's integration timeout is 29 s); \
         a write may still have been applied: re-read before retrying",
        app.limits.request_timeout.as_secs()
    ));
    failure(id, &err)
}

/// An error reply to the request whose id is `id` (JSON text).
fn failure(id: Option<&str>, err: &RpcError) -> String {
    let id = id.and_then(|id| RawValue::from_string(id.to_string()).ok());
    jsonrpc::failure(id.as_deref(), err)
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

/// Posts a notification of this turn, retrying a throttled or failed post twice
/// (the management client has no SDK retries: the fan-out paces itself).
async fn push_retrying(app: &LambdaApp, connection_id: &str, frame: Bytes, m: &mut Metrics) {
    for attempt in 1..=3u32 {
        let outcome = app.pusher.push(connection_id, frame.clone()).await;
        match outcome {
            PushOutcome::Delivered | PushOutcome::Dropped => return,
            PushOutcome::Gone => {
                m.count(Metric::Gone410, 1);
                return;
            }
            PushOutcome::Throttled => m.count(Metric::PostThrottled, 1),
            PushOutcome::Failed(_) => {}
        }
        if attempt == 3 {
            tracing::warn!(connection = %connection_id, ?outcome, "could not push a notification");
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
        }
    }
}
