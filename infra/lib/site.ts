// The web UI (static files from web/) in a private bucket, served only through
// CloudFront with origin access control, uploaded by BucketDeployment.
import * as fs from 'node:fs';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import type { StackConfig } from './config';
import { secureBucketProps } from './storage';

export class Site extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly deployment: s3deploy.BucketDeployment;

  constructor(scope: Construct, id: string, config: StackConfig, accessLogs: s3.IBucket) {
    super(scope, id);
    if (!fs.existsSync(`${config.webDir}/index.html`)) {
      throw new Error(`web UI not found: ${config.webDir}/index.html (context webDir)`);
    }
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...secureBucketProps(config),
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 's3/site/',
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `${config.prefix} web UI`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        // OAC: only this distribution may read the bucket (bucket policy on its ARN).
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      // North America and Europe edges: the cheapest class; the UI is a few KB.
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: accessLogs,
      logFilePrefix: 'cloudfront/',
    });
    const deployLogs = new logs.LogGroup(this, 'DeployLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.deployment = new s3deploy.BucketDeployment(this, 'Deploy', {
      sources: [s3deploy.Source.asset(config.webDir)],
      destinationBucket: this.bucket,
      // A new UI replaces the old one everywhere at once.
      distribution: this.distribution,
      distributionPaths: ['/*'],
      prune: true,
      logGroup: deployLogs,
      memoryLimit: 256,
    });
  }

  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }
}
