//! Shared helpers for integration tests: start the real `mcp-prompts` binary on an
//! ephemeral loopback port and run external client programs with a timeout.
//!
//! Use from a test file with `mod common;`.
#![allow(dead_code)]

pub mod http;
pub mod jwt;
pub mod receiver;
pub mod stdio;
pub mod ws;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long the server may take to print its `ws://127.0.0.1:PORT/ws` line.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one client script may run.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

const WS_PREFIX: &str = "ws://127.0.0.1:";

/// Where the server keeps its data: a temp dir owned by the server, or a caller's path.
enum DataDir {
    Owned(tempfile::TempDir),
    Borrowed(PathBuf),
}

impl DataDir {
    fn path(&self) -> &Path {
        match self {
            DataDir::Owned(dir) => dir.path(),
            DataDir::Borrowed(path) => path,
        }
    }
}

/// A running `mcp-prompts serve` process, killed when dropped.
pub struct TestServer {
    /// e.g. `ws://127.0.0.1:41234/ws`, exactly as printed by the server.
    pub ws_url: String,
    /// Base URL of the same listener, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub http_url: String,
    child: Option<Child>,
    data_dir: DataDir,
    /// Extra `serve` arguments, kept across restarts.
    extra_args: Vec<String>,
    /// Everything the server printed so far (stdout and stderr, interleaved per stream).
    output: Arc<Mutex<String>>,
}

impl TestServer {
    /// Starts the server on a fresh temporary data directory.
    pub fn start() -> TestServer {
        Self::start_with(None, &[])
    }

    /// Starts the server on an existing data directory, which the caller keeps ownership of.
    pub fn start_with_data(path: impl AsRef<Path>) -> TestServer {
        Self::start_with(Some(path.as_ref()), &[])
    }

    /// Starts the server with extra `serve` arguments (e.g. `["--page-size", "7"]`), on `data`
    /// or else on a fresh temporary data directory. The arguments are kept across restarts.
    pub fn start_with(data: Option<&Path>, extra_args: &[&str]) -> TestServer {
        let data_dir = match data {
            Some(path) => DataDir::Borrowed(path.to_path_buf()),
            None => DataDir::Owned(
                tempfile::Builder::new()
                    .prefix("mcp-prompts-test-")
                    .tempdir()
                    .expect("create temp data dir"),
            ),
        };
        let mut server = TestServer {
            ws_url: String::new(),
            http_url: String::new(),
            child: None,
            data_dir,
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
            output: Arc::new(Mutex::new(String::new())),
        };
        server.respawn("127.0.0.1:0");
        server
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        parse_port(&self.ws_url).expect("ws_url has a port")
    }

