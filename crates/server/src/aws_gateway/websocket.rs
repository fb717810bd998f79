//! The gateway's WebSocket side, behaving like API Gateway: each connection gets
//! an id; with `--auth required` the upgrade first goes through the Lambda
//! authorizer (`authorize.rs`: 401 without a valid credential), whose context
//! every event of the connection carries; the upgrade request becomes a `$connect` event (a non-200 answer
//! refuses the upgrade, a `Sec-WebSocket-Protocol` header is echoed), every text
//! frame a `$default` event whose response body is sent back, the close a
//! `$disconnect` event. Frames the handlers post to `@connections/{id}` arrive
//! through the same per-connection queue. Messages over 128 KB close the
//! connection (1009), and 10 idle minutes or the maximum connection duration
//! (`--max-connection-secs`, 2 h) close it (1001), as API Gateway does; a message
//! being handled finishes first, and `$disconnect` runs either way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use aws_lambda_events::apigw::{
    ApiGatewayProxyResponse, ApiGatewayRequestAuthorizer, ApiGatewayWebsocketProxyRequest,
};
use aws_lambda_events::encodings::Body;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::AwsGateway;
use super::connections::LocalConnection;
use mcp_prompts_aws::lambda::websocket as routes;
use mcp_prompts_aws::unix_now_ms;
use mcp_prompts_engine::realtime::Outgoing;

pub async fn upgrade(
    State(gw): State<Arc<AwsGateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    let id = connection_id();
    let authorizer = match &gw.authorizer {
        Some(auth) => match super::authorize::authorize(auth, &headers, uri.query(), &id).await {
            Ok(context) => context,
            Err(refused) => return refused,
        },
        None => ApiGatewayRequestAuthorizer::default(),
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut event = gw.event("$connect", "CONNECT", &id, peer);
    event.headers = headers;
    event.request_context.authorizer = authorizer.clone();
    let answer = routes::handle(&gw.app, event).await;
    if answer.status_code != 200 {
        let status =
            StatusCode::from_u16(answer.status_code as u16).unwrap_or(StatusCode::FORBIDDEN);
        return (status, body_text(&answer).unwrap_or_default()).into_response();
    }
    let (tx, rx) = mpsc::channel(gw.queue_capacity);
    let now = unix_now_ms();
    let conn = Arc::new(LocalConnection {
        tx,
        connected_at_ms: now,
        last_active_ms: AtomicU64::new(now),
        source_ip: peer.ip().to_string(),
        user_agent,
        closed: CancellationToken::new(),
    });
    gw.local.insert(id.clone(), conn.clone());
    let protocols: Vec<String> = answer
        .headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .map(|p| vec![p.to_string()])
        .unwrap_or_default();
    let limit = gw.app.limits.max_message_bytes;
    let failed_gw = gw.clone();
    let failed_id = id.clone();
    ws.protocols(protocols)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_failed_upgrade(move |_| {
            failed_gw.local.remove(&failed_id);
        })
        .on_upgrade(move |socket| run(gw, socket, id, peer, conn, rx, authorizer))
}

async fn run(
    gw: Arc<AwsGateway>,
    socket: WebSocket,
    id: String,
    peer: SocketAddr,
    conn: Arc<LocalConnection>,
    rx: mpsc::Receiver<Outgoing>,
    authorizer: ApiGatewayRequestAuthorizer,
) {
    let (sink, mut stream) = socket.split();
    let writer = tokio::spawn(write_loop(sink, rx, conn.closed.clone()));
    let mut close = None;
    let cut = tokio::time::sleep(gw.max_connection);
    tokio::pin!(cut);
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(gw.idle_timeout, stream.next()) => next,
            _ = conn.closed.cancelled() => break,
            _ = gw.shutdown.cancelled() => { close = Some((1001, "Going away")); break }
            _ = &mut cut => {
                tracing::debug!(connection = %id, "maximum connection duration reached");
                close = Some((1001, "Going away"));
                break;
            }
        };
        let (body, binary) = match next {
            Err(_) => {
                close = Some((1001, "Going away"));
                break;
            }
            Ok(Some(Ok(Message::Text(text)))) => (text.to_string(), false),
            Ok(Some(Ok(Message::Binary(b)))) => {
                (base64::engine::general_purpose::STANDARD.encode(b), true)
            }
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) => break,
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => {
                tracing::debug!(connection = %id, error = %e, "websocket read failed");
                if e.to_string().contains("too long") || e.to_string().contains("too big") {
                    close = Some((1009, "Message too big"));
                }
                break;
            }
        };
        conn.touch();
        let mut event = gw.event("$default", "MESSAGE", &id, peer);
        event.request_context.authorizer = authorizer.clone();
        event.body = Some(body);
        event.is_base64_encoded = binary;
        let answer = routes::handle(&gw.app, event).await;
        if let Some(reply) = body_text(&answer).filter(|b| !b.is_empty())
            && conn.tx.send(Outgoing::Frame(reply.into())).await.is_err()
        {
            break;
        }
    }
    if let Some((code, reason)) = close {
        let _ = conn.tx.try_send(Outgoing::Close { code, reason });
    }
    gw.local.remove(&id);
    let mut event = gw.event("$disconnect", "DISCONNECT", &id, peer);
    event.request_context.authorizer = authorizer;
    event.request_context.disconnect_status_code = close.map(|(c, _)| i64::from(c)).or(Some(1000));
    routes::handle(&gw.app, event).await;
    drop(conn);
    let _ = writer.await;
}

