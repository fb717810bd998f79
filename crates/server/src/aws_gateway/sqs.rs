//! The gateway's stand-in for Lambda's SQS event source mapping: long-polls the
//! change queue, hands each batch to the fan-out handler as a real `SqsEvent`,
//! deletes what succeeded and makes the reported failures visible again after a
//! short delay (so a poison message reaches `maxReceiveCount`, and the queue's
//! redrive policy parks it in the dead-letter queue). With a shard queue it
//! polls that one too, into the shard handler, and the import queue (bulk
//! import jobs) into the import handler, and the deliveries queue (webhook
//! subscribers) into the webhooks handler. Also runs the outbox sweeper,
//! which AWS would run on a schedule.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use tokio_util::sync::CancellationToken;

use super::AwsGateway;
use crate::subscribers::aws::AwsSubscriptions;
use mcp_prompts_aws::lambda::{fanout, imports, shard};
use mcp_prompts_aws::{DynamoPromptStore, error_chain};

/// How long a failed message stays invisible before its next receive.
const RETRY_DELAY_SECS: i32 = 1;

pub async fn poll_changes(
    gw: Arc<AwsGateway>,
    store: Arc<DynamoPromptStore>,
    shutdown: CancellationToken,
) {
    poll(gw, Consumer::Changes(store), shutdown).await
}

/// The shard consumer's event source (sharded fan-out): the shard queue.
pub async fn poll_shards(gw: Arc<AwsGateway>, url: String, shutdown: CancellationToken) {
    poll(gw, Consumer::Shards(url), shutdown).await
}

/// The import handler's event source (bulk import jobs): the import queue.
pub async fn poll_imports(gw: Arc<AwsGateway>, url: String, shutdown: CancellationToken) {
    poll(gw, Consumer::Imports(url), shutdown).await
}

/// The `webhooks` handler's event source: the deliveries queue, plus a pass
/// every [`WEBHOOK_TICK`] while it is quiet (what the sweeper's nudge is on
/// AWS: a nudge lost with a killed process delays a delivery only so long).
pub async fn poll_webhooks(
    gw: Arc<AwsGateway>,
    subscriptions: Arc<AwsSubscriptions>,
    shutdown: CancellationToken,
) {
    poll(gw, Consumer::Webhooks(subscriptions), shutdown).await
}

/// How often the gateway runs a webhook pass without a nudge.
pub const WEBHOOK_TICK: Duration = Duration::from_secs(3);

/// Which Lambda a queue triggers.
enum Consumer {
    /// The change queue (its URL from the outbox) → the fan-out handler.
    Changes(Arc<DynamoPromptStore>),
    /// The shard queue → the shard handler.
    Shards(String),
    /// The import queue → the import handler.
    Imports(String),
    /// The deliveries queue → the webhooks handler.
    Webhooks(Arc<AwsSubscriptions>),
}

async fn poll(gw: Arc<AwsGateway>, consumer: Consumer, shutdown: CancellationToken) {
    let sqs = gw.clients.sqs().clone();
    // The first webhook pass runs at once (what a restart left undelivered).
    let mut last_tick: Option<Instant> = None;
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let url = match &consumer {
            Consumer::Changes(store) => match store.outbox.queue_url().await {
                Ok(url) => url,
                Err(e) => {
                    tracing::warn!(error = %e, "change queue unavailable; retrying");
                    pause(&shutdown, Duration::from_secs(1)).await;
                    continue;
                }
            },
            Consumer::Shards(url) | Consumer::Imports(url) => url.clone(),
            Consumer::Webhooks(s) => s.queue_url().to_string(),
        };
        let receive = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send();
        let received = tokio::select! {
            r = receive => r,
            _ = shutdown.cancelled() => return,
        };
        let messages = match received {
            Ok(out) => out.messages().to_vec(),
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "ReceiveMessage failed; retrying");
                pause(&shutdown, Duration::from_secs(1)).await;
                continue;
            }
        };
        let tick = matches!(consumer, Consumer::Webhooks(_))
            && last_tick.is_none_or(|t| t.elapsed() >= WEBHOOK_TICK);
        if messages.is_empty() && !tick {
            continue;
        }
        let handles: HashMap<String, String> = messages
            .iter()
            .filter_map(|m| Some((m.message_id()?.to_string(), m.receipt_handle()?.to_string())))
            .collect();
        let event = sqs_event(&messages, &url);
        let response = match &consumer {
            Consumer::Changes(_) => fanout::handle(&gw.app, event).await,
            Consumer::Shards(_) => shard::handle(&gw.app, event).await,
            Consumer::Imports(_) => match &gw.app.imports {
                Some(jobs) => imports::handle(&gw.app, jobs, event).await,
                None => fanout::batch_response(Vec::new()),
            },
            Consumer::Webhooks(subscriptions) => {
                last_tick = Some(Instant::now());
                // A quiet tick sends no retry nudge: the next tick retries.
                let nudged = !messages.is_empty();
                subscriptions.handle(&gw.app, event, nudged).await
            }
        };
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        settle(&sqs, &url, &handles, &failed).await;
    }
}

/// Deletes the messages that succeeded; failed ones come back after a delay.
async fn settle(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    handles: &HashMap<String, String>,
    failed: &[&str],
) {
    let entries: Vec<DeleteMessageBatchRequestEntry> = handles
        .iter()
        .filter(|(id, _)| !failed.contains(&id.as_str()))
        .enumerate()
        .filter_map(|(i, (_, handle))| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(handle)
                .build()
                .ok()
        })
        .collect();
    if !entries.is_empty()
        && let Err(e) = sqs
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
    {
        tracing::warn!(error = %error_chain(&e), "DeleteMessageBatch failed (messages will be redelivered)");
    }
    for id in failed {
        if let Some(handle) = handles.get(*id) {
            let _ = sqs
                .change_message_visibility()
                .queue_url(url)
                .receipt_handle(handle)
                .visibility_timeout(RETRY_DELAY_SECS)
                .send()
                .await;
        }
    }
}

/// The event Lambda's SQS integration would deliver.
pub fn sqs_event(messages: &[Message], queue_url: &str) -> SqsEvent {
    let arn = queue_arn(queue_url);
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut r = SqsMessage::default();
            r.message_id = m.message_id().map(str::to_string);
            r.receipt_handle = m.receipt_handle().map(str::to_string);
            r.body = m.body().map(str::to_string);
            r.md5_of_body = m.md5_of_body().map(str::to_string);
            r.attributes = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            r.event_source = Some("aws:sqs".into());
            r.event_source_arn = Some(arn.clone());
            r
        })
        .collect();
    event
}

/// `arn:aws:sqs:{region}:{account}:{name}` from a queue URL, best effort.
fn queue_arn(url: &str) -> String {
    let parts: Vec<&str> = url.trim_end_matches('/').rsplit('/').take(2).collect();
    match parts.as_slice() {
        [name, account] => format!("arn:aws:sqs:local:{account}:{name}"),
        _ => format!("arn:aws:sqs:local:000000000000:{url}"),
    }
}

pub async fn sweep_outbox(
    store: Arc<DynamoPromptStore>,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        pause(&shutdown, every).await;
        if shutdown.is_cancelled() {
            return;
        }
        if let Err(e) = store.outbox.sweep().await {
            tracing::warn!(error = %e, "outbox sweep failed");
        }
    }
}

async fn pause(shutdown: &CancellationToken, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = shutdown.cancelled() => {}
    }
}
