//! Keeps the DynamoDB change history within its bounds (`--history-*`), as the
//! embedded `serve` does for SQLite; on AWS the scheduled sweeper Lambda does it.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use mcp_prompts_aws::{DynamoPromptStore, HistoryBounds};

/// Prunes at start, then every `every`, until shutdown.
pub async fn prune(
    store: Arc<DynamoPromptStore>,
    bounds: HistoryBounds,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        match store.prune_history(bounds).await {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "pruned the change history"),
            Err(e) => tracing::warn!(error = %e, "could not prune the change history"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
