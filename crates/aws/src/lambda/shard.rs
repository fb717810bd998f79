//! The shard consumer (`MCP_PROMPTS_HANDLER=shard`): each SQS record is one
//! shard of a fan-out. It plans the same `Delivery` from the shard's changes
//! (frames serialized once per shard) and posts every connection of the shard
//! with the app's `Poster`: many in flight, paced, each retried on its own.
//!
//! Failures stay with their connections: the ones still failing after the
//! poster's tries go back to the shard queue as a shard of their own (delayed,
//! `attempt + 1`, skipping the frames each already got) and the record
//! succeeds, so nobody hears the change twice. A shard still failing at its
//! last attempt (then it holds only failing connections), or a record that is
//! not a shard, is reported as a batch item failure alone: SQS redelivers it,
//! then parks it in the dead-letter queue after `maxReceiveCount`.
//!
//! Metrics (one EMF line per invocation, `super::emf`): shards, failed ones,
//! and the summed post reports, with the lag from the oldest change's commit
//! to the end of the last shard's posts.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};

use super::app::LambdaApp;
use super::emf::{self, Metric, Metrics};
use super::fanout::batch_response;
use super::runtime::HandlerKind;
use crate::shards::{ShardBuilder, ShardMessage, ShardTarget};
use mcp_prompts_engine::fanout::Delivery;
use mcp_prompts_engine::host::Target;

/// Attempts of a connection's shard (the first and its retries) before the
/// last one is left to SQS's redelivery and the dead-letter queue.
pub const MAX_SHARD_ATTEMPTS: u32 = 3;

/// What one invocation did, for logs, tests and the bench.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ShardStats {
    pub shards: usize,
    pub connections: usize,
    pub frames: usize,
    pub gone: usize,
    /// Connections handed on as a retry shard.
    pub retried: usize,
    pub throttled: usize,
}

pub async fn handle(app: &LambdaApp, event: SqsEvent) -> SqsBatchResponse {
    handle_with_stats(app, event).await.0
}

pub async fn handle_with_stats(app: &LambdaApp, event: SqsEvent) -> (SqsBatchResponse, ShardStats) {
    let mut stats = ShardStats::default();
    let mut failures = Vec::new();
    let records = event.records.len();
    let mut lag: Option<f64> = None;
    for record in event.records {
        let id = record.message_id.unwrap_or_default();
        let shard = match ShardMessage::parse(record.body.as_deref().unwrap_or_default()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(message = %id, error = %e, "not a shard; leaving it to retry and the dead-letter queue");
                failures.push(id);
                continue;
            }
        };
        // Measured at the end of each shard's posts; the largest is the lag.
        let committed = emf::committed_ms(&shard.changes);
        if !post_shard(app, shard, &mut stats).await {
            failures.push(id);
        }
        if let Some(at) = committed {
            let this = app.engine.catalog.clock().now_unix_ms().saturating_sub(at) as f64;
            lag = Some(lag.map_or(this, |l: f64| l.max(this)));
        }
    }
    let mut m = Metrics::requests(records, failures.len());
    m.add_delivery(stats.connections, stats.frames, stats.gone, stats.throttled);
    if let Some(lag) = lag {
        m.set(Metric::FanoutLagMs, lag);
    }
    app.emf.emit(HandlerKind::Shard, &m);
    (batch_response(failures), stats)
}

/// Posts one shard; false if it must be redelivered as it is.
async fn post_shard(app: &LambdaApp, shard: ShardMessage, stats: &mut ShardStats) -> bool {
    stats.shards += 1;
    let delivery = Delivery::plan(&shard.changes);
    let targets = shard
        .to
        .iter()
        .map(|t| {
            let mut frames = delivery.frames_to_post(&t.interest());
            frames.drain(..t.skip.min(frames.len()));
            Target {
                connection_id: t.connection_id.clone(),
                frames,
            }
        })
        .collect();
    let posted = app.poster.post(targets).await;
    stats.connections += posted.report.connections;
    stats.frames += posted.report.frames;
    stats.gone += posted.report.gone;
    stats.throttled += posted.report.throttled;
    if posted.failed.is_empty() {
        return true;
    }
    let next = shard.attempt + 1;
    let Some(queue) = app.shards.as_ref().filter(|_| next < MAX_SHARD_ATTEMPTS) else {
        tracing::warn!(
            failed = posted.failed.len(),
            attempt = shard.attempt,
            "shard still failing; leaving it to SQS"
        );
        // Only a first shard can hold connections that were reached; a retry
        // shard holds exactly the failing ones.
        return false;
    };
    let sent: std::collections::HashMap<&str, usize> = posted
        .failed
        .iter()
        .map(|(id, sent)| (id.as_str(), *sent))
        .collect();
    let mut builder = ShardBuilder::new(&shard.changes, next, usize::MAX);
    let mut bodies: Vec<String> = Vec::new();
    for t in &shard.to {
        let Some(sent) = sent.get(t.connection_id.as_str()) else {
            continue;
        };
        let mut retry = ShardTarget::new(t.connection_id.clone(), &t.interest());
        retry.skip = t.skip + sent;
        bodies.extend(builder.push(&retry));
    }
    bodies.extend(builder.finish());
    let delay = 1u32 << next;
    for body in bodies {
        if let Err(e) = queue.send(body, delay).await {
            tracing::error!(error = %e, "could not queue the retry of a shard's failed connections");
            return false;
        }
    }
    stats.retried += posted.failed.len();
    true
}
