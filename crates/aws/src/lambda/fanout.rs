//! The SQS fan-out consumer: a batch of change messages becomes one
//! `Delivery::plan` (the same coalescing the local publisher does), the
//! connection store names who listens on the touched topics, and each gets its
//! frames by `PostToConnection`, a bounded number in flight.
//!
//! Failures: a message that is not a change event fails alone (SQS retries it,
//! then parks it in the dead-letter queue after `maxReceiveCount` receives); a
//! connection that answers 410 is deleted with its subscriptions and the rest go
//! on; if posting fails otherwise (throttling, outage) after a few tries, the
//! batch's change messages are reported failed so SQS redelivers them (some
//! clients may then hear a change twice: delivery is at least once).

use std::time::Duration;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use bytes::Bytes;
use futures_util::StreamExt;

use super::app::LambdaApp;
use crate::unix_now;
use mcp_prompts_engine::domain::ChangeEvent;
use mcp_prompts_engine::fanout::Delivery;
use mcp_prompts_engine::ports::{PushOutcome, Topic};

/// Tries per post before a connection counts as failed (not gone).
const POST_ATTEMPTS: u32 = 3;

/// What one fan-out did, for logs and measurements.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FanoutStats {
    pub changes: usize,
    pub connections: usize,
    pub frames: usize,
    pub gone: usize,
    pub failed: usize,
}

enum Outcome {
    Delivered(usize),
    Gone,
    Failed,
}

pub async fn handle(app: &LambdaApp, event: SqsEvent) -> SqsBatchResponse {
    handle_with_stats(app, event).await.0
}

pub async fn handle_with_stats(
    app: &LambdaApp,
    event: SqsEvent,
) -> (SqsBatchResponse, FanoutStats) {
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
    let stats = match deliver(app, &changes).await {
        Ok(stats) => stats,
        Err(stats) => {
            failures.extend(parsed.into_iter().map(|(id, _)| id));
            stats
        }
    };
    tracing::debug!(?stats, failed_messages = failures.len(), "fan-out");
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    (response, stats)
}

/// Delivers one batch; `Err` when some connection could not be reached for a
/// reason other than being gone (the batch should be retried).
async fn deliver(app: &LambdaApp, changes: &[ChangeEvent]) -> Result<FanoutStats, FanoutStats> {
    let mut stats = FanoutStats {
        changes: changes.len(),
        ..Default::default()
    };
    if changes.is_empty() {
        return Ok(stats);
    }
    for c in changes {
        app.engine.catalog.invalidate(&c.id);
    }
    let delivery = Delivery::plan(changes);
    let listeners = match app
        .connections
        .listeners(&Topic::of_changes(changes), unix_now())
        .await
    {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot find who listens");
            return Err(stats);
        }
    };
    let targets: Vec<(String, Vec<Bytes>)> = listeners
        .iter()
        .map(|(id, interest)| {
            (
                id.clone(),
                delivery.frames_for(interest).cloned().collect::<Vec<_>>(),
            )
        })
        .filter(|(_, frames)| !frames.is_empty())
        .collect();
    stats.connections = targets.len();
    let outcomes: Vec<Outcome> = futures_util::stream::iter(targets)
        .map(|(id, frames)| post_all(app, id, frames))
        .buffer_unordered(app.limits.fanout_concurrency.max(1))
        .collect()
        .await;
    for o in outcomes {
        match o {
            Outcome::Delivered(n) => stats.frames += n,
            Outcome::Gone => stats.gone += 1,
            Outcome::Failed => stats.failed += 1,
        }
    }
    if stats.failed > 0 {
        Err(stats)
    } else {
        Ok(stats)
    }
}

/// Posts a connection's frames in order; a gone connection is forgotten.
async fn post_all(app: &LambdaApp, connection_id: String, frames: Vec<Bytes>) -> Outcome {
    let mut sent = 0;
    for frame in frames {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match app.pusher.push(&connection_id, frame.clone()).await {
                PushOutcome::Delivered => break,
                PushOutcome::Gone => {
                    tracing::debug!(connection = %connection_id, "gone (410): forgetting it");
                    if let Err(e) = app.connections.delete(&connection_id).await {
                        tracing::warn!(connection = %connection_id, error = %e, "could not delete a gone connection");
                    }
                    return Outcome::Gone;
                }
                PushOutcome::Dropped => return Outcome::Gone,
                PushOutcome::Failed(e) if attempt >= POST_ATTEMPTS => {
                    tracing::warn!(connection = %connection_id, error = %e, "PostToConnection failed");
                    return Outcome::Failed;
                }
                PushOutcome::Failed(_) => {
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
            }
        }
        sent += 1;
    }
    Outcome::Delivered(sent)
}
