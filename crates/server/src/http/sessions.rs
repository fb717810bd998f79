//! The table of Streamable HTTP sessions, keyed by `Mcp-Session-Id` (the MCP
//! session id). A session not in the table may still be in the session store
//! (the hub restarted): it is attached again ([`SessionTable::reattach`]).
//!
//! Bounded in both directions: at most `max_sessions` at once (and
//! `max_sessions_per_principal` per caller, [`crate::per_principal`]), and a session with
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
use crate::per_principal::{Owner, PerOwner, Slot};
use mcp_prompts_engine::host::{Attachment, SessionHost};
use mcp_prompts_engine::realtime::{Connection, Outgoing, Registry};

#[derive(Debug, thiserror::Error)]
#[error("too many open sessions ({0}); end unused ones with DELETE or retry later")]
pub struct TableFull(pub usize);

/// `initialize` by a caller that holds its whole session budget.
#[derive(Debug, thiserror::Error)]
#[error(
    "too many open sessions for {owner} (limit {limit} per principal); end unused ones with DELETE or retry later"
)]
pub struct OwnerFull {
    pub owner: Owner,
    pub limit: usize,
}

pub struct SessionTable {
    map: Mutex<HashMap<String, Arc<HttpSession>>>,
    max_sessions: usize,
    idle_timeout: Duration,
    replay_events: usize,
    max_pending: usize,
    per_owner: Arc<PerOwner>,
}

