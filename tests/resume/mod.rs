//! The resume scenarios, written once: a session outlives its WebSocket, gets
//! exactly what it missed (in order, none twice, no gaps), moves off a
//! still-open connection (closed with 1000), is fresh when unknown or expired,
//! and hears "truncated" when it asks for more than the kept history. Each
//! scenario runs on every hub that serves MCP over WebSocket: the embedded
//! `serve` and `serve --backend aws` against moto (`tests/resume_embedded.rs`,
//! `tests/resume_aws.rs` call them).

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_prompts::ports::PromptStore;
use serde_json::{Value, json};

use crate::common::ws::{WsClient, events_opt_in, methods};

/// A hub under test: where its WebSocket is, how to read its change log, and
/// how long "nothing more arrives" lasts there (the AWS fan-out goes through
/// SQS).
pub struct Hub {
    pub ws_url: String,
    pub store: Arc<dyn PromptStore>,
    pub quiet: Duration,
    /// Keeps the processes (and their folders) alive for the test.
    pub _keep: Box<dyn std::any::Any>,
}

/// Upper bound on waiting for notifications that must come.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn event_positions(messages: &[Value]) -> Vec<u64> {
    messages
        .iter()
        .filter(|m| m["method"] == "notifications/catalog/changed")
        .map(|m| m["params"]["position"].as_u64().unwrap())
        .collect()
}

impl Hub {
    pub async fn head(&self) -> u64 {
        self.store.head_position().await.unwrap()
    }

    /// Messages until the catalog event at `upto` arrived (or `WAIT` passed, or
    /// the socket closed), then until `quiet` passes without another.
    pub async fn until_position(&self, c: &mut WsClient, upto: u64) -> Vec<Value> {
        let mut got = Vec::new();
        let deadline = Instant::now() + WAIT;
        while !event_positions(&got).contains(&upto) {
            let left = deadline.saturating_duration_since(Instant::now());
            match c.next_raw(left).await {
                Some(m) => got.push(m),
                None => return got,
            }
        }
        got.extend(c.notifications(self.quiet).await);
        got
    }

