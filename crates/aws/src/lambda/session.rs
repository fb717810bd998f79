//! A WebSocket message's session on Lambda: loaded from the stores before the
//! engine runs, settled after it. Settling follows a resume (`initialize` with
//! `mcpSessionId`: the connection now speaks for the restored session and its
//! previous connection is closed), persists a changed session and the
//! connection's interest (the fan-out's index), and runs a pending replay.
//!
//! The connection's interest is recorded before the replay is read, so a change
//! committed meanwhile is either replayed or fanned out, possibly both: never
//! lost (delivery is at least once, as for the queue).

use bytes::Bytes;

use super::app::LambdaApp;
use mcp_prompts_engine::Session;
use mcp_prompts_engine::jsonrpc::{self, RpcError};
use mcp_prompts_engine::ports::{ConnectionRecord, SessionRecord};
use mcp_prompts_engine::session::Phase;

/// Close reason for a connection whose session was resumed elsewhere.
pub const TAKEN_OVER_REASON: &str = "MCP session reconnected on another connection";

/// The last frame a taken-over connection gets before `DeleteConnection` closes
/// it (1000): API Gateway lets no close reason through, so the reason comes as
/// a `notifications/message` every MCP client can log.
pub fn takeover_notice() -> Bytes {
    let notice = serde_json::json!({
        "jsonrpc": "2.0",
        "method": "notifications/message",
        "params": {"level": "warning", "logger": "session", "data": TAKEN_OVER_REASON}
    });
    Bytes::from(notice.to_string())
}

/// What the engine reported besides frames.
pub struct Effects {
    /// The connection the resumed session was attached to.
    pub takeover: Option<String>,
    /// The message may have changed the session.
    pub changed: bool,
}

/// The connection and its session; a connection whose session is unknown or
/// expired gets a fresh one (the client must initialize), an unknown connection
/// an error reply.
pub async fn load_session(
    app: &LambdaApp,
    connection_id: &str,
    now: u64,
) -> Result<(ConnectionRecord, SessionRecord), String> {
    let unknown = |detail: String| {
        let err = RpcError::internal(format!("connection {connection_id}: {detail}"));
        jsonrpc::failure(None, &err)
    };
    let conn = match app.connections.get(connection_id, now).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(unknown("not registered (reconnect)".into())),
        Err(e) => return Err(unknown(e.to_string())),
    };
    match app.sessions.load(&conn.session_id, now).await {
        Ok(Some(r)) => Ok((conn, r)),
        Ok(None) => {
            let fresh = SessionRecord {
                session: Session::new(conn.session_id.clone()),
                connection_id: Some(connection_id.to_string()),
                last_position: 0,
                expires_at: 0,
            };
            Ok((conn, fresh))
        }
        Err(e) => Err(unknown(e.to_string())),
    }
}

/// Persists what the message changed; returns replay frames to push.
pub async fn settle(
    app: &LambdaApp,
    conn: ConnectionRecord,
    before: SessionRecord,
    mut session: Session,
    effects: Effects,
    head: u64,
    now: u64,
) -> Vec<Bytes> {
    let id = conn.connection_id.clone();
    let resumed = session.id != before.session.id;
    if resumed {
        let rebound = ConnectionRecord {
            session_id: session.id.clone(),
            ..conn
        };
        if let Err(e) = app.connections.put(&rebound).await {
            tracing::error!(connection = %id, error = %e, "could not point the connection at its resumed session");
        }
        let _ = app.sessions.delete(&before.session.id).await;
    }
    if let Some(old) = effects.takeover.filter(|old| *old != id) {
        // The management API closes without a reason of ours: say it first.
        let _ = app.pusher.push(&old, takeover_notice()).await;
        app.pusher.disconnect(&old, 1000, TAKEN_OVER_REASON).await;
        let _ = app.connections.delete(&old).await;
    }
    let interest = session.interest();
    if resumed || interest != before.session.interest() {
        let expires = now + app.limits.connection_ttl_secs;
        if let Err(e) = app.connections.set_interest(&id, &interest, expires).await {
            tracing::error!(connection = %id, error = %e, "could not record the connection's interest");
        }
    }
    // Conservative when unknown: a resume without `lastPosition` replays from
    // here, so a change is repeated rather than missed.
    let mut last_position = if before.last_position == 0 {
        head
    } else {
        before.last_position
    };
    let mut replay = Vec::new();
    let pending = session
        .replay_from
        .filter(|_| session.phase == Phase::Ready);
    if let Some(from) = pending {
        session.replay_from = None;
        match app.engine.replay(&session, from).await {
            Ok(r) => {
                replay = r.frames.into_iter().map(|(_, f)| f).collect();
                last_position = last_position.max(r.upto);
            }
            Err(e) => tracing::warn!(error = %e, "replay failed"),
        }
    }
    if effects.changed || resumed || pending.is_some() || before.expires_at == 0 {
        let record = SessionRecord {
            session,
            connection_id: Some(id.clone()),
            last_position,
            // Attached: as long as the connection may live, plus the grace period
            // (`$disconnect` shortens it to the grace period alone).
            expires_at: now + app.limits.connection_ttl_secs + app.limits.session_ttl_secs,
        };
        if let Err(e) = app.sessions.save(&record).await {
            tracing::error!(session = %record.session.id, error = %e, "could not save the session");
        }
    }
    replay
}
