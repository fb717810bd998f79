//! A client for `mcp-prompts stdio` over real pipes: newline-delimited JSON-RPC.
//! Notifications that arrive while waiting for a reply are kept, in order, for
//! `wait_for`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long `request` waits for its reply.
const REPLY: Duration = Duration::from_secs(30);

/// A running `mcp-prompts stdio`, killed when dropped.
pub struct StdioProc {
    pub child: Child,
    /// `None` once a test closed it (the server then exits).
    pub stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    /// Messages read while waiting for something else, in order.
    pub pending: Vec<Value>,
    next_id: u64,
}

impl StdioProc {
    /// Starts `cmd` with piped stdin/stdout; stdout is read line by line.
    pub fn spawn(mut cmd: Command) -> StdioProc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mcp-prompts stdio");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        StdioProc {
            stdin: child.stdin.take(),
            child,
            lines,
            pending: Vec::new(),
            next_id: 1,
        }
    }

    /// `stdio --data DATA` with `extra` arguments, not yet initialized.
    pub fn embedded(data: &std::path::Path, extra: &[&str]) -> StdioProc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-prompts"));
        cmd.arg("stdio")
            .args(extra)
            .arg("--data")
            .arg(data)
            .env("NO_COLOR", "1");
        StdioProc::spawn(cmd)
    }

    /// Writes `text` as it is (it should end with a newline).
    pub fn send_text(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    pub fn send(&mut self, msg: Value) {
        self.send_text(&format!("{msg}\n"));
    }

    /// The next stdout line, parsed; every line must be a JSON-RPC message.
    pub fn next(&self, timeout: Duration) -> Option<Value> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        let value: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
        assert_eq!(value["jsonrpc"], "2.0", "{line}");
        Some(value)
    }

    /// `initialize` at 2025-11-25, then `notifications/initialized`.
    pub fn initialize(&mut self) {
        let init = self.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "stdio-test", "version": "1"}}),
        );
        assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "{init}");
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    }

    /// Sends a request and returns its reply; other messages are kept.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + REPLY;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self
                .next(left)
                .unwrap_or_else(|| panic!("no reply to {method}"));
            if msg.get("id") == Some(&json!(id)) {
                return msg;
            }
            self.pending.push(msg);
        }
    }

    /// Calls a tool that must succeed; returns its structured content.
    pub fn call_tool(&mut self, name: &str, arguments: Value) -> Value {
        let reply = self.request("tools/call", json!({"name": name, "arguments": arguments}));
        assert_eq!(reply["result"]["isError"], json!(false), "{name}: {reply}");
        reply["result"]["structuredContent"].clone()
    }

    /// Waits for a notification `method` (kept ones first); `None` after `within`.
    pub fn wait_for(&mut self, method: &str, within: Duration) -> Option<Value> {
        if let Some(i) = self.pending.iter().position(|m| m["method"] == method) {
            return Some(self.pending.remove(i));
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let msg = self.next(left)?;
            if msg["method"] == method {
                return Some(msg);
            }
            self.pending.push(msg);
        }
    }
}

impl Drop for StdioProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
