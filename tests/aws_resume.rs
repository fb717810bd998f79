#![cfg(feature = "aws")]
//! Sessions outlive their WebSocket on the AWS column too, end to end through
//! `serve --backend aws` against moto: resume by `mcpSessionId` with exactly the
//! missed notifications replayed, takeover of a still-open connection, unknown
//! and expired ids, a position older than the pruned DynamoDB history, the
//! gateway's forced maximum-duration cut in the middle of a burst, and the
//! Python SDK 1.x resume client. (The TypeScript SDK client, which knows nothing
//! of resumption, runs against this backend in `aws_gateway.rs`.)

mod aws_support;
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_support::{Gateway, Moto};
use common::ws::{WsClient, events_opt_in, methods};
use mcp_prompts::adapters::aws::DynamoPromptStore;
use mcp_prompts::domain::PromptId;
use mcp_prompts::engine::Catalog;
use mcp_prompts::ports::{PromptStore, SystemClock};
use serde_json::{Value, json};

/// How long "nothing more arrives" must last: the fan-out goes through SQS.
const QUIET: Duration = Duration::from_millis(1500);
/// Upper bound on waiting for notifications that must come.
const WAIT: Duration = Duration::from_secs(20);

/// moto with the seeded catalog, and the gateway. The seeding's 27 change
/// messages are purged from the queue first, so no late fan-out of them
/// reaches a test's clients.
async fn start(extra: &[&str]) -> (Moto, Gateway) {
    let moto = Moto::start();
    moto.bootstrap();
    let sqs = moto.clients().await.sqs().clone();
    let queue = sqs.get_queue_url().queue_name("mcp-prompts-changes");
    let url = queue.send().await.unwrap().queue_url().unwrap().to_string();
    sqs.purge_queue().queue_url(url).send().await.unwrap();
    let gateway = Gateway::start(&moto, extra);
    (moto, gateway)
}

fn event_positions(messages: &[Value]) -> Vec<u64> {
    messages
        .iter()
        .filter(|m| m["method"] == "notifications/catalog/changed")
        .map(|m| m["params"]["position"].as_u64().unwrap())
        .collect()
}

/// Messages until the catalog event at position `upto` arrived (or `WAIT`
/// passed, or the socket closed), then until `QUIET` passes without another.
async fn until_position(c: &mut WsClient, upto: u64) -> Vec<Value> {
    let mut got = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !event_positions(&got).contains(&upto) {
        let left = deadline.saturating_duration_since(Instant::now());
        match c.next_raw(left).await {
            Some(m) => got.push(m),
            None => return got,
        }
    }
    got.extend(c.notifications(QUIET).await);
    got
}

async fn store_of(moto: &Moto) -> Arc<DynamoPromptStore> {
    Arc::new(DynamoPromptStore::new(
        moto.clients().await,
        &moto.settings(),
        Arc::new(SystemClock),
    ))
}

