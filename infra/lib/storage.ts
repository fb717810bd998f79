// S3: the large-template bucket the adapters use (`templates/{id}/v{n}.hbs`) and
// one access-log bucket for every bucket's server access logs and CloudFront.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { StackConfig } from './config';

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
    this.templates = new s3.Bucket(this, 'Templates', {
      ...secureBucketProps(config),
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 's3/templates/',
    });
  }
}
