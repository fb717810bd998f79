//! A `moto_server` on a free 127.0.0.1 port, killed on drop, and SDK clients
//! pointed at it: for the AWS tests (`aws_support`, which adds the bootstrap
//! through the CLI) and the AWS benches in `examples/` (which include this file).
//!
//! moto comes from `.tools/venv-aws` (scripts/install-test-tools.sh), or
//! `$MCP_PROMPTS_MOTO_SERVER`; it runs through `moto_atomic.py` beside this
//! file (DynamoDB requests one at a time, as atomic as the real service) with
//! the Python next to that `moto_server`.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mcp_prompts::adapters::aws::sdk::{aws_config, aws_sdk_dynamodb};
use mcp_prompts::adapters::aws::{AwsClients, AwsSettings};

pub const STARTUP: Duration = Duration::from_secs(30);

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

/// The command that serves moto: `moto_atomic.py` under the venv's Python,
/// or the bare `moto_server` when no Python sits beside it.
fn moto_command(port: u16) -> Command {
    let server = moto_path();
    let python = server.with_file_name("python");
    let atomic = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws_support/moto_atomic.py");
    let mut cmd = if python.exists() {
        let mut cmd = Command::new(python);
        cmd.arg(atomic);
        cmd
    } else {
        Command::new(server)
    };
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    cmd
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
            let child = moto_command(port)
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
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
