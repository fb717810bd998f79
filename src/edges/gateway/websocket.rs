//! MCP over WebSocket: one JSON-RPC message per text frame.
//!
//! Each connection is a reader loop (which runs the engine one message at a time,
//! so replies keep request order) and a writer task draining the connection's
//! bounded queue in the registry, where the fan-out also puts notifications.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Gateway;
use super::subprotocol::{self, ACCEPTED};
use crate::engine::Session;
use crate::engine::dispatch::Outbox;
use crate::engine::jsonrpc::{self, RpcError};
use crate::engine::methods::lifecycle::unix_now;
use crate::engine::session::Phase;
use crate::ports::SessionRecord;
use crate::realtime::Connection;
use crate::realtime::Outgoing;
use crate::realtime::registry::{CLOSE_SLOW_CLIENT, SLOW_CLIENT_REASON};

pub async fn upgrade(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let offered = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let Some(chosen) = subprotocol::negotiate(&offered) else {
        let body = format!("unsupported WebSocket subprotocol '{offered}'; accepted: {ACCEPTED}\n");
        return (StatusCode::BAD_REQUEST, body).into_response();
    };
    tracing::debug!(%peer, protocol = %chosen.echo, "websocket connect");
    ws.protocols([chosen.echo])
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(gw.limits.max_ws_message)
        .max_frame_size(gw.limits.max_ws_message)
        .on_upgrade(move |socket| run(gw, socket))
}

async fn run(gw: Arc<Gateway>, socket: WebSocket) {
    let (sink, mut stream) = socket.split();
    let (conn, rx) = gw.registry.register();
    let finished = CancellationToken::new();
    let mut writer = tokio::spawn(write_loop(
        sink,
        rx,
        conn.dropped.clone(),
        finished.clone(),
        gw.limits.ping_interval,
    ));
    let mut writer_done = false;
    let tx = conn.sender().clone();

    let mut session = Session::new(uuid::Uuid::new_v4().to_string());
    loop {
        let msg = tokio::select! {
            msg = stream.next() => msg,
            _ = conn.dropped.cancelled() => break,
            _ = &mut writer => {
                writer_done = true;
                break;
            }
            _ = gw.shutdown.cancelled() => {
                let _ = tx.send(Outgoing::Close { code: close_code::AWAY, reason: "server shutting down" }).await;
                break;
            }
        };
        let out = match msg {
            // Boxed: an idle connection's task then does not carry the largest
            // request's state inline (memory per idle session).
            Some(Ok(Message::Text(text))) => {
                Box::pin(
                    gw.engine
                        .handle_text_with_effects(&mut session, text.as_str()),
                )
                .await
            }
            Some(Ok(Message::Binary(_))) => Outbox {
                frames: vec![jsonrpc::failure(
                    None,
                    &RpcError::new(
                        jsonrpc::INVALID_REQUEST,
                        "binary frames are not supported: send JSON-RPC as text frames",
                    ),
                )],
                ..Default::default()
            },
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => continue, // ping/pong: answered by the socket layer.
            Some(Err(e)) => {
                tracing::debug!(connection = conn.id, error = %e, "websocket read failed");
                break;
            }
        };
        if let Some(old) = out.takeover.as_deref().and_then(|c| c.parse::<u64>().ok())
            && old != conn.id
        {
            gw.registry
                .take_over(old, close_code::NORMAL, TAKEN_OVER_REASON);
        }
        let mut open = true;
        for frame in out.frames {
            if tx.send(Outgoing::Frame(frame.into())).await.is_err() {
                open = false;
                break;
            }
        }
        if !open {
            break;
        }
        if out.session_changed {
            sync_session(&gw, &conn, &mut session).await;
        }
    }
    gw.registry.remove(conn.id);
    // Lets the writer flush what is queued (including the reply to a client's
    // Close frame, which the socket layer queues itself) and close the socket.
    finished.cancel();
    if session.is_initialized() && !conn.is_taken_over() {
        save_record(&gw, &session, None, conn.seen()).await;
    }
    drop(tx);
    if !writer_done {
        let _ = writer.await;
    }
    tracing::debug!(session = %session.id, "websocket closed");
}

