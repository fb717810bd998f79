//! Startup wiring: builds the store, catalog, engine and gateway from the
//! command-line settings. Tests start the same thing through the binary.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpSocket;
use tokio_util::sync::CancellationToken;

use crate::adapters::embedded::EmbeddedStore;
use crate::edges::cli::ServeArgs;
use crate::edges::gateway::{Gateway, Limits};
use crate::engine::{Catalog, Engine, EngineConfig};
use crate::ports::{PromptStore, SystemClock};
use crate::realtime::{Publisher, PublisherConfig, Registry};

/// Runs `serve` until SIGINT/SIGTERM.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let data = args.data_dir();
    let clock = Arc::new(SystemClock);
    let store = Arc::new(
        EmbeddedStore::open(&data, clock.clone())
            .with_context(|| format!("opening the data folder {}", data.display()))?,
    );
    let catalog = Arc::new(Catalog::new(store.clone(), clock));
    if !args.no_seed {
        let seeded = crate::seed::seed_if_empty(&catalog)
            .await
            .context("seeding the starter catalog")?;
        if seeded > 0 {
            tracing::info!(seeded, "seeded the starter catalog");
        }
    }
    let prompts = store.count_live().await?;
    let config = EngineConfig {
        page_size: args.page_size.max(1),
        max_message_bytes: args.max_message_bytes,
    };
    let engine = Arc::new(Engine::new(catalog.clone(), config));

    let shutdown = CancellationToken::new();
    let listener = bind(args.addr)?;
    let addr = listener.local_addr()?;
    let registry = Arc::new(Registry::new(args.send_queue));
    let publisher = Publisher {
        store: store.clone(),
        cursor: store.clone(),
        wake: Publisher::wake_on_commit(&catalog),
        catalog: catalog.clone(),
        registry: registry.clone(),
        config: PublisherConfig {
            window: Duration::from_millis(args.coalesce_ms),
            consumer: Some(format!("gateway@{}", args.addr)),
            ..Default::default()
        },
    };
    let publishing = tokio::spawn(publisher.run(shutdown.clone()));
    let limits = Limits {
        ping_interval: Duration::from_secs(args.ping_secs.max(1)),
        ..Default::default()
    };
    let gateway = Gateway::new(engine, registry, shutdown.clone(), limits);
    announce(&addr, &data, prompts)?;

    tokio::spawn(wait_for_signal(shutdown.clone()));
    gateway.serve(listener).await?;
    let _ = publishing.await;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Binds with a large listen backlog: tokio's default of 128 makes thousands of
/// clients connecting at once wait for SYN retries.
fn bind(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket
        .bind(addr)
        .with_context(|| format!("binding {addr}"))?;
    Ok(socket.listen(8192)?)
}

fn announce(
    addr: &std::net::SocketAddr,
    data: &std::path::Path,
    prompts: u64,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "mcp-prompts {} serving {} prompts from {}",
        crate::engine::protocol::SERVER_VERSION,
        prompts,
        data.display()
    )?;
    writeln!(
        out,
        "  MCP over WebSocket: ws://{addr}/ws   (subprotocol \"mcp\")"
    )?;
    writeln!(out, "  Health:             http://{addr}/health")?;
    out.flush()
}

async fn wait_for_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
    shutdown.cancel();
}
