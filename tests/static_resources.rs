//! Static resources (`--resources FILE`) end to end: listed after the prompts
//! with working cursors, read, subscribed, served on stdio too, and a file that
//! does not validate stops startup with the precise problem and touches nothing.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::TestServer;
use common::http::{open_session, post_mcp};
use serde_json::{Value, json};

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

fn write_file(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_string()
}

fn resources_file(dir: &Path) -> String {
    let file = json!({
        "resources": [
            {"uri": "docs://style", "name": "style", "title": "Style guide",
             "description": "House style", "text": "Be brief."},
            {"uri": "docs://logo", "name": "logo", "mimeType": "image/png", "blob": PNG},
            {"uri": "docs://faq", "name": "faq", "mimeType": "text/markdown", "text": "# FAQ"}
        ],
        "resourceTemplates": [
            {"uriTemplate": "docs://team/{team}/notes", "name": "team-notes",
             "mimeType": "application/json", "text": "{\"team\":\"{{team}}\"}"}
        ]
    });
    write_file(dir, "resources.json", &file.to_string())
}

/// Sends one request in `session` and returns its `result`, or panics with the reply.
fn call(base: &str, session: &str, id: u64, method: &str, params: Value) -> Value {
    let reply = post_mcp(
        base,
        Some(session),
        &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )
    .json();
    reply
        .get("result")
        .cloned()
        .unwrap_or_else(|| panic!("{method}: {reply}"))
}

fn error(base: &str, session: &str, method: &str, params: Value) -> Value {
    let reply = post_mcp(
        base,
        Some(session),
        &json!({"jsonrpc": "2.0", "id": 99, "method": method, "params": params}),
    )
    .json();
    reply
        .get("error")
        .cloned()
        .unwrap_or_else(|| panic!("{method} should fail: {reply}"))
}

#[test]
fn static_resources_are_listed_after_the_prompts_read_and_subscribed() {
    let dir = tempfile::tempdir().unwrap();
    let file = resources_file(dir.path());
    let server = TestServer::start_with(None, &["--resources", &file, "--page-size", "2"]);
    let base = &server.http_url;
    let session = open_session(base);

    // Every page holds at most two entries; prompts come first, then ours, once each.
    let mut uris = Vec::new();
    let mut cursor = None::<String>;
    for id in 1.. {
        assert!(id < 200, "resources/list never ends");
        let params = cursor.as_ref().map_or(json!({}), |c| json!({"cursor": c}));
        let page = call(base, &session, id, "resources/list", params);
        let entries = page["resources"].as_array().unwrap();
        assert!(entries.len() <= 2, "{page}");
        uris.extend(
            entries
                .iter()
                .map(|e| e["uri"].as_str().unwrap().to_string()),
        );
        if let Some(entry) = entries.iter().find(|e| e["uri"] == "docs://style") {
            assert_eq!(
                *entry,
                json!({"uri": "docs://style", "name": "style", "title": "Style guide",
                       "description": "House style", "mimeType": "text/plain"})
            );
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let prompts = uris.iter().filter(|u| u.starts_with("prompt://")).count();
    assert!(prompts > 0, "the starter catalog is listed: {uris:?}");
    assert_eq!(
        uris[prompts..],
        ["docs://style", "docs://logo", "docs://faq"],
        "{uris:?}"
    );

    let templates = call(base, &session, 300, "resources/templates/list", json!({}));
    let names: Vec<&str> = templates["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["uriTemplate"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "prompt://{id}/versions/{version}",
            "prompt://{id}@{label}",
            "docs://team/{team}/notes"
        ]
    );

    let ref_ = json!({"type": "ref/resource", "uri": "docs://team/{team}/notes"});
    let completion = call(
        base,
        &session,
        310,
        "completion/complete",
        json!({"ref": ref_, "argument": {"name": "team", "value": "c"}}),
    );
    assert_eq!(
        completion["completion"]["values"],
        json!([]),
        "{completion}"
    );
    let unknown = error(
        base,
        &session,
        "completion/complete",
        json!({"ref": ref_, "argument": {"name": "nope", "value": ""}}),
    );
    assert_eq!(unknown["code"], -32602, "{unknown}");

    let read = |id, uri: &str| call(base, &session, id, "resources/read", json!({"uri": uri}));
    assert_eq!(
        read(301, "docs://style")["contents"],
        json!([{"uri": "docs://style", "mimeType": "text/plain", "text": "Be brief."}])
    );
    assert_eq!(
        read(302, "docs://logo")["contents"],
        json!([{"uri": "docs://logo", "mimeType": "image/png", "blob": PNG}])
    );
    assert_eq!(
        read(303, "docs://team/core/notes")["contents"],
        json!([{"uri": "docs://team/core/notes", "mimeType": "application/json",
                "text": "{\"team\":\"core\"}"}])
    );
    let missing = error(
        base,
        &session,
        "resources/read",
        json!({"uri": "docs://nope"}),
    );
    assert_eq!(missing["code"], -32002, "{missing}");

    for (id, uri) in [(304, "docs://faq"), (305, "docs://team/x/notes")] {
        let params = json!({"uri": uri});
        assert_eq!(
            call(base, &session, id, "resources/subscribe", params.clone()),
            json!({})
        );
        assert_eq!(
            call(base, &session, id + 10, "resources/unsubscribe", params),
            json!({})
        );
    }
    // A URI the hub does not serve is still refused precisely.
    let refused = error(
        base,
        &session,
        "resources/subscribe",
        json!({"uri": "docs://nope"}),
    );
    assert_eq!(refused["code"], -32602, "{refused}");
    assert_eq!(
        refused["message"],
        "cannot subscribe to 'docs://nope': use a prompt://{id} URI"
    );
}

#[test]
fn stdio_serves_static_resources_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = resources_file(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-prompts"))
        .args(["stdio", "--resources", &file, "--data"])
        .arg(dir.path().join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "static-resources-test", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "resources/read",
               "params": {"uri": "docs://team/ops/notes"}}),
    ];
    let mut stdin = child.stdin.take().unwrap();
    for m in &messages {
        writeln!(stdin, "{m}").unwrap();
    }
    drop(stdin); // The hub exits when stdin closes.
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let Ok(output) = rx.recv_timeout(Duration::from_secs(30)) else {
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("mcp-prompts stdio did not exit after stdin closed");
    };
    let stdout = String::from_utf8(output.unwrap().stdout).unwrap();
    let reply: Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|m| m["id"] == 2)
        .unwrap_or_else(|| panic!("no reply to resources/read: {stdout}"));
    assert_eq!(
        reply["result"]["contents"][0]["text"], "{\"team\":\"ops\"}",
        "{reply}"
    );
}

