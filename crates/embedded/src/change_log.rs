//! The change log as a durable outbox: consumers' saved positions (the
//! publisher's cursor) and bounding the history.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::rows::exec;
use super::store::{EmbeddedStore, backend, sql_error};
use mcp_prompts_engine::ports::{ChangeCursor, StoreResult};

#[async_trait]
impl ChangeCursor for EmbeddedStore {
    async fn load(&self, consumer: &str) -> StoreResult<Option<u64>> {
        let consumer = consumer.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT position FROM consumer_cursors WHERE consumer = ?1",
                [consumer],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|p| p.map(|p| p as u64))
        })
        .await
    }

    async fn save(&self, consumer: &str, position: u64) -> StoreResult<()> {
        let consumer = consumer.to_string();
        self.write(move |tx, _| {
            exec(
                tx,
                "INSERT INTO consumer_cursors (consumer, position) VALUES (?1, ?2)
                 ON CONFLICT (consumer) DO UPDATE SET position = excluded.position",
                params![consumer, position as i64],
            )
            .map_err(sql_error)?;
            Ok(())
        })
        .await
    }
}

impl EmbeddedStore {
    /// Bounds the change history: drops entries beyond the newest `max_changes`
    /// or older than `max_age`, but never the newest one (it carries the head
    /// position) nor any a publisher has yet to deliver. Returns how many went.
    pub async fn prune_history(
        &self,
        max_changes: u64,
        max_age: std::time::Duration,
    ) -> StoreResult<usize> {
        let cutoff = time::OffsetDateTime::now_utc() - max_age;
        let format = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        let cutoff = cutoff
            .format(&format)
            .map_err(|e| backend(&e.to_string()))?;
        self.write(move |tx, _| {
            let deleted = tx
                .execute(
                    "DELETE FROM change_log WHERE position < (SELECT MAX(position) FROM change_log)
                       AND position <= COALESCE((SELECT MIN(position) FROM consumer_cursors), 1 << 62)
                       AND (position <= (SELECT MAX(position) FROM change_log) - ?1 OR at < ?2)",
                    params![max_changes as i64, cutoff],
                )
                .map_err(sql_error)?;
            Ok(deleted)
        })
        .await
    }
}
