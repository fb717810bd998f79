//! Realtime over WebSocket, end to end: who hears about a change, coalescing of
//! bursts without losing the final state, per-prompt subscriptions, catalog events
//! in order, stalled clients dropped while others keep receiving, changes made by
//! another process, and a change committed just before a kill -9.

mod common;

use std::time::Duration;

use common::TestServer;
use common::ws::{WsClient, methods};
use serde_json::{Value, json};

const QUIET: Duration = Duration::from_millis(400);

async fn update(c: &mut WsClient, id: &str, description: &str) -> Value {
    let r = c
        .call_tool(
            "update_prompt",
            json!({"id": id, "description": description}),
        )
        .await;
    assert_eq!(r["isError"], false, "{r}");
    r["structuredContent"].clone()
}

#[tokio::test]
async fn one_edit_reaches_every_other_session_exactly_once() {
    let server = TestServer::start();
    let (mut editor, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let (mut plain, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let (mut subscriber, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let (mut opted_out, _) = WsClient::initialized(
        &server.ws_url,
        json!({"capabilities": {"experimental": {"mcp-prompts/listChanged": false}}}),
    )
    .await;
    let mut uninitialized = WsClient::connect(&server.ws_url).await;
    let sub = subscriber
        .request(
            "resources/subscribe",
            json!({"uri": "prompt://code-review"}),
        )
        .await;
    assert_eq!(sub["result"], json!({}));

    let v = update(&mut editor, "code-review", "edited").await["version"].clone();
    assert_eq!(v, 2);

    let got = methods(&plain.notifications(QUIET).await);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("notifications/prompts/list_changed@"));
    assert!(got[1].starts_with("notifications/resources/list_changed@"));
    let got = methods(&subscriber.notifications(QUIET).await);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[2].starts_with("notifications/resources/updated@"));
    assert!(opted_out.notifications(QUIET).await.is_empty());
    assert!(uninitialized.notifications(QUIET).await.is_empty());
    // The editor's own session hears about it too (its listing changed).
    assert_eq!(methods(&editor.notifications(QUIET).await).len(), 2);

    // After unsubscribing only the list notifications remain.
    subscriber
        .request(
            "resources/unsubscribe",
            json!({"uri": "prompt://code-review"}),
        )
        .await;
    update(&mut editor, "code-review", "again").await;
    assert_eq!(methods(&subscriber.notifications(QUIET).await).len(), 2);
}

#[tokio::test]
async fn a_burst_is_coalesced_yet_every_catalog_event_arrives_in_order() {
    let server = TestServer::start_with(None, &["--coalesce-ms", "1000"]);
    let (mut editor, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let (mut watcher, _) = WsClient::initialized(
        &server.ws_url,
        json!({"capabilities": {"experimental": {"mcp-prompts/catalogEvents": {"category": "development"}}}}),
    )
    .await;
    watcher
        .request(
            "resources/subscribe",
            json!({"uri": "prompt://code-review"}),
        )
        .await;
    let mut last_version = 0;
    for i in 0..40 {
        last_version = update(&mut editor, "code-review", &format!("burst {i}")).await["version"]
            .as_u64()
            .unwrap();
    }
    // An edit outside the filter's category: a list change, but no catalog event.
    update(&mut editor, "summarize-text", "other category").await;
    let got = watcher.notifications(Duration::from_millis(2500)).await;
    let lists = got
        .iter()
        .filter(|m| m["method"] == "notifications/prompts/list_changed")
        .count();
    assert!(
        (1..=10).contains(&lists),
        "coalesced: {lists} list_changed for 41 changes"
    );
    let events: Vec<u64> = got
        .iter()
        .filter(|m| m["method"] == "notifications/catalog/changed")
        .map(|m| m["params"]["version"].as_u64().unwrap())
        .collect();
    assert_eq!(
        events,
        (2..=last_version).collect::<Vec<_>>(),
        "every version, in order"
    );
    // The final state is announced: the last list_changed names the last position.
    let positions: Vec<u64> = got
        .iter()
        .filter_map(|m| m["params"]["_meta"]["position"].as_u64())
        .collect();
    let last_list = got
        .iter()
        .rev()
        .find(|m| m["method"] == "notifications/prompts/list_changed")
        .unwrap();
    assert_eq!(
        last_list["params"]["_meta"]["position"].as_u64(),
        positions.iter().max().copied()
    );
    let updated = got
        .iter()
        .rev()
        .find(|m| m["method"] == "notifications/resources/updated")
        .unwrap();
    assert_eq!(updated["params"]["uri"], "prompt://code-review");
    let event = got
        .iter()
        .find(|m| m["method"] == "notifications/catalog/changed")
        .unwrap();
    for field in ["id", "version", "kind", "actor", "timestamp", "position"] {
        assert!(
            !event["params"][field].is_null(),
            "event lacks {field}: {event}"
        );
    }
    assert_eq!(event["params"]["kind"], "updated");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_and_the_others_still_hear() {
    let server = TestServer::start_with(None, &["--send-queue", "8", "--coalesce-ms", "1"]);
    let (mut editor, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let (mut healthy, _) = WsClient::initialized(
        &server.ws_url,
        json!({"capabilities": {"experimental": {"mcp-prompts/catalogEvents": true}}}),
    )
    .await;
    // The stalled client asks for a lot and never reads: its replies (a quarter
    // of a megabyte each, just under the template size limit) fill the socket
    // buffers and then its queue.
    let huge = "lorem ipsum ".repeat(21_000);
    let r = editor
        .call_tool(
            "create_prompt",
            json!({"id": "huge", "name": "Huge", "content": huge}),
        )
        .await;
    assert_eq!(r["isError"], false, "{r}");
    healthy.notifications(QUIET).await;
    let (mut stalled, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    for i in 0..80 {
        let msg = json!({"jsonrpc": "2.0", "id": 1000 + i, "method": "resources/read",
            "params": {"uri": "prompt://huge"}});
        stalled.send_text(&msg.to_string()).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..20 {
        update(&mut editor, "code-review", &format!("change {i}")).await;
    }
    let got = healthy.notifications(QUIET).await;
    let events = got
        .iter()
        .filter(|m| m["method"] == "notifications/catalog/changed")
        .count();
    assert_eq!(events, 20, "the healthy client heard every change");
    // The stalled client is cut off: it reads what is already on its way, then
    // the 1008 close frame (not a reset that would discard the rest).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while stalled.next_raw(Duration::from_secs(5)).await.is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the stalled client was never cut off\n{}",
            server.output()
        );
    }
    let close = stalled
        .closed(Duration::from_secs(5))
        .await
        .expect("a close frame after the queued replies");
    assert_eq!(u16::from(close.code), 1008, "{close:?}");
    assert!(close.reason.contains("send queue full"), "{close:?}");
    assert!(
        server
            .output()
            .contains("dropping a client that stopped reading"),
        "the hub dropped it for not reading"
    );
    update(&mut editor, "code-review", "after the drop").await;
    let got = healthy.notifications(QUIET).await;
    assert!(
        got.iter()
            .any(|m| m["params"]["version"].as_u64().is_some())
    );
}

#[tokio::test]
async fn changes_made_by_another_process_are_announced() {
    let server = TestServer::start();
    let other = TestServer::start_with_data(server.data_dir());
    let (mut listener, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let (mut editor, _) = WsClient::initialized(&other.ws_url, json!({})).await;
    update(&mut editor, "commit-message", "edited elsewhere").await;
    let got = methods(&listener.notifications(Duration::from_secs(1)).await);
    assert!(
        got.iter()
            .any(|m| m.starts_with("notifications/prompts/list_changed")),
        "{got:?}"
    );
    // And the listener's server reads the new version, not a stale cache.
    let r = listener
        .call_tool("get_prompt", json!({"id": "commit-message"}))
        .await;
    assert_eq!(r["structuredContent"]["description"], "edited elsewhere");
}

#[tokio::test]
async fn a_change_committed_before_kill_9_is_announced_after_restart() {
    let mut server = TestServer::start();
    let (mut c, _) = WsClient::initialized(
        &server.ws_url,
        json!({"capabilities": {"experimental": {"mcp-prompts/catalogEvents": true}}}),
    )
    .await;
    update(&mut c, "bug-report", "seen").await;
    let seen = c.notifications(QUIET).await;
    let last_seen = seen
        .iter()
        .filter_map(|m| m["params"]["_meta"]["position"].as_u64())
        .max()
        .expect("a position");
    // Another process commits and dies at once, before anyone could publish.
    let mut writer = TestServer::start_with_data(server.data_dir());
    let (mut w, _) = WsClient::initialized(&writer.ws_url, json!({})).await;
    server.kill();
    let committed = update(&mut w, "bug-report", "committed before the crash").await;
    writer.kill();

    server.restart();
    let (mut back, result) = WsClient::initialized(
        &server.ws_url,
        json!({"lastPosition": last_seen,
               "capabilities": {"experimental": {"mcp-prompts/catalogEvents": true}}}),
    )
    .await;
    assert_eq!(result["replay"], "complete");
    let got = back.notifications(QUIET).await;
    let event = got
        .iter()
        .find(|m| m["method"] == "notifications/catalog/changed")
        .unwrap_or_else(|| panic!("no event after restart: {got:?}"));
    assert_eq!(event["params"]["version"], committed["version"]);
    assert_eq!(event["params"]["id"], "bug-report");
}
