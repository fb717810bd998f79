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

export class Queues extends Construct {
  readonly changes: sqs.Queue;
  readonly deadLetters: sqs.Queue;

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
  }
}