    /// Everything the server has printed so far, for assertion messages.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Stops the server: SIGTERM, then SIGKILL if it has not exited within 5 s.
    /// Returns its exit status (None if it was not running). Idempotent.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        // The hub gives closing WebSockets up to 5 s (gateway SHUTDOWN_GRACE)
        // before it exits: wait longer than that before calling it stuck.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// Kills the server with SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server with SIGKILL and starts it again on the same data directory (on a
    /// new ephemeral port): whatever it had not finished is interrupted mid-way.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.respawn("127.0.0.1:0");
    }

    /// Stops the server and starts it again on the same data directory, on a new ephemeral
    /// port: `ws_url` and `http_url` change. Earlier output is kept in `output()`.
    pub fn restart(&mut self) {
        self.stop();
        self.respawn("127.0.0.1:0");
    }

    /// Like `restart`, but binds the same port again so that `ws_url` stays valid
    /// (for reconnect tests). Retries for a few seconds while the old socket is released.
    pub fn restart_on_same_port(&mut self) {
        let addr = format!("127.0.0.1:{}", self.port());
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.try_respawn(&addr) {
                Ok(()) => return,
                Err(err) if Instant::now() < deadline => {
                    eprintln!("restart on {addr} failed, retrying: {err}");
                    thread::sleep(Duration::from_millis(250));
                }
                Err(err) => panic!("{err}"),
            }
        }
    }

    fn respawn(&mut self, addr: &str) {
        if let Err(err) = self.try_respawn(addr) {
            panic!("{err}");
        }
    }

    /// Spawns the binary and waits for its WebSocket URL. On failure the process is killed
    /// and the error carries its output.
    fn try_respawn(&mut self, addr: &str) -> Result<(), String> {
        assert!(self.child.is_none(), "server already running");
        let bin = env!("CARGO_BIN_EXE_mcp-prompts");
        let mut child = Command::new(bin)
            .args(["serve", "--addr", addr, "--data"])
            .arg(self.data_dir.path())
            .args(&self.extra_args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let (tx, rx) = mpsc::channel::<String>();
        pump_lines(
            child.stdout.take().unwrap(),
            "stdout",
            self.output.clone(),
            Some(tx.clone()),
        );
        pump_lines(
            child.stderr.take().unwrap(),
            "stderr",
            self.output.clone(),
            Some(tx),
        );

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = find_ws_url(&line) {
                        break Ok(url);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    break Err(format!(
                        "no {WS_PREFIX}PORT/ws line within {STARTUP_TIMEOUT:?}"
                    ));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                    break Err(format!(
                        "server exited ({status}) before printing {WS_PREFIX}PORT/ws"
                    ));
                }
            }
        };
        match url {
            Ok(url) => {
                self.http_url = url.trim_end_matches("/ws").replacen("ws://", "http://", 1);
                self.ws_url = url;
                self.child = Some(child);
                Ok(())
            }
            Err(msg) => {
                let _ = child.kill();
                let _ = child.wait();
                thread::sleep(Duration::from_millis(50)); // let the pumps flush
                Err(format!(
                    "mcp-prompts serve --addr {addr} --data {} {}: {msg}\n--- server output ---\n{}",
                    self.data_dir.path().display(),
                    self.extra_args.join(" "),
                    self.output()
                ))
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Copies lines from a child's pipe into `output` (prefixed with the stream name) and,
/// while anyone listens, into `tx`. Keeps draining so the child never blocks on a full pipe.
fn pump_lines(
    pipe: impl Read + Send + 'static,
    stream: &'static str,
    output: Arc<Mutex<String>>,
    tx: Option<mpsc::Sender<String>>,
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                    output
                        .lock()
                        .unwrap()
                        .push_str(&format!("[{stream}] {line}\n"));
                    if let Some(tx) = &tx {
                        let _ = tx.send(line);
                    }
                }
            }
        }
    });
}

/// Extracts `ws://127.0.0.1:PORT/ws` from a log line.
pub fn find_ws_url(line: &str) -> Option<String> {
    let mut rest = line;
    while let Some(i) = rest.find(WS_PREFIX) {
        let after = &rest[i + WS_PREFIX.len()..];
        let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty() && after[digits.len()..].starts_with("/ws") {
            let tail = &after[digits.len() + 3..];
            if !tail.starts_with(|c: char| {
                c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-'
            }) {
                return Some(format!("{WS_PREFIX}{digits}/ws"));
            }
        }
        rest = after;
    }
    None
}

fn parse_port(url: &str) -> Option<u16> {
    let after = url.split("://").nth(1)?;
    let host_port = after.split('/').next()?;
    host_port.rsplit(':').next()?.parse().ok()
}

/// What a finished client program printed.
pub struct ClientOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a client program to completion, killing it after `timeout`.
/// Panics (with everything it printed) if it cannot start or times out.
pub fn run_client(mut cmd: Command, timeout: Duration) -> ClientOutput {
    let description = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {description}: {e}"));
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for client") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{description} timed out after {timeout:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                stdout.join().unwrap(),
                stderr.join().unwrap()
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    ClientOutput {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A test tool location: `$VAR` if set, else `default` relative to the crate root.
/// Panics (does not skip) when it does not exist.
pub fn tool_path(var: &str, default: &str) -> PathBuf {
    let path = match std::env::var_os(var) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(default),
    };
    assert!(
        path.exists(),
        "{} not found (from ${var} or the default {default}): run scripts/install-test-tools.sh \
         (scripts/test.sh does it for you)",
        path.display()
    );
    path
}

#[cfg(test)]
mod tests {
    use super::find_ws_url;

    #[test]
    fn finds_ws_url_in_log_lines() {
        assert_eq!(
            find_ws_url("listening on ws://127.0.0.1:4321/ws").as_deref(),
            Some("ws://127.0.0.1:4321/ws")
        );
        assert_eq!(
            find_ws_url("x (ws://127.0.0.1:80/ws, http)").as_deref(),
            Some("ws://127.0.0.1:80/ws")
        );
        assert_eq!(
            find_ws_url("\"ws://127.0.0.1:9/ws\"").as_deref(),
            Some("ws://127.0.0.1:9/ws")
        );
        assert_eq!(find_ws_url("ws://127.0.0.1:9/wsx"), None);
        assert_eq!(find_ws_url("http://127.0.0.1:9/mcp"), None);
    }
}
