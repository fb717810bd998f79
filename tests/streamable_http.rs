//! Streamable HTTP at `/mcp`, spoken by hand over a raw socket: what the transport
//! spec says a server must answer, and notifications reaching the GET stream.

mod common;

use std::time::Duration;

use common::TestServer;
use common::http::{ACCEPT_BOTH, SseStream, call_tool, open_session, post_mcp, request};
use serde_json::json;

const EVENT_WAIT: Duration = Duration::from_secs(10);

fn ping(id: u64) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "ping"})
}

#[test]
fn a_session_starts_with_initialize_and_answers_json() {
    let server = TestServer::start();
    let base = &server.http_url;
    let session = open_session(base);
    assert_eq!(session.len(), 36, "a UUID: {session}");

    let list = post_mcp(
        base,
        Some(&session),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "prompts/list"}),
    );
    assert_eq!(list.status, 200);
    assert_eq!(list.header("content-type"), Some("application/json"));
    assert!(
        !list.json()["result"]["prompts"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A client that accepts only SSE gets the reply as an SSE stream.
    let sse = request(
        base,
        "POST",
        "/mcp",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "text/event-stream"),
            ("Mcp-Session-Id", &session),
        ],
        Some(&ping(2).to_string()),
    );
    assert_eq!(sse.status, 200);
    assert_eq!(sse.header("content-type"), Some("text/event-stream"));
    assert!(
        sse.body
            .contains(r#"data: {"jsonrpc":"2.0","id":2,"result":{}}"#),
        "{}",
        sse.body
    );

    // Notifications and responses get 202 with no body.
    let note = post_mcp(
        base,
        Some(&session),
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}}),
    );
    assert_eq!((note.status, note.body.as_str()), (202, ""));
}

#[test]
fn session_ids_and_protocol_versions_are_enforced() {
    let server = TestServer::start();
    let base = &server.http_url;

    let missing = post_mcp(base, None, &ping(1));
    assert_eq!(missing.status, 400, "{missing:?}");
    assert_eq!(missing.json()["error"]["code"], -32600);

    let unknown = post_mcp(base, Some("4f1c0d3e-0000-4000-8000-000000000000"), &ping(1));
    assert_eq!(unknown.status, 404, "{unknown:?}");

    let session = open_session(base);
    let bad_version = request(
        base,
        "POST",
        "/mcp",
        &[
            ("Content-Type", "application/json"),
            ACCEPT_BOTH,
            ("Mcp-Session-Id", &session),
            ("MCP-Protocol-Version", "1999-01-01"),
        ],
        Some(&ping(2).to_string()),
    );
    assert_eq!(bad_version.status, 400, "{bad_version:?}");
    let good_version = request(
        base,
        "POST",
        "/mcp",
        &[
            ("Content-Type", "application/json"),
            ACCEPT_BOTH,
            ("Mcp-Session-Id", &session),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        Some(&ping(3).to_string()),
    );
    assert_eq!(good_version.status, 200, "{good_version:?}");

    let get_without_session = request(
        base,
        "GET",
        "/mcp",
        &[("Accept", "text/event-stream")],
        None,
    );
    assert_eq!(get_without_session.status, 400);
    let wrong_type = request(
        base,
        "POST",
        "/mcp",
        &[
            ("Content-Type", "text/plain"),
            ACCEPT_BOTH,
            ("Mcp-Session-Id", &session),
        ],
        Some(&ping(4).to_string()),
    );
    assert_eq!(wrong_type.status, 415);
    let not_json = request(
        base,
        "POST",
        "/mcp",
        &[
            ("Content-Type", "application/json"),
            ACCEPT_BOTH,
            ("Mcp-Session-Id", &session),
        ],
        Some("{not json"),
    );
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.json()["error"]["code"], -32700);
}

#[test]
fn delete_ends_the_session() {
    let server = TestServer::start();
    let base = &server.http_url;
    let session = open_session(base);
    let delete = request(
        base,
        "DELETE",
        "/mcp",
        &[("Mcp-Session-Id", &session)],
        None,
    );
    assert_eq!(delete.status, 200, "{delete:?}");
    let reuse = post_mcp(base, Some(&session), &ping(1));
    assert_eq!(reuse.status, 404, "{reuse:?}");
    let again = request(
        base,
        "DELETE",
        "/mcp",
        &[("Mcp-Session-Id", &session)],
        None,
    );
    assert_eq!(again.status, 404);
}

