//! Webhook subscribers on SQLite; removing one also drops its delivery cursor.

use async_trait::async_trait;
use rusqlite::params;

use super::store::{EmbeddedStore, sql_error};
use mcp_prompts_engine::ports::{StoreResult, Subscriber, SubscriberStore};
use mcp_prompts_engine::session::CatalogFilter;

use mcp_prompts_engine::ports::subscriber_cursor as cursor_of;

#[async_trait]
impl SubscriberStore for EmbeddedStore {
    async fn add_subscriber(&self, s: &Subscriber) -> StoreResult<()> {
        let s = s.clone();
        self.write(move |tx, _| {
            tx.execute(
                "INSERT INTO subscribers (id, url, secret, category, tag, created_at, start_after)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    s.id,
                    s.url,
                    s.secret,
                    s.filter.category,
                    s.filter.tag,
                    s.created_at,
                    s.start_after as i64
                ],
            )
            .map_err(sql_error)?;
            Ok(())
        })
        .await
    }

    async fn subscribers(&self) -> StoreResult<Vec<Subscriber>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT id, url, secret, category, tag, created_at, start_after
                 FROM subscribers ORDER BY created_at, id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(Subscriber {
                    id: r.get(0)?,
                    url: r.get(1)?,
                    secret: r.get(2)?,
                    filter: CatalogFilter {
                        category: r.get(3)?,
                        tag: r.get(4)?,
                    },
                    created_at: r.get(5)?,
                    start_after: r.get::<_, i64>(6)? as u64,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn remove_subscriber(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.write(move |tx, _| {
            let n = tx
                .execute("DELETE FROM subscribers WHERE id = ?1", [&id])
                .map_err(sql_error)?;
            tx.execute(
                "DELETE FROM consumer_cursors WHERE consumer = ?1",
                [cursor_of(&id)],
            )
            .map_err(sql_error)?;
            Ok(n == 1)
        })
        .await
    }
}