#[tokio::test]
async fn a_subscriber_that_was_away_gets_exactly_what_it_missed_in_order() {
    let (moto, gw) = start(&[]).await;
    let store = store_of(&moto).await;
    let (mut editor, _) = WsClient::initialized(&gw.ws_url, events_opt_in()).await;
    let (mut sub, first) = WsClient::initialized(&gw.ws_url, events_opt_in()).await;
    assert_eq!(first["resumed"], false);
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();
    let sub_reply = sub
        .request(
            "resources/subscribe",
            json!({"uri": "prompt://code-review"}),
        )
        .await;
    assert_eq!(sub_reply["result"], json!({}), "{sub_reply}");
    editor.edit("code-review", 0).await;
    let last_seen = store.head_position().await.unwrap();
    let seen = until_position(&mut sub, last_seen).await;
    assert_eq!(event_positions(&seen), vec![last_seen], "{seen:?}");
    sub.close().await;

    // 50 changes while away, 10 of them (the last one too) to the subscribed
    // prompt; wait until
    // the fan-out has delivered the last one, so none is also live later.
    for n in 1..=50 {
        let id = if n % 5 == 0 {
            "code-review"
        } else {
            "bug-report"
        };
        editor.edit(id, n).await;
    }
    let newest = last_seen + 50;
    assert_eq!(store.head_position().await.unwrap(), newest);
    let heard = event_positions(&until_position(&mut editor, newest).await);
    assert!(heard.contains(&newest), "editor heard {heard:?}");

    let (mut back, result) = WsClient::initialized(
        &gw.ws_url,
        json!({"mcpSessionId": session_id, "lastPosition": last_seen}),
    )
    .await;
    assert_eq!(result["resumed"], true);
    assert_eq!(result["mcpSessionId"], session_id.as_str());
    assert_eq!(result["replay"], "complete");
    let got = until_position(&mut back, newest).await;
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
    assert!(
        got[3..]
            .iter()
            .all(|m| m["method"] == "notifications/catalog/changed"),
        "{names:?}"
    );
    let expected: Vec<u64> = (last_seen + 1..=newest).collect();
    assert_eq!(
        event_positions(&got),
        expected,
        "every missed change once, in order, no gaps"
    );

    // Live notifications continue after the replay, without repeats.
    editor.edit("code-review", 51).await;
    let live = until_position(&mut back, newest + 1).await;
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

#[tokio::test]
async fn a_second_connection_for_the_same_session_closes_the_first_with_1000() {
    let (_moto, gw) = start(&[]).await;
    let (mut old, first) = WsClient::initialized(&gw.ws_url, events_opt_in()).await;
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();
    old.request(
        "resources/subscribe",
        json!({"uri": "prompt://sql-query-writer"}),
    )
    .await;
    let (mut new, result) =
        WsClient::initialized(&gw.ws_url, json!({"mcpSessionId": session_id})).await;
    assert_eq!(result["resumed"], true);
    assert_eq!(result["mcpSessionId"], session_id.as_str());
    // API Gateway's DeleteConnection carries no reason: it comes first as a
    // log notification, then the close (1000).
    let notice = old.next_raw(WAIT).await.expect("a notice before the close");
    assert_eq!(
        notice,
        json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {
            "level": "warning", "logger": "session",
            "data": "MCP session reconnected on another connection"}})
    );
    let close = old.closed(WAIT).await.expect("old connection closed");
    assert_eq!(u16::from(close.code), 1000);

    // The subscription moved with the session.
    let (mut editor, _) = WsClient::initialized(&gw.ws_url, json!({})).await;
    editor.edit("sql-query-writer", 1).await;
    let updated = new
        .wait_for("notifications/resources/updated", WAIT)
        .await
        .expect("resources/updated on the new connection");
    assert_eq!(updated["params"]["uri"], "prompt://sql-query-writer");
}

#[tokio::test]
async fn unknown_and_expired_session_ids_get_fresh_sessions() {
    let (_moto, gw) = start(&["--session-grace-secs", "1"]).await;
    let (mut c, result) =
        WsClient::initialized(&gw.ws_url, json!({"mcpSessionId": "no-such-session"})).await;
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
    let (_, again) = WsClient::initialized(&gw.ws_url, json!({"mcpSessionId": expiring})).await;
    assert_eq!(again["resumed"], false, "the grace period ended: {again}");
    assert_ne!(again["mcpSessionId"], expiring.as_str());
}

#[tokio::test]
async fn a_position_older_than_the_history_is_reported_as_truncated() {
    let (moto, gw) = start(&["--history-max-changes", "5", "--history-prune-secs", "1"]).await;
    let store = store_of(&moto).await;
    let (mut editor, _) = WsClient::initialized(&gw.ws_url, json!({})).await;
    let (sub, first) = WsClient::initialized(&gw.ws_url, events_opt_in()).await;
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();
    sub.close().await;
    for n in 0..20 {
        editor.edit("email-reply", n).await;
    }
    let head = store.head_position().await.unwrap();
    let deadline = Instant::now() + WAIT;
    while store.oldest_position().await.unwrap() != head - 4 {
        assert!(Instant::now() < deadline, "the history was not pruned to 5");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        store.changes_since(0, 100).await.unwrap().len(),
        5,
        "the kept history"
    );

    let (mut back, result) = WsClient::initialized(
        &gw.ws_url,
        json!({"mcpSessionId": session_id, "lastPosition": 1}),
    )
    .await;
    assert_eq!(result["resumed"], true);
    assert_eq!(result["replay"], "truncated");
    let got = until_position(&mut back, head).await;
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

    // Just inside the history: complete.
    let (_, inside) = WsClient::initialized(
        &gw.ws_url,
        json!({"mcpSessionId": session_id, "lastPosition": head - 5}),
    )
    .await;
    assert_eq!(inside["resumed"], true);
    assert_eq!(inside["replay"], "complete");
}

