//! MCP over WebSocket with raw frames: the lifecycle, every error path a client can
//! provoke, and that bad input changes nothing and leaves the connection usable.

mod common;

use std::time::Duration;

use common::TestServer;
use common::ws::{WsClient, init_params};
use serde_json::{Value, json};

fn error_code(reply: &Value) -> i64 {
    reply["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an error, got {reply}"))
}

fn error_message(reply: &Value) -> String {
    reply["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_request_before_initialize_is_an_error_not_silence() {
    let server = TestServer::start();
    let mut c = WsClient::connect(&server.ws_url).await;
    let reply = c.request("prompts/list", json!({})).await;
    assert_eq!(error_code(&reply), -32600);
    assert!(error_message(&reply).contains("initialize"), "{reply}");
    // ping is allowed before initialize.
    assert_eq!(c.request("ping", json!({})).await["result"], json!({}));
}

#[tokio::test]
async fn initialize_negotiates_the_revision() {
    let server = TestServer::start();
    for (asked, answered) in [
        ("2025-11-25", "2025-11-25"),
        ("2025-06-18", "2025-06-18"),
        ("2025-03-26", "2025-03-26"),
        ("2024-11-05", "2024-11-05"),
        ("2030-01-01", "2025-11-25"),
    ] {
        let mut c = WsClient::connect(&server.ws_url).await;
        let reply = c
            .request("initialize", init_params(json!({"protocolVersion": asked})))
            .await;
        let result = &reply["result"];
        assert_eq!(result["protocolVersion"], answered, "asked {asked}");
        assert_eq!(result["serverInfo"]["name"], "mcp-prompts");
        assert_eq!(result["capabilities"]["prompts"]["listChanged"], true);
        assert_eq!(result["capabilities"]["resources"]["subscribe"], true);
        assert!(
            result["mcpSessionId"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
    }
}

#[tokio::test]
async fn malformed_messages_get_precise_errors_and_the_connection_lives_on() {
    let server = TestServer::start();
    let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;

    let reply = c.send_and_receive("{not json").await;
    assert_eq!(error_code(&reply), -32700);
    assert_eq!(reply["id"], Value::Null);

    // U+000B is Unicode whitespace but not JSON whitespace: "\u{b}0" is no JSON text.
    let reply = c.send_and_receive("\u{b}0").await;
    assert_eq!(error_code(&reply), -32700, "{reply}");

    let reply = c
        .send_and_receive(r#"{"jsonrpc":"1.0","id":5,"method":"ping"}"#)
        .await;
    assert_eq!(error_code(&reply), -32600);
    assert_eq!(reply["id"], 5);

    let reply = c
        .send_and_receive(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#)
        .await;
    assert_eq!(error_code(&reply), -32600);

    let reply = c.request("no/such/method", json!({})).await;
    assert_eq!(error_code(&reply), -32601);
    assert!(error_message(&reply).contains("no/such/method"));

    let reply = c.request("prompts/get", json!({"name": 42})).await;
    assert_eq!(error_code(&reply), -32602);
    assert!(error_message(&reply).contains("prompts/get"), "{reply}");

    let reply = c.request("prompts/list", json!({"cursor": "forged"})).await;
    assert_eq!(error_code(&reply), -32602);
    assert!(error_message(&reply).contains("cursor"));

    c.send_binary(b"\x00\x01").await;
    let reply = c
        .next_raw(Duration::from_secs(5))
        .await
        .expect("reply to binary");
    assert_eq!(error_code(&reply), -32600);
    assert!(error_message(&reply).contains("binary"));

    // Still fully usable.
    let list = c.request("prompts/list", json!({})).await;
    assert!(list["result"]["prompts"].as_array().unwrap().len() >= 20);
}

#[tokio::test]
async fn an_oversize_message_is_refused_with_an_error_naming_the_limit() {
    let server = TestServer::start_with(None, &["--max-message-bytes", "4096"]);
    let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let big = "x".repeat(10_000);
    let msg = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "create_prompt", "arguments": {"name": "Big", "content": big}}});
    let reply = c.send_and_receive(&msg.to_string()).await;
    assert_eq!(error_code(&reply), -32600);
    assert!(error_message(&reply).contains("4096"), "{reply}");
    let missing = c.request("prompts/get", json!({"name": "big"})).await;
    assert_eq!(error_code(&missing), -32602, "nothing was written");
}

#[tokio::test]
async fn batches_are_answered_only_in_the_2025_03_26_revision() {
    let server = TestServer::start();
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":2,"method":"nope"}]"#;
    let (mut old, _) =
        WsClient::initialized(&server.ws_url, json!({"protocolVersion": "2025-03-26"})).await;
    let reply = old.send_and_receive(batch).await;
    let replies = reply.as_array().expect("a batch reply");
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0]["result"], json!({}));
    assert_eq!(replies[1]["error"]["code"], -32601);

    let (mut new, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let reply = new.send_and_receive(batch).await;
    assert_eq!(error_code(&reply), -32600);
    assert!(error_message(&reply).contains("batches"), "{reply}");
}

#[tokio::test]
async fn null_ids_array_params_and_a_second_initialize_are_refused() {
    let server = TestServer::start();
    let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let reply = c
        .send_and_receive(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#)
        .await;
    assert_eq!(error_code(&reply), -32600);
    let reply = c
        .send_and_receive(r#"{"jsonrpc":"2.0","id":3,"method":"prompts/list","params":[]}"#)
        .await;
    assert_eq!(error_code(&reply), -32602);
    assert!(error_message(&reply).contains("object"), "{reply}");
    let reply = c.request("initialize", init_params(json!({}))).await;
    assert_eq!(error_code(&reply), -32600);
    assert!(error_message(&reply).contains("already initialized"));
}

#[tokio::test]
async fn unsupported_subprotocols_get_http_400_naming_the_accepted_ones() {
    let server = TestServer::start();
    let (status, body) = WsClient::try_connect(&server.ws_url, Some("graphql-ws"))
        .await
        .err()
        .expect("refused");
    assert_eq!(status, 400);
    assert!(
        body.contains("mcp") && body.contains("mcp.version."),
        "{body}"
    );
    let (status, _) = WsClient::try_connect(&server.ws_url, None)
        .await
        .err()
        .expect("refused");
    assert_eq!(status, 400);
    // tower-mcp's binding: the version entry is echoed, the token never.
    let c = WsClient::try_connect(
        &server.ws_url,
        Some("mcp.version.2025-06-18, mcp.auth.secret"),
    )
    .await
    .expect("accepted");
    c.close().await;
}

#[tokio::test]
async fn prompts_get_errors_name_the_prompt_and_the_argument() {
    let server = TestServer::start();
    let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let reply = c
        .request("prompts/get", json!({"name": "no-such-prompt"}))
        .await;
    assert_eq!(error_code(&reply), -32602);
    assert!(error_message(&reply).contains("no-such-prompt"));

    let reply = c
        .request(
            "prompts/get",
            json!({"name": "code-review", "arguments": {"language": "rust"}}),
        )
        .await;
    assert_eq!(error_code(&reply), -32602);
    assert!(error_message(&reply).contains("'code'"), "{reply}");

    let reply = c
        .request(
            "prompts/get",
            json!({"name": "code-review", "arguments": {"code": 1}}),
        )
        .await;
    assert_eq!(error_code(&reply), -32602, "non-string argument");
}

#[tokio::test]
async fn bad_writes_are_tool_errors_and_change_nothing() {
    let server = TestServer::start();
    let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let created = c
        .call_tool(
            "create_prompt",
            json!({"id": "greet", "name": "Greet", "content": "Hi {{who}}", "variables": ["who"]}),
        )
        .await;
    assert_eq!(created["isError"], false, "{created}");
    assert_eq!(created["structuredContent"]["version"], 1);

    let cases = [
        (
            json!({"id": "greet", "content": "Hi {{#if who}}"}),
            "syntax",
        ),
        (json!({"id": "greet", "content": "Hi {{whom}}"}), "whom"),
        (json!({"id": "greet", "content": "{{shout who}}"}), "shout"),
        (
            json!({"id": "greet", "content": "{{> missing-partial}}"}),
            "missing-partial",
        ),
        (
            json!({"id": "greet", "expectedVersion": 7, "description": "x"}),
            "current version is 1",
        ),
        (json!({"id": "nobody", "description": "x"}), "nobody"),
        (json!({"id": "greet", "name": 5}), "invalid arguments"),
    ];
    for (args, needle) in cases {
        let r = c.call_tool("update_prompt", args.clone()).await;
        assert_eq!(r["isError"], true, "{args} → {r}");
        let text = r["content"][0]["text"].as_str().unwrap_or_default();
        assert!(text.contains(needle), "{args}: {text:?} lacks {needle:?}");
    }
    let dup = c
        .call_tool(
            "create_prompt",
            json!({"id": "greet", "name": "Again", "content": "x"}),
        )
        .await;
    assert_eq!(dup["isError"], true);

    let now = c.call_tool("get_prompt", json!({"id": "greet"})).await;
    assert_eq!(
        now["structuredContent"]["version"], 1,
        "nothing was written"
    );
    assert_eq!(now["structuredContent"]["content"], "Hi {{who}}");
    let history = c.call_tool("prompt_history", json!({"id": "greet"})).await;
    assert_eq!(
        history["structuredContent"]["versions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let unknown = c
        .request("tools/call", json!({"name": "rm_rf", "arguments": {}}))
        .await;
    assert_eq!(
        error_code(&unknown),
        -32602,
        "unknown tool is a protocol error"
    );
}

#[tokio::test]
async fn partial_cycles_are_refused_naming_the_cycle() {
    let server = TestServer::start();
    let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    for (id, content) in [("part-a", "A"), ("part-b", "B {{> part-a}}")] {
        let r = c
            .call_tool(
                "create_prompt",
                json!({"id": id, "name": id, "content": content}),
            )
            .await;
        assert_eq!(r["isError"], false, "{r}");
    }
    let r = c
        .call_tool(
            "update_prompt",
            json!({"id": "part-a", "content": "A {{> part-b}}"}),
        )
        .await;
    assert_eq!(r["isError"], true);
    let text = r["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("part-a -> part-b -> part-a"), "{text}");
}

#[tokio::test]
async fn data_survives_a_restart() {
    let mut server = TestServer::start();
    {
        let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
        let r = c
            .call_tool(
                "create_prompt",
                json!({"id": "kept", "name": "Kept", "content": "v1"}),
            )
            .await;
        assert_eq!(r["isError"], false);
        let r = c
            .call_tool(
                "update_prompt",
                json!({"id": "kept", "content": "v2", "expectedVersion": 1}),
            )
            .await;
        assert_eq!(r["structuredContent"]["version"], 2);
        let r = c
            .call_tool(
                "set_label",
                json!({"id": "kept", "label": "production", "version": 1}),
            )
            .await;
        assert_eq!(r["isError"], false, "{r}");
        c.close().await;
    }
    let status = server.stop().expect("server was running");
    assert!(status.success(), "SIGTERM exits cleanly: {status}");
    server.restart();
    let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let r = c.request("prompts/get", json!({"name": "kept"})).await;
    assert_eq!(r["result"]["messages"][0]["content"]["text"], "v2");
    let r = c
        .call_tool("get_prompt", json!({"id": "kept", "label": "production"}))
        .await;
    assert_eq!(r["structuredContent"]["content"], "v1");
    let r = c.request("prompts/list", json!({})).await;
    let count = r["result"]["prompts"].as_array().unwrap().len();
    assert!(
        count >= 21,
        "seed not re-applied over existing data, nothing lost: {count}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_open_sessions_with_going_away() {
    let mut server = TestServer::start();
    let (mut a, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let (mut b, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let stopping = std::thread::spawn(move || server.stop());
    for client in [&mut a, &mut b] {
        let close = client
            .closed(Duration::from_secs(5))
            .await
            .expect("the server closes the connection");
        assert_eq!(u16::from(close.code), 1001, "{close:?}");
        assert_eq!(close.reason.as_str(), "server shutting down");
    }
    let status = stopping.join().unwrap().expect("server was running");
    assert!(status.success(), "SIGTERM exits cleanly: {status}");
}

/// Browsers apply no CORS to WebSockets: without this check any web page could
/// open `ws://127.0.0.1:8787/ws` and edit the catalog. A foreign `Origin` or a
/// `Host` that is not localhost (DNS rebinding) is refused before the upgrade;
/// the hub's own page and non-browser clients (no `Origin`) connect.
#[tokio::test]
async fn cross_site_and_rebound_websockets_are_refused() {
    let server = TestServer::start();
    let url = &server.ws_url;
    let refused =
        WsClient::try_connect_with(url, Some("mcp"), &[("Origin", "https://evil.example")])
            .await
            .err()
            .expect("a foreign origin is refused");
    assert_eq!(refused.0, 403, "{refused:?}");
    assert!(refused.1.contains("Origin"), "{refused:?}");
    let rebound = WsClient::try_connect_with(url, Some("mcp"), &[("Host", "evil.example:8787")])
        .await
        .err()
        .expect("a rebound host is refused");
    assert_eq!(rebound.0, 403, "{rebound:?}");
    let own = format!("http://127.0.0.1:{}", server.port());
    let mut page = WsClient::try_connect_with(url, Some("mcp"), &[("Origin", own.as_str())])
        .await
        .expect("the hub's own page connects");
    let reply = page.request("ping", json!({})).await;
    assert_eq!(reply["result"], json!({}), "{reply}");
    let mut tool = WsClient::try_connect(url, Some("mcp"))
        .await
        .expect("no Origin: a tool");
    assert_eq!(tool.request("ping", json!({})).await["result"], json!({}));
}

/// A raw client: the handshake by hand, then whatever bytes a frame should not
/// be; returns the close code the server answers with.
async fn close_code_for(port: u16, frame: Vec<u8>) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let handshake = format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: mcp\r\n\r\n"
    );
    tcp.write_all(handshake.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        tcp.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp.write_all(&frame).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut buf = Vec::new();
    loop {
        // Server frames are unmasked: [fin|opcode, len, payload...].
        if buf.len() >= 2 {
            let opcode = buf[0] & 0x0f;
            let len = (buf[1] & 0x7f) as usize;
            if len < 126 && buf.len() >= 2 + len {
                if opcode == 0x8 {
                    return (len >= 2).then(|| u16::from_be_bytes([buf[2], buf[3]]));
                }
                buf.drain(..2 + len);
                continue;
            }
        }
        let mut chunk = [0u8; 4096];
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, tcp.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A client frame (masked, as clients must) with this first byte and payload.
fn masked_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x11u8, 0x22, 0x33, 0x44];
    let mut f = vec![first];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= u16::MAX as usize => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// RFC 6455 §7.4.1: invalid UTF-8 in a text frame is 1007, a reserved opcode
/// 1002, a frame over the limit 1009; other connections are untouched.
#[tokio::test]
async fn bad_frames_close_with_the_code_that_names_the_problem() {
    let server = TestServer::start_with(None, &["--max-message-bytes", "10000"]);
    let mut bystander = WsClient::connect(&server.ws_url).await;
    let port = server.port();
    let invalid_utf8 = masked_frame(0x81, &[0x7b, 0xff, 0xfe, 0x7d]);
    assert_eq!(close_code_for(port, invalid_utf8).await, Some(1007));
    let reserved_opcode = masked_frame(0x83, b"{}");
    assert_eq!(close_code_for(port, reserved_opcode).await, Some(1002));
    let oversize = masked_frame(0x81, &vec![b' '; 200_000]);
    assert_eq!(close_code_for(port, oversize).await, Some(1009));
    assert_eq!(
        bystander.request("ping", json!({})).await["result"],
        json!({})
    );
}
