//! Budgets on what one caller may ask of the hub, each crossed against a real
//! `serve` process: the render limits as flags (`--max-output-bytes`), requests
//! per second per connection, requests pending per session, WebSocket
//! connections and HTTP sessions per principal.

mod common;

use std::time::Duration;

use common::TestServer;
use common::http::{ACCEPT_BOTH, call_tool, open_session, post_mcp, request};
use common::ws::WsClient;
use serde_json::json;

#[tokio::test]
async fn a_render_over_the_output_flag_is_refused_naming_the_limit() {
    let server = TestServer::start_with(None, &["--no-seed", "--max-output-bytes", "200"]);
    let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let created = c
        .call_tool(
            "create_prompt",
            json!({"id": "echo", "name": "Echo", "content": "Say: {{text}}", "variables": ["text"]}),
        )
        .await;
    assert_eq!(created["isError"], false, "{created}");
    let small = c
        .request(
            "prompts/get",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        )
        .await;
    assert_eq!(
        small["result"]["messages"][0]["content"]["text"], "Say: hi",
        "{small}"
    );
    let big = c
        .request(
            "prompts/get",
            json!({"name": "echo", "arguments": {"text": "x".repeat(500)}}),
        )
        .await;
    assert_eq!(big["error"]["code"], -32603, "{big}");
    let message = big["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("rendered output exceeds the output limit of 200 bytes"),
        "{big}"
    );
    // A template over the same budget at save time is refused too.
    let fanout = c
        .call_tool(
            "create_prompt",
            json!({"id": "wide", "name": "Wide", "content": "{{text}}{{text}}{{text}}{{text}}", "variables": ["text"]}),
        )
        .await;
    assert_eq!(fanout["isError"], true, "{fanout}");
    assert!(
        fanout.to_string().contains("output limit of 200 bytes"),
        "{fanout}"
    );
}

fn create_key(data: &std::path::Path, name: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-prompts"))
        .args([
            "keys", "create", "--name", name, "--role", "editor", "--data",
        ])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout.lines().last().unwrap().to_string()
}

async fn connect_as(url: &str, key: &str) -> Result<WsClient, (u16, String)> {
    WsClient::try_connect(url, Some(&format!("mcp, mcp.auth.{key}"))).await
}

async fn initialized_as(url: &str, key: &str) -> WsClient {
    let mut c = connect_as(url, key).await.expect("connects");
    let reply = c
        .request("initialize", common::ws::init_params(json!({})))
        .await;
    assert!(reply["result"].is_object(), "{reply}");
    c
}