/// The highest position up to which every position from `first` was seen.
fn contiguous_upto(seen: &[u64], first: u64) -> u64 {
    let mut upto = first - 1;
    while seen.contains(&(upto + 1)) {
        upto += 1;
    }
    upto
}

#[tokio::test]
async fn the_maximum_duration_cut_in_the_middle_of_a_burst_loses_nothing() {
    let (moto, gw) = start(&["--max-connection-secs", "3"]).await;
    let store = store_of(&moto).await;
    let start_head = store.head_position().await.unwrap();
    let opened = Instant::now();
    let (mut sub, first) = WsClient::initialized(&gw.ws_url, events_opt_in()).await;
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();

    // Another writer (as another Lambda would) makes a burst spanning the cut.
    const BURST: u64 = 100;
    let catalog = Catalog::new(store.clone(), Arc::new(SystemClock));
    let writer = tokio::spawn(async move {
        for n in 0..BURST {
            let id = PromptId::parse(if n % 2 == 0 {
                "bug-report"
            } else {
                "code-review"
            })
            .unwrap();
            let patch =
                serde_json::from_value(json!({"description": format!("burst {n}")})).unwrap();
            catalog.update(&id, patch, None, "burst").await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let first_burst = start_head + 1;
    let last_burst = start_head + BURST;

    let mut connections: Vec<Vec<u64>> = Vec::new();
    let mut resumed_from: Vec<u64> = Vec::new();
    let mut seen: Vec<u64> = Vec::new();
    let mut closes = Vec::new();
    loop {
        let got = until_position(&mut sub, last_burst).await;
        let positions = event_positions(&got);
        seen.extend(&positions);
        connections.push(positions);
        if (first_burst..=last_burst).all(|p| seen.contains(&p)) {
            break;
        }
        let close = sub.closed(WAIT).await.expect("cut by the gateway");
        closes.push((u16::from(close.code), opened.elapsed()));
        assert!(connections.len() <= 10, "too many cuts: {connections:?}");
        let resume_from = contiguous_upto(&seen, first_burst);
        let (next, result) = WsClient::initialized(
            &gw.ws_url,
            json!({"mcpSessionId": session_id, "lastPosition": resume_from}),
        )
        .await;
        assert_eq!(result["resumed"], true, "{result}");
        assert_eq!(result["replay"], "complete");
        resumed_from.push(resume_from);
        sub = next;
    }
    writer.await.unwrap();

    assert!(!closes.is_empty(), "the burst outlived no cut");
    assert!(
        closes.iter().all(|(code, _)| *code == 1001),
        "API Gateway's cut is 1001: {closes:?}"
    );
    assert!(
        closes[0].1 >= Duration::from_secs(3),
        "not before the maximum duration: {closes:?}"
    );
    let before_cut = &connections[0];
    assert!(
        !before_cut.is_empty() && !before_cut.contains(&last_burst),
        "the cut came in the middle of the burst: {connections:?}"
    );
    let mut all = seen.clone();
    all.sort_unstable();
    all.dedup();
    let expected: Vec<u64> = (first_burst..=last_burst).collect();
    assert_eq!(all, expected, "every change of the burst arrived");
    // Delivery is at least once: a change committed while a resume records its
    // interest may come by replay and live. But nothing the client had already
    // acknowledged (`lastPosition`) is sent again.
    for (positions, from) in connections[1..].iter().zip(&resumed_from) {
        assert!(
            positions.iter().all(|p| p > from),
            "a resumed connection repeated what was seen before {from}: {connections:?}"
        );
    }
}

/// The official Python SDK 1.x, unmodified, resumes with extra `initialize` params.
#[test]
fn python_sdk_client_resumes_and_gets_exactly_what_it_missed() {
    let python = common::tool_path("MCP_PROMPTS_PYTHON", ".tools/venv/bin/python");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/py_ws_resume.py");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_moto, gw) = runtime.block_on(start(&[]));
    let mut cmd = std::process::Command::new(python);
    cmd.arg(script)
        .arg(&gw.ws_url)
        .arg("2")
        .env("PYTHONUNBUFFERED", "1");
    let out = common::run_client(cmd, common::CLIENT_TIMEOUT);
    assert!(
        out.status.success(),
        "py_ws_resume.py failed\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- gateway ---\n{}",
        out.stdout,
        out.stderr,
        gw.output()
    );
}
