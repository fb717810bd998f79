// S3: the large-template bucket the adapters use (`templates/{id}/v{n}.hbs`; bulk
// import batches under `imports/{job}/{n:06}.json` while their job runs), the
// catalog bucket (`catalog/**`: the files `s3sync` keeps the store in step with),
// and one access-log bucket for every bucket's server access logs and CloudFront.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StackConfig } from './config';
import { CATALOG_PREFIX, IMPORT_PREFIX } from './schema';

/** Private, versioned, SSE-S3, TLS only: the settings every bucket here shares. */
export function secureBucketProps(config: StackConfig): s3.BucketProps {
  const destroy = config.removal === 'destroy';
  return {
    versioned: true,
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    // Old versions are only a safety net against overwrites: keep them 30 days.
    lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    removalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    // Emptying on delete needs a custom-resource Lambda: only for dev stacks.
    autoDeleteObjects: destroy,
  };
}

export class Storage extends Construct {
  readonly templates: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  /** Catalog files under `catalog/`, synced into the store by `s3sync` on every change. */
  readonly catalog: s3.Bucket;

  constructor(scope: Construct, id: string, config: StackConfig) {
    super(scope, id);
    const destroy = config.removal === 'destroy';
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...secureBucketProps(config),
      // CloudFront standard logging writes with an ACL grant: ACLs must be on.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90), noncurrentVersionExpiration: Duration.days(1) }],
      removalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    const secure = secureBucketProps(config);
    this.templates = new s3.Bucket(this, 'Templates', {
      ...secure,
      lifecycleRules: [
        ...(secure.lifecycleRules ?? []),
        // A batch is deleted once counted; a job that stopped (failed, parked in
        // the import DLQ) leaves the rest: gone after a week, old versions after a day.
        { id: 'import-batches', prefix: IMPORT_PREFIX, expiration: Duration.days(7), noncurrentVersionExpiration: Duration.days(1) },
      ],
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 's3/templates/',
    });
    this.catalog = new s3.Bucket(this, 'Catalog', {
      ...secureBucketProps(config),
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 's3/catalog/',
    });
  }

  /** Every object created or removed under the catalog prefix becomes a message on `queue`. */
  notifyCatalogChanges(queue: sqs.IQueue): void {
    const destination = new s3n.SqsDestination(queue);
    for (const event of [s3.EventType.OBJECT_CREATED, s3.EventType.OBJECT_REMOVED]) {
      this.catalog.addEventNotification(event, destination, { prefix: CATALOG_PREFIX });
    }
  }
}
