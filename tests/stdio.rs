//! `mcp-prompts stdio`, driven through real pipes: newline-delimited JSON-RPC,
//! nothing but MCP on stdout, pipelined requests answered in order, and changes
//! made by a `serve` on the same data folder arriving as notifications.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::TestServer;
use common::http::{call_tool, open_session};
use common::stdio::StdioProc;
use serde_json::{Value, json};

#[test]
fn pipelined_requests_are_answered_in_order() {
    let data = tempfile::tempdir().unwrap();
    let mut stdio = StdioProc::embedded(data.path(), &["--poll-ms", "50"]);
    stdio.initialize();
    // Mostly pings (the transport's own cost), every fourth a render with its own
    // arguments, so a reply that overtook another would show.
    let n = 600;
    let renders = |id: u64| id.is_multiple_of(4);
    let mut batch = String::new();
    for id in 1..=n {
        let request = if renders(id) {
            json!({"jsonrpc": "2.0", "id": id, "method": "prompts/get", "params": {
                "name": "code-review", "arguments": {"language": "rust", "code": format!("fn f{id}() {{}}")}}})
        } else {
            json!({"jsonrpc": "2.0", "id": id, "method": "ping"})
        };
        batch.push_str(&request.to_string());
        batch.push('\n');
    }
    // Blank lines and garbage between messages: skipped, and answered with a parse error.
    batch.push_str("\n   \nnot json\n");
    stdio.send_text(&batch);
    for id in 1..=n {
        let reply = stdio.next(Duration::from_secs(30)).expect("a reply");
        assert_eq!(reply["id"], id, "{reply}");
        if renders(id) {
            let text = reply["result"]["messages"][0]["content"]["text"]
                .as_str()
                .unwrap();
            assert!(
                text.contains(&format!("fn f{id}()")),
                "rendered with its own arguments"
            );
        } else {
            assert_eq!(reply["result"], json!({}), "{reply}");
        }
    }
    let error = stdio.next(Duration::from_secs(10)).expect("a parse error");
    assert_eq!(error["error"]["code"], -32700, "{error}");

    // Closing stdin ends the server cleanly.
    drop(stdio.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = stdio.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "stdio did not exit after stdin closed"
        );
        thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

/// The stdio process and a `serve` share the data folder: an edit made through
/// the server reaches the stdio client as notifications (the publisher polls the
/// change log), and the stdio client sees the new prompt.
#[test]
fn changes_by_another_process_arrive_as_notifications() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with_data(data.path());
    let mut stdio = StdioProc::embedded(data.path(), &["--poll-ms", "50"]);
    stdio.initialize();
    stdio.send_text(&format!(
        "{}\n",
        json!({"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe",
               "params": {"uri": "prompt://code-review"}})
    ));
    assert_eq!(stdio.next(Duration::from_secs(10)).unwrap()["id"], 1);

    let session = open_session(&server.http_url);
    let created = call_tool(
        &server.http_url,
        &session,
        1,
        "create_prompt",
        json!({
        "id": "from-serve", "name": "From serve", "content": "made elsewhere"}),
    );
    assert!(created.get("result").is_some(), "{created}");
    let updated = call_tool(
        &server.http_url,
        &session,
        2,
        "update_prompt",
        json!({
        "id": "code-review", "description": "edited by another process"}),
    );
    assert!(updated.get("result").is_some(), "{updated}");

    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline
        && !(seen
            .iter()
            .any(|m| m == "notifications/prompts/list_changed")
            && seen.iter().any(|m| m == "notifications/resources/updated"))
    {
        if let Some(note) = stdio.next(Duration::from_millis(500)) {
            seen.push(note["method"].as_str().unwrap_or_default().to_string());
        }
    }
    assert!(
        seen.iter()
            .any(|m| m == "notifications/prompts/list_changed"),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|m| m == "notifications/resources/updated"),
        "{seen:?}"
    );

    stdio.send_text(&format!(
        "{}\n",
        json!({"jsonrpc": "2.0", "id": 2, "method": "prompts/get",
               "params": {"name": "from-serve"}})
    ));
    let got = loop {
        let reply = stdio
            .next(Duration::from_secs(10))
            .expect("prompts/get reply");
        if reply["id"] == 2 {
            break reply;
        }
    };
    assert!(
        got["result"]["messages"][0]["content"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("made elsewhere")),
        "{got}"
    );
}

