// What starts the background handlers: the change queue drives fan-out; the
// catalog bucket's notifications (via their queue) drive s3sync; the import
// queue drives the bulk import batches (import); the webhook queue's nudges
// drive the subscriber deliveries (webhooks); a one-minute
// EventBridge schedule drives the outbox sweeper + history pruning.
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import type { StackConfig } from './config';
import type { Functions } from './functions';
import type { Queues } from './queues';

/** README: batch size <= 10; a batch's changes are coalesced into one delivery plan. */
export const FANOUT_BATCH_SIZE = 10;
/** S3 notifications per s3sync invocation. */
export const S3SYNC_BATCH_SIZE = 10;
/** Import batches in flight at once (jobs interleave; one job's batches are sequential). */
export const IMPORT_MAX_CONCURRENCY = 2;
/** Nudges per webhooks invocation: a pass takes up to 10 and sends at most one (they merge). */
export const WEBHOOKS_BATCH_SIZE = 10;

export class Triggers extends Construct {
  readonly sweepSchedule: events.Rule;

  constructor(scope: Construct, id: string, config: StackConfig, functions: Functions, queues: Queues) {
    super(scope, id);
    functions.get('fanout').addEventSource(
      new SqsEventSource(queues.changes, {
        batchSize: FANOUT_BATCH_SIZE,
        // A failed record (or a batch whose posts failed) is retried alone.
        reportBatchItemFailures: true,
        // Caps fan-out instances (x32 posts in flight each) below the account's
        // shared @connections rate, so replies to $default are not throttled.
        maxConcurrency: config.fanoutMaxConcurrency,
      }),
    );
    functions.get('shard').addEventSource(
      new SqsEventSource(queues.shards, {
        // One shard per invocation: its retries and its DLQ verdict are its own.
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: config.postConsumers,
      }),
    );
    functions.get('s3sync').addEventSource(
      new SqsEventSource(queues.catalogEvents, {
        batchSize: S3SYNC_BATCH_SIZE,
        // A file that cannot be fetched or stored is retried alone, then parked.
        reportBatchItemFailures: true,
        // Two at a time: catalog edits are rare, and fewer concurrent syncs of
        // one key keep S3's unordered notifications from racing each other.
        maxConcurrency: 2,
      }),
    );
    functions.get('import').addEventSource(
      new SqsEventSource(queues.imports, {
        // One batch per invocation: its retries and its DLQ verdict are its own.
        batchSize: 1,
        reportBatchItemFailures: true,
        // Each batch queues its job's next, so a job runs one batch at a time;
        // two jobs interleave (2 is the lowest maximum SQS allows).
        maxConcurrency: IMPORT_MAX_CONCURRENCY,
      }),
    );
    functions.get('webhooks').addEventSource(
      new SqsEventSource(queues.webhooks, {
        batchSize: WEBHOOKS_BATCH_SIZE,
        // A pass that cannot read the subscribers reports its nudges failed (redelivered, then parked).
        reportBatchItemFailures: true,
        // No maxConcurrency: the function's reserved concurrency of 1 already
        // serializes the passes (and SQS allows no maximum below 2).
      }),
    );
    this.sweepSchedule = new events.Rule(this, 'SweepEveryMinute', {
      description: 'mcp-prompts: republish unpublished outbox changes, prune the change history',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [
        new targets.LambdaFunction(functions.get('sweeper'), {
          // The next run comes a minute later anyway: no pile-up of retries.
          retryAttempts: 0,
          maxEventAge: Duration.minutes(1),
        }),
      ],
    });
  }
}
