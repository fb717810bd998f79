//! The pusher port: send a frame to a connection id, or close it. Locally the
//! connection registry; on AWS the API Gateway management API.

use async_trait::async_trait;
use bytes::Bytes;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    Delivered,
    /// The connection no longer exists (410 Gone): forget it and its subscriptions.
    Gone,
    /// The connection could not keep up and was dropped.
    Dropped,
    /// The endpoint is over its request rate (API Gateway's 429,
    /// `LimitExceededException`): post slower and try again.
    Throttled,
    Failed(String),
}

#[async_trait]
pub trait Pusher: Send + Sync + 'static {
    async fn push(&self, connection_id: &str, frame: Bytes) -> PushOutcome;
    /// Closes a connection (e.g. when its session reconnected elsewhere).
    async fn disconnect(&self, connection_id: &str, code: u16, reason: &'static str);
}
