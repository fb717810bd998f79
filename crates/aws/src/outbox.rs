//! The transactional outbox: every write transaction also puts its change item
//! (`CHANGES` / `C#{position}`) with an `outbox_key`, so a committed change is
//! durably queued for publishing in the same atomic step as the write itself.
//! After the commit the writer sends it to SQS and removes the key ("marks it
//! published"). If `SendMessage` fails, or the process dies in between, the key
//! stays and the sweeper (run periodically by the gateway, or on a schedule in
//! AWS) republishes items older than a grace period. Delivery is therefore at
//! least once: a crash between send and mark republishes, and the fan-out is
//! idempotent enough for that (a repeated `list_changed` is harmless).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use tokio::sync::Mutex;

use super::config::{AwsClients, AwsSettings};
use super::items::{self, Item};
use super::schema::{self, CHANGES_PK, OUTBOX_INDEX, OUTBOX_KEY, OUTBOX_PENDING};
use super::{sdk_error, unix_now_ms};
use mcp_prompts_engine::domain::ChangeEvent;
use mcp_prompts_engine::ports::{StoreError, StoreResult};

/// Attribute of a change item: when it was committed (ms), for the sweeper.
pub const COMMITTED_MS: &str = "committed_ms";
/// Attribute of a change item: the `ChangeEvent` JSON, also the SQS message body.
pub const EVENT: &str = "event";
const SWEEP_PAGE: i32 = 100;

pub struct Outbox {
    clients: Arc<AwsClients>,
    table: String,
    queue: String,
    queue_url: Mutex<Option<String>>,
    grace: Duration,
}

impl Outbox {
    pub fn new(clients: Arc<AwsClients>, settings: &AwsSettings) -> Self {
        Self {
            clients,
            table: settings.prompts_table.clone(),
            queue: settings.queue.clone(),
            queue_url: Mutex::new(settings.queue_url.clone()),
            grace: settings.outbox_grace,
        }
    }

    /// The change item for `event`, pending publication.
    pub fn pending_item(event: &ChangeEvent) -> StoreResult<Item> {
        let json = serde_json::to_string(event).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut item = items::key(CHANGES_PK, schema::change_sk(event.position));
        item.insert("position".into(), items::n(event.position));
        item.insert(EVENT.into(), items::s(json));
        item.insert(OUTBOX_KEY.into(), items::s(OUTBOX_PENDING));
        item.insert(COMMITTED_MS.into(), items::n(unix_now_ms()));
        Ok(item)
    }

    /// Publishes a just-committed change; a failure is logged and left to the
    /// sweeper (the write itself has succeeded and must be reported so).
    pub async fn publish(&self, event: &ChangeEvent) {
        let result = async {
            let body =
                serde_json::to_string(event).map_err(|e| StoreError::Backend(e.to_string()))?;
            let url = self.queue_url().await?;
            self.clients
                .sqs()
                .send_message()
                .queue_url(url)
                .message_body(body)
                .send()
                .await
                .map_err(|e| sdk_error("SQS SendMessage", e))?;
            self.mark_published(event.position).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(position = event.position, error = %e, "change not published yet; the outbox sweeper will retry");
        }
    }

    /// Publishes the changes of one batch write (`SendMessageBatch`, ten per
    /// call); as with [`Outbox::publish`], what fails is left to the sweeper.
    pub async fn publish_all(&self, events: &[ChangeEvent]) {
        let bodies: Result<Vec<(u64, String)>, _> = events
            .iter()
            .map(|e| serde_json::to_string(e).map(|body| (e.position, body)))
            .collect();
        let result = match bodies {
            Ok(bodies) => self.send_and_mark(&bodies).await,
            Err(e) => Err(StoreError::Backend(e.to_string())),
        };
        if let Err(e) = result {
            tracing::warn!(changes = events.len(), error = %e, "changes not all published yet; the outbox sweeper will retry");
        }
    }

