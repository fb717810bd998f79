//! The resume scenarios (`tests/resume/mod.rs`) on the embedded `serve`, plus
//! what only a hub with a durable local store can show: a restart of `serve`
//! (clean or `kill -9`) inside the grace period resumes WebSocket, Streamable
//! HTTP and stdio sessions with `replay: complete`.

mod common;
mod resume;

use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use common::ws::{WsClient, events_opt_in};
use mcp_prompts::adapters::embedded::EmbeddedStore;
use mcp_prompts::ports::SystemClock;
use resume::Hub;
use serde_json::json;

fn hub(server: TestServer) -> Hub {
    Hub {
        ws_url: server.ws_url.clone(),
        store: Arc::new(EmbeddedStore::open(server.data_dir(), Arc::new(SystemClock)).unwrap()),
        quiet: Duration::from_millis(500),
        _keep: Box::new(server),
    }
}

#[tokio::test]
async fn a_subscriber_that_was_away_gets_exactly_what_it_missed_in_order() {
    resume::a_subscriber_that_was_away_gets_exactly_what_it_missed_in_order(hub(
        TestServer::start(),
    ))
    .await;
}

#[tokio::test]
async fn without_last_position_nothing_missed_is_lost() {
    resume::without_last_position_nothing_missed_is_lost(hub(TestServer::start())).await;
}

#[tokio::test]
async fn a_second_connection_for_the_same_session_closes_the_first_with_1000() {
    resume::a_second_connection_for_the_same_session_closes_the_first_with_1000(hub(
        TestServer::start(),
    ))
    .await;
}

#[tokio::test]
async fn unknown_and_expired_session_ids_get_fresh_sessions() {
    let server = TestServer::start_with(None, &["--session-grace-secs", "1"]);
    resume::unknown_and_expired_session_ids_get_fresh_sessions(hub(server)).await;
}

#[tokio::test]
async fn a_position_older_than_the_history_is_reported_as_truncated() {
    let server = TestServer::start_with(
        None,
        &["--history-max-changes", "5", "--history-prune-secs", "1"],
    );
    resume::a_position_older_than_the_history_is_reported_as_truncated(hub(server)).await;
}

#[test]
fn python_sdk_client_resumes_and_gets_exactly_what_it_missed() {
    let server = TestServer::start();
    resume::python_sdk_client_resumes(&server.ws_url, &[], || server.output());
}

