//! The registry as the local deployment's connection store, pusher and
//! audience: the session host talks to it through the same ports it uses for
//! API Gateway, and delivery keeps its in-place `try_send` fast path.

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;

use super::registry::{Outgoing, Registry};
use crate::domain::Interest;
use crate::fanout::Delivery;
use crate::ports::{
    Audience, ConnectionRecord, ConnectionStore, DeliveryReport, PushOutcome, Pusher, StoreResult,
    Topic,
};

#[async_trait]
impl ConnectionStore for Registry {
    async fn put(&self, record: &ConnectionRecord) -> StoreResult<()> {
        if let Some(conn) = self.by_key(&record.connection_id) {
            conn.bind(&record.session_id, record.connected_at);
        }
        Ok(())
    }

    async fn get(&self, connection_id: &str, _now: u64) -> StoreResult<Option<ConnectionRecord>> {
        Ok(self.by_key(connection_id).map(|c| c.record()))
    }

    async fn set_interest(
        &self,
        connection_id: &str,
        interest: &Interest,
        _expires_at: u64,
    ) -> StoreResult<()> {
        if let Some(conn) = self.by_key(connection_id) {
            conn.set_interest(interest);
        }
        Ok(())
    }

    async fn delete(&self, connection_id: &str) -> StoreResult<()> {
        if let Some(conn) = self.by_key(connection_id) {
            self.remove(conn.id);
        }
        Ok(())
    }

    async fn listeners(&self, topics: &[Topic], _now: u64) -> StoreResult<Vec<(String, Interest)>> {
        Ok(self.interests(|interest| {
            Topic::of_interest(interest)
                .iter()
                .any(|t| topics.contains(t))
        }))
    }

    fn seen(&self, connection_id: &str) -> Option<u64> {
        self.by_key(connection_id).map(|c| c.seen())
    }

    fn begin_catch_up(&self, connection_id: &str) {
        if let Some(conn) = self.by_key(connection_id) {
            conn.begin_catch_up();
        }
    }

    fn finish_catch_up(&self, connection_id: &str, upto: u64) -> Vec<Bytes> {
        self.by_key(connection_id)
            .map(|c| c.finish_catch_up(upto))
            .unwrap_or_default()
    }
}

#[async_trait]
impl Pusher for Registry {
    async fn push(&self, connection_id: &str, frame: Bytes) -> PushOutcome {
        let Some(conn) = self.by_key(connection_id) else {
            return PushOutcome::Gone;
        };
        match conn.sender().try_send(Outgoing::Frame(frame)) {
            Ok(()) => PushOutcome::Delivered,
            Err(mpsc::error::TrySendError::Full(_)) => {
                conn.dropped.cancel();
                self.remove(conn.id);
                PushOutcome::Dropped
            }
            Err(mpsc::error::TrySendError::Closed(_)) => PushOutcome::Gone,
        }
    }

    async fn disconnect(&self, connection_id: &str, code: u16, reason: &'static str) {
        if let Some(conn) = self.by_key(connection_id) {
            self.take_over(conn.id, code, reason);
        }
    }
}

#[async_trait]
impl Audience for Registry {
    async fn deliver(&self, delivery: &Delivery) -> DeliveryReport {
        let stats = self.deliver_now(delivery);
        DeliveryReport {
            connections: stats.sessions,
            frames: stats.frames,
            dropped_slow: stats.dropped_slow,
            ..Default::default()
        }
    }

    fn start_at(&self, position: u64) {
        Registry::start_at(self, position);
    }
}
