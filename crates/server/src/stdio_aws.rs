//! `mcp-prompts stdio --backend aws`: one MCP client on stdin/stdout, with the
//! prompts in the AWS tables (DynamoDB, S3) that `serve --backend aws` and the
//! Lambda functions use.
//!
//! How changes made by others reach this session: the process tails the change
//! log in the prompts table (`CHANGES`/`C#{position}`) with the same
//! `Publisher` the embedded hub runs on its SQLite change log: one strongly
//! consistent `Query` for the items after its position every `--poll-ms`
//! (empty, and cheap, while nothing changes), and at once after its own writes.
//! That log is the outbox and the replay source already, so this reader sees
//! every committed change in order, exactly once, and takes nothing from anyone.
//!
//! It does not read the SQS change queue: that is a work queue for the fan-out
//! Lambda (each message goes to one receiver, which deletes it), so a stdio
//! process receiving from it would steal changes from the WebSocket clients.
//! A queue per process would need SNS in front and the cleanup of queues left by
//! processes that exited. Its own writes still go through the store's outbox to
//! SQS, so WebSocket clients hear about them as usual.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cli::StdioArgs;
use mcp_prompts_aws::{AwsClients, DynamoPromptStore};
use mcp_prompts_engine::host::HostSettings;
use mcp_prompts_engine::memory::MemorySessionStore;
use mcp_prompts_engine::ports::{Clock, PromptStore, SystemClock};
use mcp_prompts_engine::realtime::{Publisher, PublisherConfig, Registry};
use mcp_prompts_engine::{Catalog, Engine, EngineConfig};

/// Serves one client until stdin closes or SIGINT/SIGTERM.
pub async fn run(args: StdioArgs) -> anyhow::Result<()> {
    let settings = args.aws.settings();
    let clients = Arc::new(AwsClients::load(&settings).await);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(DynamoPromptStore::new(clients, &settings, clock.clone()));
    let catalog = Arc::new(Catalog::new(store.clone(), clock));
    if !args.hub.no_seed {
        mcp_prompts_engine::seed::seed_if_empty(&catalog)
            .await
            .context("seeding the starter catalog (did you run `mcp-prompts aws bootstrap`?)")?;
    }
    let prompts = store
        .count_live()
        .await
        .context("reading the prompts table")?;
    let config = EngineConfig {
        page_size: args.hub.page_size.max(1),
        max_message_bytes: args.hub.max_message_bytes,
    };
    // The session lives in this process: there is no other connection to resume on.
    let sessions = Arc::new(MemorySessionStore::default());
    let engine = Arc::new(Engine::new(catalog, config).with_sessions(sessions.clone()));
    let registry = Arc::new(Registry::new(args.hub.send_queue.max(1)));
    let host = crate::startup::local_host(engine, sessions, &registry, HostSettings::default());
    let publisher = Publisher::new(
        store.clone(),
        host.clone(),
        PublisherConfig {
            window: Duration::from_millis(args.hub.coalesce_ms),
            poll: Duration::from_millis(args.poll_ms.max(10)),
            // No saved position: the session hears about changes from its start on.
            consumer: None,
            ..Default::default()
        },
    );
    let shutdown = CancellationToken::new();
    let publishing = tokio::spawn(publisher.run(shutdown.clone()));
    tracing::info!(prompts, table = %settings.prompts_table, "serving MCP on stdio (backend aws)");
    tokio::spawn(crate::startup::wait_for_signal(shutdown.clone()));
    crate::stdio::run(host, registry, shutdown.clone()).await;
    shutdown.cancel();
    let _ = publishing.await;
    Ok(())
}
