//! Fan-out through an index: for deployments whose connections live elsewhere
//! (API Gateway), the connection store names who listens on the topics a
//! delivery touches (one query per topic, never a scan) and each gets its
//! frames through the [`Poster`] (bounded in flight, paced, retried per
//! connection).
//!
//! This is the single-process path (no shard queue). A connection that is gone
//! (410) is forgotten and the rest go on; one that keeps failing is counted
//! in the report, and the SQS consumer has the batch redelivered only when
//! nobody was reached (then nobody hears the change twice).

use std::sync::Arc;

use async_trait::async_trait;

use super::post::{Poster, Target};
use crate::fanout::Delivery;
use crate::ports::{Audience, Clock, ConnectionStore, DeliveryReport};

pub struct IndexedAudience {
    pub connections: Arc<dyn ConnectionStore>,
    pub clock: Arc<dyn Clock>,
    pub poster: Poster,
}

#[async_trait]
impl Audience for IndexedAudience {
    async fn deliver(&self, delivery: &Delivery) -> DeliveryReport {
        let topics = delivery.topics();
        let listeners = match self
            .connections
            .listeners(&topics, self.clock.now_unix())
            .await
        {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "cannot find who listens");
                return DeliveryReport {
                    failed: 1,
                    ..DeliveryReport::default()
                };
            }
        };
        let targets = listeners
            .iter()
            .map(|(id, interest)| Target {
                connection_id: id.clone(),
                frames: delivery.frames_to_post(interest),
            })
            .collect();
        let posted = self.poster.post(targets).await;
        if !posted.failed.is_empty() {
            let ids: Vec<&str> = posted.failed.iter().map(|(id, _)| id.as_str()).collect();
            tracing::warn!(failed = ?ids, "connections not reached after every retry");
        }
        posted.report
    }
}