#[tokio::test]
async fn websockets_beyond_a_principals_limit_get_429_and_others_still_connect() {
    let data = tempfile::tempdir().unwrap();
    let a = create_key(data.path(), "a");
    let b = create_key(data.path(), "b");
    let server = TestServer::start_with(
        Some(data.path()),
        &["--auth", "required", "--max-connections-per-principal", "2"],
    );
    let first = initialized_as(&server.ws_url, &a).await;
    let _second = initialized_as(&server.ws_url, &a).await;
    let refused = connect_as(&server.ws_url, &a)
        .await
        .err()
        .expect("a's third connection is refused");
    assert_eq!(refused.0, 429, "{refused:?}");
    assert!(refused.1.contains("limit 2 per principal"), "{refused:?}");
    let mut other = initialized_as(&server.ws_url, &b).await;
    assert_eq!(other.request("ping", json!({})).await["result"], json!({}));
    // Closing one of a's connections gives its place back.
    first.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match connect_as(&server.ws_url, &a).await {
            Ok(mut c) => {
                assert_eq!(c.request("ping", json!({})).await["result"], json!({}));
                break;
            }
            Err(e) if tokio::time::Instant::now() < deadline => {
                assert_eq!(e.0, 429, "{e:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("a's place did not come back: {e:?}"),
        }
    }
}

#[tokio::test]
async fn anonymous_websockets_count_per_client_address() {
    let server = TestServer::start_with(None, &["--max-connections-per-principal", "1"]);
    let (_c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let refused = WsClient::try_connect(&server.ws_url, Some("mcp"))
        .await
        .err()
        .expect("a second anonymous connection from 127.0.0.1 is refused");
    assert_eq!(refused.0, 429, "{refused:?}");
    assert!(refused.1.contains("limit 1 per principal"), "{refused:?}");
}

fn initialize_http(base: &str, key: &str) -> common::http::HttpResponse {
    let bearer = format!("Bearer {key}");
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": common::ws::init_params(json!({}))});
    request(
        base,
        "POST",
        "/mcp",
        &[
            ("Content-Type", "application/json"),
            ACCEPT_BOTH,
            ("Authorization", &bearer),
        ],
        Some(&body.to_string()),
    )
}

#[tokio::test]
async fn http_sessions_beyond_a_principals_limit_get_429_and_others_still_open_one() {
    let data = tempfile::tempdir().unwrap();
    let a = create_key(data.path(), "a");
    let b = create_key(data.path(), "b");
    let server = TestServer::start_with(
        Some(data.path()),
        &[
            "--auth",
            "required",
            "--max-http-sessions-per-principal",
            "2",
        ],
    );
    let base = server.http_url.clone();
    let first = initialize_http(&base, &a);
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(initialize_http(&base, &a).status, 200);
    let refused = initialize_http(&base, &a);
    assert_eq!(refused.status, 429, "{refused:?}");
    assert!(refused.header("retry-after").is_some(), "{refused:?}");
    let error = &refused.json()["error"];
    assert_eq!(error["code"], -32031, "{refused:?}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("principal 'a'") && message.contains("limit 2 per principal"),
        "{message}"
    );
    assert_eq!(initialize_http(&base, &b).status, 200, "b still gets one");
    // Ending one of a's sessions gives its place back.
    let id = first.header("mcp-session-id").unwrap().to_string();
    let bearer = format!("Bearer {a}");
    let deleted = request(
        &base,
        "DELETE",
        "/mcp",
        &[("Mcp-Session-Id", &id), ("Authorization", &bearer)],
        None,
    );
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(initialize_http(&base, &a).status, 200);
}

#[test]
fn concurrent_posts_beyond_max_pending_on_one_session_get_429() {
    let server = TestServer::start_with(
        None,
        &["--no-seed", "--max-pending", "1", "--rate-per-sec", "0"],
    );
    let base = server.http_url.clone();
    let session = open_session(&base);
    let created = call_tool(
        &base,
        &session,
        1,
        "create_prompt",
        json!({"id": "list", "name": "List", "content": "{{#each items}}{{this}},{{/each}}", "variables": ["items"]}),
    );
    assert_eq!(created["result"]["isError"], false, "{created}");
    // Renders that take a while, so requests overlap on the session.
    let items: Vec<String> = (0..15_000).map(|i| format!("item{i}")).collect();
    let get = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "apply_template", "arguments": {"id": "list", "variables": {"items": items}}}});
    let mut refused = None;
    for _round in 0..10 {
        let answers: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..12)
                .map(|_| s.spawn(|| post_mcp(&base, Some(&session), &get)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for answer in answers {
            match answer.status {
                200 => assert_eq!(answer.json()["result"]["isError"], false, "{answer:?}"),
                429 => refused = Some(answer),
                _ => panic!("{answer:?}"),
            }
        }
        if refused.is_some() {
            break;
        }
    }
    let refused = refused.expect("a request over --max-pending 1 is refused");
    assert_eq!(refused.header("retry-after"), Some("1"), "{refused:?}");
    let error = &refused.json()["error"];
    assert_eq!(error["code"], -32030, "{refused:?}");
    assert!(
        error["message"].as_str().unwrap().contains("(limit 1)"),
        "{refused:?}"
    );
    // The session still works, one request at a time.
    let ping = post_mcp(
        &base,
        Some(&session),
        &json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}),
    );
    assert_eq!(ping.status, 200, "{ping:?}");
}