    /// Waits until the hub pruned its change history to the newest `keep`.
    pub async fn pruned_to(&self, keep: u64) {
        let head = self.head().await;
        let deadline = Instant::now() + WAIT;
        while self.store.oldest_position().await.unwrap() != head + 1 - keep {
            assert!(
                Instant::now() < deadline,
                "the history was not pruned to {keep}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A client away for 50 changes (10 to the prompt it subscribed to) resumes
/// with `lastPosition` and gets one `list_changed` pair, one
/// `resources/updated`, then every missed catalog event once, in order; live
/// notifications follow without repeats.
pub async fn a_subscriber_that_was_away_gets_exactly_what_it_missed_in_order(hub: Hub) {
    let (mut editor, _) = WsClient::initialized(&hub.ws_url, events_opt_in()).await;
    let (mut sub, first) = WsClient::initialized(&hub.ws_url, events_opt_in()).await;
    assert_eq!(first["resumed"], false);
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();
    let reply = sub
        .request(
            "resources/subscribe",
            json!({"uri": "prompt://code-review"}),
        )
        .await;
    assert_eq!(reply["result"], json!({}), "{reply}");
    editor.edit("code-review", 0).await;
    let last_seen = hub.head().await;
    let seen = hub.until_position(&mut sub, last_seen).await;
    assert_eq!(event_positions(&seen), vec![last_seen], "{seen:?}");
    sub.close().await;

    for n in 1..=50 {
        let id = if n % 5 == 0 {
            "code-review"
        } else {
            "bug-report"
        };
        editor.edit(id, n).await;
    }
    let newest = last_seen + 50;
    assert_eq!(hub.head().await, newest);
    // Delivered to the editor, so none of them is also live for the resumed one.
    let heard = event_positions(&hub.until_position(&mut editor, newest).await);
    assert!(heard.contains(&newest), "editor heard {heard:?}");

    let (mut back, result) = WsClient::initialized(
        &hub.ws_url,
        json!({"mcpSessionId": session_id, "lastPosition": last_seen}),
    )
    .await;
    assert_eq!(result["resumed"], true);
    assert_eq!(result["mcpSessionId"], session_id.as_str());
    assert_eq!(result["replay"], "complete");
    let got = hub.until_position(&mut back, newest).await;
    let names = methods(&got);
    assert_eq!(
        names[..3],
        [
            format!("notifications/prompts/list_changed@{newest}"),
            format!("notifications/resources/list_changed@{newest}"),
            format!("notifications/resources/updated@{newest}"),
        ],
        "{names:?}"
    );
    assert_eq!(got[2]["params"]["uri"], "prompt://code-review");
    let expected: Vec<u64> = (last_seen + 1..=newest).collect();
    assert_eq!(
        event_positions(&got),
        expected,
        "every missed change once, in order, no gaps"
    );
    assert_eq!(got.len(), 3 + 50, "nothing else: {names:?}");

    editor.edit("code-review", 51).await;
    let live = hub.until_position(&mut back, newest + 1).await;
    assert_eq!(
        methods(&live),
        [
            format!("notifications/prompts/list_changed@{}", newest + 1),
            format!("notifications/resources/list_changed@{}", newest + 1),
            format!("notifications/resources/updated@{}", newest + 1),
            format!("notifications/catalog/changed@{}", newest + 1),
        ]
    );
}

/// Without `lastPosition` the replay starts where the hub last knew the
/// session was: nothing it missed is lost.
pub async fn without_last_position_nothing_missed_is_lost(hub: Hub) {
    let (mut editor, _) = WsClient::initialized(&hub.ws_url, events_opt_in()).await;
    let (mut sub, first) = WsClient::initialized(&hub.ws_url, events_opt_in()).await;
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();
    editor.edit("regex-writer", 0).await;
    let last_seen = hub.head().await;
    hub.until_position(&mut sub, last_seen).await;
    sub.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for n in 1..=3 {
        editor.edit("regex-writer", n).await;
    }
    let newest = last_seen + 3;
    hub.until_position(&mut editor, newest).await;
    let (mut back, result) =
        WsClient::initialized(&hub.ws_url, json!({"mcpSessionId": session_id})).await;
    assert_eq!(result["resumed"], true);
    let events = event_positions(&hub.until_position(&mut back, newest).await);
    let missed: Vec<u64> = (last_seen + 1..=newest).collect();
    assert!(
        missed.iter().all(|p| events.contains(p)),
        "every missed change replays: {events:?}"
    );
    let mut sorted = events.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, events, "in order, none twice");
}

/// A second connection resuming a session closes the first with 1000 (after a
/// log message naming the reason, where the close itself cannot carry one) and
/// the subscription moves with the session.
pub async fn a_second_connection_for_the_same_session_closes_the_first_with_1000(hub: Hub) {
    let (mut old, first) = WsClient::initialized(&hub.ws_url, events_opt_in()).await;
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();
    old.request(
        "resources/subscribe",
        json!({"uri": "prompt://sql-query-writer"}),
    )
    .await;
    let (mut new, result) =
        WsClient::initialized(&hub.ws_url, json!({"mcpSessionId": session_id})).await;
    assert_eq!(result["resumed"], true);
    assert_eq!(result["mcpSessionId"], session_id.as_str());
    let mut notices = Vec::new();
    let close = loop {
        match old.closed_or_next(WAIT).await {
            Ok(close) => break close.expect("old connection closed"),
            Err(message) => notices.push(message),
        }
    };
    assert_eq!(u16::from(close.code), 1000);
    let reason = "MCP session reconnected on another connection";
    assert!(
        close.reason.as_str() == reason || notices.iter().any(|n| n["params"]["data"] == reason),
        "the reason is given: {close:?} {notices:?}"
    );
    let (mut editor, _) = WsClient::initialized(&hub.ws_url, json!({})).await;
    editor.edit("sql-query-writer", 1).await;
    let updated = new
        .wait_for("notifications/resources/updated", WAIT)
        .await
        .expect("resources/updated on the new connection");
    assert_eq!(updated["params"]["uri"], "prompt://sql-query-writer");
}

/// Start the hub with `--session-grace-secs 1`.
pub async fn unknown_and_expired_session_ids_get_fresh_sessions(hub: Hub) {
    let (mut c, result) =
        WsClient::initialized(&hub.ws_url, json!({"mcpSessionId": "no-such-session"})).await;
    assert_eq!(result["resumed"], false);
    assert_ne!(result["mcpSessionId"], "no-such-session");
    assert!(result.get("replay").is_none(), "{result}");
    let expiring = result["mcpSessionId"].as_str().unwrap().to_string();
    // Still attached: alive beyond the grace period.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let list = c.request("prompts/list", json!({})).await;
    assert!(list["result"]["prompts"].is_array(), "{list}");
    c.close().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, again) = WsClient::initialized(&hub.ws_url, json!({"mcpSessionId": expiring})).await;
    assert_eq!(again["resumed"], false, "the grace period ended: {again}");
    assert_ne!(again["mcpSessionId"], expiring.as_str());
}

/// Start the hub with `--history-max-changes 5 --history-prune-secs 1`.
pub async fn a_position_older_than_the_history_is_reported_as_truncated(hub: Hub) {
    let (mut editor, _) = WsClient::initialized(&hub.ws_url, json!({})).await;
    let (sub, first) = WsClient::initialized(&hub.ws_url, events_opt_in()).await;
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();
    sub.close().await;
    for n in 0..20 {
        editor.edit("email-reply", n).await;
    }
    let head = hub.head().await;
    hub.pruned_to(5).await;
    let (mut back, result) = WsClient::initialized(
        &hub.ws_url,
        json!({"mcpSessionId": session_id, "lastPosition": 1}),
    )
    .await;
    assert_eq!(result["resumed"], true);
    assert_eq!(result["replay"], "truncated");
    let got = hub.until_position(&mut back, head).await;
    assert_eq!(
        methods(&got)[..2],
        [
            format!("notifications/prompts/list_changed@{head}"),
            format!("notifications/resources/list_changed@{head}"),
        ],
        "the re-list hint comes first"
    );
    let kept: Vec<u64> = (head - 4..=head).collect();
    assert_eq!(event_positions(&got), kept, "only the kept history replays");
    back.close().await;

    let (_, inside) = WsClient::initialized(
        &hub.ws_url,
        json!({"mcpSessionId": session_id, "lastPosition": head - 5}),
    )
    .await;
    assert_eq!(inside["resumed"], true);
    assert_eq!(inside["replay"], "complete", "just inside the history");
}

/// The official Python SDK 1.x, unmodified, resumes with extra `initialize`
/// params and gets exactly what it missed.
pub fn python_sdk_client_resumes(ws_url: &str, extra: &[&str], output: impl Fn() -> String) {
    let python = crate::common::tool_path("MCP_PROMPTS_PYTHON", ".tools/venv/bin/python");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/py_ws_resume.py");
    let mut cmd = std::process::Command::new(python);
    cmd.arg(script)
        .arg(ws_url)
        .args(extra)
        .env("PYTHONUNBUFFERED", "1");
    let out = crate::common::run_client(cmd, crate::common::CLIENT_TIMEOUT);
    assert!(
        out.status.success(),
        "py_ws_resume.py failed\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- server ---\n{}",
        out.stdout,
        out.stderr,
        output()
    );
}
