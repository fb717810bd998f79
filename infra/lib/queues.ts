// The change queue and its dead-letter queue, as `aws bootstrap` makes them
// (`<queue>-dlq`, maxReceiveCount 3, 14-day dead-letter retention), SQS-managed
// encryption and TLS only.
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

export class Queues extends Construct {
  readonly changes: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  /** The sharded fan-out: `fanout` plans shards of ≤ shardSize connections, `shard` posts them. */
  readonly shards: sqs.Queue;
  readonly shardDeadLetters: sqs.Queue;
  /** S3's object-created/removed notifications of the catalog bucket, for `s3sync`. */
  readonly catalogEvents: sqs.Queue;
  readonly catalogDeadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, config: StackConfig) {
    super(scope, id);
    const names = resourceNames(config.prefix);
    this.deadLetters = new sqs.Queue(this, 'DeadLetters', {
      queueName: names.deadLetterQueue,
      retentionPeriod: Duration.days(DLQ_RETENTION_DAYS),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.changes = new sqs.Queue(this, 'Changes', {
      queueName: names.queue,
      // Fan-out redeliveries wait this long: 6x the consumer's timeout so a
      // batch still running is never handed to a second consumer.
      visibilityTimeout: Duration.seconds(VISIBILITY_FACTOR * config.fanoutTimeoutSecs),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: MAX_RECEIVE_COUNT },
      // Nothing durable lives here: the change log (DynamoDB) is the source of truth.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.shardDeadLetters = new sqs.Queue(this, 'ShardDeadLetters', {
      queueName: names.shardDeadLetterQueue,
      retentionPeriod: Duration.days(DLQ_RETENTION_DAYS),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.shards = new sqs.Queue(this, 'Shards', {
      queueName: names.shardQueue,
      visibilityTimeout: Duration.seconds(VISIBILITY_FACTOR * SHARD_TIMEOUT_SECS),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // A shard that keeps failing (by then only its failing connections) is parked alone.
      deadLetterQueue: { queue: this.shardDeadLetters, maxReceiveCount: MAX_RECEIVE_COUNT },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.catalogDeadLetters = new sqs.Queue(this, 'CatalogDeadLetters', {
      queueName: names.catalogDeadLetterQueue,
      retentionPeriod: Duration.days(DLQ_RETENTION_DAYS),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.catalogEvents = new sqs.Queue(this, 'CatalogEvents', {
      queueName: names.catalogQueue,
      visibilityTimeout: Duration.seconds(VISIBILITY_FACTOR * S3SYNC_TIMEOUT_SECS),
      // SSE-SQS, not KMS: S3 notifications need no key policy to send here.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.catalogDeadLetters, maxReceiveCount: MAX_RECEIVE_COUNT },
      // The files in the bucket are the source of truth: a lost event is one re-sync away.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}