fn ping(id: u64) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "ping"}).to_string()
}

#[tokio::test]
async fn websocket_requests_over_the_rate_get_32029_and_the_connection_stays() {
    let server = TestServer::start_with(None, &["--rate-per-sec", "1", "--rate-burst", "5"]);
    // initialize and notifications/initialized take 2 of the 5 tokens.
    let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    for id in 100..110 {
        c.send_text(&ping(id)).await;
    }
    let mut answered = 0;
    let mut limited = Vec::new();
    for id in 100..110u64 {
        let reply = c.next_raw(Duration::from_secs(10)).await.expect("a reply");
        assert_eq!(reply["id"], id, "one reply per request, in order: {reply}");
        if reply["result"] == json!({}) {
            answered += 1;
        } else {
            limited.push(reply);
        }
    }
    assert!(answered >= 3, "the burst is served: {answered}");
    assert!(!limited.is_empty(), "requests over the budget are refused");
    for reply in &limited {
        let error = &reply["error"];
        assert_eq!(error["code"], -32029, "{reply}");
        assert_eq!(error["message"], "rate limit exceeded", "{reply}");
        let wait = error["data"]["retryAfterMs"]
            .as_u64()
            .expect("retryAfterMs");
        assert!((1..=1000).contains(&wait), "{reply}");
    }
    // Other clients are not affected.
    let (mut other, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    assert_eq!(other.request("ping", json!({})).await["result"], json!({}));
    // Counted in one log line, not one per refusal.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !server.output().contains("over the rate limit") && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let output = server.output();
    let lines = output.matches("over the rate limit").count();
    assert!(limited.len() >= 2, "{limited:?}");
    assert!(
        lines >= 1 && lines < limited.len(),
        "one line per second, not per refusal: {output}"
    );
    // The connection stays open: once the bucket refilled, it is served again.
    let wait = limited.last().unwrap()["error"]["data"]["retryAfterMs"]
        .as_u64()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    assert_eq!(c.request("ping", json!({})).await["result"], json!({}));
}

#[test]
fn http_requests_over_a_sessions_rate_get_429_and_other_sessions_do_not() {
    let server = TestServer::start_with(None, &["--rate-per-sec", "1", "--rate-burst", "4"]);
    let base = server.http_url.clone();
    // initialize and notifications/initialized take 2 of the 4 tokens.
    let session = open_session(&base);
    let answers: Vec<_> = (10..16)
        .map(|id| {
            let msg = json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
            (id, post_mcp(&base, Some(&session), &msg))
        })
        .collect();
    assert_eq!(answers[0].1.status, 200, "{:?}", answers[0]);
    let (id, refused) = answers
        .iter()
        .find(|(_, r)| r.status == 429)
        .expect("a request over the budget gets 429");
    assert_eq!(refused.header("retry-after"), Some("1"), "{refused:?}");
    let body = refused.json();
    assert_eq!(body["id"], *id, "{body}");
    assert_eq!(body["error"]["code"], -32029, "{body}");
    assert_eq!(body["error"]["message"], "rate limit exceeded", "{body}");
    assert!(
        body["error"]["data"]["retryAfterMs"].as_u64().unwrap() >= 1,
        "{body}"
    );
    // Another session has its own budget.
    let other = open_session(&base);
    let ping = post_mcp(
        &base,
        Some(&other),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    );
    assert_eq!(ping.status, 200, "{ping:?}");
}

#[tokio::test]
async fn websocket_requests_pipelined_past_max_pending_are_all_answered_in_order() {
    // A WebSocket reads its next message only after answering the last: a
    // client that pipelines is held back by the socket, not refused.
    let server = TestServer::start_with(None, &["--max-pending", "2", "--rate-per-sec", "0"]);
    let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    for id in 1000..1300 {
        c.send_text(&ping(id)).await;
    }
    for id in 1000..1300u64 {
        let reply = c.next_raw(Duration::from_secs(10)).await.expect("a reply");
        assert_eq!(reply["id"], id, "{reply}");
        assert_eq!(reply["result"], json!({}), "{reply}");
    }
}

#[test]
fn stdio_is_not_rate_limited() {
    let data = tempfile::tempdir().unwrap();
    let mut p = common::stdio::StdioProc::embedded(data.path(), &[]);
    p.initialize();
    // Past the default burst of serve (100), all at once.
    for id in 1..=250u64 {
        p.send_text(&format!("{}\n", ping(id + 1000)));
    }
    for id in 1..=250u64 {
        let reply = p.next(Duration::from_secs(10)).expect("a reply");
        assert_eq!(reply["id"], id + 1000, "{reply}");
        assert_eq!(reply["result"], json!({}), "{reply}");
    }
}

#[test]
fn http_sessions_beyond_the_table_get_503() {
    let server = TestServer::start_with(
        None,
        &[
            "--max-http-sessions",
            "2",
            "--max-http-sessions-per-principal",
            "5",
        ],
    );
    let base = server.http_url.clone();
    open_session(&base);
    open_session(&base);
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": common::ws::init_params(json!({}))});
    let refused = post_mcp(&base, None, &init);
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(refused.header("retry-after").is_some(), "{refused:?}");
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many open sessions (2)"),
        "{refused:?}"
    );
}

