//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, server
//! mode) against `/mcp`. Scenarios for features a prompt hub deliberately lacks are
//! listed, each with its reason, in tests/transports/conformance-expected-failures.yml;
//! the suite fails on any other failure and on a listed scenario that passes.
//! The suite's test:// resources are served from tests/fixtures/conformance-resources.json
//! through the hub's `--resources` flag, like any deployment's static resources.
//!
//! Tools (installed by scripts/install-test-tools.sh): Node 22 in .tools/node22
//! (override: MCP_PROMPTS_NODE22) and the suite in .tools/mcp-tools
//! (override: MCP_PROMPTS_MCP_TOOLS).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::http::{call_tool, open_session};
use common::{TestServer, run_client, tool_path};
use serde_json::json;

/// The prompts the suite's scenarios ask for by name: ordinary catalog data.
fn create_fixture_prompts(base: &str) {
    let session = open_session(base);
    let fixtures = [
        json!({"id": "test_simple_prompt", "name": "Test simple prompt",
               "description": "A prompt without arguments (conformance fixture)",
               "content": "This is a simple prompt for testing."}),
        json!({"id": "test_prompt_with_arguments", "name": "Test prompt with arguments",
        "description": "A prompt with two required arguments (conformance fixture)",
        "content": "Prompt with arguments: arg1='{{arg1}}', arg2='{{arg2}}'",
        "isTemplate": true,
        "variables": [
            {"name": "arg1", "description": "First test argument", "required": true},
            {"name": "arg2", "description": "Second test argument", "required": true}
        ]}),
    ];
    for (i, fixture) in fixtures.into_iter().enumerate() {
        let reply = call_tool(base, &session, i as u64 + 1, "create_prompt", fixture);
        assert!(
            reply.get("result").is_some_and(|r| r["isError"] != true),
            "creating a fixture prompt: {reply}"
        );
    }
}

#[test]
fn official_conformance_suite_passes_on_streamable_http() {
    let node22 = tool_path(
        "MCP_PROMPTS_NODE22",
        ".tools/node22/node_modules/node/bin/node",
    );
    let tools = tool_path("MCP_PROMPTS_MCP_TOOLS", ".tools/mcp-tools");
    let cli = tools.join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    assert!(
        cli.exists(),
        "{} missing: run scripts/install-test-tools.sh",
        cli.display()
    );
    let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/transports/conformance-expected-failures.yml");

    let resources =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance-resources.json");
    let server = TestServer::start_with(None, &["--resources", resources.to_str().unwrap()]);
    create_fixture_prompts(&server.http_url);
    let results = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(node22);
    cmd.arg(&cli)
        .args(["server", "--url", &format!("{}/mcp", server.http_url)])
        .arg("--expected-failures")
        .arg(&expected)
        .arg("--output-dir")
        .arg(results.path())
        .current_dir(results.path());
    let out = run_client(cmd, Duration::from_secs(240));
    let summary = out
        .stdout
        .split("=== SUMMARY ===")
        .nth(1)
        .unwrap_or(&out.stdout);
    assert!(
        out.status.success(),
        "conformance suite failed ({})\n--- summary ---\n{summary}\n--- stderr ---\n{}\n--- server output ---\n{}",
        out.status,
        out.stderr,
        server.output()
    );
    println!("{}", summary.trim());
}