#[test]
fn a_bad_resources_file_stops_startup_with_the_precise_error() {
    let dir = tempfile::tempdir().unwrap();
    let entry = |uri: &str| json!({"uri": uri, "name": "n", "text": "x"});
    let cases = [
        (
            "{\"resources\": [".to_string(),
            "not a valid static resources file: EOF while parsing a list at line 1",
        ),
        (
            json!({"resources": [entry("a:1"), entry("a:1")]}).to_string(),
            r#"resources[1] ("a:1"): duplicate of resources[0] ("a:1")"#,
        ),
        (
            json!({"resources": [entry("prompt://code-review")]}).to_string(),
            "the prompt:// scheme is reserved for the catalog's prompts",
        ),
        (
            json!({"resources": [{"uri": "a:1", "name": "n", "blob": "%%%"}]}).to_string(),
            r#"resources[0] ("a:1"): "blob" is not valid base64"#,
        ),
        (
            json!({"resourceTemplates": [{"uriTemplate": "a://{id}", "name": "n",
                                          "text": "{{id}} {{other}}"}]})
            .to_string(),
            "uses '{{other}}', which is not a placeholder of the uriTemplate (placeholders: id)",
        ),
    ];
    for (i, (contents, expected)) in cases.iter().enumerate() {
        let file = write_file(dir.path(), &format!("bad-{i}.json"), contents);
        let data = dir.path().join(format!("data-{i}"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-prompts"));
        cmd.args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--resources",
            &file,
            "--data",
        ])
        .arg(&data)
        .env("NO_COLOR", "1");
        let out = common::run_client(cmd, Duration::from_secs(30));
        assert!(!out.status.success(), "started with {contents}");
        assert!(
            out.stderr
                .contains(&format!("loading static resources from {file}"))
                && out.stderr.contains(expected),
            "expected {expected:?} for {contents}, got:\n{}",
            out.stderr
        );
        assert!(!data.exists(), "the data folder was touched for {contents}");
    }
    let missing = dir.path().join("missing.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-prompts"));
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--resources"])
        .arg(&missing)
        .arg("--data")
        .arg(dir.path().join("data-missing"));
    let out = common::run_client(cmd, Duration::from_secs(30));
    assert!(!out.status.success());
    assert!(out.stderr.contains("No such file"), "{}", out.stderr);
}
