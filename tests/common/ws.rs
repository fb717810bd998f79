//! A raw MCP-over-WebSocket client for tests that need exact frames: malformed
//! input, notifications in order, close codes. Notifications that arrive while
//! waiting for a reply are kept, in order, for `notifications()`.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    pending: VecDeque<Value>,
    pub close: Option<CloseFrame>,
}

/// `initialize` params for the newest handshake revision, plus `extra` fields.
pub fn init_params(extra: Value) -> Value {
    let mut p = json!({
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "1"}
    });
    if let (Some(p), Value::Object(extra)) = (p.as_object_mut(), extra) {
        p.extend(extra);
    }
    p
}

impl WsClient {
    /// Connects offering `subprotocol`; returns the handshake's HTTP error status
    /// and body text if the server refused.
    pub async fn try_connect(url: &str, subprotocol: Option<&str>) -> Result<Self, (u16, String)> {
        Self::try_connect_with(url, subprotocol, &[]).await
    }

    /// Like `try_connect`, with extra request headers (`Origin`, `Host`, ...).
    pub async fn try_connect_with(
        url: &str,
        subprotocol: Option<&str>,
        headers: &[(&'static str, &str)],
    ) -> Result<Self, (u16, String)> {
        let mut request = url.into_client_request().expect("ws url");
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, value.parse().expect("header value"));
        }
        if let Some(p) = subprotocol {
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", p.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, response)) => {
                if let Some(p) = subprotocol {
                    let echoed = response
                        .headers()
                        .get("Sec-WebSocket-Protocol")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    assert!(
                        p.split(',').any(|o| o.trim() == echoed),
                        "echoed {echoed:?}"
                    );
                }
                Ok(Self {
                    ws,
                    next_id: 1,
                    pending: VecDeque::new(),
                    close: None,
                })
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                let body = resp
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Err((resp.status().as_u16(), body))
            }
            Err(e) => panic!("connect {url}: {e}"),
        }
    }

    pub async fn connect(url: &str) -> Self {
        Self::try_connect(url, Some("mcp"))
            .await
            .expect("websocket handshake")
    }

    /// Connects and runs `initialize` (with `extra` params) and
    /// `notifications/initialized`; returns the client and the initialize result.
    pub async fn initialized(url: &str, extra: Value) -> (Self, Value) {
        let mut c = Self::connect(url).await;
        let reply = c.request("initialize", init_params(extra)).await;
        let result = reply["result"].clone();
        assert!(result.is_object(), "initialize failed: {reply}");
        c.notify("notifications/initialized", json!({})).await;
        (c, result)
    }

    /// Connects offering `subprotocols` (e.g. `mcp, mcp.auth.<key>`) and
    /// initializes; panics if the upgrade or `initialize` is refused.
    pub async fn initialized_with(url: &str, subprotocols: &str) -> Self {
        let mut c = Self::try_connect(url, Some(subprotocols))
            .await
            .unwrap_or_else(|e| panic!("upgrade refused: {e:?}"));
        let reply = c.request("initialize", init_params(json!({}))).await;
        assert!(
            reply["result"]["mcpSessionId"].is_string(),
            "initialize failed: {reply}"
        );
        c.notify("notifications/initialized", json!({})).await;
        c
    }

    /// The tool names `tools/list` shows this session.
    pub async fn tool_names(&mut self) -> Vec<String> {
        let tools = self.request("tools/list", json!({})).await;
        tools["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("tools/list failed: {tools}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.ws
            .send(Message::Binary(bytes.to_vec().into()))
            .await
            .expect("send");
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        let msg = json!({"jsonrpc": "2.0", "method": method, "params": params});
        self.send_text(&msg.to_string()).await;
    }

    /// Sends a request and returns the whole reply message (`result` or `error`).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_text(&msg.to_string()).await;
        self.reply_to(json!(id)).await
    }

    /// Waits for the reply with `id`, keeping notifications that come first.
    pub async fn reply_to(&mut self, id: Value) -> Value {
        loop {
            let msg = self
                .recv(REPLY_TIMEOUT)
                .await
                .unwrap_or_else(|| panic!("no reply to request {id}"));
            if msg.get("method").is_some() && msg.get("id").is_none() {
                self.pending.push_back(msg);
            } else if msg.get("id") == Some(&id) {
                return msg;
            } else {
                panic!("unexpected message while waiting for {id}: {msg}");
            }
        }
    }

    /// Sends text and returns the next message (for malformed input whose reply
    /// has no usable id).
    pub async fn send_and_receive(&mut self, text: &str) -> Value {
        self.send_text(text).await;
        self.next_raw(REPLY_TIMEOUT).await.expect("a reply")
    }

    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> Value {
        let reply = self
            .request("tools/call", json!({"name": name, "arguments": arguments}))
            .await;
        reply["result"].clone()
    }

    /// Waits until a notification `method` arrives (or `within` passes) and
    /// returns it; others that come first stay pending, in order.
    pub async fn wait_for(&mut self, method: &str, within: Duration) -> Option<Value> {
        if let Some(i) = self.pending.iter().position(|m| m["method"] == method) {
            return self.pending.remove(i);
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
            let msg = self.recv(left).await?;
            if msg["method"] == method {
                return Some(msg);
            }
            self.pending.push_back(msg);
        }
    }

    /// Every notification received until `quiet` passes without one.
    pub async fn notifications(&mut self, quiet: Duration) -> Vec<Value> {
        let mut out: Vec<Value> = self.pending.drain(..).collect();
        while let Some(msg) = self.next_raw(quiet).await {
            out.push(msg);
        }
        out
    }

    /// The next message, or `None` after `timeout` or when the socket closed
    /// (then `close` holds the close frame, if any).
    pub async fn next_raw(&mut self, timeout: Duration) -> Option<Value> {
        if let Some(m) = self.pending.pop_front() {
            return Some(m);
        }
        self.recv(timeout).await
    }

    /// The next message from the socket itself.
    async fn recv(&mut self, timeout: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(timeout, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Some(serde_json::from_str(t.as_str()).expect("server sent JSON"));
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    self.close = frame;
                    return None;
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next message (`Err`), or once the server closed the connection its
    /// close frame (`Ok`; `None` if nothing came within `timeout`).
    pub async fn closed_or_next(&mut self, timeout: Duration) -> Result<Option<CloseFrame>, Value> {
        match self.next_raw(timeout).await {
            Some(message) => Err(message),
            None => Ok(self.close.clone()),
        }
    }

    /// Waits until the server closes the connection; returns its close frame.
    pub async fn closed(&mut self, timeout: Duration) -> Option<CloseFrame> {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if self.next_raw(Duration::from_millis(100)).await.is_none() && self.close.is_some() {
                break;
            }
        }
        self.close.clone()
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// `initialize` params opting in to `notifications/catalog/changed`.
pub fn events_opt_in() -> Value {
    json!({"capabilities": {"experimental": {"mcp-prompts/catalogEvents": true}}})
}

impl WsClient {
    /// Updates prompt `id`'s description to "edit `n`" (one change each call).
    pub async fn edit(&mut self, id: &str, n: usize) {
        let r = self
            .call_tool(
                "update_prompt",
                json!({"id": id, "description": format!("edit {n}")}),
            )
            .await;
        assert_eq!(r["isError"], false, "{r}");
    }
}

/// The `method` of each message, with `_meta.position` when present.
pub fn methods(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| match m["params"]["_meta"]["position"].as_u64() {
            Some(p) => format!("{}@{p}", m["method"].as_str().unwrap_or("?")),
            None => m["method"].as_str().unwrap_or("?").to_string(),
        })
        .collect()
}
