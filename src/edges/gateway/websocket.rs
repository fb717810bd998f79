//! MCP over WebSocket: one JSON-RPC message per text frame.
//!
//! Each connection is a reader loop (which runs the engine, one message at a time,
//! so replies keep request order) and a writer task draining a bounded queue.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::Gateway;
use super::subprotocol::{self, ACCEPTED};
use crate::engine::Session;
use crate::engine::jsonrpc::{self, RpcError};

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
    let id = gw.next_connection.fetch_add(1, Ordering::Relaxed);
    let connection_id = format!("{id:x}");
    tracing::debug!(%peer, %connection_id, protocol = %chosen.echo, "websocket connect");
    ws.protocols([chosen.echo])
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(gw.limits.max_ws_message)
        .max_frame_size(gw.limits.max_ws_message)
        .on_upgrade(move |socket| run(gw, socket, connection_id))
}

async fn run(gw: Arc<Gateway>, socket: WebSocket, connection_id: String) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Message>(gw.limits.send_queue);
    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            let closing = matches!(msg, Message::Close(_));
            if sink.send(msg).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });

    let mut session = Session::new(uuid::Uuid::new_v4().to_string());
    loop {
        let msg = tokio::select! {
            msg = stream.next() => msg,
            _ = gw.shutdown.cancelled() => {
                let _ = tx.send(close(close_code::AWAY, "server shutting down")).await;
                break;
            }
        };
        let frames = match msg {
            Some(Ok(Message::Text(text))) => {
                gw.engine.handle_text(&mut session, text.as_str()).await
            }
            Some(Ok(Message::Binary(_))) => vec![jsonrpc::failure(
                None,
                &RpcError::new(
                    jsonrpc::INVALID_REQUEST,
                    "binary frames are not supported: send JSON-RPC as text frames",
                ),
            )],
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => continue, // ping/pong: answered by the socket layer.
            Some(Err(e)) => {
                tracing::debug!(%connection_id, error = %e, "websocket read failed");
                break;
            }
        };
        for frame in frames {
            if tx
                .send(Message::Text(Utf8Bytes::from(frame)))
                .await
                .is_err()
            {
                break;
            }
        }
    }
    drop(tx);
    let _ = writer.await;
    tracing::debug!(%connection_id, session = %session.id, "websocket closed");
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}
