//! Schema migrations for the embedded store, applied in order at open.

use rusqlite::Connection;

/// Each entry is applied once, in a transaction, and recorded in `schema_migrations`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE prompt_versions (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (id, version)
) WITHOUT ROWID;

-- The latest pointer: one row per id ever created; `live = 0` once deleted.
CREATE TABLE prompts (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    live INTEGER NOT NULL,
    category TEXT COLLATE NOCASE,
    body TEXT NOT NULL
);
CREATE INDEX prompts_by_category ON prompts (category, id) WHERE live = 1;

CREATE TABLE prompt_tags (
    tag TEXT NOT NULL COLLATE NOCASE,
    id TEXT NOT NULL,
    PRIMARY KEY (tag, id)
) WITHOUT ROWID;

CREATE TABLE labels (
    id TEXT NOT NULL,
    label TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (id, label)
) WITHOUT ROWID;

-- The change log doubles as the durable outbox: a change is appended in the same
-- transaction as the write, and publishers tail it by position.
CREATE TABLE change_log (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    category TEXT,
    tags TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    label TEXT
);

-- How far each publisher has fanned the change log out, so a restart resumes there.
CREATE TABLE consumer_cursors (
    consumer TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);

-- rowid = prompts.rowid
CREATE VIRTUAL TABLE prompt_search USING fts5(
    name, description, content, tags, tokenize = 'porter unicode61'
);
"#,
    r#"
-- MCP sessions, so they outlive their connections and a restart of `serve`:
-- the record as JSON, the connection it is attached to (NULL when detached),
-- and when it expires (unix seconds; expired rows read as absent and are pruned).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    connection_id TEXT,
    expires_at INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
"#,
    // Every write replaces its prompt's tags (`DELETE FROM prompt_tags WHERE id =
    // ?`); without this index that is a scan of every tag of every prompt, about
    // 1 ms per write at 10,000 prompts, so an import of N prompts took O(N²).
    r#"
CREATE INDEX IF NOT EXISTS prompt_tags_by_id ON prompt_tags (id);
"#,
    r#"
-- API keys: only the SHA-256 of each key is kept (the key is shown once).
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"#,
    r#"
-- Services that receive every committed change by signed HTTP POST; where
-- each one's deliveries stand is its consumer cursor `subscriber:<id>`.
CREATE TABLE subscribers (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    category TEXT,
    tag TEXT,
    created_at TEXT NOT NULL,
    start_after INTEGER NOT NULL
);
"#,
];

pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY);",
    )?;
    let applied: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES (?1)",
            [i as i64 + 1],
        )?;
        tx.commit()?;
    }
    Ok(())
}
