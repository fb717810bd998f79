//! `aws bootstrap`: creates the tables (with their indexes and TTL), the bucket,
//! and the change queue with its dead-letter queue, from the definitions in
//! `schema.rs`. Idempotent: whatever exists already is left as it is.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;

use super::config::{AwsClients, AwsSettings};
use super::error_chain;
use super::schema::{self, KeyAttr, TableDef};

#[derive(Debug, thiserror::Error)]
#[error("bootstrap failed at {step}: {reason}")]
pub struct BootstrapError {
    pub step: String,
    pub reason: String,
}

fn failed(step: impl Into<String>, e: &dyn std::error::Error) -> BootstrapError {
    BootstrapError {
        step: step.into(),
        reason: error_chain(e),
    }
}

/// What bootstrap did, for the CLI to print.
#[derive(Debug, Default)]
pub struct Bootstrapped {
    pub created: Vec<String>,
    pub existing: Vec<String>,
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    /// The sharded fan-out's queue (`MCP_PROMPTS_SHARD_QUEUE_URL`) and its DLQ.
    pub shard_queue_url: String,
    pub shard_dead_letter_queue_url: String,
    /// Bulk import batches' queue (`MCP_PROMPTS_IMPORT_QUEUE_URL`) and its DLQ.
    pub import_queue_url: String,
    pub import_dead_letter_queue_url: String,
    /// The webhook deliveries' nudge queue (`MCP_PROMPTS_WEBHOOK_QUEUE_URL`) and its DLQ.
    pub webhook_queue_url: String,
    pub webhook_dead_letter_queue_url: String,
}

pub async fn run(clients: &AwsClients, s: &AwsSettings) -> Result<Bootstrapped, BootstrapError> {
    let mut done = Bootstrapped::default();
    for (name, def) in [
        (&s.prompts_table, &schema::PROMPTS_TABLE),
        (&s.sessions_table, &schema::SESSIONS_TABLE),
        (&s.connections_table, &schema::CONNECTIONS_TABLE),
    ] {
        let what = format!("table {name}");
        if create_table(clients, name, def).await? {
            done.created.push(what);
        } else {
            done.existing.push(what);
        }
    }
    let what = format!("bucket {}", s.bucket);
    if create_bucket(clients, s).await? {
        done.created.push(what);
    } else {
        done.existing.push(what);
    }
    let what = format!("queues {} and {}", s.queue, s.dead_letter_queue());
    let existed = clients
        .sqs()
        .get_queue_url()
        .queue_name(&s.queue)
        .send()
        .await
        .is_ok();
    let (queue, dlq) = create_queues(clients, &s.queue).await?;
    done.queue_url = queue;
    done.dead_letter_queue_url = dlq;
    if existed {
        done.existing.push(what);
    } else {
        done.created.push(what);
    }
    let (shards, shards_dlq) = create_queues(clients, schema::SHARD_QUEUE).await?;
    done.shard_queue_url = shards;
    done.shard_dead_letter_queue_url = shards_dlq;
    let (imports, imports_dlq) = create_queues(clients, schema::IMPORT_QUEUE).await?;
    done.import_queue_url = imports;
    done.import_dead_letter_queue_url = imports_dlq;
    let (webhooks, webhooks_dlq) = create_queues(clients, schema::WEBHOOK_QUEUE).await?;
    done.webhook_queue_url = webhooks;
    done.webhook_dead_letter_queue_url = webhooks_dlq;
    Ok(done)
}

fn key_element(attr: KeyAttr, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(attr.0)
        .key_type(key_type)
        .build()
        .expect("name and type are set")
}

fn attribute(attr: KeyAttr) -> AttributeDefinition {
    let kind = if attr.1 == "N" {
        ScalarAttributeType::N
    } else {
        ScalarAttributeType::S
    };
    AttributeDefinition::builder()
        .attribute_name(attr.0)
        .attribute_type(kind)
        .build()
        .expect("name and type are set")
}

/// Creates the table unless it exists; returns whether it was created.
async fn create_table(
    clients: &AwsClients,
    name: &str,
    def: &TableDef,
) -> Result<bool, BootstrapError> {
    let db = clients.dynamodb();
    if db.describe_table().table_name(name).send().await.is_ok() {
        return Ok(false);
    }
    let mut attrs = vec![def.hash];
    attrs.extend(def.range);
    for (_, h, r) in def.indexes {
        attrs.push(*h);
        attrs.push(*r);
    }
    attrs.sort();
    attrs.dedup();
    let mut req = db
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element(def.hash, KeyType::Hash))
        .set_attribute_definitions(Some(attrs.into_iter().map(attribute).collect()));
    if let Some(range) = def.range {
        req = req.key_schema(key_element(range, KeyType::Range));
    }
    for (index, h, r) in def.indexes {
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(*index)
            .key_schema(key_element(*h, KeyType::Hash))
            .key_schema(key_element(*r, KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| failed(format!("index {index}"), &e))?;
        req = req.global_secondary_indexes(gsi);
    }
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            return Ok(false);
        }
        Err(e) => return Err(failed(format!("CreateTable {name}"), &e)),
    }
    if let Some(ttl) = def.ttl {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(ttl)
            .enabled(true)
            .build()
            .map_err(|e| failed("TTL spec", &e))?;
        db.update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| failed(format!("UpdateTimeToLive {name}"), &e))?;
    }
    Ok(true)
}

async fn create_bucket(clients: &AwsClients, s: &AwsSettings) -> Result<bool, BootstrapError> {
    let s3 = clients.s3();
    if s3.head_bucket().bucket(&s.bucket).send().await.is_ok() {
        return Ok(false);
    }
    let mut req = s3.create_bucket().bucket(&s.bucket);
    let region = clients.sdk_config().region().map(|r| r.to_string());
    if let Some(region) = region.filter(|r| r != "us-east-1") {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
            }) =>
        {
            Ok(false)
        }
        Err(e) => Err(failed(format!("CreateBucket {}", s.bucket), &e)),
    }
}

/// Creates the dead-letter queue `{name}-dlq`, then the queue redriving to it
/// after `MAX_RECEIVE_COUNT` receives. `CreateQueue` with the same attributes
/// is a no-op.
async fn create_queues(
    clients: &AwsClients,
    name: &str,
) -> Result<(String, String), BootstrapError> {
    let sqs = clients.sqs();
    let dlq = format!("{name}-dlq");
    let dlq_url = sqs
        .create_queue()
        .queue_name(&dlq)
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            schema::DLQ_RETENTION_SECS.to_string(),
        )
        .send()
        .await
        .map_err(|e| failed(format!("CreateQueue {dlq}"), &e))?
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| failed(format!("GetQueueAttributes {dlq}"), &e))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": schema::MAX_RECEIVE_COUNT.to_string(),
    });
    let url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            schema::QUEUE_VISIBILITY_SECS.to_string(),
        )
        .send()
        .await
        .map_err(|e| failed(format!("CreateQueue {name}"), &e))?
        .queue_url()
        .unwrap_or_default()
        .to_string();
    Ok((url, dlq_url))
}