#[test]
fn an_idle_http_session_ends_after_http_idle_secs() {
    let server = TestServer::start_with(None, &["--http-idle-secs", "1"]);
    let base = server.http_url.clone();
    let session = open_session(&base);
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    assert_eq!(post_mcp(&base, Some(&session), &ping).status, 200);
    std::thread::sleep(Duration::from_millis(3500));
    let gone = post_mcp(&base, Some(&session), &ping);
    assert_eq!(gone.status, 404, "{gone:?}");
}

#[tokio::test]
async fn websocket_notifications_over_the_rate_are_dropped_and_counted_in_the_log() {
    let server = TestServer::start_with(None, &["--rate-per-sec", "1", "--rate-burst", "3"]);
    // initialize and notifications/initialized leave 1 of the 3 tokens.
    let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    for _ in 0..4 {
        c.notify("notifications/roots/list_changed", json!({}))
            .await;
    }
    let reply = c.request("ping", json!({})).await;
    assert_eq!(
        reply["error"]["code"], -32029,
        "the bucket is empty: {reply}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !server.output().contains("over the rate limit") && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let output = server.output();
    let line = output
        .lines()
        .find(|l| l.contains("over the rate limit"))
        .unwrap_or_else(|| panic!("no log line: {output}"));
    // The first notification over the budget is reported at once; the rest of
    // that second's wait for the next report.
    assert!(
        line.contains("dropped=1") && line.contains("refused=0"),
        "{line}"
    );
}

#[test]
fn a_stored_session_resumed_past_the_callers_budget_gets_429_not_404() {
    let mut server = TestServer::start_with(None, &["--max-http-sessions-per-principal", "1"]);
    let old = open_session(&server.http_url);
    server.restart();
    let base = server.http_url.clone();
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    // A new session takes the caller's only place...
    let new = open_session(&base);
    // ...so the stored one cannot be attached again, and the client is told why.
    let refused = post_mcp(&base, Some(&old), &ping);
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(refused.json()["error"]["code"], -32031, "{refused:?}");
    let deleted = request(&base, "DELETE", "/mcp", &[("Mcp-Session-Id", &new)], None);
    assert_eq!(deleted.status, 200, "{deleted:?}");
    let resumed = post_mcp(&base, Some(&old), &ping);
    assert_eq!(
        resumed.status, 200,
        "the stored session resumes once there is room: {resumed:?}"
    );
}
