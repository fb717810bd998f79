// The change, shard, catalog-events, import and webhook queues, each with its dead-letter queue
// as `aws bootstrap` makes them (`<queue>-dlq`, maxReceiveCount 3, 14-day
// dead-letter retention), SQS-managed encryption and TLS only.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StackConfig } from './config';
import { DLQ_RETENTION_DAYS, MAX_RECEIVE_COUNT, resourceNames } from './schema';

/** AWS: a Lambda event source queue's visibility timeout should be at least 6x the function timeout. */
export const VISIBILITY_FACTOR = 6;
/** The s3sync function's timeout (functions.ts SIZING): a few files per message, each one import. */
export const S3SYNC_TIMEOUT_SECS = 60;
/** The shard function's timeout: ≤ 1,000 connections at its paced share of the post budget. */
export const SHARD_TIMEOUT_SECS = 60;
/** The import function's timeout: one batch of ≤ importBatch (250) prompts, each an import write. */
export const IMPORT_TIMEOUT_SECS = 120;
/**
 * The webhooks function's timeout: a pass starts no POST after 15 s (PASS_BUDGET,
 * server/src/subscribers/aws.rs) and one POST waits 10 s at most, so 25 s + the
 * cursor/state writes fit in 30 s.
 */
export const WEBHOOKS_TIMEOUT_SECS = 30;

export class Queues extends Construct {
  readonly changes: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  /** The sharded fan-out: `fanout` plans shards of ≤ shardSize connections, `shard` posts them. */
  readonly shards: sqs.Queue;
  readonly shardDeadLetters: sqs.Queue;
  /** S3's object-created/removed notifications of the catalog bucket, for `s3sync`. */
  readonly catalogEvents: sqs.Queue;
  readonly catalogDeadLetters: sqs.Queue;
  /** Bulk import batches (`{"importBatch": {job, batch}}`): submitters queue a job's first, `import` each next. */
  readonly imports: sqs.Queue;
  readonly importDeadLetters: sqs.Queue;
  /** Webhook delivery nudges (bodies carry nothing): fanout per batch, sweeper per run, `webhooks` itself (delayed retries). */
  readonly webhooks: sqs.Queue;
  readonly webhookDeadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, config: StackConfig) {
    super(scope, id);
    const names = resourceNames(config.prefix);
    // Consumers' redeliveries wait 6x their timeout, so a batch still running is
    // never handed to a second consumer. Nothing durable lives in any of them:
    // the change log (DynamoDB) and the catalog bucket are the sources of truth.
    [this.changes, this.deadLetters] = this.withDeadLetters('Changes', 'DeadLetters', names.queue, names.deadLetterQueue, config.fanoutTimeoutSecs);
    // A shard that keeps failing (by then only its failing connections) is parked alone.
    [this.shards, this.shardDeadLetters] = this.withDeadLetters('Shards', 'ShardDeadLetters', names.shardQueue, names.shardDeadLetterQueue, SHARD_TIMEOUT_SECS);
    // SSE-SQS, not KMS: S3 notifications need no key policy to send here.
    [this.catalogEvents, this.catalogDeadLetters] = this.withDeadLetters(
      'CatalogEvents',
      'CatalogDeadLetters',
      names.catalogQueue,
      names.catalogDeadLetterQueue,
      S3SYNC_TIMEOUT_SECS,
    );
    // A batch that fails 3 receives is parked (alarm ImportDeadLettersNotEmpty). Its job
    // record then stays `running`: lambda/imports.rs ends a job as failed only at a
    // batch's 5th receive (GIVE_UP_AFTER), which a redrive after 3 (as `aws bootstrap`
    // makes it) never reaches.
    [this.imports, this.importDeadLetters] = this.withDeadLetters(
      'Imports',
      'ImportDeadLetters',
      names.importQueue,
      names.importDeadLetterQueue,
      IMPORT_TIMEOUT_SECS,
    );
    // Only nudges: a parked one loses nothing (the subscribers' cursors and
    // delivery state are in the prompts table, and the sweeper nudges every
    // minute), but 3 failed receives mean passes cannot read the subscribers
    // (alarm WebhookDeadLettersNotEmpty). Redeliveries wait 6 x 30 s = 180 s.
    [this.webhooks, this.webhookDeadLetters] = this.withDeadLetters(
      'Webhooks',
      'WebhookDeadLetters',
      names.webhookQueue,
      names.webhookDeadLetterQueue,
      WEBHOOKS_TIMEOUT_SECS,
    );
  }

  /** A queue and its dead-letter queue (3 receives, 14 days), SSE-SQS, TLS only. */
  private withDeadLetters(id: string, dlqId: string, name: string, dlqName: string, consumerTimeoutSecs: number): [sqs.Queue, sqs.Queue] {
    const common = { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, removalPolicy: RemovalPolicy.DESTROY };
    const dlq = new sqs.Queue(this, dlqId, { ...common, queueName: dlqName, retentionPeriod: Duration.days(DLQ_RETENTION_DAYS) });
    const queue = new sqs.Queue(this, id, {
      ...common,
      queueName: name,
      visibilityTimeout: Duration.seconds(VISIBILITY_FACTOR * consumerTimeoutSecs),
      deadLetterQueue: { queue: dlq, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    return [queue, dlq];
  }
}
