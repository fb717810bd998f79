//! The local connection registry: the in-process side of the pusher port. Each
//! live connection (WebSocket, SSE stream, stdio) has a bounded queue of outgoing
//! frames and a copy of its session's interest, which the fan-out reads.
//!
//! The map and each interest sit behind `std::sync` locks: delivery only does
//! `try_send` while holding them, never an `.await`, so a slow client can never
//! hold up the others; a client whose queue is full is closed instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::engine::fanout::Delivery;
use crate::engine::session::Interest;

/// Close code for a client dropped because it stopped reading (policy violation).
pub const CLOSE_SLOW_CLIENT: u16 = 1008;
pub const SLOW_CLIENT_REASON: &str = "send queue full: client is not reading";

/// A frame queued for one connection.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Frame(Bytes),
    Close { code: u16, reason: &'static str },
}

pub struct Connection {
    pub id: u64,
    tx: mpsc::Sender<Outgoing>,
    interest: Mutex<Interest>,
    /// Cancelled when the hub drops the connection (slow client, shutdown).
    pub dropped: CancellationToken,
}

impl Connection {
    /// Records what the session wants to hear; called after each message that may
    /// have changed it.
    pub fn set_interest(&self, interest: &Interest) {
        let mut current = self.interest.lock().unwrap_or_else(|e| e.into_inner());
        if *current != *interest {
            *current = interest.clone();
        }
    }

    pub fn sender(&self) -> &mpsc::Sender<Outgoing> {
        &self.tx
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryStats {
    pub frames: usize,
    pub sessions: usize,
    pub dropped_slow: usize,
}

pub struct Registry {
    connections: RwLock<HashMap<u64, Arc<Connection>>>,
    next_id: AtomicU64,
    queue_capacity: usize,
}

impl Registry {
    pub fn new(queue_capacity: usize) -> Self {
        Self {
            connections: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            queue_capacity: queue_capacity.max(1),
        }
    }

    /// Adds a connection; its owner drains the receiver and calls `remove` at the end.
    pub fn register(&self) -> (Arc<Connection>, mpsc::Receiver<Outgoing>) {
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Connection {
            id,
            tx,
            interest: Mutex::new(Interest::default()),
            dropped: CancellationToken::new(),
        });
        self.write().insert(id, conn.clone());
        (conn, rx)
    }

    pub fn remove(&self, id: u64) {
        self.write().remove(&id);
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues each connection's share of `delivery`. A connection whose queue is
    /// full is dropped (its owner closes it with `CLOSE_SLOW_CLIENT`).
    pub fn deliver(&self, delivery: &Delivery) -> DeliveryStats {
        let mut stats = DeliveryStats::default();
        let mut slow = Vec::new();
        {
            let connections = self.read();
            for conn in connections.values() {
                let interest = conn.interest.lock().unwrap_or_else(|e| e.into_inner());
                let mut sent = 0;
                let mut full = false;
                let mut push = |frame: Bytes| {
                    if full {
                        return;
                    }
                    match conn.tx.try_send(Outgoing::Frame(frame)) {
                        Ok(()) => sent += 1,
                        Err(mpsc::error::TrySendError::Full(_)) => full = true,
                        Err(mpsc::error::TrySendError::Closed(_)) => {}
                    }
                };
                for frame in delivery.frames_for(&interest) {
                    push(frame.clone());
                }
                for listener in &interest.listeners {
                    delivery.listener_frames(listener, &mut push);
                }
                if full {
                    slow.push(conn.clone());
                }
                stats.frames += sent;
                stats.sessions += usize::from(sent > 0);
            }
        }
        stats.dropped_slow = slow.len();
        for conn in slow {
            tracing::warn!(
                connection = conn.id,
                "dropping a client that stopped reading"
            );
            conn.dropped.cancel();
            self.remove(conn.id);
        }
        stats
    }

    /// Drops every connection (shutdown).
    pub fn drop_all(&self) {
        for conn in self.read().values() {
            conn.dropped.cancel();
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.connections.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.connections.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChangeEvent, ChangeKind, PromptId};

    fn delivery() -> Delivery {
        Delivery::plan(&[ChangeEvent {
            position: 1,
            id: PromptId::parse("a").unwrap(),
            version: 2,
            kind: ChangeKind::Updated,
            category: None,
            tags: vec![],
            actor: "x".into(),
            timestamp: "t".into(),
            label: None,
        }])
    }

    fn listening() -> Interest {
        Interest {
            initialized: true,
            list_changed: true,
            ..Default::default()
        }
    }

    #[test]
    fn delivers_to_interested_connections_only() {
        let reg = Registry::new(8);
        let (a, mut rx_a) = reg.register();
        let (_b, mut rx_b) = reg.register();
        a.set_interest(&listening());
        let stats = reg.deliver(&delivery());
        assert_eq!((stats.frames, stats.sessions), (2, 1));
        assert!(matches!(rx_a.try_recv(), Ok(Outgoing::Frame(_))));
        assert!(rx_b.try_recv().is_err());
    }

    #[test]
    fn a_full_queue_drops_that_client_and_spares_the_rest() {
        let reg = Registry::new(2);
        let (slow, _rx_slow) = reg.register();
        let (fast, mut rx_fast) = reg.register();
        slow.set_interest(&listening());
        fast.set_interest(&listening());
        reg.deliver(&delivery());
        while rx_fast.try_recv().is_ok() {}
        let stats = reg.deliver(&delivery());
        assert_eq!(stats.dropped_slow, 1);
        assert!(slow.dropped.is_cancelled());
        assert!(!fast.dropped.is_cancelled());
        assert_eq!(reg.len(), 1);
        assert!(rx_fast.try_recv().is_ok());
    }
}
