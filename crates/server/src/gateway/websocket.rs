//! MCP over WebSocket: one JSON-RPC message per text frame.
//!
//! Each connection is one task (see `run`): it handles messages one at a time,
//! writes replies itself, and drains the connection's bounded queue in the
//! registry, where the fan-out puts notifications.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::Gateway;
use mcp_prompts_engine::Session;
use mcp_prompts_engine::jsonrpc::{self, RpcError};
use mcp_prompts_engine::ports::SessionRecord;
use mcp_prompts_engine::ports::{Clock, SystemClock};
use mcp_prompts_engine::realtime::Connection;
use mcp_prompts_engine::realtime::Outgoing;
use mcp_prompts_engine::realtime::drop_signal::Dropped;
use mcp_prompts_engine::realtime::registry::{CLOSE_SLOW_CLIENT, SLOW_CLIENT_REASON};
use mcp_prompts_engine::session::Phase;
use mcp_prompts_engine::subprotocol::{self, ACCEPTED};

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

/// One task per connection: it reads and handles messages one at a time (so
/// replies keep request order), writes replies straight to the socket, and
/// drains the connection's bounded queue in the registry, where the fan-out puts
/// notifications. One task instead of a reader and a writer: no hop through the
/// queue for replies, no lock around a split socket, one wake-up per delivery.
async fn run(gw: Arc<Gateway>, mut socket: WebSocket) {
    let _open = gw.connections.token();
    let (conn, mut rx) = gw.registry.register();
    let mut dropped = conn.dropped.cancelled();
    let mut ping = tokio::time::interval(gw.limits.ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.reset();
    // Set by every write; a ping goes out only after a whole quiet interval.
    let mut wrote = false;

    if gw.shutdown.is_cancelled() {
        // Registered after the shutdown dropped every connection.
        conn.dropped.cancel();
    }
    let mut session = Session::new(uuid::Uuid::new_v4().to_string());
    let ending = loop {
        let result = tokio::select! {
            biased;
            // One flag per connection covers both: `Gateway::serve` drops every
            // connection at shutdown (a shared token polled by 10,000 tasks on
            // every wake-up would be a contended lock).
            _ = &mut dropped => break Ending::Slow,
            item = rx.recv() => match item {
                Some(Outgoing::Close { code, reason }) => break Ending::Close(code, reason),
                Some(Outgoing::Frame(frame)) => {
                    guarded(&mut dropped, write_batch(&mut socket, message_of(frame), &mut rx)).await
                }
                None => break Ending::Quiet,
            },
            msg = socket.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        let refusal = binary_refusal();
                        let r = guarded(&mut dropped, write_batch(&mut socket, text_message(refusal), &mut rx)).await;
                        if let Err(ending) = r {
                            break ending;
                        }
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | None => break Ending::Quiet,
                    Some(Ok(_)) => continue, // ping/pong: answered by the socket layer.
                    Some(Err(e)) => {
                        tracing::debug!(connection = conn.id, error = %e, "websocket read failed");
                        break Ending::Quiet;
                    }
                };
                // Boxed: an idle connection's task then does not carry the largest
                // request's state inline (memory per idle session).
                let out = Box::pin(gw.engine.handle_text_with_effects(&mut session, text.as_str())).await;
                if let Some(old) = out.takeover.as_deref().and_then(|c| c.parse::<u64>().ok())
                    && old != conn.id
                {
                    gw.registry.take_over(old, close_code::NORMAL, TAKEN_OVER_REASON);
                }
                let replies = out.frames.into_iter().filter_map(text_message);
                let mut r = guarded(&mut dropped, write_batch(&mut socket, replies, &mut rx)).await;
                if r.is_ok() && out.session_changed {
                    let catch_up = sync_session(&gw, &conn, &mut session).await;
                    if !catch_up.is_empty() {
                        let frames = catch_up.into_iter().filter_map(message_of);
                        r = guarded(&mut dropped, write_batch(&mut socket, frames, &mut rx)).await;
                    }
                }
                r
            }
            _ = ping.tick() => {
                if std::mem::take(&mut wrote) {
                    continue;
                }
                guarded(&mut dropped, write_batch(&mut socket, Some(Message::Ping(Bytes::new())), &mut rx)).await
            }
        };
        match result {
            Ok(()) => wrote = true,
            Err(ending) => break ending,
        }
    };
    let ending = match ending {
        Ending::Slow if gw.shutdown.is_cancelled() => SHUTTING_DOWN,
        other => other,
    };
    gw.registry.remove(conn.id);
    // Saved before the close handshake, which can wait on a client that does not read.
    if session.is_initialized() && !conn.is_taken_over() {
        save_record(&gw, &session, None, conn.seen()).await;
    }
    finish(socket, ending).await;
    tracing::debug!(session = %session.id, "websocket closed");
}

const SHUTTING_DOWN: Ending = Ending::Close(close_code::AWAY, "server shutting down");

