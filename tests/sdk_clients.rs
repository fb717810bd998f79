//! Runs the official MCP SDK clients (Python and TypeScript, unmodified) against the real
//! server binary over WebSocket. The client scripts live in tests/clients/ and their
//! dependencies are installed by scripts/install-test-tools.sh (scripts/test.sh runs it).
//!
//! Environment: MCP_PROMPTS_PYTHON (python with the `mcp` SDK; default .tools/venv/bin/python)
//! and MCP_PROMPTS_NODE_CLIENTS (dir with node_modules; default tests/clients).

mod common;

use std::process::Command;

use common::{CLIENT_TIMEOUT, ClientOutput, TestServer, run_client, tool_path};

fn assert_client_passed(name: &str, out: &ClientOutput, server: &TestServer) {
    assert!(
        out.status.success(),
        "{name} failed ({})\n--- client stdout ---\n{}\n--- client stderr ---\n{}\n--- server output ---\n{}",
        out.status,
        out.stdout,
        out.stderr,
        server.output()
    );
    println!("{}", out.stdout.trim_end());
}

/// The Python client runs against a small page size, so that it follows several
/// `nextCursor`s of prompts/list, resources/list and list_prompts.
#[test]
fn python_sdk_client_over_websocket() {
    let python = tool_path("MCP_PROMPTS_PYTHON", ".tools/venv/bin/python");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/py_ws_client.py");
    let server = TestServer::start_with(None, &["--page-size", "7"]);
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg(&server.ws_url)
        .env("PYTHONUNBUFFERED", "1");
    let out = run_client(cmd, CLIENT_TIMEOUT);
    assert_client_passed("py_ws_client.py", &out, &server);
}

/// The TypeScript client runs against the default settings (page size 50).
#[test]
fn typescript_sdk_client_over_websocket() {
    let node_clients = tool_path("MCP_PROMPTS_NODE_CLIENTS", "tests/clients");
    assert!(
        node_clients
            .join("node_modules/@modelcontextprotocol/sdk/package.json")
            .exists(),
        "{}/node_modules lacks @modelcontextprotocol/sdk: run scripts/install-test-tools.sh",
        node_clients.display()
    );
    let server = TestServer::start();
    let node = std::env::var("MCP_PROMPTS_NODE").unwrap_or_else(|_| "node".to_string());
    let mut cmd = Command::new(node);
    cmd.arg("--experimental-websocket")
        .arg(node_clients.join("ts_ws_client.mjs"))
        .arg(&server.ws_url)
        .current_dir(&node_clients);
    let out = run_client(cmd, CLIENT_TIMEOUT);
    assert_client_passed("ts_ws_client.mjs", &out, &server);
}

/// The shared helper's restart API: same data directory, and `restart_on_same_port`
/// keeps the URL while `restart` picks a new ephemeral port.
#[test]
fn test_server_restarts_on_the_same_data_dir() {
    let mut server = TestServer::start();
    let data_dir = server.data_dir().to_path_buf();
    let first_url = server.ws_url.clone();
    server.restart_on_same_port();
    assert_eq!(server.ws_url, first_url, "{}", server.output());
    server.restart();
    assert!(server.is_running(), "{}", server.output());
    assert_eq!(server.data_dir(), data_dir);
    assert!(server.http_url.starts_with("http://127.0.0.1:"));
    let starts = server
        .output()
        .lines()
        .filter(|line| common::find_ws_url(line).is_some())
        .count();
    assert_eq!(starts, 3, "expected 3 starts:\n{}", server.output());
    assert!(server.stop().is_some(), "stop() returns the exit status");
    assert!(!server.is_running());
}

/// A bulk import job with the Python SDK: progress through its `progress_callback`, one
/// `list_changed` for a listening session, re-import unchanged, dry run, polling.
#[test]
fn python_sdk_bulk_import_job_reports_progress() {
    let python = tool_path("MCP_PROMPTS_PYTHON", ".tools/venv/bin/python");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/py_ws_import.py");
    let server = TestServer::start();
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg(&server.ws_url)
        .arg("1200")
        .env("PYTHONUNBUFFERED", "1");
    let out = run_client(cmd, CLIENT_TIMEOUT);
    assert_client_passed("py_ws_import.py", &out, &server);
}
