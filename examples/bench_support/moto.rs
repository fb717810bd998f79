//! A moto server on a free 127.0.0.1 port for the AWS benches (killed on
//! drop), and SDK clients pointed at it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_prompts::adapters::aws::sdk::{aws_config, aws_sdk_dynamodb};
use mcp_prompts::adapters::aws::{AwsClients, AwsSettings};

pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// `$MCP_PROMPTS_MOTO_SERVER`, else `.tools/venv-aws/bin/moto_server`.
    pub fn start() -> Moto {
        let path = std::env::var("MCP_PROMPTS_MOTO_SERVER")
            .unwrap_or_else(|_| ".tools/venv-aws/bin/moto_server".into());
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&path)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{path}: {e} (run scripts/install-test-tools.sh)"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    pub async fn clients(&self) -> Arc<AwsClients> {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "bench", "bench", None, None, "bench",
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
}
