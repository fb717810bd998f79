//! The embedded prompt store: SQLite (WAL, FTS5) in the data folder.
//!
//! One writer connection and a few readers, each behind a `std::sync::Mutex`:
//! every call runs on tokio's blocking pool and holds its lock only for the
//! duration of one SQLite statement or transaction, never across an `.await`.

use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection, OpenFlags, Transaction};

use super::schema;
use mcp_prompts_engine::domain::Prompt;
use mcp_prompts_engine::ports::{Clock, StoreError, StoreResult};

const READERS: usize = 2;

#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    clock: Arc<dyn Clock>,
    /// Calls waiting for a connection wait here, not on the blocking pool: a
    /// thread blocked on a busy connection's mutex is a thread tokio spawned
    /// for nothing (a burst of 10,000 session saves once grew the process by
    /// hundreds of threads). Two per connection keeps each one busy.
    write_slots: tokio::sync::Semaphore,
    read_slots: tokio::sync::Semaphore,
}

impl EmbeddedStore {
    /// Opens (creating if needed) `prompts.db` in `dir` and applies migrations.
    pub fn open(dir: &Path, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("prompts.db");
        let mut writer = Connection::open(&path)?;
        configure(&writer)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        check_integrity(&writer, &path)?;
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
                write_slots: tokio::sync::Semaphore::new(2),
                read_slots: tokio::sync::Semaphore::new(2 * READERS),
            }),
        })
    }

    pub(super) async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _slot = self.inner.read_slots.acquire().await;
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

    pub(super) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &dyn Clock) -> StoreResult<T> + Send + 'static,
    {
        let _slot = self.inner.write_slots.acquire().await;
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

/// `PRAGMA quick_check` (page structure, not index contents: seconds at worst
/// for a big catalog, milliseconds for a usual one) before serving: a corrupt
/// file is refused at startup with a clear error rather than failing requests
/// one by one later.
fn check_integrity(c: &Connection, path: &Path) -> anyhow::Result<()> {
    let problems: Vec<String> = c
        .prepare("PRAGMA quick_check")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(|e| corrupt(path, &e.to_string()))?;
    if problems.len() == 1 && problems[0] == "ok" {
        return Ok(());
    }
    Err(corrupt(path, &problems.join("; ")))
}

fn corrupt(path: &Path, detail: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the database {} is corrupt (PRAGMA quick_check: {detail}); restore it from a backup or move it away",
        path.display()
    )
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

pub(super) fn backend(msg: &str) -> StoreError {
    StoreError::Backend(msg.to_string())
}

pub(super) fn sql_error(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(super) fn decode(body: String) -> rusqlite::Result<Prompt> {
    serde_json::from_str(&body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) fn encode(p: &Prompt) -> StoreResult<String> {
    serde_json::to_string(p).map_err(|e| backend(&e.to_string()))
}
