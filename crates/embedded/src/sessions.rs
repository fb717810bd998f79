//! The session store on SQLite: MCP sessions survive a restart of `serve` (or
//! of a stdio process) within their grace period, so a client that reconnects
//! gets its session back with `replay: complete`.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::store::{EmbeddedStore, backend, sql_error};
use mcp_prompts_engine::ports::{SessionRecord, SessionStore, StoreResult};

#[async_trait]
impl SessionStore for EmbeddedStore {
    async fn load(&self, session_id: &str, now: u64) -> StoreResult<Option<SessionRecord>> {
        let id = session_id.to_string();
        let text: Option<String> = self
            .read(move |c| {
                c.prepare_cached("SELECT record FROM sessions WHERE id = ?1 AND expires_at > ?2")?
                    .query_row(params![id, now as i64], |r| r.get(0))
                    .optional()
            })
            .await?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| backend(&e.to_string())))
            .transpose()
    }

    async fn save(&self, record: &SessionRecord) -> StoreResult<()> {
        let row = Row::of(record)?;
        self.write(move |tx, _| {
            tx.prepare_cached(
                "INSERT INTO sessions (id, connection_id, expires_at, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET connection_id = ?2, expires_at = ?3, record = ?4",
            )
            .and_then(|mut s| s.execute(params![row.id, row.connection, row.expires, row.text]))
            .map_err(sql_error)?;
            Ok(())
        })
        .await
    }

    async fn delete(&self, session_id: &str) -> StoreResult<()> {
        let id = session_id.to_string();
        self.write(move |tx, _| {
            tx.execute("DELETE FROM sessions WHERE id = ?1", [id])
                .map_err(sql_error)?;
            Ok(())
        })
        .await
    }

    /// One conditional statement: a session resumed on another connection
    /// meanwhile no longer names `connection_id` and is left alone.
    async fn detach(
        &self,
        record: &SessionRecord,
        connection_id: &str,
        now: u64,
    ) -> StoreResult<bool> {
        let row = Row::of(record)?;
        let attached_to = connection_id.to_string();
        self.write(move |tx, _| {
            let changed = tx
                .prepare_cached(
                    "UPDATE sessions SET connection_id = ?2, expires_at = ?3, record = ?4
                     WHERE id = ?1 AND connection_id = ?5 AND expires_at > ?6",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        row.id,
                        row.connection,
                        row.expires,
                        row.text,
                        attached_to,
                        now as i64
                    ])
                })
                .map_err(sql_error)?;
            Ok(changed == 1)
        })
        .await
    }
}

impl EmbeddedStore {
    /// Forgets sessions whose grace period ended, then the detached ones beyond
    /// `max_detached`, those that would expire first going first; returns how
    /// many.
    pub async fn prune_sessions(&self, now: u64, max_detached: u64) -> StoreResult<usize> {
        let keep = i64::try_from(max_detached).unwrap_or(i64::MAX);
        self.write(move |tx, _| {
            let expired = tx
                .execute("DELETE FROM sessions WHERE expires_at <= ?1", [now as i64])
                .map_err(sql_error)?;
            let evicted = tx
                .execute(
                    "DELETE FROM sessions WHERE id IN (
                         SELECT id FROM sessions WHERE connection_id IS NULL
                         ORDER BY expires_at DESC LIMIT -1 OFFSET ?1)",
                    [keep],
                )
                .map_err(sql_error)?;
            Ok(expired + evicted)
        })
        .await
    }
}

/// A record as its columns.
struct Row {
    id: String,
    connection: Option<String>,
    expires: i64,
    text: String,
}

impl Row {
    fn of(record: &SessionRecord) -> StoreResult<Self> {
        Ok(Self {
            id: record.session.id.clone(),
            connection: record.connection_id.clone(),
            expires: i64::try_from(record.expires_at).unwrap_or(i64::MAX),
            text: serde_json::to_string(record).map_err(|e| backend(&e.to_string()))?,
        })
    }
}
