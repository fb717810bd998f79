// SQS (queue + DLQ as `aws bootstrap` makes them), S3 buckets, and the web UI
// behind CloudFront with origin access control.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Match } from 'aws-cdk-lib/assertions';
import { resources, synth } from './synth';

const byPrefix = (s: ReturnType<typeof synth>, prefix: string) => {
  const hit = Object.entries(s.json.Resources as Record<string, any>).find(([k]) => k.startsWith(prefix));
  assert.ok(hit, prefix);
  return hit!;
};

test('change queue: redrive to <queue>-dlq after 3 receives, visibility >= 6x the fan-out timeout, SSE, 14-day dead letters', () => {
  for (const [ctx, timeout] of [[{}, 60], [{ fanoutTimeoutSecs: 120 }, 120]] as const) {
    const s = synth(ctx);
    const [dlqId, dlq] = byPrefix(s, 'QueuesDeadLetters');
    const [, q] = byPrefix(s, 'QueuesChanges');
    assert.equal(q.Properties.QueueName, 'mcp-prompts-changes');
    assert.equal(dlq.Properties.QueueName, 'mcp-prompts-changes-dlq');
    assert.deepEqual(q.Properties.RedrivePolicy, { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 3 });
    const fanout = resources(s, 'AWS::Lambda::Function').find(([, f]) => f.Properties.Environment?.Variables?.MCP_PROMPTS_HANDLER === 'fanout')![1];
    assert.equal(fanout.Properties.Timeout, timeout);
    assert.ok(q.Properties.VisibilityTimeout >= 6 * fanout.Properties.Timeout);
    assert.equal(dlq.Properties.MessageRetentionPeriod, 14 * 24 * 3600);
    for (const x of [q, dlq]) assert.equal(x.Properties.SqsManagedSseEnabled, true);
  }
});

test('queues refuse plain HTTP (aws:SecureTransport deny)', () => {
  const s = synth();
  const policies = resources(s, 'AWS::SQS::QueuePolicy');
  assert.equal(policies.length, 10); // changes, shards, catalog events, imports, webhooks, and their dead letters
  for (const [, p] of policies) {
    assert.ok(
      p.Properties.PolicyDocument.Statement.some(
        (st: any) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      ),
    );
  }
});

test('every bucket: versioned, encrypted, public access blocked, TLS only, access-logged (but the log bucket)', () => {
  const s = synth();
  const buckets = resources(s, 'AWS::S3::Bucket');
  assert.equal(buckets.length, 4); // templates, catalog, site, access logs
  const policies = resources(s, 'AWS::S3::BucketPolicy');
  for (const [id, b] of buckets) {
    assert.equal(b.Properties.VersioningConfiguration?.Status, 'Enabled', id);
    assert.equal(b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm, 'AES256', id);
    assert.deepEqual(
      b.Properties.PublicAccessBlockConfiguration,
      { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      id,
    );
    const policy = policies.find(([, p]) => p.Properties.Bucket.Ref === id);
    assert.ok(policy, `${id} has a bucket policy`);
    assert.ok(
      policy![1].Properties.PolicyDocument.Statement.some((st: any) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false'),
      `${id}: enforceSSL`,
    );
    assert.equal(b.DeletionPolicy, 'Retain', id);
    if (!id.startsWith('StorageAccessLogs')) {
      assert.deepEqual(b.Properties.LoggingConfiguration.DestinationBucketName, { Ref: byPrefix(s, 'StorageAccessLogs')[0] }, id);
    }
  }
});

test('templates bucket: import batches left by a stopped job expire (imports/ only), the bucket-wide rule stays', () => {
  const s = synth();
  const [, b] = byPrefix(s, 'StorageTemplates');
  const rules = b.Properties.LifecycleConfiguration.Rules;
  assert.deepEqual(
    rules.find((r: any) => r.Id === 'import-batches'),
    { Id: 'import-batches', Prefix: 'imports/', Status: 'Enabled', ExpirationInDays: 7, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
  );
  assert.ok(rules.some((r: any) => !r.Prefix && r.NoncurrentVersionExpiration?.NoncurrentDays === 30 && r.AbortIncompleteMultipartUpload?.DaysAfterInitiation === 7));
  assert.equal(rules.length, 2);
  const [, catalog] = byPrefix(s, 'StorageCatalog');
  assert.ok(!JSON.stringify(catalog.Properties.LifecycleConfiguration).includes('imports/'), 'only the templates bucket holds batches');
});

test('web UI: CloudFront with origin access control on the private site bucket, HTTPS only, index.html', () => {
  const s = synth();
  const [oacId, oac] = resources(s, 'AWS::CloudFront::OriginAccessControl')[0];
  assert.equal(oac.Properties.OriginAccessControlConfig.OriginAccessControlOriginType, 's3');
  assert.equal(oac.Properties.OriginAccessControlConfig.SigningBehavior, 'always');
  const [distId, dist] = resources(s, 'AWS::CloudFront::Distribution')[0];
  const cfg = dist.Properties.DistributionConfig;
  assert.equal(cfg.DefaultRootObject, 'index.html');
  assert.equal(cfg.DefaultCacheBehavior.ViewerProtocolPolicy, 'redirect-to-https');
  assert.deepEqual(cfg.Origins[0].OriginAccessControlId, { 'Fn::GetAtt': [oacId, 'Id'] });
  assert.equal(cfg.Origins[0].S3OriginConfig.OriginAccessIdentity, '');
  assert.ok(cfg.Logging.Bucket, 'CloudFront access logs');
  // Only this distribution may read the bucket.
  const [siteId] = byPrefix(s, 'SiteBucket');
  const [, policy] = resources(s, 'AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === siteId)!;
  const read = policy.Properties.PolicyDocument.Statement.find((st: any) => st.Principal?.Service === 'cloudfront.amazonaws.com');
  assert.equal(read.Action, 's3:GetObject');
  assert.match(JSON.stringify(read.Condition), new RegExp(`distribution/.*${distId}|${distId}`));
});

test('web UI files come from ../web through BucketDeployment, invalidating the distribution', () => {
  const s = synth();
  const [siteId] = byPrefix(s, 'SiteBucket');
  const [distId] = resources(s, 'AWS::CloudFront::Distribution')[0];
  s.template.hasResourceProperties('Custom::CDKBucketDeployment', {
    DestinationBucketName: { Ref: siteId },
    DistributionId: { Ref: distId },
    DistributionPaths: ['/*'],
    Prune: true,
    SourceObjectKeys: Match.anyValue(),
  });
  assert.throws(() => synth({ webDir: '/nonexistent-web' }), /web UI not found: \/nonexistent-web\/index.html/);
});

test('removal=destroy: buckets are emptied and deleted with the stack', () => {
  const s = synth({ removal: 'destroy' });
  for (const [id, b] of resources(s, 'AWS::S3::Bucket')) assert.equal(b.DeletionPolicy, 'Delete', id);
  assert.ok(resources(s, 'Custom::S3AutoDeleteObjects').length >= 3);
});
