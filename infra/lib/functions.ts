// The nine Lambda functions: one prebuilt `mcp-prompts-lambda` bootstrap
// (provided.al2023, arm64), told its role by MCP_PROMPTS_HANDLER. Each has its
// own role (no managed policies; grants in permissions.ts), its own log group
// with a retention, and X-Ray active tracing.
//
// Sizing, from ARCHITECTURE.md's measurements (init 20 ms, peak RSS 15 MB, a
// handful of single-digit-ms DynamoDB calls per message). Memory buys CPU and
// network share (1,769 MB = 1 vCPU), so it is set for latency, not for RAM:
// - websocket, http: 256 MB / 10 s. Per-message work is a few SDK calls and a
//   template render; CPU scales with memory, so 256 MB gives CPU-bound work (TLS
//   set-up on a cold instance, rendering) twice the share of 128 MB for
//   $0.0000033/s. 10 s is far inside API Gateway's 29 s (WebSocket) and 30 s
//   (HTTP) integration limits and covers the write path's 8 retries.
// - fanout: 512 MB / 60 s (configurable). 32 PostToConnection in flight with
//   TLS; at the ~420 posts/s measured locally, 60 s is ~25,000 posts (a
//   list_changed pair to ~12,000 listeners) per change. Its concurrency is capped
//   (triggers.ts) so fan-out bursts leave the account's shared @connections rate
//   for replies.
// - sweeper: 128 MB / 55 s. One outbox query and at most 1,000 pruned changes a
//   run; the timeout stays under the 1-minute schedule so runs never overlap.
// - authorizer: 128 MB / 5 s. A token check; API Gateway caches nothing for
//   WebSocket authorizers, so it must stay cheap.
// - shard: 512 MB / 60 s. Posts one shard (≤ 1,000 connections) with 256 in
//   flight, paced to postBudget / postConsumers (2,500/s by default: well
//   under a second of posting per shard); reserved concurrency = postConsumers.
// - s3sync: 256 MB / 60 s. Up to 10 S3 notifications a batch, each a GetObject,
//   a parse and one import (a few conditional writes); CPU for the parse.
// - import: 512 MB / 120 s. One bulk import batch per message (≤ importBatch =
//   250 prompts, stored by the submitter as one S3 object of up to a few MB):
//   a GetObject and its parse, then each prompt an import write one after
//   another (unchanged: its reads only; changed: one TransactWriteItems with its
//   change, the mark-published UpdateItem, the outbox SendMessage, an S3 put
//   for a large template), ~20-40 ms each, so ~5-10 s a batch; 120 s leaves the
//   write path's retries under throttling room. The batch that ends a job also
//   announces list_changed to every listener itself (no shards: by-topic pages
//   and 32 posts in flight, as fanout), hence fanout's memory for CPU and TLS.
//   Queue visibility 720 s; maxConcurrency 2 (triggers.ts): a job's batches run
//   one after another anyway (each queues the next), so two jobs interleave.
// - webhooks: 256 MB / 30 s. One delivery pass per batch of ≤ 10 nudges
//   (server/src/subscribers/aws.rs): the subscribers (one Query), then per
//   subscriber, 8 at once, its cursor, a page of the change log and signed
//   POSTs (TLS set-up to each subscriber, the CPU share of 256 MB as s3sync's),
//   each cursor saved after its 2xx. A pass starts no POST after 15 s
//   (PASS_BUDGET) and one POST waits 10 s at most, so a pass ends by ~25 s
//   plus a few ms of writes: 30 s. Reserved concurrency 1 (one pass at a
//   time: each subscriber's deliveries stay in log order without a lease);
//   queue visibility 180 s. No VPC, as every function: the POSTs go to the
//   subscribers' public URLs.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as path from 'node:path';
import { API_FUNCTION_TIMEOUT_SECS, type StackConfig } from './config';
import type { HandlerName } from './metric-names';
import { IMPORT_TIMEOUT_SECS, S3SYNC_TIMEOUT_SECS, SHARD_TIMEOUT_SECS, WEBHOOKS_TIMEOUT_SECS, type Queues } from './queues';
import { CATALOG_PREFIX } from './schema';
import type { Storage } from './storage';
import type { Tables } from './tables';

