//! Helpers for the AWS column's tests: a moto server on a free loopback port,
//! the gateway binary (`serve --backend aws`) in front of it, and SDK clients
//! for in-process tests. WebSocket tests use `tests/common/ws.rs`'s `WsClient`.
//!
//! moto comes from `.tools/venv-aws` (scripts/install-test-tools.sh), or
//! `$MCP_PROMPTS_MOTO_SERVER`. Every process is killed on drop; every wait is
//! bounded.
#![allow(dead_code)]

pub mod standin;

use mcp_prompts::adapters::aws::sdk::{aws_config, aws_sdk_dynamodb};
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use mcp_prompts::adapters::aws::{AwsClients, AwsSettings};

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
