//! The change consumer's audience when a shard queue is configured: it walks
//! the topic index page by page (one topic after the other, a connection
//! listening on several topics taken once), cuts each listener's interest down
//! to what the delivery touches, and sends shards of `shard_size` connections
//! to the shard queue as they fill, a few in flight. It posts nothing itself.
//!
//! Memory: the ids seen so far (for the once-each rule) and the shards in
//! flight; never all interests at once.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;

use super::message::{ShardBuilder, ShardTarget};
use super::queue::ShardQueue;
use mcp_prompts_engine::domain::ChangeEvent;
use mcp_prompts_engine::fanout::Delivery;
use mcp_prompts_engine::ports::{Audience, Clock, ConnectionStore, DeliveryReport, StoreResult};

/// Pages read per topic, at most (each up to `shard_size` items).
const MAX_PAGES_PER_TOPIC: usize = 100_000;

pub struct ShardingAudience {
    pub connections: Arc<dyn ConnectionStore>,
    pub clock: Arc<dyn Clock>,
    pub queue: Arc<ShardQueue>,
    /// Connections per shard, at most.
    pub shard_size: usize,
}

#[async_trait]
impl Audience for ShardingAudience {
    async fn deliver(&self, delivery: &Delivery) -> DeliveryReport {
        match self.plan(delivery).await {
            Ok(report) => report,
            Err(e) => {
                tracing::error!(error = %e, "sharding the fan-out failed; the batch is retried");
                DeliveryReport {
                    failed: 1,
                    ..DeliveryReport::default()
                }
            }
        }
    }
}

impl ShardingAudience {
    async fn plan(&self, delivery: &Delivery) -> StoreResult<DeliveryReport> {
        let changes: Vec<ChangeEvent> = delivery.changes().cloned().collect();
        let now = self.clock.now_unix();
        let mut builder = ShardBuilder::new(&changes, 0, self.shard_size);
        let mut seen: HashSet<String> = HashSet::new();
        let mut report = DeliveryReport::default();
        let mut ready: Vec<String> = Vec::new();
        for topic in delivery.topics() {
            let mut after: Option<String> = None;
            for _ in 0..MAX_PAGES_PER_TOPIC {
                let page = self
                    .connections
                    .listeners_page(&topic, after.as_deref(), self.shard_size, now)
                    .await?;
                for (id, interest) in page.listeners {
                    if seen.contains(&id) {
                        continue;
                    }
                    let narrow = delivery.narrow(&interest);
                    if delivery.frames_to_post(&narrow).is_empty() {
                        continue;
                    }
                    report.connections += 1;
                    let target = ShardTarget::new(id.clone(), &narrow);
                    seen.insert(id);
                    ready.extend(builder.push(&target));
                }
                if ready.len() >= self.queue.in_flight {
                    report.shards += self.queue.send_all(std::mem::take(&mut ready)).await?;
                }
                after = page.next;
                if after.is_none() {
                    break;
                }
            }
        }
        ready.extend(builder.finish());
        report.shards += self.queue.send_all(ready).await?;
        tracing::debug!(
            connections = report.connections,
            shards = report.shards,
            "fan-out sharded"
        );
        Ok(report)
    }
}
