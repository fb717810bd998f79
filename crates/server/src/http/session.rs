//! One Streamable HTTP session: its attachment to the session host (the MCP
//! session state, kept in the session store too, so it survives a restart of
//! `serve`), the registry connection that receives its notifications, and the
//! replay buffer its standalone SSE stream reads from.
//!
//! The attachment sits behind a tokio mutex because a request holds it across
//! the host's `.await`s: one session's requests run one at a time, in arrival
//! order, as they would on a WebSocket. At most `max_pending` of them are in
//! flight (waiting for the mutex or running); more are refused, so a client
//! cannot pile up unbounded waiters on one session. Everything else is behind `std` locks
//! held for a few instructions and never across an `.await`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::events::{EventLog, Replay};
use mcp_prompts_engine::domain::Principal;
use mcp_prompts_engine::host::Attachment;
use mcp_prompts_engine::realtime::Connection;

pub struct HttpSession {
    pub id: String,
    pub state: tokio::sync::Mutex<Attachment>,
    pub conn: Arc<Connection>,
    events: Mutex<EventLog>,
    /// Id of the newest event, so streams wake when there is something to send.
    latest: watch::Sender<u64>,
    last_active: Mutex<Instant>,
    /// The open standalone stream, if any; a new GET replaces it, so each
    /// notification goes out on exactly one stream.
    stream: Mutex<Option<AttachedStream>>,
    streams_opened: AtomicU64,
    /// Cancelled when the session ends (DELETE, expiry, shutdown).
    pub closed: CancellationToken,
    /// Set when the session ends for good (DELETE, idle expiry) rather than
    /// with the process (shutdown), which leaves it resumable.
    ended: AtomicBool,
    /// Requests in flight; `try_acquire` fails beyond `max_pending`.
    pending: tokio::sync::Semaphore,
    max_pending: usize,
    /// The session's place in its caller's budget, given back when it ends.
    slot: Mutex<Option<crate::per_principal::Slot>>,
}

impl HttpSession {
    pub fn new(
        attachment: Attachment,
        conn: Arc<Connection>,
        replay_events: usize,
        max_pending: usize,
        slot: crate::per_principal::Slot,
    ) -> Self {
        Self {
            pending: tokio::sync::Semaphore::new(max_pending),
            max_pending,
            slot: Mutex::new(Some(slot)),
            id: attachment.session.id.clone(),
            state: tokio::sync::Mutex::new(attachment),
            conn,
            events: Mutex::new(EventLog::new(replay_events)),
            latest: watch::channel(0).0,
            last_active: Mutex::new(Instant::now()),
            stream: Mutex::new(None),
            streams_opened: AtomicU64::new(0),
            closed: CancellationToken::new(),
            ended: AtomicBool::new(false),
        }
    }

    /// Ends the session for good: its record is deleted, not kept for resume.
    pub fn end(&self) {
        self.ended.store(true, Ordering::Relaxed);
        self.closed.cancel();
        self.release_slot();
    }

    /// Gives the session's place in its caller's budget back (it ended).
    pub fn release_slot(&self) {
        let slot = lock(&self.slot).take();
        drop(slot);
    }

    /// A place among the session's requests in flight, or `Err(limit)` when
    /// `max_pending` are already waiting or running.
    pub fn try_pending(&self) -> Result<tokio::sync::SemaphorePermit<'_>, usize> {
        self.pending.try_acquire().map_err(|_| self.max_pending)
    }

    /// Whether a request by `principal` may use this session.
    pub async fn belongs_to(&self, principal: Option<&Principal>) -> bool {
        self.state.lock().await.session.principal.as_ref() == principal
    }

    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }

    /// Queues a server→client message for the standalone stream.
    pub fn publish(&self, frame: Bytes) {
        let id = lock(&self.events).push(frame);
        self.latest.send_replace(id);
    }

    pub fn watch_events(&self) -> watch::Receiver<u64> {
        self.latest.subscribe()
    }

    pub fn last_event_id(&self) -> u64 {
        lock(&self.events).last_id()
    }

    pub fn events_after(&self, id: u64) -> Replay {
        lock(&self.events).after(id)
    }

    pub fn touch(&self) {
        *lock(&self.last_active) = Instant::now();
    }

    /// Idle: no request for `timeout` and no stream open.
    pub fn is_idle(&self, timeout: Duration) -> bool {
        let streaming = lock(&self.stream).is_some();
        !streaming && lock(&self.last_active).elapsed() >= timeout
    }

    /// Makes a new stream the session's only one; the previous stream ends.
    pub fn attach_stream(&self) -> AttachedStream {
        let mut current = lock(&self.stream);
        let generation = self.streams_opened.fetch_add(1, Ordering::Relaxed);
        let stream = AttachedStream {
            generation,
            ended: self.closed.child_token(),
        };
        if let Some(old) = current.replace(stream.clone()) {
            old.ended.cancel();
        }
        stream
    }

    /// Called by a stream as it ends; leaves a newer stream alone.
    pub fn detach_stream(&self, stream: &AttachedStream) {
        let mut current = lock(&self.stream);
        if current
            .as_ref()
            .is_some_and(|s| s.generation == stream.generation)
        {
            *current = None;
        }
        drop(current);
        self.touch();
    }
}

/// The handle of the open standalone stream.
#[derive(Debug, Clone)]
pub struct AttachedStream {
    generation: u64,
    /// Cancelled when a newer stream replaces this one or the session ends.
    pub ended: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