/// Drains the connection's queue into the socket.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
    closed: CancellationToken,
) {
    loop {
        // Frames already posted go out before a close that came after them,
        // as API Gateway delivers them (a takeover's notice, then its DELETE).
        let next = tokio::select! {
            biased;
            next = rx.recv() => next,
            _ = closed.cancelled() => {
                let frame = CloseFrame { code: 1000, reason: Utf8Bytes::from_static("closed by the server") };
                let _ = sink.send(Message::Close(Some(frame))).await;
                return;
            }
        };
        let msg = match next {
            None => break,
            Some(Outgoing::Frame(b)) => match Utf8Bytes::try_from(b) {
                Ok(text) => Message::Text(text),
                Err(_) => continue,
            },
            Some(Outgoing::Close { code, reason }) => {
                let frame = CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(reason),
                };
                let _ = sink.send(Message::Close(Some(frame))).await;
                return;
            }
        };
        if sink.send(msg).await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}

/// An id shaped like API Gateway's (`L0SM9cOFvHcCIhw=`).
fn connection_id() -> String {
    let bytes = uuid::Uuid::new_v4();
    base64::engine::general_purpose::STANDARD.encode(&bytes.as_bytes()[..10])
}

fn body_text(r: &ApiGatewayProxyResponse) -> Option<String> {
    match &r.body {
        Some(Body::Text(t)) => Some(t.clone()),
        Some(Body::Binary(b)) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

impl AwsGateway {
    /// A WebSocket event as API Gateway builds it.
    pub fn event(
        &self,
        route: &str,
        event_type: &str,
        connection_id: &str,
        peer: SocketAddr,
    ) -> ApiGatewayWebsocketProxyRequest {
        let now = unix_now_ms();
        let mut e = ApiGatewayWebsocketProxyRequest::default();
        let c = &mut e.request_context;
        c.route_key = Some(route.into());
        c.event_type = Some(event_type.into());
        c.connection_id = Some(connection_id.into());
        c.message_direction = Some("IN".into());
        c.stage = Some("local".into());
        c.domain_name = Some(self.domain.clone());
        c.apiid = Some("local".into());
        c.request_id = Some(uuid::Uuid::new_v4().to_string());
        c.connected_at = now as i64;
        c.request_time_epoch = now as i64;
        c.identity.source_ip = Some(peer.ip().to_string());
        e
    }
}
