// Least privilege, per handler: exactly the SDK calls each one makes (read off
// crates/aws/src/*.rs), on exactly the tables, indexes, key prefix, queue and
// @connections routes it touches. No `*` except X-Ray's PutTraceSegments /
// PutTelemetryRecords, which have no resource-level permissions (added by CDK
// for active tracing).
//
// Transactions need no actions of their own: TransactWriteItems is authorized
// as its PutItem / UpdateItem / ConditionCheckItem parts, TransactGetItems as
// GetItem; BatchWriteItem (puts and deletes) is its own action.
import { Arn, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Functions } from './functions';
import type { Queues } from './queues';
import {
  CATALOG_PREFIX,
  CATEGORY_INDEX,
  CHANGES_PARTITION,
  CURSOR_PARTITION,
  IMPORT_PREFIX,
  KEYS_PARTITION,
  WEBHOOK_PARTITION,
  LIVE_INDEX,
  OUTBOX_INDEX,
  SUBSCRIBERS_PARTITION,
  TEMPLATE_PREFIX,
  TOPIC_INDEX,
} from './schema';
import type { Storage } from './storage';
import type { Tables } from './tables';

const PROMPTS_READ = ['dynamodb:GetItem', 'dynamodb:Query'];
/** A prompt write: TransactGetItems, then TransactWriteItems (Put version + pointer, Update head, Put change), then UpdateItem (mark published). */
const PROMPTS_WRITE = ['dynamodb:ConditionCheckItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];

function onTable(fn: IFunction, table: dynamodb.ITable, actions: string[]): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [table.tableArn] }));
}

/** `actions` on the prompts table's items whose partition key is one of `partitions` only. */
function inPartitions(fn: IFunction, table: dynamodb.ITable, actions: string[], partitions: string[]): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions,
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': partitions } },
    }),
  );
}

function queryIndexes(fn: IFunction, table: dynamodb.ITable, indexes: string[]): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['dynamodb:Query'],
      resources: indexes.map((i) => `${table.tableArn}/index/${i}`),
    }),
  );
}

/** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/@connections/*`. */
export function connectionsArns(stack: Stack, apiId: string, stage: string, methods: Array<'POST' | 'DELETE' | 'GET'>): string[] {
  return methods.map((m) =>
    Arn.format({ service: 'execute-api', resource: apiId, resourceName: `${stage}/${m}/@connections/*` }, stack),
  );
}

export interface GrantsProps {
  readonly functions: Functions;
  readonly tables: Tables;
  readonly queues: Queues;
  readonly storage: Storage;
  readonly webSocketApiId: string;
  readonly stage: string;
}

