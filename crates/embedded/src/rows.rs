//! Row-level SQL shared by the store's writes and reads: the latest pointer,
//! writing a version (with tags and search), appending to the change log.

use rusqlite::{OptionalExtension, Transaction, params};

use super::store::{backend, encode, sql_error};
use mcp_prompts_engine::domain::{ChangeEvent, ChangeKind, PendingChange, Prompt, PromptId};
use mcp_prompts_engine::ports::{Clock, StoreResult};

/// The latest pointer's (version, live) for `id`.
pub(super) fn pointer(tx: &Transaction<'_>, id: &PromptId) -> StoreResult<Option<(u64, bool)>> {
    tx.query_row(
        "SELECT version, live FROM prompts WHERE id = ?1",
        [id.as_str()],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, bool>(1)?)),
    )
    .optional()
    .map_err(sql_error)
}

/// `execute` with the statement kept in the connection's cache: every write
/// runs the same few statements, so each is prepared once per connection
/// (preparing them on every call was about 5% of an edit's CPU).
pub(super) fn exec(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

/// Writes `p` as the new latest version and appends its change: the body of
/// every create and update.
pub(super) fn write_version(
    tx: &Transaction<'_>,
    clock: &dyn Clock,
    p: &Prompt,
    change: &PendingChange,
) -> StoreResult<ChangeEvent> {
    put_version(tx, p)?;
    append_change(
        tx,
        clock,
        &p.id,
        p.version,
        p.category.clone(),
        p.tags.clone(),
        change,
    )
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

pub(super) fn append_change(
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
        partial: None,
    })
}

pub(super) fn row_to_change(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChangeEvent> {
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
        partial: None,
    })
}

/// Builds an FTS5 query that matches any of the words (as prefixes), so user text
/// with quotes, operators or punctuation can never be a syntax error.
pub(super) fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{}\"*", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" OR "))
}
