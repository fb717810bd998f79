//! Budgets on connections and sessions, each crossed: open WebSockets in total
//! (503 before the upgrade), a connection that never initializes (closed with
//! 1008), detached sessions kept for resume (the oldest forgotten first), and
//! the open-file limit raised at start.

mod common;

use std::time::Duration;

use common::TestServer;
use common::ws::WsClient;
use serde_json::json;

#[tokio::test]
async fn connections_beyond_the_limit_get_503_and_room_comes_back() {
    let server = TestServer::start_with(None, &["--max-connections", "2"]);
    let (a, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let (_b, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let refused = WsClient::try_connect(&server.ws_url, Some("mcp"))
        .await
        .err()
        .expect("a third connection is refused");
    assert_eq!(refused.0, 503, "{refused:?}");
    assert!(refused.1.contains("limit 2"), "{refused:?}");
    a.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match WsClient::try_connect(&server.ws_url, Some("mcp")).await {
            Ok(mut c) => {
                assert_eq!(c.request("ping", json!({})).await["result"], json!({}));
                break;
            }
            Err(e) if tokio::time::Instant::now() < deadline => {
                assert_eq!(e.0, 503);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("room did not come back: {e:?}"),
        }
    }
}

#[tokio::test]
async fn a_connection_that_never_initializes_is_closed_with_1008() {
    let server = TestServer::start_with(None, &["--init-timeout-secs", "1"]);
    let mut idle = WsClient::connect(&server.ws_url).await;
    let (mut working, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let close = idle
        .closed(Duration::from_secs(5))
        .await
        .expect("the idle connection is closed");
    assert_eq!(u16::from(close.code), 1008);
    assert!(close.reason.as_str().contains("initialize"), "{close:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        working.request("ping", json!({})).await["result"],
        json!({}),
        "an initialized connection stays"
    );
}

#[tokio::test]
async fn detached_sessions_beyond_the_limit_are_forgotten_oldest_first() {
    let server = TestServer::start_with(None, &["--max-detached-sessions", "2"]);
    let mut ids = Vec::new();
    for _ in 0..4 {
        let (c, first) = WsClient::initialized(&server.ws_url, json!({})).await;
        ids.push(first["mcpSessionId"].as_str().unwrap().to_string());
        c.close().await;
        // Detached one after another: each expires a little later.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    // The pruner runs every 5 s.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut resumed = Vec::new();
    for id in &ids {
        let (_, result) = WsClient::initialized(&server.ws_url, json!({"mcpSessionId": id})).await;
        resumed.push(result["resumed"] == true);
    }
    assert_eq!(
        resumed,
        [false, false, true, true],
        "the newest two are kept"
    );
}

/// Started with a low soft limit (as many systems default to 1,024), `serve`
/// raises it to the hard limit before it listens.
#[test]
fn the_open_file_soft_limit_is_raised_to_the_hard_limit() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new("prlimit")
        .arg("--nofile=256:")
        .arg(env!("CARGO_BIN_EXE_mcp-prompts"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("prlimit (util-linux) runs the server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = lines.any(|l| l.is_ok_and(|l| l.contains("ws://127.0.0.1:")));
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(started, "the server started");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .to_string();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_ne!(fields[3], "256", "the soft limit was raised: {line}");
    assert_eq!(fields[3], fields[4], "soft = hard: {line}");
}
