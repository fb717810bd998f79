//! A minimal MCP-over-WebSocket client: connect with subprotocol `mcp`,
//! `initialize` + `notifications/initialized`, request/response by id.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// How long any single handshake or request may take before it counts as failed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Refuses anything but loopback: this tool only loads servers on this machine.
pub fn check_loopback(url: &str) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| anyhow!("only ws:// URLs are supported, got {url}"))?;
    let host_port = rest.split('/').next().unwrap_or("");
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
    };
    let ok = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false);
    if !ok {
        bail!(
            "refusing to load {host}: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed"
        );
    }
    Ok(())
}

/// Just enough of a JSON-RPC frame to route it.
#[derive(Deserialize)]
pub struct Frame<'a> {
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default, borrow)]
    pub method: Option<&'a str>,
    #[serde(default, borrow)]
    pub result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub error: Option<&'a RawValue>,
}

pub struct Client {
    pub ws: Ws,
    next_id: u64,
}

impl Client {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mcp"));
        let config = WebSocketConfig::default()
            .read_buffer_size(16 * 1024)
            .write_buffer_size(0);
        let (ws, _resp) = tokio::time::timeout(
            IO_TIMEOUT,
            tokio_tungstenite::connect_async_with_config(request, Some(config), true),
        )
        .await
        .context("WebSocket handshake timed out")??;
        Ok(Self { ws, next_id: 0 })
    }

    /// Connects and completes the MCP handshake.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let mut c = Self::connect(url).await?;
        let init = c
            .request(
                "initialize",
                json!({
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "mcp-prompts-loadgen", "version": env!("CARGO_PKG_VERSION")},
                }),
            )
            .await?;
        if init.get("protocolVersion").is_none() {
            bail!("initialize returned no protocolVersion: {init}");
        }
        c.notify("notifications/initialized", json!({})).await?;
        Ok(c)
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub async fn notify(&mut self, method: &str, params: Value) -> anyhow::Result<()> {
        let msg = json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string();
        self.ws.send(Message::text(msg)).await?;
        Ok(())
    }

    pub async fn send_request(&mut self, method: &str, params: Value) -> anyhow::Result<u64> {
        let id = self.next_id();
        let msg =
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        self.ws.send(Message::text(msg)).await?;
        Ok(id)
    }

    /// Sends a request and waits for its result; other frames are handed to `other`.
    pub async fn request_with(
        &mut self,
        method: &str,
        params: Value,
        mut other: impl FnMut(&str),
    ) -> anyhow::Result<Value> {
        let id = self.send_request(method, params).await?;
        let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .with_context(|| format!("{method}: no response within {IO_TIMEOUT:?}"))?;
            let text = match msg {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Close(c))) => {
                    bail!("{method}: server closed the connection: {c:?}")
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e).context(method.to_string()),
                None => bail!("{method}: connection ended"),
            };
            let frame: Frame = serde_json::from_str(text.as_str())
                .with_context(|| format!("{method}: unparsable frame {}", text.as_str()))?;
            if frame.method.is_none() && frame.id == Some(id) {
                if let Some(err) = frame.error {
                    bail!("{method} failed: {}", err.get());
                }
                let result = frame.result.ok_or_else(|| anyhow!("{method}: no result"))?;
                return Ok(serde_json::from_str(result.get())?);
            }
            other(text.as_str());
        }
    }

    pub async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.request_with(method, params, |_| {}).await
    }
}

/// `prompts/list` (all pages), then the arguments for prompt `name`: every
/// required argument filled with a short value.
pub async fn arguments_for(client: &mut Client, name: &str) -> anyhow::Result<Value> {
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let page = client.request("prompts/list", params).await?;
        let prompts = page["prompts"].as_array().cloned().unwrap_or_default();
        if let Some(p) = prompts.iter().find(|p| p["name"] == name) {
            return Ok(required_arguments(p));
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    bail!("prompt '{name}' is not in prompts/list")
}

/// Every required argument of a `prompts/list` entry, filled with a short value.
pub fn required_arguments(prompt: &Value) -> Value {
    let mut args = serde_json::Map::new();
    for a in prompt["arguments"].as_array().into_iter().flatten() {
        if a["required"].as_bool().unwrap_or(false)
            && let Some(n) = a["name"].as_str()
        {
            let v = match n {
                "code" => "fn main() {}",
                "language" => "rust",
                _ => "bench",
            };
            args.insert(n.to_string(), Value::String(v.to_string()));
        }
    }
    Value::Object(args)
}
