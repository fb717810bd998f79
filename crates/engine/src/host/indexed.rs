//! Fan-out through an index: for deployments whose connections live elsewhere
//! (API Gateway), the connection store names who listens on the topics a
//! delivery touches (one query per topic, never a scan) and each gets its
//! frames through the pusher, a bounded number of connections in flight.
//!
//! A connection that is gone (410) is forgotten with its topic items and the
//! rest go on; one that fails otherwise is retried a few times with backoff and
//! then counted as failed, so the caller can have the batch redelivered.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;

use crate::fanout::Delivery;
use crate::ports::{Audience, Clock, ConnectionStore, DeliveryReport, PushOutcome, Pusher};

/// Tries per post before a connection counts as failed (not gone).
const POST_ATTEMPTS: u32 = 3;

pub struct IndexedAudience {
    pub connections: Arc<dyn ConnectionStore>,
    pub pusher: Arc<dyn Pusher>,
    pub clock: Arc<dyn Clock>,
    /// Connections posted to at once.
    pub concurrency: usize,
}

enum Outcome {
    Delivered(usize),
    Gone,
    Failed,
}

#[async_trait]
impl Audience for IndexedAudience {
    async fn deliver(&self, delivery: &Delivery) -> DeliveryReport {
        let mut report = DeliveryReport::default();
        let topics = delivery.topics();
        let listeners = match self
            .connections
            .listeners(&topics, self.clock.now_unix())
            .await
        {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "cannot find who listens");
                report.failed = 1;
                return report;
            }
        };
        let targets: Vec<(String, Vec<Bytes>)> = listeners
            .iter()
            .map(|(id, interest)| (id.clone(), delivery.frames_for(interest).cloned().collect()))
            .filter(|(_, frames): &(String, Vec<Bytes>)| !frames.is_empty())
            .collect();
        let outcomes: Vec<Outcome> = futures_util::stream::iter(targets)
            .map(|(id, frames)| self.post_all(id, frames))
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        for o in outcomes {
            match o {
                Outcome::Delivered(n) => {
                    report.connections += 1;
                    report.frames += n;
                }
                Outcome::Gone => report.gone += 1,
                Outcome::Failed => report.failed += 1,
            }
        }
        report
    }
}

impl IndexedAudience {
    /// Posts a connection's frames in order; a gone connection is forgotten.
    async fn post_all(&self, connection_id: String, frames: Vec<Bytes>) -> Outcome {
        let mut sent = 0;
        for frame in frames {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match self.pusher.push(&connection_id, frame.clone()).await {
                    PushOutcome::Delivered => break,
                    PushOutcome::Gone | PushOutcome::Dropped => {
                        tracing::debug!(connection = %connection_id, "gone: forgetting it");
                        if let Err(e) = self.connections.delete(&connection_id).await {
                            tracing::warn!(connection = %connection_id, error = %e, "could not delete a gone connection");
                        }
                        return Outcome::Gone;
                    }
                    PushOutcome::Failed(e) if attempt >= POST_ATTEMPTS => {
                        tracing::warn!(connection = %connection_id, error = %e, "push failed");
                        return Outcome::Failed;
                    }
                    PushOutcome::Failed(_) => {
                        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                    }
                }
            }
            sent += 1;
        }
        Outcome::Delivered(sent)
    }
}
