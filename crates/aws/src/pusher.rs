//! The pusher on AWS: `PostToConnection` through the API Gateway management API.
//! A 410 (`GoneException`) means the client has gone; the caller then forgets the
//! connection and its subscriptions. A 429 (`LimitExceededException`) is
//! reported as throttling, so the fan-out slows down; the SDK's own retries
//! are off for this client (`AwsClients::apigateway`), so every throttle is
//! seen by the pace instead of being absorbed and re-sent at full rate. A
//! message over API Gateway's 128 KB never leaves the hub.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use bytes::Bytes;

use super::config::AwsClients;
use super::error_chain;
use mcp_prompts_engine::ports::{PushOutcome, Pusher};

/// API Gateway's largest WebSocket message, both ways.
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;

pub struct ApiGatewayPusher {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl ApiGatewayPusher {
    /// `endpoint`: `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`
    /// (or the local gateway's base URL).
    pub fn new(clients: &Arc<AwsClients>, endpoint: &str) -> Self {
        Self {
            client: clients.apigateway(endpoint),
        }
    }
}

#[async_trait]
impl Pusher for ApiGatewayPusher {
    async fn push(&self, connection_id: &str, frame: Bytes) -> PushOutcome {
        if frame.len() > MAX_MESSAGE_BYTES {
            return PushOutcome::Failed(format!(
                "a {} byte message is over API Gateway's {MAX_MESSAGE_BYTES}; not sent",
                frame.len()
            ));
        }
        let sent = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(frame.to_vec()))
            .send()
            .await;
        match sent {
            Ok(_) => PushOutcome::Delivered,
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PostToConnectionError::GoneException(_)) =>
            {
                PushOutcome::Gone
            }
            Err(e) if throttled(&e) => PushOutcome::Throttled,
            Err(e) => PushOutcome::Failed(error_chain(&e)),
        }
    }

    async fn disconnect(&self, connection_id: &str, _code: u16, reason: &'static str) {
        // The management API closes without a code or reason of our choosing
        // (API Gateway sends 1000): the reason goes first as a log message
        // every MCP client can show.
        let _ = self.push(connection_id, closing_notice(reason)).await;
        if let Err(e) = self
            .client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
        {
            tracing::debug!(connection = connection_id, error = %error_chain(&e), "DeleteConnection failed");
        }
    }
}

/// `LimitExceededException`, or any 429 (a proxy in front may answer one).
fn throttled(e: &SdkError<PostToConnectionError, HttpResponse>) -> bool {
    if let SdkError::ServiceError(s) = e
        && matches!(s.err(), PostToConnectionError::LimitExceededException(_))
    {
        return true;
    }
    e.raw_response().is_some_and(|r| r.status().as_u16() == 429)
}

/// The last frame a connection gets before `DeleteConnection` closes it.
pub fn closing_notice(reason: &str) -> Bytes {
    let notice = serde_json::json!({
        "jsonrpc": "2.0",
        "method": "notifications/message",
        "params": {"level": "warning", "logger": "session", "data": reason}
    });
    Bytes::from(notice.to_string())
}
