//! The table of Streamable HTTP sessions, keyed by `Mcp-Session-Id`.
//!
//! Bounded in both directions: at most `max_sessions` at once, and a session with
//! no request and no open stream for `idle_timeout` is ended (many clients never
//! send DELETE). Each session owns one task, its pump, which moves the registry's
//! notifications into the session's replay buffer (so the registry never sees a
//! full queue), ends the session when it goes idle, and removes its registry
//! connection when the session ends for any reason.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::HttpConfig;
use super::session::HttpSession;
use mcp_prompts_engine::Session;
use mcp_prompts_engine::realtime::{Outgoing, Registry};

#[derive(Debug, thiserror::Error)]
#[error("too many open sessions ({0}); end unused ones with DELETE or retry later")]
pub struct TableFull(pub usize);

pub struct SessionTable {
    map: Mutex<HashMap<String, Arc<HttpSession>>>,
    max_sessions: usize,
    idle_timeout: Duration,
    replay_events: usize,
}

impl SessionTable {
    pub fn new(config: &HttpConfig) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            max_sessions: config.max_sessions.max(1),
            idle_timeout: config.idle_timeout,
            replay_events: config.replay_events,
        }
    }

    /// The live session with this id, marked active.
    pub fn get(&self, id: &str) -> Option<Arc<HttpSession>> {
        let session = self.lock().get(id).cloned()?;
        if session.closed.is_cancelled() || session.is_idle(self.idle_timeout) {
            self.remove(id);
            return None;
        }
        session.touch();
        Some(session)
    }

    /// Adds an initialized session: registers its connection and starts its pump.
    pub fn open(
        self: &Arc<Self>,
        session: Session,
        registry: &Arc<Registry>,
        shutdown: &CancellationToken,
    ) -> Result<Arc<HttpSession>, TableFull> {
        let (conn, rx) = registry.register();
        conn.set_interest(&session.interest());
        let http = Arc::new(HttpSession::new(session, conn, self.replay_events));
        if let Err(full) = self.insert(http.clone()) {
            registry.remove(http.conn.id);
            return Err(full);
        }
        tokio::spawn(pump(
            Arc::downgrade(self),
            http.clone(),
            rx,
            registry.clone(),
            shutdown.clone(),
            self.idle_timeout,
        ));
        Ok(http)
    }

    fn insert(&self, session: Arc<HttpSession>) -> Result<(), TableFull> {
        let mut map = self.lock();
        if map.len() >= self.max_sessions {
            let before = map.len();
            map.retain(|_, s| {
                let keep = !s.closed.is_cancelled() && !s.is_idle(self.idle_timeout);
                if !keep {
                    s.closed.cancel();
                }
                keep
            });
            tracing::debug!(expired = before - map.len(), "swept idle HTTP sessions");
            if map.len() >= self.max_sessions {
                return Err(TableFull(map.len()));
            }
        }
        map.insert(session.id.clone(), session);
        Ok(())
    }

    /// Ends a session; its pump then drops the registry connection and its
    /// stream, if open, ends.
    pub fn remove(&self, id: &str) -> Option<Arc<HttpSession>> {
        let session = self.lock().remove(id)?;
        session.closed.cancel();
        Some(session)
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<HttpSession>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Moves notifications from the registry into the session's replay buffer until
/// the session ends, then removes the registry connection.
async fn pump(
    table: Weak<SessionTable>,
    session: Arc<HttpSession>,
    mut rx: tokio::sync::mpsc::Receiver<Outgoing>,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
    idle_timeout: Duration,
) {
    let mut idle_check = tokio::time::interval(
        idle_timeout.clamp(Duration::from_millis(100), Duration::from_secs(60)),
    );
    idle_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            next = rx.recv() => match next {
                Some(Outgoing::Frame(frame)) => session.publish(frame),
                Some(Outgoing::Close { .. }) | None => break,
            },
            _ = idle_check.tick() => {
                if session.is_idle(idle_timeout) {
                    tracing::debug!(session = %session.id, "HTTP session expired");
                    break;
                }
            }
            _ = session.conn.dropped.cancelled() => break,
            _ = session.closed.cancelled() => break,
            _ = shutdown.cancelled() => break,
        }
    }
    registry.remove(session.conn.id);
    if let Some(table) = table.upgrade() {
        let mut map = table.lock();
        if map
            .get(&session.id)
            .is_some_and(|s| Arc::ptr_eq(s, &session))
        {
            map.remove(&session.id);
        }
    }
    session.closed.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_sessions: usize, idle_ms: u64) -> HttpConfig {
        HttpConfig {
            max_sessions,
            idle_timeout: Duration::from_millis(idle_ms),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn the_table_is_capped_and_idle_sessions_make_room() {
        let registry = Arc::new(Registry::new(8));
        let shutdown = CancellationToken::new();
        let table = Arc::new(SessionTable::new(&config(2, 200)));
        let a = table.open(Session::new("a"), &registry, &shutdown).unwrap();
        table.open(Session::new("b"), &registry, &shutdown).unwrap();
        assert!(table.open(Session::new("c"), &registry, &shutdown).is_err());
        assert_eq!(registry.len(), 2);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(table.get("a").is_none(), "idle sessions expire");
        assert!(a.closed.is_cancelled());
        table.open(Session::new("d"), &registry, &shutdown).unwrap();
        assert!(table.get("d").is_some());
        shutdown.cancel();
    }

    #[tokio::test]
    async fn the_pump_expires_idle_sessions_and_drops_their_connection() {
        let registry = Arc::new(Registry::new(8));
        let shutdown = CancellationToken::new();
        let table = Arc::new(SessionTable::new(&config(10, 100)));
        let s = table.open(Session::new("a"), &registry, &shutdown).unwrap();
        let stream = s.attach_stream();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(table.len(), 1, "a session with an open stream is not idle");
        s.detach_stream(&stream);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while table.len() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(table.len(), 0);
        assert!(registry.is_empty());
        assert!(stream.ended.is_cancelled());
    }

    #[tokio::test]
    async fn remove_ends_the_session_and_its_stream() {
        let registry = Arc::new(Registry::new(8));
        let shutdown = CancellationToken::new();
        let table = Arc::new(SessionTable::new(&HttpConfig::default()));
        let s = table.open(Session::new("a"), &registry, &shutdown).unwrap();
        let stream = s.attach_stream();
        assert!(table.remove("a").is_some());
        assert!(stream.ended.is_cancelled());
        assert!(table.get("a").is_none());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !registry.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(registry.is_empty());
    }
}
