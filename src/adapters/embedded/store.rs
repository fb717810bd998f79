//! The embedded prompt store: SQLite (WAL, FTS5) in the data folder.
//!
//! One writer connection and a few readers, each behind a `std::sync::Mutex`:
//! every call runs on tokio's blocking pool and holds its lock only for the
//! duration of one SQLite statement or transaction, never across an `.await`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};

use super::schema;
use crate::domain::{ChangeEvent, ChangeKind, Label, PendingChange, Prompt, PromptId};
use crate::ports::{
    ChangeCursor, Clock, ListQuery, PromptStore, SearchQuery, StoreError, StoreResult,
};

const READERS: usize = 2;

pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    clock: Arc<dyn Clock>,
}

impl EmbeddedStore {
    /// Opens (creating if needed) `prompts.db` in `dir` and applies migrations.
    pub fn open(dir: &Path, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("prompts.db");
        let mut writer = Connection::open(&path)?;
        configure(&writer)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        schema::migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| {
                let c = Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&c)?;
                Ok(Mutex::new(c))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                clock,
            }),
        })
    }

    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        run_blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = inner.readers[i]
                .lock()
                .map_err(|_| backend("reader lock poisoned"))?;
            f(&conn).map_err(sql_error)
        })
        .await
    }

    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &dyn Clock) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        run_blocking(move || {
            let mut conn = inner
                .writer
                .lock()
                .map_err(|_| backend("writer lock poisoned"))?;
            let tx = conn.transaction().map_err(sql_error)?;
            let out = f(&tx, inner.clock.as_ref())?;
            tx.commit().map_err(sql_error)?;
            Ok(out)
        })
        .await
    }
}

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

fn configure(c: &Connection) -> rusqlite::Result<()> {
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| backend(&format!("store task failed: {e}")))?
}

fn backend(msg: &str) -> StoreError {
    StoreError::Backend(msg.to_string())
}

fn sql_error(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn decode(body: String) -> rusqlite::Result<Prompt> {
    serde_json::from_str(&body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn encode(p: &Prompt) -> StoreResult<String> {
    serde_json::to_string(p).map_err(|e| backend(&e.to_string()))
}

/// The latest pointer's (version, live) for `id`.
fn pointer(tx: &Transaction<'_>, id: &PromptId) -> StoreResult<Option<(u64, bool)>> {
    tx.query_row(
        "SELECT version, live FROM prompts WHERE id = ?1",
        [id.as_str()],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, bool>(1)?)),
    )
    .optional()
    .map_err(sql_error)
}

/// `execute` with the statement kept in the connection's cache: every write
/// runs the same few statements, and preparing them each time cost more than
/// running them.
fn exec(tx: &Transaction<'_>, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

/// Writes a version row, moves the latest pointer and refreshes tags and search.
fn put_version(tx: &Transaction<'_>, p: &Prompt) -> StoreResult<()> {
    let body = encode(p)?;
    let id = p.id.as_str();
    exec(
        tx,
        "INSERT INTO prompt_versions (id, version, body) VALUES (?1, ?2, ?3)",
        params![id, p.version as i64, body],
    )
    .map_err(sql_error)?;
    let rowid: i64 = tx
        .prepare_cached(
            "INSERT INTO prompts (id, version, live, category, body) VALUES (?1, ?2, 1, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, live = 1,
                 category = excluded.category, body = excluded.body
             RETURNING rowid",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![id, p.version as i64, p.category, body], |r| {
                r.get(0)
            })
        })
        .map_err(sql_error)?;
    exec(tx, "DELETE FROM prompt_tags WHERE id = ?1", [id]).map_err(sql_error)?;
    for tag in &p.tags {
        exec(
            tx,
            "INSERT OR IGNORE INTO prompt_tags (tag, id) VALUES (?1, ?2)",
            params![tag, id],
        )
        .map_err(sql_error)?;
    }
    exec(tx, "DELETE FROM prompt_search WHERE rowid = ?1", [rowid]).map_err(sql_error)?;
    exec(
        tx,
        "INSERT INTO prompt_search (rowid, name, description, content, tags) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![rowid, p.name, p.description, p.content, p.tags.join(" ")],
    )
    .map_err(sql_error)?;
    Ok(())
}

fn append_change(
    tx: &Transaction<'_>,
    clock: &dyn Clock,
    id: &PromptId,
    version: u64,
    category: Option<String>,
    tags: Vec<String>,
    change: &PendingChange,
) -> StoreResult<ChangeEvent> {
    let at = clock.now_rfc3339();
    let tags_json = serde_json::to_string(&tags).map_err(|e| backend(&e.to_string()))?;
    exec(
        tx,
        "INSERT INTO change_log (id, version, kind, category, tags, actor, at, label)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id.as_str(),
            version as i64,
            change.kind.as_str(),
            category,
            tags_json,
            change.actor,
            at,
            change.label
        ],
    )
    .map_err(sql_error)?;
    Ok(ChangeEvent {
        position: tx.last_insert_rowid() as u64,
        id: id.clone(),
        version,
        kind: change.kind,
        category,
        tags,
        actor: change.actor.clone(),
        timestamp: at,
        label: change.label.clone(),
    })
}

fn row_to_change(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChangeEvent> {
    let id: String = r.get(1)?;
    let kind: String = r.get(3)?;
    let tags: String = r.get(5)?;
    let bad = |what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("corrupt change log: {what}").into(),
        )
    };
    Ok(ChangeEvent {
        position: r.get::<_, i64>(0)? as u64,
        id: PromptId::parse(&id).map_err(|_| bad("id"))?,
        version: r.get::<_, i64>(2)? as u64,
        kind: ChangeKind::parse(&kind).ok_or_else(|| bad("kind"))?,
        category: r.get(4)?,
        tags: serde_json::from_str(&tags).map_err(|_| bad("tags"))?,
        actor: r.get(6)?,
        timestamp: r.get(7)?,
        label: r.get(8)?,
    })
}

/// Builds an FTS5 query that matches any of the words (as prefixes), so user text
/// with quotes, operators or punctuation can never be a syntax error.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{}\"*", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" OR "))
}

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
            put_version(tx, &prompt)?;
            append_change(
                tx,
                clock,
                &prompt.id,
                prompt.version,
                prompt.category.clone(),
                prompt.tags.clone(),
                &change,
            )
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
            put_version(tx, &prompt)?;
            append_change(
                tx,
                clock,
                &prompt.id,
                prompt.version,
                prompt.category.clone(),
                prompt.tags.clone(),
                &change,
            )
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
}
