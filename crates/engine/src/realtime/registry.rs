//! The local connection registry: the in-process side of the pusher port. Each
//! live connection (WebSocket, SSE stream, stdio) has a bounded queue of outgoing
//! frames and a copy of its session's interest, which the fan-out reads.
//!
//! The map and each interest sit behind `std::sync` locks: delivery only does
//! `try_send` while holding them, never an `.await`, so a slow client can never
//! hold up the others; a client whose queue is full is closed instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::drop_signal::DropSignal;
use crate::fanout::Delivery;
use crate::ports::ConnectionRecord;
use crate::session::Interest;

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
    /// The id the session host and the ports know it by: unique across
    /// restarts (a stored session names the connection it was attached to).
    pub key: String,
    tx: mpsc::Sender<Outgoing>,
    state: Mutex<ConnectionState>,
    /// The newest change position this connection has been brought up to.
    seen: AtomicU64,
    /// Cancelled when the hub drops the connection (slow client, shutdown).
    pub dropped: DropSignal,
    /// Set when another connection resumed this one's session.
    taken_over: AtomicBool,
}

#[derive(Default)]
struct ConnectionState {
    interest: Interest,
    /// The session the connection speaks for (`ConnectionStore::put`).
    session_id: String,
    connected_at: u64,
    /// While a replay is being sent, live frames wait here (with their positions)
    /// so they follow the replay instead of overtaking it.
    catching_up: Option<Vec<(u64, Bytes)>>,
}

impl Connection {
    /// Records what the session wants to hear; called after each message that may
    /// have changed it.
    pub fn set_interest(&self, interest: &Interest) {
        let mut state = self.lock();
        if state.interest != *interest {
            state.interest = interest.clone();
        }
    }

    /// Records the session this connection speaks for.
    pub fn bind(&self, session_id: &str, connected_at: u64) {
        let mut state = self.lock();
        state.session_id = session_id.to_string();
        state.connected_at = connected_at;
    }

    /// The connection as the connection store port describes it.
    pub fn record(&self) -> ConnectionRecord {
        let state = self.lock();
        ConnectionRecord {
            connection_id: self.key.clone(),
            session_id: state.session_id.clone(),
            connected_at: state.connected_at,
            // Open until it closes: a local connection has no maximum lifetime.
            expires_at: u64::MAX,
        }
    }

    pub fn sender(&self) -> &mpsc::Sender<Outgoing> {
        &self.tx
    }

    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }

    pub fn is_taken_over(&self) -> bool {
        self.taken_over.load(Ordering::Relaxed)
    }

    /// Starts holding live frames back (call before reading the replay range).
    pub fn begin_catch_up(&self) {
        self.lock().catching_up.get_or_insert_with(Vec::new);
    }

    /// Ends a catch-up: returns the live frames held back meanwhile that the
    /// replay (up to `upto`) did not already cover, in order, and lets live frames
    /// through again. The caller writes the replay and then these frames itself:
    /// a replay can be longer than the queue, and the queue's only reader is the
    /// connection that is catching up.
    pub fn finish_catch_up(&self, upto: u64) -> Vec<Bytes> {
        let mut state = self.lock();
        let held = state.catching_up.take().unwrap_or_default();
        let mut newest = upto;
        let frames = held
            .into_iter()
            .filter(|(p, _)| *p > upto)
            .map(|(p, frame)| {
                newest = newest.max(p);
                frame
            })
            .collect();
        self.seen.fetch_max(newest, Ordering::Relaxed);
        frames
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ConnectionState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
    /// Prefix of every connection key, random per process.
    instance: String,
    next_id: AtomicU64,
    queue_capacity: usize,
    /// The newest position delivered; where new connections start.
    position: AtomicU64,
}

impl Registry {
    pub fn new(queue_capacity: usize) -> Self {
        Self {
            connections: RwLock::new(HashMap::new()),
            instance: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            next_id: AtomicU64::new(1),
            queue_capacity: queue_capacity.max(1),
            position: AtomicU64::new(0),
        }
    }

