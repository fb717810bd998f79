//! `canned`: the calibration server for `loadgen throughput` and `loadgen
//! fanout`. It speaks just enough MCP over WebSocket for the generator
//! (initialize, prompts/list, ping) and answers every `prompts/get` with the
//! same pre-built reply, the size of the real one: no catalog, no rendering, no
//! session state. Every `tools/call` is answered with an empty result and then
//! broadcasts the pair of `list_changed` frames the hub sends for a change
//! (serialized once, the same bytes, written together) to every connection: the
//! smallest server that notifies. What it reaches on this machine is the ceiling
//! any real server can approach with this generator on the same two cores.
//!
//!   canned [--addr 127.0.0.1:0]   # prints ws://ADDR/ws, serves until killed

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Rendered text of the same size as `code-review` from the sample catalog.
const TEXT_BYTES: usize = 1928;

#[derive(Deserialize)]
struct Request_<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: &'a str,
}

/// Results with everything but the id serialized once.
struct Replies {
    initialize: String,
    list: String,
    get: String,
    empty: String,
}

impl Replies {
    fn new() -> Self {
        let result = |v: serde_json::Value| format!(",\"result\":{v}}}");
        Self {
            initialize: result(json!({
                "protocolVersion": "2025-11-25",
                "capabilities": {"prompts": {"listChanged": true}},
                "serverInfo": {"name": "canned", "version": "0"},
            })),
            list: result(json!({"prompts": [{
                "name": "code-review",
                "arguments": [
                    {"name": "code", "required": true},
                    {"name": "language", "required": true},
                ],
            }]})),
            get: result(json!({
                "description": "canned",
                "messages": [{"role": "user", "content": {"type": "text", "text": "x".repeat(TEXT_BYTES)}}],
            })),
            empty: result(json!({})),
        }
    }

    /// The reply to `text`, and whether it was a change (`tools/call`).
    fn reply(&self, text: &str) -> Option<(String, bool)> {
        let req: Request_ = serde_json::from_str(text).ok()?;
        let id = req.id?.get();
        let tail = match req.method {
            "initialize" => &self.initialize,
            "prompts/list" => &self.list,
            "prompts/get" => &self.get,
            _ => &self.empty,
        };
        let mut out = String::with_capacity(24 + id.len() + tail.len());
        out.push_str("{\"jsonrpc\":\"2.0\",\"id\":");
        out.push_str(id);
        out.push_str(tail);
        Some((out, req.method == "tools/call"))
    }
}

/// One change's notifications, as the hub sends them.
type Change = [Utf8Bytes; 2];

fn change_frames(position: u64) -> Change {
    let frame = |method: &str| {
        Utf8Bytes::from(
            json!({"jsonrpc": "2.0", "method": method, "params": {"_meta": {"position": position}}})
                .to_string(),
        )
    };
    [
        frame("notifications/prompts/list_changed"),
        frame("notifications/resources/list_changed"),
    ]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let addr = match args.iter().position(|a| a == "--addr") {
        Some(i) => args.get(i + 1).cloned().unwrap_or_default(),
        None => "127.0.0.1:0".to_string(),
    };
    let listener = TcpListener::bind(&addr).await?;
    if !listener.local_addr()?.ip().is_loopback() {
        anyhow::bail!("canned serves loopback only");
    }
    println!("ws://{}/ws", listener.local_addr()?);
    let replies: &'static Replies = Box::leak(Box::new(Replies::new()));
    // A lagging receiver skips frames instead of holding the others up.
    let (changes, _) = broadcast::channel::<Change>(64);
    loop {
        let (socket, _) = listener.accept().await?;
        let changes = changes.clone();
        tokio::spawn(async move {
            let _ = serve(socket, replies, changes).await;
        });
    }
}

async fn serve(
    socket: TcpStream,
    replies: &Replies,
    changes: broadcast::Sender<Change>,
) -> anyhow::Result<()> {
    socket.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024);
    // The callback's error type is tungstenite's, large or not.
    #[allow(clippy::result_large_err)]
    let with_mcp = |_: &Request, mut resp: Response| {
        resp.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mcp"));
        Ok(resp)
    };
    let mut ws =
        tokio_tungstenite::accept_hdr_async_with_config(socket, with_mcp, Some(config)).await?;
    let mut heard = changes.subscribe();
    loop {
        tokio::select! {
            msg = ws.next() => {
                let Some(msg) = msg else { return Ok(()) };
                if let Message::Text(text) = msg?
                    && let Some((reply, change)) = replies.reply(text.as_str())
                {
                    ws.send(Message::text(reply)).await?;
                    if change {
                        // Positions as in the hub: one per change, from 1.
                        let position = NEXT_POSITION.fetch_add(1, Ordering::Relaxed);
                        let _ = changes.send(change_frames(position));
                    }
                }
            }
            change = heard.recv() => match change {
                Ok(frames) => {
                    for frame in frames {
                        ws.feed(Message::Text(frame)).await?;
                    }
                    ws.flush().await?;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}

static NEXT_POSITION: AtomicU64 = AtomicU64::new(1);
