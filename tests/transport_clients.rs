//! Real MCP clients over the spec transports, against the real binary:
//! - the TypeScript SDK over Streamable HTTP and over stdio (launching
//!   `mcp-prompts stdio` itself), hearing about edits a WebSocket client makes;
//! - the Python SDK 2.x as a 2025-11-25 client (`initialize`) over Streamable
//!   HTTP, with `list_changed` arriving on its GET stream;
//! - the MCP Inspector CLI listing and rendering prompts over Streamable HTTP.
//!
//! Scripts live in tests/clients/; tools come from scripts/install-test-tools.sh:
//! MCP_PROMPTS_NODE_CLIENTS (default tests/clients), MCP_PROMPTS_PYTHON2 (default
//! .tools/venv-mcp2/bin/python), MCP_PROMPTS_MCP_TOOLS (default .tools/mcp-tools).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{CLIENT_TIMEOUT, ClientOutput, TestServer, run_client, tool_path};

fn assert_passed(name: &str, out: &ClientOutput, server: &TestServer) {
    assert_succeeded(name, out, server);
    println!("{}", out.stdout.trim_end());
}

fn assert_succeeded(name: &str, out: &ClientOutput, server: &TestServer) {
    assert!(
        out.status.success(),
        "{name} failed ({})\n--- client stdout ---\n{}\n--- client stderr ---\n{}\n--- server output ---\n{}",
        out.status,
        out.stdout,
        out.stderr,
        server.output()
    );
}

fn node_clients() -> PathBuf {
    let dir = tool_path("MCP_PROMPTS_NODE_CLIENTS", "tests/clients");
    assert!(
        dir.join("node_modules/@modelcontextprotocol/sdk/package.json")
            .exists(),
        "{}/node_modules lacks @modelcontextprotocol/sdk: run scripts/install-test-tools.sh",
        dir.display()
    );
    dir
}

fn ts_client(args: &[&str]) -> Command {
    let dir = node_clients();
    let node = std::env::var("MCP_PROMPTS_NODE").unwrap_or_else(|_| "node".to_string());
    let mut cmd = Command::new(node);
    cmd.arg("--experimental-websocket")
        .arg(dir.join("ts_transport_client.mjs"))
        .args(args)
        .current_dir(&dir);
    cmd
}

#[test]
fn typescript_sdk_over_streamable_http() {
    let server = TestServer::start();
    let url = format!("{}/mcp", server.http_url);
    let out = run_client(ts_client(&["http", &url, &server.ws_url]), CLIENT_TIMEOUT);
    assert_passed("ts_transport_client.mjs http", &out, &server);
}

/// The SDK launches `mcp-prompts stdio` on the data folder of a running `serve`;
/// the WebSocket editor talks to that `serve`.
#[test]
fn typescript_sdk_over_stdio() {
    let server = TestServer::start();
    let bin = env!("CARGO_BIN_EXE_mcp-prompts");
    let data = server.data_dir().to_str().unwrap().to_string();
    let out = run_client(
        ts_client(&["stdio", bin, &data, &server.ws_url]),
        CLIENT_TIMEOUT,
    );
    assert_passed("ts_transport_client.mjs stdio", &out, &server);
}

#[test]
fn python_sdk2_over_streamable_http() {
    let python = tool_path("MCP_PROMPTS_PYTHON2", ".tools/venv-mcp2/bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/py2_http_client.py");
    let server = TestServer::start();
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg(format!("{}/mcp", server.http_url))
        .env("PYTHONUNBUFFERED", "1");
    let out = run_client(cmd, CLIENT_TIMEOUT);
    assert_passed("py2_http_client.py", &out, &server);
}

/// The Python SDK 2.x `Client` in its default mode probes `server/discover`, speaks
/// 2026-07-28 (per-request envelope and headers, no initialize) and receives change
/// events on a `subscriptions/listen` stream.
#[test]
fn python_sdk2_speaks_2026_07_28_with_subscriptions_listen() {
    let python = tool_path("MCP_PROMPTS_PYTHON2", ".tools/venv-mcp2/bin/python");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/py2_modern_client.py");
    let server = TestServer::start();
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg(format!("{}/mcp", server.http_url))
        .env("PYTHONUNBUFFERED", "1");
    let out = run_client(cmd, CLIENT_TIMEOUT);
    assert_passed("py2_modern_client.py", &out, &server);
}

/// The Inspector CLI reads its own package.json relative to the working directory,
/// so it runs from its `build` folder.
#[test]
fn inspector_cli_lists_and_gets_prompts_over_streamable_http() {
    let tools = tool_path("MCP_PROMPTS_MCP_TOOLS", ".tools/mcp-tools");
    let build = tools.join("node_modules/@modelcontextprotocol/inspector-cli/build");
    assert!(
        build.join("index.js").exists(),
        "{}: run scripts/install-test-tools.sh",
        build.display()
    );
    let server = TestServer::start();
    let url = format!("{}/mcp", server.http_url);
    let inspector = |args: &[&str]| {
        let mut cmd = Command::new("node");
        cmd.arg("index.js")
            .arg(&url)
            .args(["--transport", "http"])
            .args(args)
            .current_dir(&build);
        let out = run_client(cmd, CLIENT_TIMEOUT);
        assert_succeeded(&format!("inspector-cli {args:?}"), &out, &server);
        serde_json::from_str::<serde_json::Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("inspector output is not JSON ({e}): {}", out.stdout))
    };

    let listed = inspector(&["--method", "prompts/list"]);
    let names: Vec<&str> = listed["prompts"]
        .as_array()
        .expect("a prompts array")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&"code-review"), "{names:?}");

    let got = inspector(&[
        "--method",
        "prompts/get",
        "--prompt-name",
        "code-review",
        "--prompt-args",
        "language=rust",
        "code=fn inspected() {}",
    ]);
    let text = got["messages"][0]["content"]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("fn inspected() {}"), "{got}");
    println!(
        "inspector-cli: prompts/list listed {} prompts; prompts/get rendered code-review",
        names.len()
    );
}
