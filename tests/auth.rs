//! Credentials at the door: `serve --auth required` refuses `/ws`, `/mcp` and
//! `/prompts` without a valid API key (401 before any MCP traffic), accepts the
//! key as a bearer header, a `token` query parameter or the `mcp.auth.<key>`
//! subprotocol, never logs it, stops honouring a revoked key, and roles bound
//! what a session may do: a reader sees no write tools, gets a tool error for a
//! write, 403 from REST, and cannot resume another principal's session.

mod common;

use std::process::Command;

use common::TestServer;
use common::http::request;
use common::ws::{WsClient, init_params};
use serde_json::{Value, json};

fn keys(data: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-prompts"))
        .arg("keys")
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keys {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new key: printed alone on the last line.
fn create_key(data: &std::path::Path, name: &str, role: &str) -> (String, String) {
    let out = keys(data, &["create", "--name", name, "--role", role]);
    let key = out.lines().last().unwrap().to_string();
    let id = out.split_whitespace().nth(2).unwrap().to_string();
    (id, key)
}

async fn initialize(c: &mut WsClient) -> Value {
    c.request("initialize", init_params(json!({}))).await
}

#[tokio::test]
async fn without_a_valid_key_every_door_is_closed_and_with_one_it_opens() {
    let data = tempfile::tempdir().unwrap();
    let (_, editor) = create_key(data.path(), "ci", "editor");
    let server = TestServer::start_with(Some(data.path()), &["--auth", "required"]);

    let refused = WsClient::try_connect(&server.ws_url, Some("mcp"))
        .await
        .err()
        .expect("401");
    assert_eq!(refused.0, 401, "{refused:?}");
    let wrong = WsClient::try_connect(&server.ws_url, Some("mcp, mcp.auth.mcpp_wrong"))
        .await
        .err()
        .expect("401");
    assert_eq!(wrong.0, 401);
    assert_eq!(
        request(&server.http_url, "GET", "/prompts", &[], None).status,
        401
    );
    let mcp = request(&server.http_url, "POST", "/mcp", &[("Content-Type", "application/json"), ("Accept", "application/json")],
        Some(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init_params(json!({}))}).to_string()));
    assert_eq!(mcp.status, 401, "{mcp:?}");
    assert_eq!(
        request(&server.http_url, "GET", "/health", &[], None).status,
        200,
        "health stays open"
    );

    let bearer = format!("Bearer {editor}");
    assert_eq!(
        request(
            &server.http_url,
            "GET",
            "/prompts",
            &[("Authorization", &bearer)],
            None
        )
        .status,
        200
    );
    let subprotocol = format!("mcp, mcp.auth.{editor}");
    let mut ws = WsClient::try_connect(&server.ws_url, Some(&subprotocol))
        .await
        .expect("subprotocol key");
    assert!(initialize(&mut ws).await["result"]["mcpSessionId"].is_string());
    let query = format!("{}?token={editor}", server.ws_url);
    let mut ws2 = WsClient::try_connect(&query, Some("mcp"))
        .await
        .expect("query key");
    assert!(initialize(&mut ws2).await["result"].is_object());
    let r = ws
        .call_tool(
            "update_prompt",
            json!({"id": "code-review", "description": "by the editor"}),
        )
        .await;
    assert_eq!(r["isError"], false, "{r}");
    assert!(
        !server.output().contains(&editor),
        "the key is never logged"
    );
}

