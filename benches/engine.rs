//! `cargo bench --bench engine`: the engine's CPU per request with no transport,
//! in one thread: what `prompts/get` costs before any socket is touched. The
//! WebSocket benchmark (`bench/`) adds the transport and the kernel.

use std::sync::Arc;
use std::time::Instant;

use mcp_prompts::adapters::embedded::EmbeddedStore;
use mcp_prompts::engine::catalog::Catalog;
use mcp_prompts::engine::{Engine, EngineConfig, Session};
use mcp_prompts::ports::SystemClock;

/// Fewer in a debug build: `cargo test --all-targets` runs this too, as a
/// check that both requests succeed, not for figures.
const ROUNDS: u32 = if cfg!(debug_assertions) {
    2_000
} else {
    200_000
};

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(SystemClock);
    let store = Arc::new(EmbeddedStore::open(dir.path(), clock.clone())?);
    let catalog = Arc::new(Catalog::new(store, clock));
    mcp_prompts::seed::seed_if_empty(&catalog).await?;
    let engine = Engine::new(catalog, EngineConfig::default());
    let mut session = Session::new("bench");
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;
    engine.handle_text(&mut session, init).await;
    engine
        .handle_text(
            &mut session,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        )
        .await;
    let get = r#"{"jsonrpc":"2.0","id":1000001,"method":"prompts/get","params":{"name":"code-review","arguments":{"code":"fn main() {}","language":"rust"}}}"#;
    let ping = r#"{"jsonrpc":"2.0","id":1000001,"method":"ping","params":{}}"#;
    for (name, request) in [("prompts/get code-review", get), ("ping", ping)] {
        let reply = engine.handle_text(&mut session, request).await;
        anyhow::ensure!(
            reply.len() == 1 && reply[0].contains("\"result\""),
            "{name} failed: {reply:?}"
        );
        let bytes = reply[0].len();
        let start = Instant::now();
        for _ in 0..ROUNDS {
            std::hint::black_box(engine.handle_text(&mut session, request).await);
        }
        let per = start.elapsed().as_secs_f64() * 1e9 / f64::from(ROUNDS);
        println!("{name}: {per:.0} ns per request ({bytes} bytes of reply), {ROUNDS} rounds");
    }
    Ok(())
}