export interface FunctionsProps {
  readonly config: StackConfig;
  readonly tables: Tables;
  readonly queues: Queues;
  readonly storage: Storage;
  /** `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`: the @connections endpoint. */
  readonly connectionsUrl: string;
}

export interface Sizing {
  readonly memoryMB: number;
  readonly timeoutSecs: number;
}

export const SIZING = (config: StackConfig): Record<HandlerName, Sizing> => ({
  websocket: { memoryMB: 256, timeoutSecs: API_FUNCTION_TIMEOUT_SECS },
  http: { memoryMB: 256, timeoutSecs: API_FUNCTION_TIMEOUT_SECS },
  fanout: { memoryMB: 512, timeoutSecs: config.fanoutTimeoutSecs },
  sweeper: { memoryMB: 128, timeoutSecs: 55 },
  authorizer: { memoryMB: 128, timeoutSecs: 5 },
  s3sync: { memoryMB: 256, timeoutSecs: S3SYNC_TIMEOUT_SECS },
  shard: { memoryMB: 512, timeoutSecs: SHARD_TIMEOUT_SECS },
  import: { memoryMB: 512, timeoutSecs: IMPORT_TIMEOUT_SECS },
  webhooks: { memoryMB: 256, timeoutSecs: WEBHOOKS_TIMEOUT_SECS },
});

/** One delivery pass at a time: two passes never POST to one subscriber at once (its order). */
export const WEBHOOKS_RESERVED_CONCURRENCY = 1;

/** The one asset: a folder holding only `bootstrap`, or a ready zip. */
export function artifactCode(artifact: string): lambda.Code {
  if (artifact.endsWith('.zip')) return lambda.Code.fromAsset(artifact);
  return lambda.Code.fromAsset(path.dirname(artifact), { exclude: ['*', '!bootstrap'] });
}

