//! The web UI (`web/`) in real headless Chromium: starts the real hub binary on an
//! ephemeral loopback port and runs the Playwright tests in tests/web/ against it
//! (browse/search/filter, render with arguments, create/edit/delete, conflicts,
//! history/diff/restore, live updates across two browser contexts, reconnect with session
//! resumption, a hub restart on the same port, axe-core in light and dark, keyboard-only
//! use), then saves screenshots of the main views to target/web-screenshots/.
//!
//! Needs Debian's `chromium` (/usr/bin/chromium, or $CHROMIUM) and tests/web/node_modules
//! (playwright-core, axe-core); when either is missing this test runs
//! scripts/install-web-test-tools.sh first. Environment: MCP_PROMPTS_NODE (default `node`),
//! MCP_PROMPTS_SCREENSHOTS (default target/web-screenshots).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{TestServer, run_client};

/// The three node test files together take about a minute on two busy cores.
const WEB_TESTS_TIMEOUT: Duration = Duration::from_secs(300);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn tools_present() -> bool {
    let modules = root().join("tests/web/node_modules");
    chromium().exists()
        && modules.join("playwright-core/package.json").exists()
        && modules.join("axe-core/axe.min.js").exists()
}

fn ensure_tools() {
    if tools_present() {
        return;
    }
    let script = root().join("scripts/install-web-test-tools.sh");
    let out = run_client(
        {
            let mut cmd = Command::new("bash");
            cmd.arg(&script);
            cmd
        },
        Duration::from_secs(600),
    );
    assert!(
        out.status.success() && tools_present(),
        "{} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
        script.display(),
        out.status,
        out.stdout,
        out.stderr
    );
}

#[test]
fn web_ui_in_headless_chromium() {
    ensure_tools();
    let server = TestServer::start();
    let hub = format!("{}/", server.http_url);
    let shots = std::env::var_os("MCP_PROMPTS_SCREENSHOTS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/web-screenshots"));
    let node = std::env::var("MCP_PROMPTS_NODE").unwrap_or_else(|_| "node".to_string());
    let dir = root().join("tests/web");
    let mut cmd = Command::new(node);
    cmd.args([
        "--test",
        "--test-concurrency=1",
        "--test-reporter=spec",
        "flows.test.mjs",
        "a11y.test.mjs",
        "screenshots.test.mjs",
        "restart.test.mjs",
    ])
    .current_dir(&dir)
    .env("MCP_PROMPTS_HUB_URL", &hub)
    .env("MCP_PROMPTS_SCREENSHOTS", &shots)
    .env("CHROMIUM", chromium())
    // restart.test.mjs runs a hub of its own (stopped and restarted on the same port).
    .env("MCP_PROMPTS_BIN", env!("CARGO_BIN_EXE_mcp-prompts"))
    .env("NO_COLOR", "1")
    .env("FORCE_COLOR", "0");
    let out = run_client(cmd, WEB_TESTS_TIMEOUT);
    assert!(
        out.status.success(),
        "the web UI tests failed ({}) against {hub}\n--- node stdout ---\n{}\n--- node stderr ---\n{}\n--- server output ---\n{}",
        out.status,
        out.stdout,
        out.stderr,
        server.output()
    );
    println!("{}", out.stdout.trim_end());
    println!("screenshots: {}", shots.display());
}
