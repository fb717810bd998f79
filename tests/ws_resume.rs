//! Sessions outlive their WebSocket: resume by `mcpSessionId`, replay of what was
//! missed (in order, none twice, no gaps), takeover of a still-open connection,
//! unknown and expired ids, and a position older than the kept history.

mod common;

use std::time::Duration;

use common::TestServer;
use common::ws::{WsClient, events_opt_in, methods};
use serde_json::{Value, json};

const QUIET: Duration = Duration::from_millis(500);

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

fn max_position(messages: &[Value]) -> Option<u64> {
    messages
        .iter()
        .filter_map(|m| m["params"]["_meta"]["position"].as_u64())
        .max()
}

#[tokio::test]
async fn a_subscriber_that_was_away_gets_exactly_what_it_missed_in_order() {
    let server = TestServer::start();
    let (mut editor, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let (mut sub, first) = WsClient::initialized(&server.ws_url, events_opt_in()).await;
    assert_eq!(first["resumed"], false);
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();
    sub.request(
        "resources/subscribe",
        json!({"uri": "prompt://code-review"}),
    )
    .await;
    editor.edit("code-review", 0).await;
    let seen = sub.notifications(QUIET).await;
    let last_seen = max_position(&seen).expect("saw a position");
    sub.close().await;

    // 50 changes while away, some to the subscribed prompt.
    for n in 1..=50 {
        let id = if n % 5 == 0 {
            "code-review"
        } else {
            "bug-report"
        };
        editor.edit(id, n).await;
    }
    let (mut back, result) = WsClient::initialized(
        &server.ws_url,
        json!({"mcpSessionId": session_id, "lastPosition": last_seen}),
    )
    .await;
    assert_eq!(result["resumed"], true);
    assert_eq!(result["mcpSessionId"], session_id.as_str());
    assert_eq!(result["replay"], "complete");

    let got = back.notifications(QUIET).await;
    let names = methods(&got);
    assert!(
        names[0].starts_with("notifications/prompts/list_changed@"),
        "{names:?}"
    );
    assert!(names[1].starts_with("notifications/resources/list_changed@"));
    assert!(names[2].starts_with("notifications/resources/updated@"));
    assert_eq!(got[2]["params"]["uri"], "prompt://code-review");
    let events: Vec<u64> = got[3..]
        .iter()
        .map(|m| {
            assert_eq!(m["method"], "notifications/catalog/changed");
            m["params"]["position"].as_u64().unwrap()
        })
        .collect();
    let expected: Vec<u64> = (last_seen + 1..=last_seen + 50).collect();
    assert_eq!(
        events, expected,
        "every missed change once, in order, no gaps"
    );

    // Live notifications continue after the replay, without repeats.
    editor.edit("code-review", 51).await;
    let live = back.notifications(QUIET).await;
    let live_events: Vec<u64> = live
        .iter()
        .filter(|m| m["method"] == "notifications/catalog/changed")
        .map(|m| m["params"]["position"].as_u64().unwrap())
        .collect();
    assert_eq!(live_events, vec![last_seen + 51]);
}

#[tokio::test]
async fn without_last_position_the_replay_starts_where_the_old_connection_stopped() {
    let server = TestServer::start();
    let (mut editor, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let (mut sub, first) = WsClient::initialized(&server.ws_url, events_opt_in()).await;
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();
    editor.edit("regex-writer", 0).await;
    let seen = sub.notifications(QUIET).await;
    let last_seen = max_position(&seen).unwrap();
    sub.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for n in 1..=3 {
        editor.edit("regex-writer", n).await;
    }
    let (mut back, result) =
        WsClient::initialized(&server.ws_url, json!({"mcpSessionId": session_id})).await;
    assert_eq!(result["resumed"], true);
    let events: Vec<u64> = back
        .notifications(QUIET)
        .await
        .iter()
        .filter(|m| m["method"] == "notifications/catalog/changed")
        .map(|m| m["params"]["position"].as_u64().unwrap())
        .collect();
    assert_eq!(events, vec![last_seen + 1, last_seen + 2, last_seen + 3]);
}

#[tokio::test]
async fn a_second_connection_for_the_same_session_closes_the_first_with_1000() {
    let server = TestServer::start();
    let (mut old, first) = WsClient::initialized(&server.ws_url, events_opt_in()).await;
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();
    old.request(
        "resources/subscribe",
        json!({"uri": "prompt://sql-query-writer"}),
    )
    .await;
    let (mut new, result) =
        WsClient::initialized(&server.ws_url, json!({"mcpSessionId": session_id})).await;
    assert_eq!(result["resumed"], true);
    let close = old
        .closed(Duration::from_secs(5))
        .await
        .expect("old connection closed");
    assert_eq!(u16::from(close.code), 1000);
    assert_eq!(
        close.reason.as_str(),
        "MCP session reconnected on another connection"
    );
    // The subscription moved with the session.
    let (mut editor, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    editor.edit("sql-query-writer", 1).await;
    let got = methods(&new.notifications(QUIET).await);
    assert!(
        got.iter()
            .any(|m| m.starts_with("notifications/resources/updated")),
        "{got:?}"
    );
}

#[tokio::test]
async fn unknown_and_expired_session_ids_get_fresh_sessions() {
    let server = TestServer::start_with(None, &["--session-grace-secs", "1"]);
    let (c, result) =
        WsClient::initialized(&server.ws_url, json!({"mcpSessionId": "no-such-session"})).await;
    assert_eq!(result["resumed"], false);
    assert_ne!(result["mcpSessionId"], "no-such-session");
    let expiring = result["mcpSessionId"].as_str().unwrap().to_string();
    c.close().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, again) = WsClient::initialized(&server.ws_url, json!({"mcpSessionId": expiring})).await;
    assert_eq!(again["resumed"], false, "the grace period ended");
    assert_ne!(again["mcpSessionId"], expiring.as_str());
}

#[tokio::test]
async fn a_position_older_than_the_history_is_reported_as_truncated() {
    let server = TestServer::start_with(
        None,
        &["--history-max-changes", "5", "--history-prune-secs", "1"],
    );
    let (mut editor, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let (sub, first) = WsClient::initialized(&server.ws_url, events_opt_in()).await;
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();
    sub.close().await;
    for n in 0..20 {
        editor.edit("email-reply", n).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (mut back, result) = WsClient::initialized(
        &server.ws_url,
        with(
            json!({"mcpSessionId": session_id}),
            json!({"lastPosition": 1}),
        ),
    )
    .await;
    assert_eq!(result["resumed"], true);
    assert_eq!(result["replay"], "truncated");
    let got = back.notifications(QUIET).await;
    assert!(
        methods(&got)[0].starts_with("notifications/prompts/list_changed"),
        "re-list hint"
    );
    let events = got
        .iter()
        .filter(|m| m["method"] == "notifications/catalog/changed")
        .count();
    assert!(events <= 6, "only the kept history replays: {events}");
}

/// The official Python SDK 1.x, unmodified, resumes with extra `initialize` params.
#[test]
fn python_sdk_client_resumes_and_gets_exactly_what_it_missed() {
    let python = common::tool_path("MCP_PROMPTS_PYTHON", ".tools/venv/bin/python");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/py_ws_resume.py");
    let server = TestServer::start();
    let mut cmd = std::process::Command::new(python);
    cmd.arg(script)
        .arg(&server.ws_url)
        .env("PYTHONUNBUFFERED", "1");
    let out = common::run_client(cmd, common::CLIENT_TIMEOUT);
    assert!(
        out.status.success(),
        "py_ws_resume.py failed\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- server ---\n{}",
        out.stdout,
        out.stderr,
        server.output()
    );
}
