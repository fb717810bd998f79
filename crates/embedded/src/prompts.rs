//! `PromptStore` on SQLite: reads on the reader connections, every write one
//! transaction on the writer that also appends to the change log.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::rows::{append_change, fts_query, pointer, row_to_change, write_version};
use super::store::{EmbeddedStore, decode, sql_error};
use mcp_prompts_engine::domain::{ChangeEvent, Label, PendingChange, Prompt, PromptId};
use mcp_prompts_engine::ports::{ListQuery, PromptStore, SearchQuery, StoreError, StoreResult};

#[async_trait]
impl PromptStore for EmbeddedStore {
    async fn get(&self, id: &PromptId) -> StoreResult<Option<Prompt>> {
        let id = id.to_string();
        self.read(move |c| {
            c.prepare_cached("SELECT body FROM prompts WHERE id = ?1 AND live = 1")?
                .query_row([id], |r| decode(r.get(0)?))
                .optional()
        })
        .await
    }

    async fn get_version(&self, id: &PromptId, version: u64) -> StoreResult<Option<Prompt>> {
        let id = id.to_string();
        self.read(move |c| {
            c.prepare_cached("SELECT body FROM prompt_versions WHERE id = ?1 AND version = ?2")?
                .query_row(params![id, version as i64], |r| decode(r.get(0)?))
                .optional()
        })
        .await
    }

