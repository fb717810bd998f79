//! The audience port: hand one planned delivery to everyone who listens. The
//! local registry does it in place with `try_send` on each connection's bounded
//! queue; on AWS the connection store is asked who listens on the touched
//! topics and each gets its frames by `PostToConnection`
//! ([`crate::host::IndexedAudience`]).

use async_trait::async_trait;

use crate::fanout::Delivery;

/// What one delivery did, for logs, metrics and the SQS batch response.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Connections that were sent at least one frame.
    pub connections: usize,
    pub frames: usize,
    /// Connections found gone (410) and forgotten.
    pub gone: usize,
    /// Connections dropped because they stopped reading.
    pub dropped_slow: usize,
    /// Connections that could not be reached for another reason; the delivery
    /// should be retried for them.
    pub failed: usize,
    /// `PostToConnection` answers that were throttled (429; each was retried).
    pub throttled: usize,
    /// Shard messages the delivery was handed on as (sharded fan-out: the
    /// connections are then posted by the shard consumers, not counted here).
    pub shards: usize,
}

#[async_trait]
pub trait Audience: Send + Sync + 'static {
    async fn deliver(&self, delivery: &Delivery) -> DeliveryReport;

    /// Where delivery starts (a publisher's position at startup): connections
    /// opened from now on count as having seen everything up to it.
    fn start_at(&self, _position: u64) {}
}