/// Close reason for a connection whose session was resumed elsewhere.
pub const TAKEN_OVER_REASON: &str = "MCP session reconnected on another connection";

/// After a message that may have changed the session: refresh what the fan-out
/// sends this connection, run a pending replay (held-back live frames follow it,
/// none twice), and persist the session so a reconnect can resume it.
async fn sync_session(gw: &Gateway, conn: &Connection, session: &mut Session) {
    match session.replay_from {
        Some(from) if session.phase == Phase::Ready => {
            session.replay_from = None;
            conn.begin_catch_up();
            conn.set_interest(&session.interest());
            let (frames, upto) = match gw.engine.replay(session, from).await {
                Ok(r) => (r.frames, r.upto),
                Err(e) => {
                    tracing::warn!(error = %e, "replay failed");
                    (Vec::new(), from)
                }
            };
            conn.finish_catch_up(frames, upto).await;
        }
        _ => conn.set_interest(&session.interest()),
    }
    if session.is_initialized() {
        save_record(gw, session, Some(conn.id.to_string()), conn.seen()).await;
    }
}

async fn save_record(gw: &Gateway, session: &Session, connection: Option<String>, position: u64) {
    let Some(store) = gw.engine.sessions.as_ref() else {
        return;
    };
    let record = SessionRecord {
        session: session.clone(),
        connection_id: connection,
        last_position: position,
        expires_at: unix_now() + gw.limits.session_grace.as_secs(),
    };
    if let Err(e) = store.save(&record).await {
        tracing::warn!(error = %e, session = %session.id, "could not save the session");
    }
}

/// Drains the queue into the socket, pings when idle, and closes with a clear
/// code when the hub drops a client that stopped reading. Frames already queued
/// are written together and flushed once: one syscall for a fan-out's pair of
/// `list_changed` frames, not two.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
    dropped: CancellationToken,
    finished: CancellationToken,
    ping_interval: Duration,
) {
    let mut ping = tokio::time::interval(ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.reset();
    let dropped = dropped.cancelled();
    let finished = finished.cancelled();
    tokio::pin!(dropped, finished);
    loop {
        let next = tokio::select! {
            biased;
            _ = &mut dropped => {
                let close = Message::Close(Some(CloseFrame { code: CLOSE_SLOW_CLIENT, reason: Utf8Bytes::from_static(SLOW_CLIENT_REASON) }));
                // The socket may be full: the frame goes out once the client reads again.
                let _ = tokio::time::timeout(Duration::from_secs(30), sink.send(close)).await;
                return;
            }
            next = rx.recv() => next,
            _ = &mut finished => None,
            _ = ping.tick() => Some(Outgoing::Frame(bytes::Bytes::new())),
        };
        let Some(mut item) = next else { break };
        for _ in 0..MAX_FRAMES_PER_FLUSH {
            let fed = match message_of(item) {
                Some(Message::Close(frame)) => {
                    let _ = sink.send(Message::Close(frame)).await;
                    return;
                }
                Some(msg) => sink.feed(msg).await,
                None => Ok(()),
            };
            if fed.is_err() {
                return;
            }
            match rx.try_recv() {
                Ok(more) => item = more,
                Err(_) => break,
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
        ping.reset();
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), sink.close()).await;
}

/// Frames written before one flush, so a long queue still yields to others.
const MAX_FRAMES_PER_FLUSH: usize = 64;

/// The WebSocket message for a queued item (an empty frame asks for a ping).
fn message_of(item: Outgoing) -> Option<Message> {
    match item {
        Outgoing::Frame(b) if b.is_empty() => Some(Message::Ping(bytes::Bytes::new())),
        Outgoing::Frame(b) => Utf8Bytes::try_from(b).ok().map(Message::Text),
        Outgoing::Close { code, reason } => Some(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }))),
    }
}