export function grantHandlers(stack: Stack, p: GrantsProps): void {
  const { functions: f, tables: t, queues: q, storage: s } = p;
  const templates = s.templates.arnForObjects(`${TEMPLATE_PREFIX}*`);
  const importBatches = s.templates.arnForObjects(`${IMPORT_PREFIX}*`);

  /**
   * Submitting a bulk import job (crates/aws/src/imports.rs `start`): PutObject
   * of its batches (`imports/{job}/{n:06}.json`) and SendMessage of the first
   * one. The job record (`JOBS` / `J#{job}`: PutItem, consistent GetItem while
   * waiting, Query of the recent ones) needs nothing beyond the prompts table
   * grants a writer already has.
   */
  const submitsImports = (fn: IFunction) => {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [importBatches] }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [q.imports.queueArn] }));
  };

  /**
   * Webhook subscribers (crates/aws/src/subscribers.rs, server/src/subscribers/aws.rs):
   * registering is a Query of SUBSCRIBERS (the count, at most 100), the head
   * (GetItem) and a conditional PutItem; listing reads each one's cursor
   * (GetItem CURSOR); removing is a DeleteItem of the subscriber and one of its
   * cursor, which is the only action not among a writer's grants: DeleteItem,
   * in those two partitions only. Subscribing nudges nothing.
   */
  const managesSubscribers = (fn: IFunction) =>
    inPartitions(fn, t.prompts, ['dynamodb:DeleteItem'], [SUBSCRIBERS_PARTITION, CURSOR_PARTITION]);

  // websocket: the whole engine behind $connect/$default/$disconnect.
  const ws = f.get('websocket');
  onTable(ws, t.prompts, [...PROMPTS_READ, ...PROMPTS_WRITE]);
  queryIndexes(ws, t.prompts, [LIVE_INDEX, CATEGORY_INDEX]);
  onTable(ws, t.sessions, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']);
  // Connection item, topic items (BatchWriteItem), a connection's items (Query on the table).
  onTable(ws, t.connections, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem']);
  ws.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [templates] }));
  ws.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [q.changes.queueArn] }));
  // Log/replay frames before the reply (POST) and a taken-over connection's close (DELETE).
  ws.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['execute-api:ManageConnections'],
      resources: connectionsArns(stack, p.webSocketApiId, p.stage, ['POST', 'DELETE']),
    }),
  );
  // import_catalog.
  submitsImports(ws);
  // subscribe / list / unsubscribe tools.
  managesSubscribers(ws);

  // http: the REST endpoints and Streamable HTTP /mcp (sessions, no connections).
  const http = f.get('http');
  onTable(http, t.prompts, [...PROMPTS_READ, ...PROMPTS_WRITE]);
  queryIndexes(http, t.prompts, [LIVE_INDEX, CATEGORY_INDEX]);
  onTable(http, t.sessions, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']);
  http.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [templates] }));
  http.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [q.changes.queueArn] }));
  // /webhooks/github: a push's paths go to s3sync's queue; a delivery id is put
  // (PROMPTS_WRITE) and, when its push could not be queued, deleted again: only
  // in the WEBHOOK partition (server/src/webhooks/aws.rs).
  http.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [q.catalogEvents.queueArn] }));
  http.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['dynamodb:DeleteItem'],
      resources: [t.prompts.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [WEBHOOK_PARTITION] } },
    }),
  );
  // POST /imports (and import_catalog on /mcp).
  submitsImports(http);
  // /subscriptions (and the subscriber tools on /mcp).
  managesSubscribers(http);

  // fanout: who listens (by-topic), forget gone connections, post frames. The
  // SQS receive/delete grants come with the event source (triggers.ts).
  const fanout = f.get('fanout');
  onTable(fanout, t.connections, ['dynamodb:Query', 'dynamodb:BatchWriteItem']);
  queryIndexes(fanout, t.connections, [TOPIC_INDEX]);
  fanout.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['execute-api:ManageConnections'],
      resources: connectionsArns(stack, p.webSocketApiId, p.stage, ['POST']),
    }),
  );

  // With shards the fanout function plans and sends shard messages; one
  // webhook nudge per batch (lambda/fanout.rs).
  fanout.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [q.shards.queueArn, q.webhooks.queueArn] }));

  // shard: post one shard's frames, forget gone connections, send a retry
  // shard of its failing connections back to its own queue.
  const shard = f.get('shard');
  onTable(shard, t.connections, ['dynamodb:Query', 'dynamodb:BatchWriteItem']);
  shard.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['execute-api:ManageConnections'],
      resources: connectionsArns(stack, p.webSocketApiId, p.stage, ['POST']),
    }),
  );
  shard.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [q.shards.queueArn] }));

  // sweeper: republish the outbox (SendMessageBatch is authorized as SendMessage), prune history,
  // then one webhook nudge per run (lambda/runtime.rs: the backstop for a lost one).
  const sweeper = f.get('sweeper');
  onTable(sweeper, t.prompts, ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem']);
  queryIndexes(sweeper, t.prompts, [OUTBOX_INDEX]);
  sweeper.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [q.changes.queueArn, q.webhooks.queueArn] }));

  // s3sync: read the changed catalog file (GetObject; ListBucket so a missing
  // key is a 404, not a 403), then the import's reads and writes as any writer.
  const s3sync = f.get('s3sync');
  s3sync.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [s.catalog.arnForObjects(`${CATALOG_PREFIX}*`)] }));
  s3sync.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [s.catalog.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${CATALOG_PREFIX}*`] } },
    }),
  );
  onTable(s3sync, t.prompts, [...PROMPTS_READ, ...PROMPTS_WRITE]);
  queryIndexes(s3sync, t.prompts, [LIVE_INDEX, CATEGORY_INDEX]);
  s3sync.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [templates] }));
  s3sync.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [q.changes.queueArn] }));

  // import: one batch of a bulk import job per message (lambda/imports.rs).
  // The batch (GetObject; ListBucket on imports/ only, so a batch already
  // counted and deleted is a NoSuchKey, not a 403) is deleted once counted;
  // its prompts are imported through the catalog like s3sync's (reads and
  // writes of the prompts table, the live/by-category indexes, large
  // templates, the outbox); the job record's conditional UpdateItems are among
  // those writes. Then it queues the job's next batch, or ends the job and
  // announces list_changed itself through the IndexedAudience (fanout's
  // grants without shards: who listens, forget gone connections, POST).
  const importer = f.get('import');
  importer.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:DeleteObject'], resources: [importBatches] }));
  importer.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [s.templates.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${IMPORT_PREFIX}*`] } },
    }),
  );
  onTable(importer, t.prompts, [...PROMPTS_READ, ...PROMPTS_WRITE]);
  queryIndexes(importer, t.prompts, [LIVE_INDEX, CATEGORY_INDEX]);
  importer.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [templates] }));
  importer.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [q.changes.queueArn, q.imports.queueArn] }));
  onTable(importer, t.connections, ['dynamodb:Query', 'dynamodb:BatchWriteItem']);
  queryIndexes(importer, t.connections, [TOPIC_INDEX]);
  importer.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['execute-api:ManageConnections'],
      resources: connectionsArns(stack, p.webSocketApiId, p.stage, ['POST']),
    }),
  );

  // webhooks: one delivery pass per batch of nudges (server/src/subscribers/aws.rs).
  // Reads: the head (GetItem META/HEAD, refresh_catalog and the dependents
  // graph), the subscribers (Query SUBSCRIBERS), each cursor (GetItem CURSOR),
  // the change log (Query CHANGES); for `dependency-changed` the catalog's
  // dependents graph lists the live prompts (Query of the live index: no
  // category filter, so not by-category) and rereads changed prompts (GetItem
  // of their `P#{id}` items, large templates from S3). GetItem reaches every
  // prompt partition, so it is on the whole table; the table Query stays in
  // CHANGES and SUBSCRIBERS. Writes: the cursor after each 2xx (PutItem CURSOR)
  // and the delivery state of a failing subscriber (conditional UpdateItem
  // SUBSCRIBERS), each in its partition only; it deletes nothing (removal is
  // websocket's/http's). Then at most one nudge of its own queue (SendMessage,
  // DelaySeconds for a retry); the event source's receive/delete come with it.
  const webhooks = f.get('webhooks');
  onTable(webhooks, t.prompts, ['dynamodb:GetItem']);
  inPartitions(webhooks, t.prompts, ['dynamodb:Query'], [CHANGES_PARTITION, SUBSCRIBERS_PARTITION]);
  queryIndexes(webhooks, t.prompts, [LIVE_INDEX]);
  inPartitions(webhooks, t.prompts, ['dynamodb:PutItem'], [CURSOR_PARTITION]);
  inPartitions(webhooks, t.prompts, ['dynamodb:UpdateItem'], [SUBSCRIBERS_PARTITION]);
  webhooks.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [templates] }));
  webhooks.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [q.webhooks.queueArn] }));

  // authorizer: one GetItem per check, on the API keys' partition only
  // (crates/aws/src/keys.rs: pk `KEYS`); JWTs need no AWS call.
  const authorizer = f.byHandler.authorizer;
  authorizer?.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['dynamodb:GetItem'],
      resources: [t.prompts.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [KEYS_PARTITION] } },
    }),
  );
}
