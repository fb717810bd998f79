//! Logging setup, in one place. Logs go to stderr (stdout carries the URLs and,
//! for stdio, the protocol); `RUST_LOG` overrides the default level.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("mcp_prompts=info,warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: MCP clients that launch `stdio` keep
        // its stderr as a log file.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
