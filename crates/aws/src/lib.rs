//! The AWS adapter: the ports implemented on DynamoDB, S3, SQS and the API Gateway
//! management API, so the same engine runs in Lambda (see `crate::lambda`)
//! or behind the local AWS-style gateway (`serve --backend aws`).
//!
//! - [`config`]: names and endpoint, the shared SDK config, lazy clients.
//! - [`metrics`]: counts SDK calls per service and operation (cost per request).
//! - [`schema`]: table, index and queue definitions; [`bootstrap`] creates them.
//! - [`prompt_store`] + [`writes`]: the `PromptStore` (versions, latest pointer,
//!   labels, change log) with [`blobs`] for templates too big for an item;
//!   [`history`] reads and bounds the change log.
//! - [`catalog_files`]: catalog files in S3 (`import|export s3://…`).
//! - [`outbox`]: publishes committed changes to SQS, and sweeps what failed.
//! - [`sessions`], [`connections`], [`keys`]: the session, connection and API key stores.
//! - [`subscribers`]: webhook subscribers and their delivery state, the deliveries queue.
//! - [`pusher`]: `PostToConnection` through the management API.
//! - [`shards`]: the sharded fan-out (shard messages, the shard queue, the
//!   audience that pages the topic index into shards).
//! - [`lambda`]: the Lambda entry points (WebSocket routes, SQS fan-out,
//!   sweeper), thin edges over the engine.

pub mod blobs;
pub mod bootstrap;
mod bulk;
pub mod catalog_files;
pub mod config;
pub mod connections;
pub mod history;
pub mod imports;
mod items;
pub mod keys;
pub mod lambda;
pub mod metrics;
pub mod outbox;
pub mod prompt_store;
pub mod pusher;
pub mod schema;
pub mod sessions;
pub mod shards;
pub mod subscribers;
pub mod sync_order;
mod transact;
mod writes;

pub use config::{AwsClients, AwsSettings};
pub use connections::DynamoConnectionStore;
pub use history::HistoryBounds;
pub use keys::DynamoKeyStore;
pub use outbox::Outbox;
pub use prompt_store::DynamoPromptStore;
pub use pusher::ApiGatewayPusher;
pub use sessions::DynamoSessionStore;
pub use subscribers::{DynamoSubscriberStore, WebhookQueue};

use mcp_prompts_engine::ports::StoreError;

/// The AWS crates this adapter is built on, for tests and tools that drive the
/// same services (so nothing else has to depend on the SDK directly).
pub mod sdk {
    pub use aws_config;
    pub use aws_lambda_events;
    pub use aws_sdk_apigatewaymanagement;
    pub use aws_sdk_dynamodb;
    pub use aws_sdk_s3;
    pub use aws_sdk_sqs;
    pub use aws_smithy_runtime_api;
}

/// Any SDK failure, as the ports report it: the message names the operation.
pub(crate) fn sdk_error<E: std::error::Error>(operation: &str, e: E) -> StoreError {
    StoreError::Backend(format!("{operation}: {}", error_chain(&e)))
}

/// An error and its sources on one line (SDK errors keep the useful part inside).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch.
pub fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