/// `serve` stops (SIGTERM) or dies (`kill -9`) while a subscriber is away;
/// changes are made while it is down and after it is back; the subscriber
/// resumes on the restarted hub with every missed change, `replay: complete`.
async fn a_restart_inside_the_grace_period_resumes_the_session(kill: bool) {
    let mut server = TestServer::start();
    let store = EmbeddedStore::open(server.data_dir(), Arc::new(SystemClock)).unwrap();
    let h = hub_ref(&server, &store);
    let (mut sub, first) = WsClient::initialized(&server.ws_url, events_opt_in()).await;
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();
    sub.request("resources/subscribe", json!({"uri": "prompt://bug-report"}))
        .await;
    let (mut editor, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    editor.edit("bug-report", 0).await;
    let last_seen = h.head().await;
    h.until_position(&mut sub, last_seen).await;
    if kill {
        server.kill();
        drop((sub, editor));
    } else {
        sub.close().await;
        editor.close().await;
    }
    // A change while the hub is down, from another process on the same folder.
    let mut stdio = common::stdio::StdioProc::embedded(server.data_dir(), &[]);
    stdio.initialize();
    let r = stdio.call_tool(
        "update_prompt",
        json!({"id": "bug-report", "description": "edited while the hub was down"}),
    );
    assert_eq!(r["description"], "edited while the hub was down", "{r}");
    drop(stdio);
    server.restart_on_same_port();
    let (mut editor, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    editor.edit("bug-report", 2).await;
    let newest = h.head().await;
    assert_eq!(newest, last_seen + 2);

    let (mut back, result) = WsClient::initialized(
        &server.ws_url,
        json!({"mcpSessionId": session_id, "lastPosition": last_seen}),
    )
    .await;
    assert_eq!(result["resumed"], true, "{result}\n{}", server.output());
    assert_eq!(result["replay"], "complete");
    let got = h.until_position(&mut back, newest).await;
    assert_eq!(resume::event_positions(&got), vec![last_seen + 1, newest]);
    assert!(
        got.iter()
            .any(|m| m["method"] == "notifications/resources/updated"),
        "the subscription survived the restart: {got:?}"
    );
}

fn hub_ref(server: &TestServer, store: &EmbeddedStore) -> Hub {
    Hub {
        ws_url: server.ws_url.clone(),
        store: Arc::new(store.clone()),
        quiet: Duration::from_millis(500),
        _keep: Box::new(()),
    }
}

#[tokio::test]
async fn a_clean_restart_inside_the_grace_period_resumes_the_session() {
    a_restart_inside_the_grace_period_resumes_the_session(false).await;
}

#[tokio::test]
async fn a_kill_9_inside_the_grace_period_resumes_the_session() {
    a_restart_inside_the_grace_period_resumes_the_session(true).await;
}

/// A Streamable HTTP session outlives a restart of `serve`: its
/// `Mcp-Session-Id` keeps working (no 404, no new `initialize`), its
/// subscription too, and the change it missed while away waits on its stream
/// for the client that reconnects it with its `Last-Event-ID`.
#[tokio::test]
async fn an_http_session_is_resumed_after_a_restart() {
    use common::http::{SseStream, post_mcp};
    let mut server = TestServer::start();
    let session = common::http::open_session(&server.http_url);
    let subscribe = post_mcp(
        &server.http_url,
        Some(&session),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe",
                "params": {"uri": "prompt://bug-report"}}),
    );
    assert_eq!(subscribe.status, 200, "{subscribe:?}");
    server.restart_on_same_port();
    let (mut editor, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    editor.edit("bug-report", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let ping = post_mcp(
        &server.http_url,
        Some(&session),
        &json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
    );
    assert_eq!(
        ping.status,
        200,
        "the session survived: {ping:?}\n{}",
        server.output()
    );
    let base = server.http_url.clone();
    let sid = session.clone();
    let updated = tokio::task::spawn_blocking(move || {
        // The stream from before the restart had reached some event id; the
        // restarted hub's log for the session starts over.
        let mut stream = SseStream::open(&base, &sid, &[("Last-Event-ID", "999")]);
        assert_eq!(stream.status, 200);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            match stream.next_event(Duration::from_secs(1), false) {
                Some(e) if e.json()["method"] == "notifications/resources/updated" => {
                    return Some(e.json());
                }
                _ => continue,
            }
        }
        None
    })
    .await
    .unwrap()
    .expect("the missed resources/updated waits on the stream");
    assert_eq!(updated["params"]["uri"], "prompt://bug-report");
}

/// stdio sessions live in the data folder's store too: a client that starts
/// the hub again and resumes its session gets what it missed meanwhile.
#[tokio::test]
async fn a_stdio_session_is_resumed_by_the_next_process() {
    use common::stdio::StdioProc;
    let data = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(data.path(), Arc::new(SystemClock)).unwrap();
    let mut first = StdioProc::embedded(data.path(), &[]);
    first.send(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "stdio-resume", "version": "1"}}}),
    );
    let init = first
        .next(Duration::from_secs(10))
        .expect("initialize reply");
    let session_id = init["result"]["mcpSessionId"].as_str().unwrap().to_string();
    first.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let r = first.request("resources/subscribe", json!({"uri": "prompt://bug-report"}));
    assert_eq!(r["result"], json!({}), "{r}");
    let last_seen = mcp_prompts::ports::PromptStore::head_position(&store)
        .await
        .unwrap();
    drop(first);

    let mut editor = StdioProc::embedded(data.path(), &[]);
    editor.initialize();
    let r = editor.call_tool(
        "update_prompt",
        json!({"id": "bug-report", "description": "edited between the two"}),
    );
    assert_eq!(r["description"], "edited between the two", "{r}");
    drop(editor);

    let mut second = StdioProc::embedded(data.path(), &[]);
    second.send(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "stdio-resume", "version": "1"},
        "mcpSessionId": session_id, "lastPosition": last_seen}}),
    );
    let init = second
        .next(Duration::from_secs(10))
        .expect("initialize reply");
    assert_eq!(init["result"]["resumed"], true, "{init}");
    assert_eq!(init["result"]["replay"], "complete");
    second.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let updated = second
        .wait_for("notifications/resources/updated", Duration::from_secs(10))
        .expect("the missed update is replayed");
    assert_eq!(updated["params"]["uri"], "prompt://bug-report");
}