    /// Sends `(position, body)` pairs in batches of ten and marks each one SQS
    /// took as published; returns how many were.
    async fn send_and_mark(&self, due: &[(u64, String)]) -> StoreResult<usize> {
        let url = self.queue_url().await?;
        let mut published = 0;
        for chunk in due.chunks(10) {
            let entries = chunk
                .iter()
                .map(|(position, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(position.to_string())
                        .message_body(body)
                        .build()
                        .map_err(|e| sdk_error("SQS batch entry", e))
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let sent = self
                .clients
                .sqs()
                .send_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sdk_error("SQS SendMessageBatch", e))?;
            // The ten marks of a batch at once: an import's changes come 32 at a time.
            let marks = sent
                .successful()
                .iter()
                .filter_map(|ok| ok.id().parse::<u64>().ok())
                .map(|position| self.mark_published(position));
            for marked in futures_util::future::join_all(marks).await {
                marked?;
                published += 1;
            }
        }
        Ok(published)
    }

    /// Republishes changes committed more than the grace period ago and still
    /// unpublished; returns how many were published. Bounded: one page per call.
    pub async fn sweep(&self) -> StoreResult<usize> {
        let out = self
            .clients
            .dynamodb()
            .query()
            .table_name(&self.table)
            .index_name(OUTBOX_INDEX)
            .key_condition_expression("#k = :pending")
            .expression_attribute_names("#k", OUTBOX_KEY)
            .expression_attribute_values(":pending", items::s(OUTBOX_PENDING))
            .limit(SWEEP_PAGE)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB Query outbox", e))?;
        let cutoff = unix_now_ms().saturating_sub(self.grace.as_millis() as u64);
        let due: Vec<(u64, String)> = out
            .items()
            .iter()
            .filter(|i| items::get_n(i, COMMITTED_MS).unwrap_or(0) <= cutoff)
            .filter_map(|i| {
                Some((
                    items::get_n(i, "position")?,
                    items::get_s(i, EVENT)?.to_string(),
                ))
            })
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        let published = self.send_and_mark(&due).await?;
        tracing::info!(published, "outbox sweeper republished changes");
        Ok(published)
    }

    async fn mark_published(&self, position: u64) -> StoreResult<()> {
        self.clients
            .dynamodb()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::key(CHANGES_PK, schema::change_sk(position))))
            .update_expression("REMOVE #k")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#k", OUTBOX_KEY)
            .expression_attribute_names("#pk", schema::PK)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB UpdateItem outbox", e))?;
        Ok(())
    }

    /// The queue URL: configured, or looked up by name once (a failed lookup is
    /// retried next time, so a queue created later is found).
    pub async fn queue_url(&self) -> StoreResult<String> {
        let mut cached = self.queue_url.lock().await;
        if let Some(url) = cached.as_ref() {
            return Ok(url.clone());
        }
        let out = self
            .clients
            .sqs()
            .get_queue_url()
            .queue_name(&self.queue)
            .send()
            .await
            .map_err(|e| sdk_error("SQS GetQueueUrl", e))?;
        let url = out
            .queue_url()
            .ok_or_else(|| StoreError::Backend("SQS GetQueueUrl returned no URL".into()))?
            .to_string();
        *cached = Some(url.clone());
        Ok(url)
    }
}

/// How many change items still wait for publication (for tests and health).
pub async fn pending_count(clients: &AwsClients, table: &str) -> StoreResult<usize> {
    let out = clients
        .dynamodb()
        .query()
        .table_name(table)
        .index_name(OUTBOX_INDEX)
        .key_condition_expression("#k = :pending")
        .expression_attribute_names("#k", OUTBOX_KEY)
        .expression_attribute_values(":pending", AttributeValue::S(OUTBOX_PENDING.into()))
        .send()
        .await
        .map_err(|e| sdk_error("DynamoDB Query outbox", e))?;
    Ok(out.items().len())
}
