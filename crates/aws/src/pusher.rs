//! The pusher on AWS: `PostToConnection` through the API Gateway management API.
//! A 410 (`GoneException`) means the client has gone; the caller then forgets the
//! connection and its subscriptions.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use bytes::Bytes;

use super::config::AwsClients;
use super::error_chain;
use mcp_prompts_engine::ports::{PushOutcome, Pusher};

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

/// The last frame a connection gets before `DeleteConnection` closes it.
pub fn closing_notice(reason: &str) -> Bytes {
    let notice = serde_json::json!({
        "jsonrpc": "2.0",
        "method": "notifications/message",
        "params": {"level": "warning", "logger": "session", "data": reason}
    });
    Bytes::from(notice.to_string())
}