impl SessionTable {
    pub fn new(config: &HttpConfig) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            max_sessions: config.max_sessions.max(1),
            idle_timeout: config.idle_timeout,
            replay_events: config.replay_events,
            max_pending: config.max_pending.max(1),
            per_owner: PerOwner::new(config.max_sessions_per_principal),
        }
    }

    /// A place in `owner`'s session budget, for a session about to open.
    pub fn slot_for(&self, owner: Owner) -> Result<Slot, OwnerFull> {
        let limit = self.per_owner.limit();
        match self.per_owner.take(owner.clone()) {
            Some(slot) => Ok(slot),
            None => {
                // Its ended sessions may still be in the table: sweep, then retry.
                self.expire_finished();
                self.per_owner
                    .take(owner.clone())
                    .ok_or(OwnerFull { owner, limit })
            }
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

    /// Whether another session fits (expired ones are swept to make room).
    pub fn has_room(&self) -> bool {
        let mut map = self.lock();
        self.sweep(&mut map);
        map.len() < self.max_sessions
    }

    /// Adds an initialized session on its registry connection and starts its
    /// pump. On `Err` the caller still owns (and must close) the connection.
    pub fn open(
        self: &Arc<Self>,
        attachment: Attachment,
        (conn, rx): (Arc<Connection>, tokio::sync::mpsc::Receiver<Outgoing>),
        doors: Doors,
        slot: Slot,
    ) -> Result<Arc<HttpSession>, TableFull> {
        let http = Arc::new(HttpSession::new(
            attachment,
            conn,
            self.replay_events,
            self.max_pending,
            slot,
        ));
        self.insert(http.clone())?;
        tokio::spawn(pump(
            Arc::downgrade(self),
            http.clone(),
            rx,
            doors,
            self.idle_timeout,
        ));
        Ok(http)
    }

    /// The session `id` from the session store, attached to a new registry
    /// connection, with the changes it missed already in its replay buffer;
    /// `Err` when its caller already holds its whole session budget.
    pub async fn reattach(
        self: &Arc<Self>,
        id: &str,
        principal: Option<&mcp_prompts_engine::domain::Principal>,
        peer: std::net::SocketAddr,
        doors: Doors,
    ) -> Result<Option<Arc<HttpSession>>, OwnerFull> {
        if !self.has_room() {
            return Ok(None);
        }
        let slot = self.slot_for(Owner::of(principal, peer))?;
        let (conn, rx) = doors.registry.register();
        let Some((attachment, missed)) = doors.host.reattach(&conn.key, id, principal).await else {
            doors.registry.remove(conn.id);
            return Ok(None);
        };
        let key = conn.key.clone();
        match self.open(attachment, (conn.clone(), rx), doors.clone(), slot) {
            Ok(http) => {
                for frame in missed {
                    http.publish(frame);
                }
                tracing::debug!(session = %id, "HTTP session resumed from the store");
                Ok(Some(http))
            }
            Err(_) => {
                doors.host.disconnect(&key, None).await;
                doors.registry.remove(conn.id);
                Ok(None)
            }
        }
    }

    fn insert(&self, session: Arc<HttpSession>) -> Result<(), TableFull> {
        let mut map = self.lock();
        self.sweep(&mut map);
        if map.len() >= self.max_sessions {
            return Err(TableFull(map.len()));
        }
        map.insert(session.id.clone(), session);
        Ok(())
    }

    /// Ends the sessions that are closed or idle, giving back their slots.
    fn expire_finished(&self) {
        let mut map = self.lock();
        self.expire(&mut map);
    }

    /// When the table is full, ends the sessions that are closed or idle.
    fn sweep(&self, map: &mut HashMap<String, Arc<HttpSession>>) {
        if map.len() < self.max_sessions {
            return;
        }
        self.expire(map);
    }

    fn expire(&self, map: &mut HashMap<String, Arc<HttpSession>>) {
        let before = map.len();
        map.retain(|_, s| {
            let keep = !s.closed.is_cancelled() && !s.is_idle(self.idle_timeout);
            if !keep {
                s.end();
            }
            keep
        });
        tracing::debug!(expired = before - map.len(), "swept idle HTTP sessions");
    }

    /// Ends a session for good; its pump then deletes its record, drops the
    /// registry connection, and its stream, if open, ends.
    pub fn remove(&self, id: &str) -> Option<Arc<HttpSession>> {
        let session = self.lock().remove(id)?;
        session.end();
        Some(session)
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<HttpSession>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a session's pump needs from the gateway.
#[derive(Clone)]
pub struct Doors {
    pub host: Arc<SessionHost>,
    pub registry: Arc<Registry>,
    pub shutdown: CancellationToken,
}

/// Moves notifications from the registry into the session's replay buffer until
/// the session ends, then settles it with the host (deleted when it ended for
/// good, detached for resume when the process stops) and removes the registry
/// connection.
async fn pump(
    table: Weak<SessionTable>,
    session: Arc<HttpSession>,
    mut rx: tokio::sync::mpsc::Receiver<Outgoing>,
    doors: Doors,
    idle_timeout: Duration,
) {
    let Doors {
        host,
        registry,
        shutdown,
    } = doors;
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
                    session.end();
                    break;
                }
            }
            _ = session.conn.dropped.cancelled() => break,
            _ = session.closed.cancelled() => break,
            _ = shutdown.cancelled() => break,
        }
    }
    let attachment = session.state.lock().await.clone();
    if session.is_ended() {
        host.end(&attachment).await;
    } else {
        host.disconnect(&session.conn.key, Some(attachment)).await;
    }
    registry.remove(session.conn.id);
    session.release_slot();
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
    use mcp_prompts_embedded::EmbeddedStore;
    use mcp_prompts_engine::host::HostSettings;
    use mcp_prompts_engine::ports::SystemClock;
    use mcp_prompts_engine::{Catalog, Engine, EngineConfig};

    fn config(max_sessions: usize, idle_ms: u64) -> HttpConfig {
        HttpConfig {
            max_sessions,
            idle_timeout: Duration::from_millis(idle_ms),
            ..Default::default()
        }
    }

    /// A host on an embedded store in a temporary folder, over a registry.
    fn doors(dir: &std::path::Path) -> Doors {
        let clock = Arc::new(SystemClock);
        let store = Arc::new(EmbeddedStore::open(dir, clock.clone()).unwrap());
        let catalog = Arc::new(Catalog::new(store.clone(), clock));
        let engine = Arc::new(Engine::new(catalog, EngineConfig::default()));
        let registry = Arc::new(Registry::new(8));
        let host = crate::startup::local_host(engine, store, &registry, HostSettings::default());
        Doors {
            host,
            registry,
            shutdown: CancellationToken::new(),
        }
    }

    async fn open(table: &Arc<SessionTable>, doors: &Doors) -> Result<Arc<HttpSession>, TableFull> {
        let (conn, rx) = doors.registry.register();
        let attachment = doors
            .host
            .connect(&conn.key, "mcp")
            .await
            .unwrap()
            .attachment;
        let slot = table
            .slot_for(Owner::Principal("test".into()))
            .map_err(|_| TableFull(table.len()))?;
        let opened = table.open(attachment, (conn.clone(), rx), doors.clone(), slot);
        if opened.is_err() {
            doors.registry.remove(conn.id);
        }
        opened
    }

    #[tokio::test]
    async fn the_table_is_capped_and_idle_sessions_make_room() {
        let dir = tempfile::tempdir().unwrap();
        let doors = doors(dir.path());
        let table = Arc::new(SessionTable::new(&config(2, 200)));
        let a = open(&table, &doors).await.unwrap();
        open(&table, &doors).await.unwrap();
        assert!(open(&table, &doors).await.is_err());
        assert_eq!(doors.registry.len(), 2);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(table.get(&a.id).is_none(), "idle sessions expire");
        assert!(a.closed.is_cancelled());
        let d = open(&table, &doors).await.unwrap();
        assert!(table.get(&d.id).is_some());
        doors.shutdown.cancel();
    }

    #[tokio::test]
    async fn the_pump_expires_idle_sessions_and_drops_their_connection() {
        let dir = tempfile::tempdir().unwrap();
        let doors = doors(dir.path());
        let table = Arc::new(SessionTable::new(&config(10, 100)));
        let s = open(&table, &doors).await.unwrap();
        let stream = s.attach_stream();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(table.len(), 1, "a session with an open stream is not idle");
        s.detach_stream(&stream);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while (table.len() > 0 || !doors.registry.is_empty())
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(table.len(), 0);
        assert!(doors.registry.is_empty());
        assert!(stream.ended.is_cancelled());
    }

    #[tokio::test]
    async fn remove_ends_the_session_and_its_stream() {
        let dir = tempfile::tempdir().unwrap();
        let doors = doors(dir.path());
        let table = Arc::new(SessionTable::new(&HttpConfig::default()));
        let s = open(&table, &doors).await.unwrap();
        let stream = s.attach_stream();
        assert!(table.remove(&s.id).is_some());
        assert!(stream.ended.is_cancelled());
        assert!(table.get(&s.id).is_none());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !doors.registry.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(doors.registry.is_empty());
    }
}
