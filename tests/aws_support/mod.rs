//! Helpers for the AWS column's tests: a moto server on a free loopback port,
//! the gateway binary (`serve --backend aws`) in front of it, and SDK clients
//! for in-process tests. WebSocket tests use `tests/common/ws.rs`'s `WsClient`.
//!
//! moto comes from `.tools/venv-aws` (scripts/install-test-tools.sh), or
//! `$MCP_PROMPTS_MOTO_SERVER`. Every process is killed on drop; every wait is
//! bounded.
#![allow(dead_code)]

pub mod moto_server;
pub mod standin;

pub use moto_server::{Moto, STARTUP};

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(15);

/// `aws bootstrap` runs the CLI this test run built.
impl Moto {
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

/// The import queue URL `aws bootstrap` printed (`MCP_PROMPTS_IMPORT_QUEUE_URL`).
pub fn import_queue(bootstrap: &str) -> String {
    bootstrap
        .lines()
        .find_map(|l| l.strip_prefix("imports  "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("bootstrap prints the import queue")
        .to_string()
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
