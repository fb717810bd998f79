//! `/health` and `/health/live` of `serve --backend aws`. `/health` probes each
//! dependency the hub cannot serve or notify without, concurrently and each
//! within `CHECK_TIMEOUT`, so a dead dependency gives 503 in seconds, not after
//! the SDK's retries: the prompts table (a read of the change-log head), the
//! template bucket (HeadBucket) and the change queue (GetQueueAttributes, whose
//! message count is the fan-out backlog).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AwsGateway;
use crate::gateway::health::{ms, report};
use mcp_prompts_aws::DynamoPromptStore;
use mcp_prompts_aws::sdk::aws_sdk_sqs::types::QueueAttributeName;
use mcp_prompts_engine::ports::PromptStore;

/// Longest a single dependency check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/health` probes: the prompt store, its clients and bucket.
pub struct Dependencies {
    pub store: Arc<DynamoPromptStore>,
}

pub(super) async fn health(State(gw): State<Arc<AwsGateway>>) -> (StatusCode, Json<Value>) {
    probe(&gw.dependencies).await
}

/// The report of every dependency (also the Lambda `http` handler's `/health`).
pub async fn probe(deps: &Dependencies) -> (StatusCode, Json<Value>) {
    let clients = deps.store.clients();
    let (dynamodb, s3, sqs) = tokio::join!(
        check(async {
            let head = deps
                .store
                .head_position()
                .await
                .map_err(|e| e.to_string())?;
            Ok(json!({"headPosition": head}))
        }),
        check(async {
            clients
                .s3()
                .head_bucket()
                .bucket(deps.store.bucket())
                .send()
                .await
                .map_err(|e| mcp_prompts_aws::error_chain(&e))?;
            Ok(json!({}))
        }),
        check(async {
            let url = deps
                .store
                .outbox
                .queue_url()
                .await
                .map_err(|e| e.to_string())?;
            let out = clients
                .sqs()
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .send()
                .await
                .map_err(|e| mcp_prompts_aws::error_chain(&e))?;
            let depth = out
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
                .and_then(|n| n.parse::<u64>().ok());
            Ok(json!({"queueDepth": depth}))
        }),
    );
    for (name, c) in [("dynamodb", &dynamodb), ("s3", &s3), ("sqs", &sqs)] {
        if c["status"] == "fail" {
            tracing::warn!(dependency = name, detail = %c["detail"], "health check failed");
        }
    }
    report("aws", json!({"dynamodb": dynamodb, "s3": s3, "sqs": sqs}))
}

/// Runs one probe within `CHECK_TIMEOUT`: `{status, latencyMs, ...fields}` or
/// `{status: "fail", latencyMs, detail}`.
async fn check(probe: impl Future<Output = Result<Value, String>>) -> Value {
    let started = Instant::now();
    let outcome = match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("no answer within {} ms", CHECK_TIMEOUT.as_millis())),
    };
    let mut out = match outcome {
        Ok(fields) => fields,
        Err(detail) => json!({"detail": detail}),
    };
    let status = if out.get("detail").is_some() {
        "fail"
    } else {
        "ok"
    };
    out["status"] = json!(status);
    out["latencyMs"] = json!(ms(started));
    out
}