#[tokio::test]
async fn a_reader_can_read_but_not_write_and_a_revoked_key_stops_working() {
    let data = tempfile::tempdir().unwrap();
    let (reader_id, reader) = create_key(data.path(), "dashboard", "reader");
    let listed = keys(data.path(), &["list"]);
    assert!(
        listed.contains("dashboard") && listed.contains("reader"),
        "{listed}"
    );
    assert!(!listed.contains(&reader), "list never shows a key");
    let server = TestServer::start_with(Some(data.path()), &["--auth", "required"]);
    let mut ws =
        WsClient::initialized_with(&server.ws_url, &format!("mcp, mcp.auth.{reader}")).await;
    let names = ws.tool_names().await;
    assert!(
        names.iter().any(|n| n == "get_prompt") && !names.iter().any(|n| n == "update_prompt"),
        "{names:?}"
    );
    let refused = ws
        .call_tool(
            "update_prompt",
            json!({"id": "code-review", "description": "x"}),
        )
        .await;
    assert_eq!(refused["isError"], true);
    assert!(
        refused["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("editor"),
        "{refused}"
    );
    let rendered = ws
        .request(
            "prompts/get",
            json!({"name": "code-review", "arguments": {"code": "x", "language": "rust"}}),
        )
        .await;
    assert!(rendered["result"]["messages"].is_array(), "{rendered}");
    let bearer = format!("Bearer {reader}");
    let rest = request(
        &server.http_url,
        "PUT",
        "/prompts/code-review",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        Some("{\"description\":\"x\"}"),
    );
    assert_eq!(rest.status, 403, "{rest:?}");
    assert_eq!(
        request(
            &server.http_url,
            "GET",
            "/prompts/code-review",
            &[("Authorization", &bearer)],
            None
        )
        .status,
        200
    );

    keys(data.path(), &["revoke", &reader_id]);
    let gone = WsClient::try_connect(&server.ws_url, Some(&format!("mcp, mcp.auth.{reader}")))
        .await
        .err()
        .expect("revoked");
    assert_eq!(gone.0, 401);
}

#[tokio::test]
async fn a_session_can_only_be_resumed_by_the_principal_that_opened_it() {
    let data = tempfile::tempdir().unwrap();
    let (_, editor) = create_key(data.path(), "owner", "editor");
    let (_, other) = create_key(data.path(), "someone-else", "reader");
    let server = TestServer::start_with(Some(data.path()), &["--auth", "required"]);
    let mut mine = WsClient::try_connect(&server.ws_url, Some(&format!("mcp, mcp.auth.{editor}")))
        .await
        .unwrap();
    let session = initialize(&mut mine).await["result"]["mcpSessionId"]
        .as_str()
        .unwrap()
        .to_string();
    // A session is resumable once its handshake is done.
    mine.notify("notifications/initialized", json!({})).await;
    assert_eq!(mine.request("ping", json!({})).await["result"], json!({}));
    mine.close().await;
    let mut theirs = WsClient::try_connect(&server.ws_url, Some(&format!("mcp, mcp.auth.{other}")))
        .await
        .unwrap();
    let r = theirs
        .request("initialize", init_params(json!({"mcpSessionId": session})))
        .await;
    assert_eq!(
        r["result"]["resumed"], false,
        "another key gets a fresh session: {r}"
    );
    let mut again = WsClient::try_connect(&server.ws_url, Some(&format!("mcp, mcp.auth.{editor}")))
        .await
        .unwrap();
    let r = again
        .request("initialize", init_params(json!({"mcpSessionId": session})))
        .await;
    assert_eq!(r["result"]["resumed"], true, "{r}");
}

#[test]
fn credentials_are_required_by_default_off_loopback() {
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-prompts"))
        .args(["serve", "--addr", "0.0.0.0:0", "--data"])
        .arg(data.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    // Drained to the end: a closed pipe would fail the server's next print.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let port = rx
        .iter()
        .find_map(|l| {
            let at = l.find("ws://0.0.0.0:")? + "ws://0.0.0.0:".len();
            l[at..].split('/').next()?.parse::<u16>().ok()
        })
        .expect("the server printed its URL");
    let r = request(
        &format!("http://127.0.0.1:{port}"),
        "GET",
        "/prompts",
        &[],
        None,
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        r.status, 401,
        "a non-loopback bind requires keys unless --auth off: {r:?}"
    );
}

/// Revision 2026-07-28 requests stand alone (no session), yet still run as
/// their caller: a reader's stateless write is refused like any other.
#[tokio::test]
async fn a_stateless_request_runs_with_the_caller_s_role() {
    let data = tempfile::tempdir().unwrap();
    let (_, reader) = create_key(data.path(), "stateless-reader", "reader");
    let (_, editor) = create_key(data.path(), "stateless-editor", "editor");
    let server = TestServer::start_with(Some(data.path()), &["--auth", "required"]);
    let call = |key: &str, description: &str| {
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}},
            "name": "update_prompt",
            "arguments": {"id": "code-review", "description": description}}});
        let bearer = format!("Bearer {key}");
        let r = request(
            &server.http_url,
            "POST",
            "/mcp",
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
                ("MCP-Protocol-Version", "2026-07-28"),
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "update_prompt"),
                ("Authorization", &bearer),
            ],
            Some(&body.to_string()),
        );
        assert_eq!(r.status, 200, "{r:?}");
        let reply: Value = serde_json::from_str(
            r.body
                .lines()
                .find(|l| l.contains("jsonrpc"))
                .map(|l| l.trim_start_matches("data:").trim())
                .unwrap(),
        )
        .unwrap();
        reply["result"].clone()
    };
    let refused = call(&reader, "by a reader");
    assert_eq!(refused["isError"], true, "{refused}");
    assert!(
        refused["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("editor"),
        "{refused}"
    );
    let accepted = call(&editor, "by an editor");
    assert_eq!(accepted["isError"], false, "{accepted}");
}

/// A key's name is its principal: a second live key of the same name is
/// refused (it would share sessions and budgets); once revoked, the name is free.
#[test]
fn two_live_keys_cannot_share_a_name() {
    let data = tempfile::tempdir().unwrap();
    let (first, _) = create_key(data.path(), "deploy-bot", "editor");
    let again = Command::new(env!("CARGO_BIN_EXE_mcp-prompts"))
        .args([
            "keys",
            "create",
            "--name",
            "deploy-bot",
            "--role",
            "reader",
            "--data",
        ])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!again.status.success(), "a duplicate live name is refused");
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("'deploy-bot' exists") && said.contains(&first),
        "{said}"
    );
    keys(data.path(), &["revoke", &first]);
    let (second, _) = create_key(data.path(), "deploy-bot", "reader");
    assert_ne!(first, second);
}
