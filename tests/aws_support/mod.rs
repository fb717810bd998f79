//! Helpers for the AWS column's tests: a moto server on a free loopback port,
//! the gateway binary (`serve --backend aws`) in front of it, SDK clients for
//! in-process tests, and a small raw-WebSocket MCP client.
//!
//! moto comes from `.tools/venv-aws` (scripts/install-test-tools.sh), or
//! `$MCP_PROMPTS_MOTO_SERVER`. Every process is killed on drop; every wait is
//! bounded.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use mcp_prompts::adapters::aws::{AwsClients, AwsSettings};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub const STARTUP: Duration = Duration::from_secs(30);
pub const WAIT: Duration = Duration::from_secs(15);

/// A `moto_server` process on 127.0.0.1, killed on drop.
pub struct Moto {
    pub url: String,
    child: Child,
}

pub fn moto_path() -> PathBuf {
    let path = match std::env::var_os("MCP_PROMPTS_MOTO_SERVER") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/venv-aws/bin/moto_server"),
    };
    assert!(
        path.exists(),
        "{} not found: run scripts/install-test-tools.sh (scripts/test.sh does it)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Moto {
    pub fn start() -> Moto {
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(moto_path())
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            let mut moto = Moto {
                url: format!("http://127.0.0.1:{port}"),
                child,
            };
            let deadline = Instant::now() + STARTUP;
            while Instant::now() < deadline {
                if let Ok(Some(status)) = moto.child.try_wait() {
                    last = format!("moto_server exited: {status}");
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return moto;
                }
                thread::sleep(Duration::from_millis(50));
            }
            let _ = moto.child.kill();
        }
        panic!("moto_server did not start: {last}");
    }

    /// SDK clients pointed at this moto, with static test credentials.
    pub async fn clients(&self) -> Arc<AwsClients> {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await;
        Arc::new(AwsClients::from_sdk_config(sdk, true))
    }

    pub fn settings(&self) -> AwsSettings {
        AwsSettings {
            endpoint_url: Some(self.url.clone()),
            region: Some("us-east-1".into()),
            ..Default::default()
        }
    }

    /// `Command` with the AWS environment a child process needs.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("MCP_PROMPTS_AWS_ENDPOINT_URL", &self.url)
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs `mcp-prompts aws bootstrap` against this moto.
    pub fn bootstrap(&self) -> String {
        self.bootstrap_with(&[])
    }

    /// `aws bootstrap` with extra arguments (e.g. `--no-seed`).
    pub fn bootstrap_with(&self, extra: &[&str]) -> String {
        let out = self
            .command(env!("CARGO_BIN_EXE_mcp-prompts"))
            .args(["aws", "bootstrap"])
            .args(extra)
            .output()
            .expect("run aws bootstrap");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "aws bootstrap failed:\n{text}");
        text
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A binary under test: `$var` if set (e.g. a release build for measurements),
/// else the one cargo built for this test run.
pub fn binary(var: &str, default: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(default),
    }
}

/// `mcp-prompts serve --backend aws` on a free port, killed on drop.
pub struct Gateway {
    pub ws_url: String,
    pub http_url: String,
    child: Child,
    output: Arc<Mutex<String>>,
    _data: tempfile::TempDir,
}

impl Gateway {
    pub fn start(moto: &Moto, extra: &[&str]) -> Gateway {
        let data = tempfile::tempdir().expect("temp dir");
        let mut child = moto
            .command(env!("CARGO_BIN_EXE_mcp-prompts"))
            .args([
                "serve",
                "--backend",
                "aws",
                "--addr",
                "127.0.0.1:0",
                "--data",
            ])
            .arg(data.path())
            .args(extra)
            .env("RUST_LOG", "mcp_prompts=debug,warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the gateway");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        pump(child.stdout.take().unwrap(), output.clone(), Some(tx));
        pump(child.stderr.take().unwrap(), output.clone(), None);
        let deadline = Instant::now() + STARTUP;
        let ws_url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(i) = line.find("ws://127.0.0.1:") {
                        let url: String = line[i..].split_whitespace().next().unwrap().into();
                        break url;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    thread::sleep(Duration::from_millis(100));
                    panic!("gateway did not start:\n{}", output.lock().unwrap());
                }
            }
        };
        let http_url = ws_url
            .trim_end_matches("/ws")
            .replacen("ws://", "http://", 1);
        Gateway {
            ws_url,
            http_url,
            child,
            output,
            _data: data,
        }
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pump(
    pipe: impl Read + Send + 'static,
    output: Arc<Mutex<String>>,
    tx: Option<mpsc::Sender<String>>,
) {
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            output.lock().unwrap().push_str(&line);
            output.lock().unwrap().push('\n');
            if let Some(tx) = &tx {
                let _ = tx.send(line);
            }
        }
    });
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw MCP-over-WebSocket client: requests by id, notifications kept in order.
pub struct McpSocket {
    socket: Socket,
    next_id: u64,
    pub notifications: Vec<Value>,
}

impl McpSocket {
    pub async fn connect(url: &str) -> McpSocket {
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "mcp".parse().unwrap());
        let (socket, response) =
            tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
                .await
                .expect("connect in time")
                .expect("websocket connect");
        assert_eq!(
            response.headers().get("sec-websocket-protocol").unwrap(),
            "mcp"
        );
        McpSocket {
            socket,
            next_id: 1,
            notifications: Vec::new(),
        }
    }

    /// Connects and initializes (2025-06-18), opting into catalog events.
    pub async fn initialized(url: &str) -> McpSocket {
        let mut s = Self::connect(url).await;
        let init = s
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "aws-test", "version": "1"}
                }),
            )
            .await;
        assert_eq!(
            init["result"]["serverInfo"]["name"], "mcp-prompts",
            "{init}"
        );
        s.notify("notifications/initialized", json!({})).await;
        s
    }

    pub async fn send_text(&mut self, text: String) {
        self.socket.send(Message::text(text)).await.expect("send");
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        let msg = json!({"jsonrpc": "2.0", "method": method, "params": params});
        self.send_text(msg.to_string()).await;
    }

    /// Sends a request and waits for its response (notifications are kept).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_text(msg.to_string()).await;
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self
                .next_message(deadline)
                .await
                .unwrap_or_else(|| panic!("no reply to {method}"));
            if v.get("id") == Some(&json!(id)) {
                return v;
            }
            self.notifications.push(v);
        }
    }

    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> Value {
        let r = self
            .request("tools/call", json!({"name": name, "arguments": arguments}))
            .await;
        assert!(r["result"]["isError"] != json!(true), "{name} failed: {r}");
        r["result"]["structuredContent"].clone()
    }

    /// Waits until a notification `method` arrived (or `within` passes).
    pub async fn wait_for(&mut self, method: &str, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(i) = self
                .notifications
                .iter()
                .position(|n| n["method"] == method)
            {
                return Some(self.notifications.remove(i));
            }
            let v = self.next_message(deadline).await?;
            self.notifications.push(v);
        }
    }

    async fn next_message(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let msg = tokio::time::timeout(left, self.socket.next())
                .await
                .ok()??
                .ok()?;
            match msg {
                Message::Text(t) => {
                    return Some(serde_json::from_str(t.as_str()).expect("JSON frame"));
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