#[test]
fn foreign_origins_and_hosts_are_refused() {
    let server = TestServer::start();
    let base = &server.http_url;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "origin-test", "version": "1"}}})
    .to_string();
    let with = |extra: (&str, &str)| {
        request(
            base,
            "POST",
            "/mcp",
            &[("Content-Type", "application/json"), ACCEPT_BOTH, extra],
            Some(&init),
        )
    };
    assert_eq!(with(("Origin", "http://evil.example.com")).status, 403);
    assert_eq!(with(("Origin", "null")).status, 403);
    assert_eq!(with(("Host", "evil.example.com")).status, 403);
    let local = with(("Origin", "http://localhost:6274"));
    assert_eq!(local.status, 200);
    assert_eq!(
        local.header("access-control-allow-origin"),
        Some("http://localhost:6274")
    );
    assert!(
        local
            .header("access-control-expose-headers")
            .is_some_and(|h| h.contains("Mcp-Session-Id"))
    );
    let preflight = request(
        base,
        "OPTIONS",
        "/mcp",
        &[
            ("Origin", "http://localhost:6274"),
            ("Access-Control-Request-Method", "POST"),
        ],
        None,
    );
    assert_eq!(preflight.status, 204);
    assert!(
        preflight
            .header("access-control-allow-headers")
            .is_some_and(|h| h.contains("Mcp-Session-Id"))
    );
    let foreign_preflight = request(
        base,
        "OPTIONS",
        "/mcp",
        &[
            ("Origin", "http://evil.example.com"),
            ("Access-Control-Request-Method", "POST"),
        ],
        None,
    );
    assert_eq!(foreign_preflight.status, 403);
    assert_eq!(
        foreign_preflight.header("access-control-allow-origin"),
        None
    );
    assert_eq!(with(("Host", "localhost")).status, 200);
}

/// A change made by another session reaches the GET stream as `list_changed`;
/// a client that reconnects with `Last-Event-ID` gets what came after it.
#[test]
fn the_get_stream_carries_notifications_and_resumes() {
    let server = TestServer::start();
    let base = &server.http_url;
    let listener = open_session(base);
    let editor = open_session(base);

    let mut stream = SseStream::open(base, &listener, &[]);
    assert_eq!(stream.status, 200);
    let priming = stream
        .next_event(EVENT_WAIT, true)
        .expect("a priming event");
    assert_eq!(priming.data, "");
    let start = priming.id.expect("the priming event has an id");

    let created = call_tool(
        base,
        &editor,
        1,
        "create_prompt",
        json!({
        "id": "http-first", "name": "HTTP first", "content": "one"}),
    );
    assert!(created.get("result").is_some(), "{created}");
    let first = stream
        .next_event(EVENT_WAIT, false)
        .expect("list_changed on the GET stream");
    assert_eq!(first.json()["method"], "notifications/prompts/list_changed");
    let first_id = first.id.clone().expect("events carry ids");
    drop(stream);

    // Changes made while no stream is open wait in the session's replay buffer.
    call_tool(
        base,
        &editor,
        2,
        "create_prompt",
        json!({
        "id": "http-second", "name": "HTTP second", "content": "two"}),
    );
    std::thread::sleep(Duration::from_millis(500));

    let mut resumed = SseStream::open(base, &listener, &[("Last-Event-ID", &first_id)]);
    assert_eq!(resumed.status, 200);
    let mut methods = Vec::new();
    while let Some(event) = resumed.next_event(Duration::from_secs(2), false) {
        methods.push((
            event.id.clone(),
            event.json()["method"].as_str().unwrap().to_string(),
        ));
        if methods.len() >= 3 {
            break;
        }
    }
    assert!(
        methods
            .iter()
            .any(|(_, m)| m == "notifications/resources/list_changed"),
        "replayed after {first_id} (start {start}): {methods:?}"
    );
    assert!(
        methods.iter().all(|(id, _)| id.as_deref().map(|i| i.parse::<u64>().unwrap())
            > first_id.parse().ok()),
        "only events after {first_id}: {methods:?}"
    );
    assert!(
        methods
            .iter()
            .any(|(_, m)| m == "notifications/prompts/list_changed"),
        "the change made while disconnected: {methods:?}"
    );
}

#[test]
fn a_new_get_stream_replaces_the_old_one() {
    let server = TestServer::start();
    let base = &server.http_url;
    let session = open_session(base);
    let mut old = SseStream::open(base, &session, &[]);
    old.next_event(EVENT_WAIT, true).expect("priming");
    let mut new = SseStream::open(base, &session, &[]);
    new.next_event(EVENT_WAIT, true).expect("priming");
    assert!(
        old.next_event(Duration::from_secs(3), true).is_none(),
        "the old stream ended"
    );
    let editor = open_session(base);
    call_tool(
        base,
        &editor,
        1,
        "create_prompt",
        json!({
        "id": "replaced", "name": "Replaced", "content": "x"}),
    );
    assert!(new.next_event(EVENT_WAIT, false).is_some());
}
