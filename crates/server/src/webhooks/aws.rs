//! The GitHub webhook on AWS (the Lambda `http` handler): a Lambda freezes
//! once it has answered, so an accepted push is not synced in the background
//! but queued on the catalog events queue, where the `s3sync` handler reads
//! each pushed path from the catalog's S3 prefix (present: imported; gone: its
//! prompt deleted). Delivery ids live in DynamoDB (a conditional put), so a
//! replay is refused by every instance, not only the one that saw it first.

use std::sync::Arc;

use async_trait::async_trait;
use mcp_prompts_aws::schema::{PK, SK, TTL};
use mcp_prompts_aws::sdk::aws_sdk_dynamodb::types::AttributeValue;
use mcp_prompts_aws::sdk::aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use mcp_prompts_aws::{AwsClients, error_chain};
use serde_json::json;

use super::{DeliveryLog, PushSink, QueueRefusal, SyncJob};

/// Paths per queue message (SQS takes up to 256 KB a message).
pub const PATHS_PER_MESSAGE: usize = 500;
/// The partition of the prompts table holding seen delivery ids.
pub const DELIVERIES_PK: &str = "WEBHOOK";
/// How long a delivery id is remembered (GitHub redelivers for days, not weeks).
const REMEMBER_SECS: u64 = 30 * 24 * 3600;

/// The body of a catalog events message asking `s3sync` to sync pushed paths.
pub fn push_message(delivery: &str, paths: &[String]) -> String {
    json!({ "githubPush": { "delivery": delivery, "paths": paths } }).to_string()
}

pub struct CatalogQueue {
    pub clients: Arc<AwsClients>,
    pub queue_url: String,
}

#[async_trait]
impl PushSink for CatalogQueue {
    async fn queue(&self, job: SyncJob) -> Result<(), QueueRefusal> {
        let messages: Vec<String> = job
            .paths
            .chunks(PATHS_PER_MESSAGE)
            .map(|paths| push_message(&job.delivery, paths))
            .collect();
        for batch in messages.chunks(10) {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(|e| QueueRefusal::Failed(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let sent = self
                .clients
                .sqs()
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueRefusal::Failed(error_chain(&e)))?;
            if let Some(failed) = sent.failed().first() {
                // Some paths are queued: a redelivery re-syncs them, which changes nothing twice.
                return Err(QueueRefusal::Failed(format!(
                    "SQS refused a message: {}",
                    failed.message().unwrap_or(failed.code())
                )));
            }
        }
        Ok(())
    }
}

/// Delivery ids as items `WEBHOOK` / `github#<id>` of the prompts table.
pub struct DynamoDeliveries {
    pub clients: Arc<AwsClients>,
    pub table: String,
}

impl DynamoDeliveries {
    fn key(id: &str) -> AttributeValue {
        AttributeValue::S(format!("github#{id}"))
    }
}

#[async_trait]
impl DeliveryLog for DynamoDeliveries {
    async fn first_time(&self, id: &str) -> Result<bool, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let put = self
            .clients
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .item(PK, AttributeValue::S(DELIVERIES_PK.into()))
            .item(SK, Self::key(id))
            .item(TTL, AttributeValue::N((now + REMEMBER_SECS).to_string()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(error_chain(&e)),
        }
    }

    async fn forget(&self, id: &str) {
        let deleted = self
            .clients
            .dynamodb()
            .delete_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(DELIVERIES_PK.into()))
            .key(SK, Self::key(id))
            .send()
            .await;
        if let Err(e) = deleted {
            tracing::warn!(delivery = id, error = %error_chain(&e), "could not forget a delivery id");
        }
    }
}