    async fn list(&self, q: &ListQuery) -> StoreResult<Vec<Prompt>> {
        let q = q.clone();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT body FROM prompts p
                 WHERE live = 1 AND id > ?1
                   AND (?2 IS NULL OR category = ?2)
                   AND (?3 IS NULL OR EXISTS
                        (SELECT 1 FROM prompt_tags t WHERE t.tag = ?3 AND t.id = p.id))
                   AND (?5 IS NULL OR substr(id, 1, length(?5)) = ?5)
                 ORDER BY id LIMIT ?4",
            )?;
            let after = q.after.map(|a| a.to_string()).unwrap_or_default();
            let prefix = q.id_prefix;
            stmt.query_map(
                params![after, q.category, q.tag, q.limit as i64, prefix],
                |r| decode(r.get(0)?),
            )?
            .collect()
        })
        .await
    }

    async fn search(&self, q: &SearchQuery) -> StoreResult<Vec<Prompt>> {
        let Some(fts) = fts_query(&q.text) else {
            return Ok(Vec::new());
        };
        let q = q.clone();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT p.body FROM prompt_search s JOIN prompts p ON p.rowid = s.rowid
                 WHERE prompt_search MATCH ?1 AND p.live = 1
                   AND (?2 IS NULL OR p.category = ?2)
                   AND (?3 IS NULL OR EXISTS
                        (SELECT 1 FROM prompt_tags t WHERE t.tag = ?3 AND t.id = p.id))
                 ORDER BY bm25(prompt_search, 10.0, 4.0, 1.0, 6.0), p.id LIMIT ?4",
            )?;
            stmt.query_map(params![fts, q.category, q.tag, q.limit as i64], |r| {
                decode(r.get(0)?)
            })?
            .collect()
        })
        .await
    }

    async fn history(&self, id: &PromptId) -> StoreResult<Vec<Prompt>> {
        let id = id.to_string();
        self.read(move |c| {
            c.prepare_cached("SELECT body FROM prompt_versions WHERE id = ?1 ORDER BY version")?
                .query_map([id], |r| decode(r.get(0)?))?
                .collect()
        })
        .await
    }

    async fn labels(&self, id: &PromptId) -> StoreResult<BTreeMap<String, u64>> {
        let id = id.to_string();
        self.read(move |c| {
            c.prepare_cached("SELECT label, version FROM labels WHERE id = ?1")?
                .query_map([id], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
                .collect()
        })
        .await
    }

    async fn last_version(&self, id: &PromptId) -> StoreResult<u64> {
        let id = id.to_string();
        self.read(move |c| {
            c.query_row("SELECT version FROM prompts WHERE id = ?1", [id], |r| {
                r.get::<_, i64>(0)
            })
            .optional()
            .map(|v| v.unwrap_or(0) as u64)
        })
        .await
    }

    async fn create(&self, prompt: &Prompt, change: &PendingChange) -> StoreResult<ChangeEvent> {
        let (prompt, change) = (prompt.clone(), change.clone());
        self.write(move |tx, clock| {
            let last = match pointer(tx, &prompt.id)? {
                Some((_, true)) => return Err(StoreError::AlreadyExists(prompt.id.clone())),
                Some((v, false)) => v,
                None => 0,
            };
            if prompt.version != last + 1 {
                return Err(StoreError::Conflict {
                    id: prompt.id.clone(),
                    expected: prompt.version.saturating_sub(1),
                    current: last,
                });
            }
            write_version(tx, clock, &prompt, &change)
        })
        .await
    }

    async fn update(
        &self,
        prompt: &Prompt,
        expected: u64,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent> {
        let (prompt, change) = (prompt.clone(), change.clone());
        self.write(move |tx, clock| {
            match pointer(tx, &prompt.id)? {
                Some((current, true)) if current == expected && prompt.version == current + 1 => {}
                Some((current, true)) => {
                    return Err(StoreError::Conflict {
                        id: prompt.id.clone(),
                        expected,
                        current,
                    });
                }
                _ => return Err(StoreError::NotFound(prompt.id.clone())),
            }
            write_version(tx, clock, &prompt, &change)
        })
        .await
    }

    async fn delete(
        &self,
        id: &PromptId,
        expected: u64,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent> {
        let (id, change) = (id.clone(), change.clone());
        self.write(move |tx, clock| {
            match pointer(tx, &id)? {
                Some((current, true)) if current == expected => {}
                Some((current, true)) => {
                    return Err(StoreError::Conflict {
                        id: id.clone(),
                        expected,
                        current,
                    });
                }
                _ => return Err(StoreError::NotFound(id.clone())),
            }
            let (category, tags): (Option<String>, String) = tx
                .query_row(
                    "UPDATE prompts SET live = 0 WHERE id = ?1 RETURNING category, body",
                    [id.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(sql_error)?;
            let tags = decode(tags).map(|p| p.tags).unwrap_or_default();
            tx.execute("DELETE FROM prompt_tags WHERE id = ?1", [id.as_str()])
                .map_err(sql_error)?;
            tx.execute(
                "DELETE FROM prompt_search WHERE rowid = (SELECT rowid FROM prompts WHERE id = ?1)",
                [id.as_str()],
            )
            .map_err(sql_error)?;
            append_change(tx, clock, &id, expected, category, tags, &change)
        })
        .await
    }

    async fn set_label(
        &self,
        id: &PromptId,
        label: &Label,
        version: u64,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent> {
        let (id, label, change) = (id.clone(), label.clone(), change.clone());
        self.write(move |tx, clock| {
            if !matches!(pointer(tx, &id)?, Some((_, true))) {
                return Err(StoreError::NotFound(id.clone()));
            }
            let body: Option<String> = tx
                .query_row(
                    "SELECT body FROM prompt_versions WHERE id = ?1 AND version = ?2",
                    params![id.as_str(), version as i64],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_error)?;
            let Some(body) = body else {
                return Err(StoreError::NoSuchVersion {
                    id: id.clone(),
                    version,
                });
            };
            let prompt = decode(body).map_err(sql_error)?;
            tx.execute(
                "INSERT INTO labels (id, label, version, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id, label) DO UPDATE SET version = excluded.version,
                     updated_at = excluded.updated_at",
                params![
                    id.as_str(),
                    label.as_str(),
                    version as i64,
                    clock.now_rfc3339()
                ],
            )
            .map_err(sql_error)?;
            append_change(
                tx,
                clock,
                &id,
                version,
                prompt.category,
                prompt.tags,
                &change,
            )
        })
        .await
    }

    async fn changes_since(&self, after: u64, limit: usize) -> StoreResult<Vec<ChangeEvent>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT position, id, version, kind, category, tags, actor, at, label
                 FROM change_log WHERE position > ?1 ORDER BY position LIMIT ?2",
            )?
            .query_map(params![after as i64, limit as i64], row_to_change)?
            .collect()
        })
        .await
    }

    async fn head_position(&self) -> StoreResult<u64> {
        self.read(|c| {
            c.query_row(
                "SELECT COALESCE(MAX(position), 0) FROM change_log",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|p| p as u64)
        })
        .await
    }

    async fn oldest_position(&self) -> StoreResult<u64> {
        self.read(|c| {
            c.query_row(
                "SELECT COALESCE(MIN(position), 1) FROM change_log",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|p| p as u64)
        })
        .await
    }

    async fn count_live(&self) -> StoreResult<u64> {
        self.read(|c| {
            c.query_row("SELECT COUNT(*) FROM prompts WHERE live = 1", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
        })
        .await
    }

    /// Reads through the pointer table and the change log's newest page on a
    /// reader connection: what every request touches, in well under a millisecond.
    async fn health(&self) -> StoreResult<()> {
        self.read(|c| {
            c.query_row(
                "SELECT (SELECT COUNT(*) FROM prompts), (SELECT MAX(position) FROM change_log)",
                [],
                |_| Ok(()),
            )
        })
        .await
    }

    /// The same read, also returning the change-log head: one reader per
    /// `/health`, so the two readers take turns at the real check.
    async fn health_and_head(&self) -> StoreResult<u64> {
        self.read(|c| {
            c.query_row(
                "SELECT (SELECT COUNT(*) FROM prompts), (SELECT COALESCE(MAX(position), 0) FROM change_log)",
                [],
                |r| r.get::<_, i64>(1),
            )
            .map(|p| p as u64)
        })
        .await
    }
}