/// Revision 2026-07-28 over stdio: no `initialize`; `subscriptions/listen` is
/// acknowledged first (naming exactly what it will deliver), stateless requests
/// are answered beside it, and a change made by another process on the same
/// data folder arrives tagged with the subscription id.
#[test]
fn subscriptions_listen_works_over_stdio() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_with_data(data.path());
    let mut stdio = StdioProc::embedded(data.path(), &["--poll-ms", "50"]);
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}});
    stdio.send_text(&format!(
        "{}\n",
        json!({"jsonrpc": "2.0", "id": "watch-1", "method": "subscriptions/listen", "params": {
            "_meta": meta,
            "notifications": {"promptsListChanged": true,
                              "resourceSubscriptions": ["prompt://code-review"]}}})
    ));
    let ack = stdio
        .next(Duration::from_secs(30))
        .expect("an acknowledgement");
    assert_eq!(
        ack,
        json!({"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
               "params": {"_meta": {"io.modelcontextprotocol/subscriptionId": "watch-1"},
                          "notifications": {"promptsListChanged": true,
                                            "resourceSubscriptions": ["prompt://code-review"]}}})
    );
    // A stateless request on the same stdin is answered while the stream stays open.
    stdio.send_text(&format!(
        "{}\n",
        json!({"jsonrpc": "2.0", "id": 2, "method": "prompts/get", "params": {
            "_meta": meta, "name": "code-review",
            "arguments": {"code": "fn f() {}", "language": "rust"}}})
    ));
    let got = stdio
        .next(Duration::from_secs(10))
        .expect("prompts/get reply");
    assert_eq!(got["id"], 2, "{got}");
    assert_eq!(got["result"]["resultType"], "complete", "{got}");

    let session = open_session(&server.http_url);
    let created = call_tool(
        &server.http_url,
        &session,
        1,
        "create_prompt",
        json!({"id": "listened", "name": "Listened", "content": "x"}),
    );
    assert!(created.get("result").is_some(), "{created}");
    let updated = call_tool(
        &server.http_url,
        &session,
        2,
        "update_prompt",
        json!({"id": "code-review", "description": "edited by another process"}),
    );
    assert!(updated.get("result").is_some(), "{updated}");

    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let heard_both = |seen: &[Value]| {
        [
            "notifications/prompts/list_changed",
            "notifications/resources/updated",
        ]
        .iter()
        .all(|m| seen.iter().any(|n| n["method"] == *m))
    };
    while Instant::now() < deadline && !heard_both(&seen) {
        if let Some(note) = stdio.next(Duration::from_millis(500)) {
            seen.push(note);
        }
    }
    assert!(heard_both(&seen), "{seen:?}");
    for note in &seen {
        // Only what the listener asked for, and every frame tagged with it.
        assert!(
            [
                "notifications/prompts/list_changed",
                "notifications/resources/updated"
            ]
            .contains(&note["method"].as_str().unwrap_or_default()),
            "{note}"
        );
        assert_eq!(
            note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "watch-1",
            "{note}"
        );
    }
    let updated = seen
        .iter()
        .find(|n| n["method"] == "notifications/resources/updated")
        .unwrap();
    assert_eq!(
        updated["params"]["uri"], "prompt://code-review",
        "{updated}"
    );
}

/// A render of the latest version is planned once (arguments, partials) and the
/// plan dropped on any change: editing an included prompt changes the includer's
/// render and its required arguments at once.
#[test]
fn editing_a_partial_changes_the_includers_render_at_once() {
    let data = tempfile::tempdir().unwrap();
    let mut stdio = StdioProc::embedded(data.path(), &["--poll-ms", "50"]);
    stdio.initialize();
    let mut id = 0;
    let mut call = |stdio: &mut StdioProc, method: &str, params: Value| {
        id += 1;
        stdio.send_text(&format!(
            "{}\n",
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
        ));
        loop {
            let reply = stdio.next(Duration::from_secs(10)).expect("a reply");
            if reply["id"] == id {
                break reply;
            }
        }
    };
    let tool = |name: &str, arguments: Value| json!({"name": name, "arguments": arguments});
    for (pid, content) in [
        ("footer", "-- {{who}}"),
        ("letter", "Hi {{who}} {{> footer}}"),
    ] {
        let r = call(
            &mut stdio,
            "tools/call",
            tool(
                "create_prompt",
                json!({"id": pid, "name": pid, "content": content, "variables": ["who"]}),
            ),
        );
        assert_eq!(r["result"]["isError"], false, "{r}");
    }
    let get = json!({"name": "letter", "arguments": {"who": "Ann"}});
    let r = call(&mut stdio, "prompts/get", get.clone());
    assert_eq!(
        r["result"]["messages"][0]["content"]["text"], "Hi Ann -- Ann",
        "{r}"
    );

    let r = call(
        &mut stdio,
        "tools/call",
        tool(
            "update_prompt",
            json!({"id": "footer", "content": "== {{who}} {{title}}",
               "variables": ["who", {"name": "title", "required": true}]}),
        ),
    );
    assert_eq!(r["result"]["isError"], false, "{r}");
    let r = call(&mut stdio, "prompts/get", get);
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("'title'"),
        "{r}"
    );
    let r = call(
        &mut stdio,
        "prompts/get",
        json!({"name": "letter", "arguments": {"who": "Ann", "title": "Dr"}}),
    );
    assert_eq!(
        r["result"]["messages"][0]["content"]["text"], "Hi Ann == Ann Dr",
        "{r}"
    );
}
