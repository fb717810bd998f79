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
use crate::auth::Caller;
use axum::Extension;
use mcp_prompts_engine::domain::Principal;
use mcp_prompts_engine::host::{SessionHost, Turn};
use mcp_prompts_engine::jsonrpc::{self, RpcError};
use mcp_prompts_engine::realtime::Outgoing;
use mcp_prompts_engine::realtime::drop_signal::Dropped;
use mcp_prompts_engine::realtime::registry::{CLOSE_SLOW_CLIENT, SLOW_CLIENT_REASON};

pub async fn upgrade(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let principal = Caller::principal(caller);
    if gw.open_connections() >= gw.limits.max_connections {
        let body = format!(
            "too many open WebSocket connections (limit {}); retry later\n",
            gw.limits.max_connections
        );
        let mut refused = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
        refused.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
        return refused;
    }
    let owner = crate::per_principal::Owner::of(principal.as_ref(), peer);
    let Some(slot) = gw.per_principal.take(owner) else {
        let body = format!(
            "too many open WebSocket connections for this caller (limit {} per principal); close some or retry later\n",
            gw.per_principal.limit()
        );
        let mut refused = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
        refused.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
        return refused;
    };
    let offered = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let chosen = match SessionHost::negotiate(&offered) {
        Ok(chosen) => chosen,
        Err(refused) => return (StatusCode::BAD_REQUEST, format!("{refused}\n")).into_response(),
    };
    tracing::debug!(%peer, protocol = %chosen.echo, "websocket connect");
    let echo = chosen.echo.clone();
    ws.protocols([echo])
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(gw.limits.max_ws_message)
        .max_frame_size(gw.limits.max_ws_message)
        .on_upgrade(move |socket| run(gw, socket, offered, principal, slot))
}

/// One task per connection: it reads and handles messages one at a time (so
/// replies keep request order), writes replies straight to the socket, and
/// drains the connection's bounded queue in the registry, where the fan-out puts
/// notifications. One task instead of a reader and a writer: no hop through the
/// queue for replies, no lock around a split socket, one wake-up per delivery.
async fn run(
    gw: Arc<Gateway>,
    mut socket: WebSocket,
    offered: String,
    principal: Option<Principal>,
    // Held while the connection is open: its place in the caller's budget.
    _slot: crate::per_principal::Slot,
) {
    let _open = gw.connections.token();
    let (conn, mut rx) = gw.registry.register();
    let host = &gw.host;
    // Boxed, like every call into the host: inline, the largest of these state
    // machines would size every idle connection's task.
    let mut attachment = match Box::pin(host.connect_as(&conn.key, &offered, principal)).await {
        Ok(connected) => connected.attachment,
        Err(e) => {
            tracing::warn!(error = %e, "could not open the connection");
            gw.registry.remove(conn.id);
            return;
        }
    };
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
    // Dropped once the session initializes, so an open connection leaves no
    // timer behind in the runtime's wheel (it would wake the task later).
    let mut init_deadline = Some(Box::pin(tokio::time::sleep(gw.limits.init_timeout)));
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
                        break close_for(&e).map_or(Ending::Quiet, |(code, reason)| Ending::Close(code, reason));
                    }
                };
                // Boxed: an idle connection's task then does not carry the largest
                // request's state inline (memory per idle session).
                let handling = Box::pin(host.message(&mut attachment, text.as_str()));
                let (turn, interrupted) = while_handling(handling, &mut socket, &mut rx, &mut dropped).await;
                if let Some(ending) = interrupted {
                    break ending;
                }
                if attachment.session.is_initialized() {
                    init_deadline = None;
                }
                let frames = turn
                    .before
                    .into_iter()
                    .chain(turn.reply)
                    .filter_map(text_message)
                    .chain(turn.after.into_iter().filter_map(message_of));
                guarded(&mut dropped, write_batch(&mut socket, frames, &mut rx)).await
            }
            _ = async { init_deadline.as_mut().expect("checked").await }, if init_deadline.is_some() => {
                break Ending::Close(close_code::POLICY, "initialize not received in time");
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
    let session = attachment.session.id.clone();
    // Detached before the close handshake, which can wait on a client that does not read.
    Box::pin(host.disconnect(&conn.key, Some(attachment))).await;
    gw.registry.remove(conn.id);
    finish(socket, ending).await;
    tracing::debug!(%session, "websocket closed");
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

/// Awaits a turn while writing what is pushed to the connection meanwhile (a
/// long request's progress notifications), so they arrive before its reply.
/// A close or a failed write pushed meanwhile ends the connection after the
/// turn, which always runs to its end (a half-run request would be worse).
async fn while_handling<F>(
    mut handling: std::pin::Pin<Box<F>>,
    socket: &mut WebSocket,
    rx: &mut mpsc::Receiver<Outgoing>,
    dropped: &mut Dropped<'_>,
) -> (Turn, Option<Ending>)
where
    F: std::future::Future<Output = Turn>,
{
    let mut ending = None;
    loop {
        tokio::select! {
            biased;
            turn = &mut handling => {
                // What the request pushed just before it ended (its last
                // progress) goes out before its reply, not after.
                if ending.is_none() && !rx.is_empty() {
                    ending = guarded(dropped, write_batch(socket, None, rx)).await.err();
                }
                return (turn, ending);
            }
            item = rx.recv(), if ending.is_none() => {
                ending = match item {
                    Some(Outgoing::Frame(frame)) => {
                        guarded(dropped, write_batch(socket, message_of(frame), rx)).await.err()
                    }
                    Some(Outgoing::Close { code, reason }) => Some(Ending::Close(code, reason)),
                    None => Some(Ending::Quiet),
                };
            }
        }
    }
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
    if let Ok(Ok(())) = tokio::time::timeout(wait, socket.send(close)).await {
        // The closing handshake (RFC 6455 §7.1.1): read until the client's Close.
        // Dropping the socket while its requests sit unread would make the kernel
        // reset the connection, and a reset discards what the client has not read
        // yet: the last replies and the close frame itself.
        let drain = async {
            while let Some(Ok(msg)) = socket.next().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE, drain).await;
    }
}

/// How long a closed connection waits for the client's Close frame.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(5);

/// The close a read error calls for (RFC 6455 §7.4.1): 1009 for a frame or
/// message over the limit, 1007 for a text frame that is not UTF-8, 1002 for
/// any other protocol violation (a reserved opcode, an unmasked client frame).
/// The socket layer reports these only as errors, so they are told apart by
/// its messages.
fn close_for(e: &axum::Error) -> Option<(u16, &'static str)> {
    let text = e.to_string();
    if text.contains("Space limit exceeded") || text.contains("too long") {
        Some((close_code::SIZE, "message too big"))
    } else if text.contains("UTF-8") || text.contains("utf-8") {
        Some((close_code::INVALID, "text frame is not valid UTF-8"))
    } else if text.contains("protocol error") {
        Some((close_code::PROTOCOL, "WebSocket protocol error"))
    } else {
        None
    }
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

/// Queued frames written before one flush, so a long queue still yields to others.
const MAX_FRAMES_PER_FLUSH: usize = 64;

/// The text message for a shared frame (frames are JSON, so always UTF-8).
fn message_of(frame: Bytes) -> Option<Message> {
    Utf8Bytes::try_from(frame).ok().map(Message::Text)
}