    /// Adds a connection; its owner drains the receiver and calls `remove` at the end.
    pub fn register(&self) -> (Arc<Connection>, mpsc::Receiver<Outgoing>) {
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Connection {
            id,
            key: format!("{}.{id}", self.instance),
            tx,
            state: Mutex::new(ConnectionState::default()),
            seen: AtomicU64::new(self.position()),
            dropped: DropSignal::default(),
            taken_over: AtomicBool::new(false),
        });
        self.write().insert(id, conn.clone());
        (conn, rx)
    }

    pub fn remove(&self, id: u64) {
        self.write().remove(&id);
    }

    /// The connection a key names, if it is one of this process's and open.
    pub fn by_key(&self, key: &str) -> Option<Arc<Connection>> {
        let (instance, id) = key.rsplit_once('.')?;
        if instance != self.instance {
            return None;
        }
        self.read().get(&id.parse().ok()?).cloned()
    }

    /// The newest change position delivered so far.
    pub fn position(&self) -> u64 {
        self.position.load(Ordering::Relaxed)
    }

    /// Where delivery starts (the publisher's starting position).
    pub fn start_at(&self, position: u64) {
        self.position.fetch_max(position, Ordering::Relaxed);
    }

    /// Closes connection `id` with `code` because its session moved to another
    /// connection; returns whether it was open.
    pub fn take_over(&self, id: u64, code: u16, reason: &'static str) -> bool {
        let Some(conn) = self.read().get(&id).cloned() else {
            return false;
        };
        conn.taken_over.store(true, Ordering::Relaxed);
        if conn.tx.try_send(Outgoing::Close { code, reason }).is_err() {
            conn.dropped.cancel();
        }
        self.remove(id);
        true
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// The keys and interests of the connections whose interest passes `keep`.
    pub fn interests(&self, keep: impl Fn(&Interest) -> bool) -> Vec<(String, Interest)> {
        let mut out: Vec<(String, Interest)> = self
            .read()
            .values()
            .filter_map(|c| {
                let state = c.lock();
                keep(&state.interest).then(|| (c.key.clone(), state.interest.clone()))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues each connection's share of `delivery`. A connection whose queue is
    /// full is dropped (its owner closes it with `CLOSE_SLOW_CLIENT`).
    pub fn deliver_now(&self, delivery: &Delivery) -> DeliveryStats {
        let mut stats = DeliveryStats::default();
        let mut slow = Vec::new();
        {
            let connections = self.read();
            for conn in connections.values() {
                let mut guard = conn.lock();
                let state = &mut *guard;
                if let Some(held) = state.catching_up.as_mut() {
                    held.extend(
                        delivery
                            .positioned_frames_for(&state.interest)
                            .map(|(p, f)| (p, f.clone())),
                    );
                    continue;
                }
                let interest = &state.interest;
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
                // A replay may already have covered part of this batch.
                let seen = conn.seen.load(Ordering::Relaxed);
                for (position, frame) in delivery.positioned_frames_for(interest) {
                    if position > seen {
                        push(frame.clone());
                    }
                }
                for listener in &interest.listeners {
                    delivery.listener_frames(listener, &mut push);
                }
                conn.seen.fetch_max(delivery.position, Ordering::Relaxed);
                if full {
                    slow.push(conn.clone());
                }
                stats.frames += sent;
                stats.sessions += usize::from(sent > 0);
            }
        }
        self.position
            .fetch_max(delivery.position, Ordering::Relaxed);
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
        delivery_at(1)
    }

    fn delivery_at(position: u64) -> Delivery {
        Delivery::plan(&[ChangeEvent {
            position,
            id: PromptId::parse("a").unwrap(),
            version: 2,
            kind: ChangeKind::Updated,
            category: None,
            tags: vec![],
            actor: "x".into(),
            timestamp: "t".into(),
            label: None,
            partial: None,
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
        let stats = reg.deliver_now(&delivery());
        assert_eq!((stats.frames, stats.sessions), (2, 1));
        assert!(matches!(rx_a.try_recv(), Ok(Outgoing::Frame(_))));
        assert!(rx_b.try_recv().is_err());
    }

    #[test]
    fn frames_a_connection_already_has_are_not_sent_again() {
        let reg = Registry::new(8);
        let (a, mut rx) = reg.register();
        a.set_interest(&listening());
        assert_eq!(reg.deliver_now(&delivery_at(3)).frames, 2);
        assert_eq!(
            reg.deliver_now(&delivery_at(3)).frames,
            0,
            "position 3 was seen"
        );
        assert_eq!(a.seen(), 3);
        let (late, _rx_late) = reg.register();
        assert_eq!(
            late.seen(),
            3,
            "a new connection starts at the delivered position"
        );
        while rx.try_recv().is_ok() {}
    }

    #[test]
    fn a_full_queue_drops_that_client_and_spares_the_rest() {
        let reg = Registry::new(2);
        let (slow, _rx_slow) = reg.register();
        let (fast, mut rx_fast) = reg.register();
        slow.set_interest(&listening());
        fast.set_interest(&listening());
        reg.deliver_now(&delivery_at(1));
        while rx_fast.try_recv().is_ok() {}
        let stats = reg.deliver_now(&delivery_at(2));
        assert_eq!(stats.dropped_slow, 1);
        assert!(slow.dropped.is_cancelled());
        assert!(!fast.dropped.is_cancelled());
        assert_eq!(reg.len(), 1);
        assert!(rx_fast.try_recv().is_ok());
    }

    #[test]
    fn a_catch_up_holds_live_frames_and_returns_only_those_after_the_replay() {
        let reg = Registry::new(8);
        let (conn, mut rx) = reg.register();
        conn.begin_catch_up();
        conn.set_interest(&listening());
        reg.deliver_now(&delivery_at(4));
        reg.deliver_now(&delivery_at(6));
        assert!(rx.try_recv().is_err(), "live frames wait while catching up");
        let held = conn.finish_catch_up(4);
        assert_eq!(held.len(), 2, "the replay covered position 4; 6 follows it");
        let at_6: &[u8] = b"\"position\":6";
        assert!(
            held.iter()
                .all(|f| f.windows(at_6.len()).any(|w| w == at_6))
        );
        assert_eq!(conn.seen(), 6);
        reg.deliver_now(&delivery_at(7));
        assert!(rx.try_recv().is_ok(), "live frames flow again");
    }
}