/// Why a connection loop ended, and so how its socket is closed.
enum Ending {
    /// The client closed, the socket failed, or the queue ended.
    Quiet,
    /// The hub dropped a client that stopped reading.
    Slow,
    /// The hub closes with this code (shutdown, session taken over).
    Close(u16, &'static str),
}

/// Runs a write unless the hub drops the client first: a write to a client that
/// does not read can wait forever.
async fn guarded<F>(dropped: &mut Dropped<'_>, write: F) -> Result<(), Ending>
where
    F: std::future::Future<Output = Result<Option<(u16, &'static str)>, axum::Error>>,
{
    tokio::select! {
        biased;
        r = write => match r {
            Ok(None) => Ok(()),
            Ok(Some((code, reason))) => Err(Ending::Close(code, reason)),
            Err(_) => Err(Ending::Quiet),
        },
        _ = dropped => Err(Ending::Slow),
    }
}

/// Writes `first`, then whatever is already queued (up to a bound, so a long
/// queue still yields), and flushes once: one syscall for a reply and the
/// notifications queued behind it. Returns a queued close, if one was reached.
async fn write_batch(
    socket: &mut WebSocket,
    first: impl IntoIterator<Item = Message>,
    rx: &mut mpsc::Receiver<Outgoing>,
) -> Result<Option<(u16, &'static str)>, axum::Error> {
    for msg in first {
        socket.feed(msg).await?;
    }
    let mut close = None;
    for _ in 0..MAX_FRAMES_PER_FLUSH {
        match rx.try_recv() {
            Ok(Outgoing::Frame(frame)) => {
                if let Some(msg) = message_of(frame) {
                    socket.feed(msg).await?;
                }
            }
            Ok(Outgoing::Close { code, reason }) => {
                close = Some((code, reason));
                break;
            }
            Err(_) => break,
        }
    }
    socket.flush().await?;
    Ok(close)
}

/// Closes the socket the way `ending` asks.
async fn finish(mut socket: WebSocket, ending: Ending) {
    let (frame, wait) = match ending {
        Ending::Quiet => {
            // Flushes what is buffered (including the reply to a client's Close
            // frame, which the socket layer queues itself) and closes.
            let _ = tokio::time::timeout(Duration::from_secs(2), socket.close()).await;
            return;
        }
        // The socket may be full: the frame goes out once the client reads again.
        Ending::Slow => (
            (CLOSE_SLOW_CLIENT, SLOW_CLIENT_REASON),
            Duration::from_secs(30),
        ),
        Ending::Close(code, reason) => ((code, reason), Duration::from_secs(5)),
    };
    let close = Message::Close(Some(CloseFrame {
        code: frame.0,
        reason: Utf8Bytes::from_static(frame.1),
    }));
    let _ = tokio::time::timeout(wait, socket.send(close)).await;
}

fn binary_refusal() -> String {
    jsonrpc::failure(
        None,
        &RpcError::new(
            jsonrpc::INVALID_REQUEST,
            "binary frames are not supported: send JSON-RPC as text frames",
        ),
    )
}

fn text_message(frame: String) -> Option<Message> {
    Some(Message::Text(Utf8Bytes::from(frame)))
}

/// Close reason for a connection whose session was resumed elsewhere.
pub const TAKEN_OVER_REASON: &str = "MCP session reconnected on another connection";

/// After a message that may have changed the session: refresh what the fan-out
/// sends this connection, persist the session so a reconnect can resume it, and
/// run a pending replay. Returns the frames to write now: the replay, then the
/// live frames held back meanwhile that it did not cover (none twice).
async fn sync_session(gw: &Gateway, conn: &Connection, session: &mut Session) -> Vec<Bytes> {
    let mut catch_up = Vec::new();
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
            catch_up.extend(frames.into_iter().map(|(_, frame)| frame));
            catch_up.extend(conn.finish_catch_up(upto));
        }
        _ => conn.set_interest(&session.interest()),
    }
    if session.is_initialized() {
        save_record(gw, session, Some(conn.id.to_string()), conn.seen()).await;
    }
    catch_up
}

async fn save_record(gw: &Gateway, session: &Session, connection: Option<String>, position: u64) {
    let Some(store) = gw.engine.sessions.as_ref() else {
        return;
    };
    let record = SessionRecord {
        session: session.clone(),
        connection_id: connection,
        last_position: position,
        expires_at: SystemClock.now_unix() + gw.limits.session_grace.as_secs(),
    };
    if let Err(e) = store.save(&record).await {
        tracing::warn!(error = %e, session = %session.id, "could not save the session");
    }
}

/// Queued frames written before one flush, so a long queue still yields to others.
const MAX_FRAMES_PER_FLUSH: usize = 64;

/// The text message for a shared frame (frames are JSON, so always UTF-8).
fn message_of(frame: Bytes) -> Option<Message> {
    Utf8Bytes::try_from(frame).ok().map(Message::Text)
}
