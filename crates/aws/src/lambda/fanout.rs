//! The SQS fan-out consumer: a batch of change messages becomes one call to the
//! session host's fan-out (the same coalescing the local publisher gets; the
//! host's audience here is the connection store's topic index plus
//! `PostToConnection`).
//!
//! With a shard queue the audience only pages the topic index into shard
//! messages (`crate::shards`); the shard consumer (`super::shard`) posts.
//!
//! Failures: a message that is not a change event fails alone (SQS retries it,
//! then parks it in the dead-letter queue after `maxReceiveCount` receives); a
//! connection that answers 410 is forgotten and the rest go on. The batch's
//! change messages are reported failed only when the delivery reached nobody
//! (the index could not be read, the shards could not be sent, every post
//! failed): a redelivery then makes nobody hear a change twice. Connections
//! that keep failing while others were reached are logged and left to catch
//! up on resume (in-process), or retried in a shard of their own (sharded).
//!
//! Metrics (one EMF line per invocation, `super::emf`): the records, the
//! failed ones, and the delivery's report as the poster summed it (nothing
//! counted per connection here), with the lag from the oldest change's commit
//! to the end of its delivery.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

use super::app::LambdaApp;
use super::emf::{self, Metric, Metrics};
use super::runtime::HandlerKind;
use mcp_prompts_engine::domain::ChangeEvent;
use mcp_prompts_engine::ports::DeliveryReport;

/// What one fan-out did, for logs and measurements.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FanoutStats {
    pub changes: usize,
    pub connections: usize,
    pub frames: usize,
    pub gone: usize,
    pub failed: usize,
    /// Shard messages sent (sharded fan-out; connections were not posted here).
    pub shards: usize,
}

pub async fn handle(app: &LambdaApp, event: SqsEvent) -> SqsBatchResponse {
    handle_with_stats(app, event).await.0
}

pub async fn handle_with_stats(
    app: &LambdaApp,
    event: SqsEvent,
) -> (SqsBatchResponse, FanoutStats) {
    let records = event.records.len();
    let mut failures = Vec::new();
    let mut parsed: Vec<(String, ChangeEvent)> = Vec::new();
    for record in event.records {
        let id = record.message_id.unwrap_or_default();
        match serde_json::from_str::<ChangeEvent>(record.body.as_deref().unwrap_or_default()) {
            Ok(change) => parsed.push((id, change)),
            Err(e) => {
                tracing::warn!(message = %id, error = %e, "not a change event; leaving it to retry and the dead-letter queue");
                failures.push(id);
            }
        }
    }
    let mut changes: Vec<ChangeEvent> = parsed.iter().map(|(_, c)| c.clone()).collect();
    changes.sort_by_key(|c| c.position);
    changes.dedup_by_key(|c| c.position);
    let report: DeliveryReport = app.host.fan_out(&changes).await;
    let mut m = Metrics::zeroed(&[Metric::Requests, Metric::Errors]);
    if !changes.is_empty() {
        let now = app.engine.catalog.clock().now_unix_ms();
        if let Some(lag) = emf::lag_ms(&changes, now) {
            m.set(Metric::FanoutLagMs, lag);
        }
    }
    let stats = FanoutStats {
        changes: changes.len(),
        connections: report.connections,
        frames: report.frames,
        gone: report.gone,
        failed: report.failed,
        shards: report.shards,
    };
    if report.failed > 0 && report.connections == 0 && report.shards == 0 {
        failures.extend(parsed.into_iter().map(|(id, _)| id));
    }
    tracing::debug!(?stats, failed_messages = failures.len(), "fan-out");
    m.count(Metric::Requests, records);
    m.count(Metric::Errors, failures.len());
    m.add_delivery(
        report.connections,
        report.frames,
        report.gone,
        report.throttled,
    );
    app.emf.emit(HandlerKind::Fanout, &m);
    (batch_response(failures), stats)
}

/// The partial-batch answer of an SQS consumer: SQS redelivers exactly these
/// messages (the function's event source reports batch item failures).
pub fn batch_response(failed_message_ids: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed_message_ids
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}
