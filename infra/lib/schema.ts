// Table, index, attribute and queue facts the Rust adapters query, copied from
// crates/aws/src/schema.rs (keep the two in step: test/tables.test.ts checks
// the synthesized template against these, and `aws bootstrap` creates the same).

/** A key attribute: name and DynamoDB scalar type. */
export interface KeyAttr {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDef {
  readonly name: string;
  readonly hash: KeyAttr;
  readonly range: KeyAttr;
}

export interface TableDef {
  readonly hash: KeyAttr;
  readonly range?: KeyAttr;
  readonly indexes: readonly IndexDef[];
  readonly ttl?: string;
}

const s = (name: string): KeyAttr => ({ name, type: 'S' });

export const PK = 'pk';
export const SK = 'sk';
export const TTL = 'ttl';

/** The prompts table's partition of API keys (`KEYS` / `H#{sha256}`). */
export const KEYS_PARTITION = 'KEYS';
/** Seen GitHub delivery ids (server/src/webhooks/aws.rs DELIVERIES_PK). */
export const WEBHOOK_PARTITION = 'WEBHOOK';
/** The change log (`CHANGES` / `C#{position}`, schema.rs CHANGES_PK). */
export const CHANGES_PARTITION = 'CHANGES';
/** Webhook subscribers (`SUBSCRIBERS` / `S#{id}`, schema.rs SUBSCRIBERS_PK; aws/src/subscribers.rs). */
export const SUBSCRIBERS_PARTITION = 'SUBSCRIBERS';
/** Change-log consumers' cursors, a subscriber's `subscriber:{id}` among them (schema.rs CURSOR_PK). */
export const CURSOR_PARTITION = 'CURSOR';

export const LIVE_INDEX = 'live';
export const CATEGORY_INDEX = 'by-category';
export const OUTBOX_INDEX = 'outbox';
export const TOPIC_INDEX = 'by-topic';

export const PROMPTS_TABLE: TableDef = {
  hash: s(PK),
  range: s(SK),
  indexes: [
    { name: LIVE_INDEX, hash: s('live_key'), range: s('id') },
    { name: CATEGORY_INDEX, hash: s('category_key'), range: s('id') },
    { name: OUTBOX_INDEX, hash: s('outbox_key'), range: s(SK) },
  ],
};

export const SESSIONS_TABLE: TableDef = {
  hash: s('id'),
  indexes: [],
  ttl: TTL,
};

export const CONNECTIONS_TABLE: TableDef = {
  hash: s(PK),
  range: s(SK),
  indexes: [{ name: TOPIC_INDEX, hash: s('topic'), range: s(PK) }],
  ttl: TTL,
};

/** Receives before a change message is parked in `<queue>-dlq` (schema.rs MAX_RECEIVE_COUNT). */
export const MAX_RECEIVE_COUNT = 3;
/** Dead letters are kept for the maximum, 14 days (schema.rs DLQ_RETENTION_SECS). */
export const DLQ_RETENTION_DAYS = 14;
/** Large templates live under this key prefix (`templates/{id}/v{n}.hbs`, blobs.rs). */
export const TEMPLATE_PREFIX = 'templates/';

/** The binary's default resource names (settings.rs) are `${prefix}-prompts` etc. with prefix `mcp-prompts`. */
export const resourceNames = (prefix: string) => ({
  promptsTable: `${prefix}-prompts`,
  sessionsTable: `${prefix}-sessions`,
  connectionsTable: `${prefix}-connections`,
  queue: `${prefix}-changes`,
  deadLetterQueue: `${prefix}-changes-dlq`,
  shardQueue: `${prefix}-shards`,
  shardDeadLetterQueue: `${prefix}-shards-dlq`,
  catalogQueue: `${prefix}-catalog-events`,
  catalogDeadLetterQueue: `${prefix}-catalog-events-dlq`,
  /** Bulk import batches (schema.rs IMPORT_QUEUE). */
  importQueue: `${prefix}-imports`,
  importDeadLetterQueue: `${prefix}-imports-dlq`,
  /** The webhook deliveries' nudges (schema.rs WEBHOOK_QUEUE). */
  webhookQueue: `${prefix}-webhooks`,
  webhookDeadLetterQueue: `${prefix}-webhooks-dlq`,
});

/** Bulk import batches live under this key prefix of the templates bucket (`imports/{job}/{n:06}.json`, imports.rs). */
export const IMPORT_PREFIX = 'imports/';

/** Catalog files (JSON, YAML, Markdown, text) live under this key prefix of the catalog bucket (`s3sync`). */
export const CATALOG_PREFIX = 'catalog/';