export class Functions extends Construct {
  readonly byHandler: Partial<Record<HandlerName, lambda.Function>> = {};
  readonly logGroups: Partial<Record<HandlerName, logs.LogGroup>> = {};

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const { config, tables, queues, storage } = props;
    const code = artifactCode(config.lambdaArtifact);
    const sizing = SIZING(config);
    // Names only: every handler's init reads the same settings (runtime.rs).
    const common: Record<string, string> = {
      MCP_PROMPTS_PROMPTS_TABLE: tables.prompts.tableName,
      MCP_PROMPTS_SESSIONS_TABLE: tables.sessions.tableName,
      MCP_PROMPTS_CONNECTIONS_TABLE: tables.connections.tableName,
      MCP_PROMPTS_BUCKET: storage.templates.bucketName,
      MCP_PROMPTS_QUEUE: queues.changes.queueName,
      MCP_PROMPTS_QUEUE_URL: queues.changes.queueUrl,
      MCP_PROMPTS_CONNECTIONS_URL: props.connectionsUrl,
      MCP_PROMPTS_LARGE_TEMPLATE_BYTES: String(config.largeTemplateBytes),
      MCP_PROMPTS_OUTBOX_GRACE_MS: String(config.outboxGraceMs),
      // Bulk import jobs (settings.rs ImportArgs): websocket and http submit them,
      // import queues each next batch, and any change consumer holds a job's
      // list_changed back until its end (the engine knows jobs only with the queue set).
      MCP_PROMPTS_IMPORT_QUEUE_URL: queues.imports.queueUrl,
      MCP_PROMPTS_IMPORT_BATCH: String(config.importBatch),
      MCP_PROMPTS_IMPORT_WAIT_SECS: String(config.importWaitSecs),
      // Webhook subscribers (settings.rs webhook_queue_url; server/src/subscribers/aws.rs):
      // with it websocket and http serve /subscriptions and the subscriber MCP tools,
      // fanout nudges the webhooks function once per batch, the sweeper once per run,
      // and webhooks nudges itself (a retry, delayed; a backlog, at once).
      // MCP_PROMPTS_SUBSCRIBER_ALLOW_PRIVATE stays unset: no private/loopback targets.
      MCP_PROMPTS_WEBHOOK_QUEUE_URL: queues.webhooks.queueUrl,
      RUST_LOG: 'mcp_prompts=info',
    };
    const handlers: HandlerName[] = ['websocket', 'http', 'fanout', 'shard', 'sweeper', 's3sync', 'import', 'webhooks'];
    if (config.auth === 'authorizer') handlers.push('authorizer');
    for (const handler of handlers) {
      const extra: Record<string, string> =
        handler === 'sweeper'
          ? {
              MCP_PROMPTS_HISTORY_MAX_CHANGES: String(config.historyMaxChanges),
              MCP_PROMPTS_HISTORY_MAX_AGE_SECS: String(config.historyMaxAgeSecs),
            }
          : handler === 'authorizer' && config.oidc
            ? {
                MCP_PROMPTS_OIDC_ISSUER: config.oidc.issuer,
                MCP_PROMPTS_OIDC_AUDIENCE: config.oidc.audience,
                MCP_PROMPTS_OIDC_JWKS: config.oidc.jwks,
                MCP_PROMPTS_OIDC_ROLE_CLAIM: config.oidc.roleClaim,
              }
            : handler === 's3sync'
              ? { MCP_PROMPTS_CATALOG_S3: `s3://${storage.catalog.bucketName}/${CATALOG_PREFIX}` }
              : handler === 'http'
                ? // /webhooks/github queues pushes here once MCP_PROMPTS_GITHUB_WEBHOOK_SECRET is set (README).
                  { MCP_PROMPTS_CATALOG_QUEUE_URL: queues.catalogEvents.queueUrl }
                : handler === 'fanout'
                  ? // Plans shards instead of posting (README: "The sharded fan-out and its arithmetic").
                    { MCP_PROMPTS_SHARD_QUEUE_URL: queues.shards.queueUrl, MCP_PROMPTS_SHARD_SIZE: String(config.shardSize) }
                  : handler === 'shard'
                    ? {
                        MCP_PROMPTS_SHARD_QUEUE_URL: queues.shards.queueUrl,
                        MCP_PROMPTS_POST_BUDGET: String(config.postBudget),
                        MCP_PROMPTS_POST_CONSUMERS: String(config.postConsumers),
                        MCP_PROMPTS_FANOUT_CONCURRENCY: String(config.postConcurrency),
                      }
                    : {};
      const name = `${config.prefix}-${handler}`;
      const logGroup = new logs.LogGroup(this, `${cap(handler)}Logs`, {
        logGroupName: `/aws/lambda/${name}`,
        retention: config.logRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      // Own role, no AWSLambdaBasicExecutionRole: logs only to its own group.
      const role = new iam.Role(this, `${cap(handler)}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `mcp-prompts ${handler} handler (${Stack.of(this).stackName})`,
      });
      const fn = new lambda.Function(this, cap(handler), {
        functionName: name,
        description: `mcp-prompts-lambda, MCP_PROMPTS_HANDLER=${handler}`,
        runtime: lambda.Runtime.PROVIDED_AL2023,
        architecture: lambda.Architecture.ARM_64,
        handler: 'bootstrap',
        code,
        memorySize: sizing[handler].memoryMB,
        timeout: Duration.seconds(sizing[handler].timeoutSecs),
        environment: { MCP_PROMPTS_HANDLER: handler, ...common, ...extra },
        tracing: lambda.Tracing.ACTIVE,
        logGroup,
        role,
        // The shard consumers' count is the post budget's divisor: exactly that many run.
        // webhooks: one pass at a time keeps each subscriber's deliveries in order.
        reservedConcurrentExecutions:
          handler === 'fanout'
            ? config.fanoutReservedConcurrency
            : handler === 'shard'
              ? config.postConsumers
              : handler === 'webhooks'
                ? WEBHOOKS_RESERVED_CONCURRENCY
                : undefined,
      });
      // CreateLogGroup is not needed (the group exists): stream + put on this group only.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      this.byHandler[handler] = fn;
      this.logGroups[handler] = logGroup;
    }
  }

  get(handler: HandlerName): lambda.Function {
    const fn = this.byHandler[handler];
    if (!fn) throw new Error(`no ${handler} function in this stack`);
    return fn;
  }
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
