//! The API Gateway WebSocket routes. `$connect` negotiates the subprotocol and
//! registers the connection with a session; `$default` runs one message through
//! the engine with the session loaded from (and, if it changed, saved back to)
//! the session store, and returns the reply as the route response; `$disconnect`
//! forgets the connection, best effort (API Gateway does not wait for it).

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::app::LambdaApp;
use crate::adapters::aws::unix_now;
use crate::edges::gateway::subprotocol::{self, ACCEPTED};
use crate::engine::Session;
use crate::engine::jsonrpc::{self, RpcError};
use crate::ports::{ConnectionRecord, PushOutcome, SessionRecord};

/// Header (or `?session=` query parameter) a reconnecting client presents.
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
    let requested = event
        .query_string_parameters
        .first("session")
        .map(str::to_string)
        .or_else(|| first_header(&event.headers, SESSION_HEADER));
    let resumed = match requested {
        Some(id) => app.sessions.load(&id, now).await.ok().flatten(),
        None => None,
    };
    let head = app
        .engine
        .catalog
        .store()
        .head_position()
        .await
        .unwrap_or(0);
    let mut record = resumed.unwrap_or_else(|| SessionRecord {
        session: Session::new(uuid::Uuid::new_v4().to_string()),
        connection_id: None,
        last_position: head,
        expires_at: 0,
    });
    record.connection_id = Some(connection_id.clone());
    record.expires_at = now + app.limits.session_ttl_secs;
    let connection = ConnectionRecord {
        connection_id: connection_id.clone(),
        session_id: record.session.id.clone(),
        connected_at: now,
        expires_at: now + app.limits.connection_ttl_secs,
    };
    let saved = async {
        app.sessions.save(&record).await?;
        app.connections.put(&connection).await?;
        if record.session.is_initialized() {
            let interest = record.session.interest();
            app.connections
                .set_interest(&connection_id, &interest, connection.expires_at)
                .await?;
        }
        Ok::<_, crate::ports::StoreError>(())
    }
    .await;
    if let Err(e) = saved {
        tracing::error!(connection = %connection_id, error = %e, "$connect could not register the connection");
        return response(500, Some("could not register the connection".into()));
    }
    let mut ok = response(200, None);
    if let Ok(v) = HeaderValue::from_str(&chosen.echo) {
        ok.headers.insert("sec-websocket-protocol", v);
    }
    if let Ok(v) = HeaderValue::from_str(&record.session.id) {
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
        if let Err(e) = app.sessions.save(&record).await {
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
    let now = unix_now();
    let record = match load_session(app, &connection_id, now).await {
        Ok(r) => r,
        Err(reply) => return response(200, Some(reply)),
    };
    app.refresh_catalog().await;
    let mut session = record.session.clone();
    let before = serde_json::to_string(&record.session).unwrap_or_default();
    let mut frames = app.engine.handle_text(&mut session, &text).await;
    if serde_json::to_string(&session).unwrap_or_default() != before {
        save_session(app, &connection_id, record, session, now).await;
    }
    let reply = match frames.last() {
        Some(last) if !is_notification(last) => frames.pop(),
        _ => None,
    };
    for frame in frames {
        match app.pusher.push(&connection_id, frame.into()).await {
            PushOutcome::Delivered => {}
            other => {
                tracing::warn!(connection = %connection_id, ?other, "could not push a notification")
            }
        }
    }
    let reply = reply.map(|r| enforce_limit(r, app.limits.max_message_bytes));
    response(200, reply)
}

/// The connection's session; a connection whose session expired gets a fresh
/// one (the client must initialize again), an unknown connection an error.
async fn load_session(
    app: &LambdaApp,
    connection_id: &str,
    now: u64,
) -> Result<SessionRecord, String> {
    let unknown = |detail: String| {
        jsonrpc::failure(
            None,
            &RpcError::internal(format!("connection {connection_id}: {detail}")),
        )
    };
    let conn = match app.connections.get(connection_id, now).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(unknown("not registered (reconnect)".into())),
        Err(e) => return Err(unknown(e.to_string())),
    };
    match app.sessions.load(&conn.session_id, now).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Ok(SessionRecord {
            session: Session::new(conn.session_id),
            connection_id: Some(connection_id.to_string()),
            last_position: 0,
            expires_at: 0,
        }),
        Err(e) => Err(unknown(e.to_string())),
    }
}

async fn save_session(
    app: &LambdaApp,
    connection_id: &str,
    mut record: SessionRecord,
    session: Session,
    now: u64,
) {
    let interest_changed = record.session.interest() != session.interest();
    record.session = session;
    record.connection_id = Some(connection_id.to_string());
    record.expires_at = now + app.limits.session_ttl_secs;
    if let Err(e) = app.sessions.save(&record).await {
        tracing::error!(session = %record.session.id, error = %e, "could not save the session");
    }
    if interest_changed {
        let expires = now + app.limits.connection_ttl_secs;
        let interest = record.session.interest();
        if let Err(e) = app
            .connections
            .set_interest(connection_id, &interest, expires)
            .await
        {
            tracing::error!(connection = connection_id, error = %e, "could not record the connection's interest");
        }
    }
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

fn first_header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
