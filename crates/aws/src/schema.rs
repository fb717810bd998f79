//! Table, index and attribute names, and the definitions `aws bootstrap` creates
//! (the same ones a CDK stack deploys: keep them in step).
//!
//! Prompts table (`pk`, `sk`), one item per fact:
//! - `P#{id}` / `V#{version:020}`: one version, immutable (`body`, optional `blob`).
//! - `P#{id}` / `LATEST`: the latest pointer (`version`, `live`, `body`); carries
//!   `live_key` and `category_key` only while live, so the `live` and
//!   `by-category` indexes are sparse and list exactly the live prompts.
//! - `P#{id}` / `L#{label}`: a label (`version`).
//! - `CHANGES` / `C#{position:020}`: the change log (`event`); an item also
//!   carries `outbox_key` until it was published to SQS (the sparse `outbox` index).
//! - `META` / `HEAD`: the change-log head (`position`), moved under a condition in
//!   every write transaction, which is what makes positions gapless and monotonic.
//! - `META` / `FLOOR`: the oldest change position still kept (`position`); the
//!   history pruner (`history.rs`) raises it before deleting older changes.
//! - `CURSOR` / `{consumer}`: where a change-log consumer left off (a webhook
//!   subscriber's deliveries: `subscriber:{id}`).
//! - `SUBSCRIBERS` / `S#{id}`: a webhook subscriber (URL, secret, filter, and
//!   how its deliveries stand while failing); see `subscribers.rs`.
//! - `JOBS` / `J#{job id}`: a bulk import job on AWS (`imports.rs`).
//! - `KEYS` / `H#{sha256}`: an API key (`key_id`, `name`, `role`, `created_at`,
//!   `revoked_at` once revoked); see `keys.rs`.
//! - `S3#{bucket}/{key}` / `SEQUENCER`: the `s3.object.sequencer` of the last S3
//!   event the `s3sync` handler applied to that catalog file (`sequencer`,
//!   zero-padded to 64 hex digits), moved only forward; see `sync_order.rs`.
//!
//! Sessions table (`id`): `record` (the `SessionRecord` JSON), `ttl`.
//! Connections table (`pk` = connection id, `sk`): `CONN` (`session_id`,
//! `connected_at`, `ttl`) and one `T#{topic}` item per topic it listens on
//! (`topic`, `interest`, `ttl`), indexed by topic in `by-topic`.

pub const PK: &str = "pk";
pub const SK: &str = "sk";

pub const LATEST: &str = "LATEST";
pub const HEAD_PK: &str = "META";
pub const HEAD_SK: &str = "HEAD";
pub const HISTORY_FLOOR_SK: &str = "FLOOR";
pub const CHANGES_PK: &str = "CHANGES";
pub const CURSOR_PK: &str = "CURSOR";
pub const KEYS_PK: &str = "KEYS";
pub const SUBSCRIBERS_PK: &str = "SUBSCRIBERS";
pub const S3_ORDER_SK: &str = "SEQUENCER";
/// The attribute holding a normalized `s3.object.sequencer`.
pub const SEQUENCER: &str = "sequencer";

pub const LIVE_INDEX: &str = "live";
pub const LIVE_KEY: &str = "live_key";
pub const LIVE_VALUE: &str = "LIVE";
pub const CATEGORY_INDEX: &str = "by-category";
pub const CATEGORY_KEY: &str = "category_key";
/// Sort key of both prompt indexes: the prompt id, so pages come in id order.
pub const ID: &str = "id";
pub const OUTBOX_INDEX: &str = "outbox";
pub const OUTBOX_KEY: &str = "outbox_key";
pub const OUTBOX_PENDING: &str = "PENDING";

pub const SESSION_ID: &str = "id";
pub const CONNECTION_SK: &str = "CONN";
pub const TOPIC_INDEX: &str = "by-topic";
pub const TOPIC: &str = "topic";
/// The TTL attribute of the sessions and connections tables (unix seconds).
pub const TTL: &str = "ttl";

pub fn prompt_pk(id: &str) -> String {
    format!("P#{id}")
}

pub fn s3_order_pk(bucket: &str, key: &str) -> String {
    format!("S3#{bucket}/{key}")
}

pub fn subscriber_sk(id: &str) -> String {
    format!("S#{id}")
}

pub fn key_sk(hash: &str) -> String {
    format!("H#{hash}")
}

pub fn version_sk(version: u64) -> String {
    format!("V#{version:020}")
}

pub fn label_sk(label: &str) -> String {
    format!("L#{label}")
}

pub fn change_sk(position: u64) -> String {
    format!("C#{position:020}")
}

pub fn topic_sk(topic: &str) -> String {
    format!("T#{topic}")
}

/// A key attribute: name and whether it is a string (`S`) or number (`N`).
pub type KeyAttr = (&'static str, &'static str);

/// A table: hash and range key, global secondary indexes (name, hash, range),
/// and its TTL attribute.
pub struct TableDef {
    pub hash: KeyAttr,
    pub range: Option<KeyAttr>,
    pub indexes: &'static [(&'static str, KeyAttr, KeyAttr)],
    pub ttl: Option<&'static str>,
}

pub const PROMPTS_TABLE: TableDef = TableDef {
    hash: (PK, "S"),
    range: Some((SK, "S")),
    indexes: &[
        (LIVE_INDEX, (LIVE_KEY, "S"), (ID, "S")),
        (CATEGORY_INDEX, (CATEGORY_KEY, "S"), (ID, "S")),
        (OUTBOX_INDEX, (OUTBOX_KEY, "S"), (SK, "S")),
    ],
    ttl: None,
};

pub const SESSIONS_TABLE: TableDef = TableDef {
    hash: (SESSION_ID, "S"),
    range: None,
    indexes: &[],
    ttl: Some(TTL),
};

pub const CONNECTIONS_TABLE: TableDef = TableDef {
    hash: (PK, "S"),
    range: Some((SK, "S")),
    indexes: &[(TOPIC_INDEX, (TOPIC, "S"), (PK, "S"))],
    ttl: Some(TTL),
};

/// The sharded fan-out's queue (`aws bootstrap` creates it with `{name}-dlq`).
pub const SHARD_QUEUE: &str = "mcp-prompts-shards";
/// The bulk import batches' queue (`MCP_PROMPTS_IMPORT_QUEUE_URL`).
pub const IMPORT_QUEUE: &str = "mcp-prompts-imports";

/// The webhook deliveries' nudge queue (`MCP_PROMPTS_WEBHOOK_QUEUE_URL`).
pub const WEBHOOK_QUEUE: &str = "mcp-prompts-webhooks";

/// Receives before a change message is parked in the dead-letter queue.
pub const MAX_RECEIVE_COUNT: u32 = 3;
/// The change queue's visibility timeout: six times the fan-out function's
/// timeout, as AWS advises for Lambda event sources.
pub const QUEUE_VISIBILITY_SECS: u32 = 30;
/// Dead letters are kept for the maximum, 14 days.
pub const DLQ_RETENTION_SECS: u32 = 14 * 24 * 3600;
