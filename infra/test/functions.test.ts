// Lambda: one prebuilt arm64 bootstrap, nine handlers, sizes, tracing, logs,
// environment, triggers; the synth never builds Rust and says so when the
// artifact is missing.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../lib/config';
import { cdkJsonContext, dummyArtifact, resources, synth } from './synth';

const fnByHandler = (s: ReturnType<typeof synth>) =>
  Object.fromEntries(
    resources(s, 'AWS::Lambda::Function')
      .filter(([, f]) => f.Properties.Environment?.Variables?.MCP_PROMPTS_HANDLER)
      .map(([id, f]) => [f.Properties.Environment.Variables.MCP_PROMPTS_HANDLER, { id, ...f }]),
  ) as Record<string, any>;

test('nine functions from one artifact: provided.al2023, arm64, bootstrap, X-Ray active', () => {
  const s = synth();
  const fns = fnByHandler(s);
  assert.deepEqual(Object.keys(fns).sort(), ['authorizer', 'fanout', 'http', 'import', 's3sync', 'shard', 'sweeper', 'webhooks', 'websocket']);
  const keys = new Set<string>();
  for (const [h, f] of Object.entries(fns)) {
    assert.equal(f.Properties.Runtime, 'provided.al2023', h);
    assert.deepEqual(f.Properties.Architectures, ['arm64'], h);
    assert.equal(f.Properties.Handler, 'bootstrap', h);
    assert.deepEqual(f.Properties.TracingConfig, { Mode: 'Active' }, h);
    assert.equal(f.Properties.FunctionName, `mcp-prompts-${h}`, h);
    keys.add(JSON.stringify(f.Properties.Code.S3Key));
  }
  assert.equal(keys.size, 1, 'all functions share one code asset');
});

test('memory and timeouts as justified in lib/functions.ts', () => {
  const fns = fnByHandler(synth());
  const got = Object.fromEntries(Object.entries(fns).map(([h, f]) => [h, [f.Properties.MemorySize, f.Properties.Timeout]]));
  assert.deepEqual(got, {
    websocket: [256, 10],
    http: [256, 10],
    fanout: [512, 60],
    sweeper: [128, 55],
    authorizer: [128, 5],
    s3sync: [256, 60],
    shard: [512, 60],
    import: [512, 120],
    webhooks: [256, 30],
  });
  // webhooks: a pass starts no POST after 15 s (PASS_BUDGET) and one POST waits <= 10 s.
  assert.ok(15 + 10 < fns.webhooks.Properties.Timeout);
  // API Gateway integration limits: 29 s (WebSocket), 30 s (HTTP); the sweeper must finish before the next minute.
  assert.ok(fns.websocket.Properties.Timeout < 29 && fns.http.Properties.Timeout < 30 && fns.sweeper.Properties.Timeout < 60);
});

test('environment names every resource the adapters read (settings.rs, runtime.rs)', () => {
  const s = synth();
  const fns = fnByHandler(s);
  const ref = (logicalPrefix: string) => {
    const [id] = Object.keys(s.json.Resources).filter((k) => k.startsWith(logicalPrefix));
    assert.ok(id, logicalPrefix);
    return id;
  };
  for (const [h, f] of Object.entries(fns)) {
    const env = f.Properties.Environment.Variables;
    assert.deepEqual(env.MCP_PROMPTS_PROMPTS_TABLE, { Ref: ref('TablesPrompts') }, h);
    assert.deepEqual(env.MCP_PROMPTS_SESSIONS_TABLE, { Ref: ref('TablesSessions') }, h);
    assert.deepEqual(env.MCP_PROMPTS_CONNECTIONS_TABLE, { Ref: ref('TablesConnections') }, h);
    assert.deepEqual(env.MCP_PROMPTS_BUCKET, { Ref: ref('StorageTemplates') }, h);
    assert.deepEqual(env.MCP_PROMPTS_QUEUE, { 'Fn::GetAtt': [ref('QueuesChanges'), 'QueueName'] }, h);
    assert.deepEqual(env.MCP_PROMPTS_QUEUE_URL, { Ref: ref('QueuesChanges') }, h);
    const url = JSON.stringify(env.MCP_PROMPTS_CONNECTIONS_URL);
    assert.match(url, /https:\/\//, h);
    assert.match(url, new RegExp(`"Ref":"${ref('WebSocketApi')}"`), h);
    assert.match(url, /execute-api/, h);
    assert.match(url, /\/prod/, h);
    assert.equal(env.MCP_PROMPTS_LARGE_TEMPLATE_BYTES, '65536', h);
    assert.equal(env.MCP_PROMPTS_OUTBOX_GRACE_MS, '5000', h);
    // Bulk import jobs: submitted by websocket/http, batches queued by import, list_changed held back by every change consumer.
    assert.deepEqual(env.MCP_PROMPTS_IMPORT_QUEUE_URL, { Ref: ref('QueuesImports') }, h);
    assert.equal(env.MCP_PROMPTS_IMPORT_BATCH, '250', h);
    assert.equal(env.MCP_PROMPTS_IMPORT_WAIT_SECS, '8', h);
    // Webhook subscribers: websocket/http register them, fanout and the sweeper nudge, webhooks nudges itself.
    assert.deepEqual(env.MCP_PROMPTS_WEBHOOK_QUEUE_URL, { Ref: ref('QueuesWebhooks') }, h);
    assert.equal(env.MCP_PROMPTS_SUBSCRIBER_ALLOW_PRIVATE, undefined, `${h}: no private webhook targets`);
    assert.equal(f.Properties.VpcConfig, undefined, `${h}: no VPC (webhooks POSTs to the internet)`);
  }
  assert.equal(fns.webhooks.Properties.Environment.Variables.MCP_PROMPTS_HANDLER, 'webhooks');
  assert.equal(fns.sweeper.Properties.Environment.Variables.MCP_PROMPTS_HISTORY_MAX_CHANGES, '100000');
  assert.equal(fns.sweeper.Properties.Environment.Variables.MCP_PROMPTS_HISTORY_MAX_AGE_SECS, '604800');
  assert.equal(fns.websocket.Properties.Environment.Variables.MCP_PROMPTS_HISTORY_MAX_CHANGES, undefined);
});

test('each function logs to its own group with a retention (default 30 days, context logRetentionDays)', () => {
  for (const [ctx, days] of [[{}, 30], [{ logRetentionDays: 90 }, 90]] as const) {
    const s = synth(ctx);
    const groups = Object.fromEntries(resources(s, 'AWS::Logs::LogGroup').map(([id, g]) => [id, g]));
    for (const [h, f] of Object.entries(fnByHandler(s))) {
      const gid = f.Properties.LoggingConfig.LogGroup.Ref;
      assert.equal(groups[gid].Properties.LogGroupName, `/aws/lambda/mcp-prompts-${h}`);
      assert.equal(groups[gid].Properties.RetentionInDays, days, h);
    }
    for (const [id, g] of Object.entries(groups)) assert.equal((g as any).Properties.RetentionInDays, days, `every log group: ${id}`);
  }
  assert.throws(() => synth({ logRetentionDays: 31 }), /logRetentionDays must be one of/);
});

test('fan-out: SQS event source with ReportBatchItemFailures, batch 10, maximum concurrency; optional reserved concurrency', () => {
  const s = synth();
  const fns = fnByHandler(s);
  const queueId = Object.keys(s.json.Resources).find((k) => k.startsWith('QueuesChanges'))!;
  s.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 5);
  s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    FunctionName: { Ref: fns.fanout.id },
    EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    BatchSize: 10,
    ScalingConfig: { MaximumConcurrency: 5 },
  });
  assert.equal(fns.fanout.Properties.ReservedConcurrentExecutions, undefined);
  const r = synth({ fanoutReservedConcurrency: 20, fanoutMaxConcurrency: 8 });
  assert.equal(fnByHandler(r).fanout.Properties.ReservedConcurrentExecutions, 20);
  r.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 8 } });
  for (const h of ['websocket', 'http', 'sweeper', 'authorizer', 's3sync', 'import']) {
    assert.equal(fnByHandler(r)[h].Properties.ReservedConcurrentExecutions, undefined, h);
  }
  assert.equal(fnByHandler(r).webhooks.Properties.ReservedConcurrentExecutions, 1, 'fanout settings leave webhooks at 1');
});

test('sharded fan-out: fanout plans shards onto the shard queue, shard posts them paced to the budget', () => {
  const s = synth();
  const fns = fnByHandler(s);
  const id = (prefix: string) => Object.keys(s.json.Resources).find((k) => k.startsWith(prefix))!;
  const shards = id('QueuesShards');
  const fanoutEnv = fns.fanout.Properties.Environment.Variables;
  assert.deepEqual(fanoutEnv.MCP_PROMPTS_SHARD_QUEUE_URL, { Ref: shards });
  assert.equal(fanoutEnv.MCP_PROMPTS_SHARD_SIZE, '1000');
  const env = fns.shard.Properties.Environment.Variables;
  assert.deepEqual(env.MCP_PROMPTS_SHARD_QUEUE_URL, { Ref: shards });
  assert.equal(env.MCP_PROMPTS_POST_BUDGET, '5000');
  assert.equal(env.MCP_PROMPTS_POST_CONSUMERS, '2');
  assert.equal(env.MCP_PROMPTS_FANOUT_CONCURRENCY, '256');
  assert.equal(fns.shard.Properties.ReservedConcurrentExecutions, 2, 'exactly the budget\'s divisor of consumers');
  s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    FunctionName: { Ref: fns.shard.id },
    EventSourceArn: { 'Fn::GetAtt': [shards, 'Arn'] },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    BatchSize: 1,
    ScalingConfig: { MaximumConcurrency: 2 },
  });
  const q = s.json.Resources[shards].Properties;
  assert.equal(q.VisibilityTimeout, 360, '6x the shard timeout');
  assert.equal(q.RedrivePolicy.maxReceiveCount, 3);
  assert.deepEqual(q.RedrivePolicy.deadLetterTargetArn, { 'Fn::GetAtt': [id('QueuesShardDeadLetters'), 'Arn'] });
  const r = synth({ postBudget: 8000, postConsumers: 4 });
  const shard = fnByHandler(r).shard.Properties;
  assert.equal(shard.ReservedConcurrentExecutions, 4);
  assert.equal(shard.Environment.Variables.MCP_PROMPTS_POST_BUDGET, '8000');
  assert.throws(() => synth({ postConsumers: 1 }), /postConsumers/);
});

test('s3sync: the catalog bucket notifies its queue (created and removed under catalog/), the queue drives s3sync', () => {
  const s = synth();
  const fns = fnByHandler(s);
  const id = (prefix: string) => Object.keys(s.json.Resources).find((k) => k.startsWith(prefix))!;
  const bucket = id('StorageCatalog');
  const queue = id('QueuesCatalogEvents');
  assert.deepEqual(fns.s3sync.Properties.Environment.Variables.MCP_PROMPTS_CATALOG_S3, {
    'Fn::Join': ['', ['s3://', { Ref: bucket }, '/catalog/']],
  });
  for (const h of ['websocket', 'http', 'fanout', 'sweeper']) {
    assert.equal(fns[h].Properties.Environment.Variables.MCP_PROMPTS_CATALOG_S3, undefined, h);
  }
  assert.deepEqual(fns.http.Properties.Environment.Variables.MCP_PROMPTS_CATALOG_QUEUE_URL, { Ref: queue }, 'the webhook queues pushes for s3sync');
  s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    FunctionName: { Ref: fns.s3sync.id },
    EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    BatchSize: 10,
    ScalingConfig: { MaximumConcurrency: 2 },
  });
  const [[, notifications]] = resources(s, 'Custom::S3BucketNotifications');
  assert.deepEqual(notifications.Properties.BucketName, { Ref: bucket });
  const configs = notifications.Properties.NotificationConfiguration.QueueConfigurations;
  assert.deepEqual(configs.map((c: any) => c.Events).sort(), [['s3:ObjectCreated:*'], ['s3:ObjectRemoved:*']]);
  for (const c of configs) {
    assert.deepEqual(c.QueueArn, { 'Fn::GetAtt': [queue, 'Arn'] });
    assert.deepEqual(c.Filter, { Key: { FilterRules: [{ Name: 'prefix', Value: 'catalog/' }] } });
  }
  // S3 may send to the queue, only for this bucket.
  const policies = resources(s, 'AWS::SQS::QueuePolicy').filter(([, p]) => JSON.stringify(p.Properties.Queues).includes(queue));
  const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
  const fromS3 = statements.find((st: any) => st.Principal?.Service === 's3.amazonaws.com');
  assert.ok(fromS3, 'a statement lets S3 send');
  assert.deepEqual(fromS3.Condition.ArnLike['aws:SourceArn'], { 'Fn::GetAtt': [bucket, 'Arn'] });
  // Its dead letters: 3 receives, 14 days.
  const q = s.json.Resources[queue].Properties;
  assert.equal(q.RedrivePolicy.maxReceiveCount, 3);
  assert.equal(q.VisibilityTimeout, 360, '6x the s3sync timeout');
  assert.deepEqual(q.RedrivePolicy.deadLetterTargetArn, { 'Fn::GetAtt': [id('QueuesCatalogDeadLetters'), 'Arn'] });
});

test('import: the import queue drives one batch per invocation, two at a time; redrive to -dlq after 3 receives', () => {
  const s = synth();
  const fns = fnByHandler(s);
  const id = (prefix: string) => Object.keys(s.json.Resources).find((k) => k.startsWith(prefix))!;
  const queue = id('QueuesImports');
  const mappings = resources(s, 'AWS::Lambda::EventSourceMapping').filter(([, m]) => m.Properties.FunctionName.Ref === fns.import.id);
  assert.equal(mappings.length, 1, 'one event source');
  assert.deepEqual(mappings[0][1].Properties, {
    FunctionName: { Ref: fns.import.id },
    EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    BatchSize: 1,
    ScalingConfig: { MaximumConcurrency: 2 },
  });
  // Nothing else consumes the import queue: each batch queues its job's next one itself.
  const consumers = resources(s, 'AWS::Lambda::EventSourceMapping').filter(([, m]) => JSON.stringify(m.Properties.EventSourceArn).includes(queue));
  assert.equal(consumers.length, 1);
  assert.equal(fns.import.Properties.ReservedConcurrentExecutions, undefined);
  assert.equal(fns.import.Properties.Description, 'mcp-prompts-lambda, MCP_PROMPTS_HANDLER=import');
  const q = s.json.Resources[queue].Properties;
  assert.equal(q.QueueName, 'mcp-prompts-imports');
  assert.equal(q.VisibilityTimeout, 6 * fns.import.Properties.Timeout, '6x the import timeout');
  assert.equal(q.VisibilityTimeout, 720);
  assert.equal(q.SqsManagedSseEnabled, true);
  const dlqId = id('QueuesImportDeadLetters');
  assert.deepEqual(q.RedrivePolicy, { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 3 });
  const dlq = s.json.Resources[dlqId].Properties;
  assert.equal(dlq.QueueName, 'mcp-prompts-imports-dlq');
  assert.equal(dlq.MessageRetentionPeriod, 14 * 24 * 3600);
  // The prefix names the queues as it names the rest.
  const dev = synth({ prefix: 'mcp-dev' });
  const devQueues = resources(dev, 'AWS::SQS::Queue').map(([, x]) => x.Properties.QueueName).sort();
  assert.ok(devQueues.includes('mcp-dev-imports') && devQueues.includes('mcp-dev-imports-dlq'), devQueues.join(','));
});

test('webhooks: the webhook queue\'s nudges drive one pass at a time (reserved concurrency 1), batches of 10; redrive to -dlq after 3 receives', () => {
  const s = synth();
  const fns = fnByHandler(s);
  const id = (prefix: string) => Object.keys(s.json.Resources).find((k) => k.startsWith(prefix))!;
  const queue = id('QueuesWebhooks');
  const mappings = resources(s, 'AWS::Lambda::EventSourceMapping').filter(([, m]) => m.Properties.FunctionName.Ref === fns.webhooks.id);
  assert.equal(mappings.length, 1, 'one event source');
  // No ScalingConfig: reserved concurrency 1 serializes the passes (SQS allows no maximum concurrency below 2).
  assert.deepEqual(mappings[0][1].Properties, {
    FunctionName: { Ref: fns.webhooks.id },
    EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    BatchSize: 10,
  });
  const consumers = resources(s, 'AWS::Lambda::EventSourceMapping').filter(([, m]) => JSON.stringify(m.Properties.EventSourceArn).includes(queue));
  assert.equal(consumers.length, 1, 'only webhooks consumes the nudges');
  // Two passes never deliver to one subscriber at once: its deliveries stay in order.
  assert.equal(fns.webhooks.Properties.ReservedConcurrentExecutions, 1);
  for (const ctx of [{ fanoutReservedConcurrency: 20 }, { postConsumers: 4 }]) {
    assert.equal(fnByHandler(synth(ctx)).webhooks.Properties.ReservedConcurrentExecutions, 1, JSON.stringify(ctx));
  }
  assert.equal(fns.webhooks.Properties.Description, 'mcp-prompts-lambda, MCP_PROMPTS_HANDLER=webhooks');
  const q = s.json.Resources[queue].Properties;
  assert.equal(q.QueueName, 'mcp-prompts-webhooks');
  assert.equal(q.VisibilityTimeout, 6 * fns.webhooks.Properties.Timeout, '6x the webhooks timeout');
  assert.equal(q.VisibilityTimeout, 180);
  assert.equal(q.DelaySeconds, undefined, 'no queue delay: a pass delays its own retry nudge (DelaySeconds per message)');
  assert.equal(q.SqsManagedSseEnabled, true);
  const dlqId = id('QueuesWebhookDeadLetters');
  assert.deepEqual(q.RedrivePolicy, { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 3 });
  const dlq = s.json.Resources[dlqId].Properties;
  assert.equal(dlq.QueueName, 'mcp-prompts-webhooks-dlq');
  assert.equal(dlq.MessageRetentionPeriod, 14 * 24 * 3600);
  // TLS only, as every queue.
  const policies = resources(s, 'AWS::SQS::QueuePolicy').filter(([, p]) => JSON.stringify(p.Properties.Queues).includes(`"${queue}"`));
  assert.ok(
    policies.some(([, p]) => p.Properties.PolicyDocument.Statement.some((st: any) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false')),
    'TLS only',
  );
  const dev = synth({ prefix: 'mcp-dev' });
  const devQueues = resources(dev, 'AWS::SQS::Queue').map(([, x]) => x.Properties.QueueName).sort();
  assert.ok(devQueues.includes('mcp-dev-webhooks') && devQueues.includes('mcp-dev-webhooks-dlq'), devQueues.join(','));
  assert.deepEqual(s.json.Outputs.WebhookQueueUrl.Value, { Ref: queue });
});

test('context importBatch / importWaitSecs reach every function; the wait stays below the 10 s API function timeout', () => {
  const fns = fnByHandler(synth({ importBatch: 100, importWaitSecs: 9 }));
  for (const [h, f] of Object.entries(fns)) {
    assert.equal(f.Properties.Environment.Variables.MCP_PROMPTS_IMPORT_BATCH, '100', h);
    assert.equal(f.Properties.Environment.Variables.MCP_PROMPTS_IMPORT_WAIT_SECS, '9', h);
  }
  assert.ok(9 < fns.websocket.Properties.Timeout && 9 < fns.http.Properties.Timeout);
  const load = (ctx: Record<string, unknown>) => loadConfig(new App({ context: { ...cdkJsonContext(), lambdaArtifact: dummyArtifact(), ...ctx } }).node);
  assert.throws(() => load({ importWaitSecs: 10 }), /importWaitSecs must be below the websocket\/http timeout of 10 s/);
  assert.throws(() => load({ importWaitSecs: 0 }), /importWaitSecs must be an integer >= 1/);
  assert.throws(() => load({ importBatch: 5001 }), /importBatch must be at most 5000/);
  assert.throws(() => load({ importBatch: 0 }), /importBatch must be an integer >= 1/);
  assert.equal(load({}).importWaitSecs, 8);
  assert.equal(load({}).importBatch, 250);
});

test('sweeper: EventBridge rule every minute, no retries (the next run comes anyway)', () => {
  const s = synth();
  const fns = fnByHandler(s);
  s.template.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'rate(1 minute)',
    State: 'ENABLED',
    Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fns.sweeper.id, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })],
  });
  s.template.hasResourceProperties('AWS::Lambda::Permission', {
    Action: 'lambda:InvokeFunction',
    Principal: 'events.amazonaws.com',
    FunctionName: { 'Fn::GetAtt': [fns.sweeper.id, 'Arn'] },
  });
});

test('a missing artifact fails the synth with its path and the build script; no Rust is compiled', () => {
  const missing = path.join(os.tmpdir(), 'no-such-dir', 'bootstrap');
  const app = new App({ context: { ...cdkJsonContext(), lambdaArtifact: missing } });
  assert.throws(() => loadConfig(app.node), (e: Error) => e.message.includes(missing) && e.message.includes('scripts/build-lambda.sh'));
  const saved = process.env.MCP_PROMPTS_LAMBDA_ARTIFACT;
  try {
    process.env.MCP_PROMPTS_LAMBDA_ARTIFACT = missing;
    const viaEnv = new App({ context: cdkJsonContext() });
    assert.throws(() => loadConfig(viaEnv.node), /Lambda artifact not found: .*no-such-dir\/bootstrap/);
  } finally {
    if (saved === undefined) delete process.env.MCP_PROMPTS_LAMBDA_ARTIFACT;
    else process.env.MCP_PROMPTS_LAMBDA_ARTIFACT = saved;
  }
  const wrongName = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-art-')), 'mcp-prompts-lambda');
  fs.writeFileSync(wrongName, 'x');
  assert.throws(() => loadConfig(new App({ context: { ...cdkJsonContext(), lambdaArtifact: wrongName } }).node), /must be a file named bootstrap/);
});

test('a zip artifact is used as it is', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-zip-'));
  const zip = path.join(dir, 'bootstrap.zip');
  // An empty zip (end-of-central-directory record only): the tests check the template, not the binary.
  fs.writeFileSync(zip, Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]));
  const s = synth({ lambdaArtifact: zip });
  const fns = fnByHandler(s);
  assert.equal(Object.keys(fns).length, 9);
  assert.match(JSON.stringify(fns.websocket.Properties.Code.S3Key), /\.zip/);
});

test('context oidcIssuer/oidcAudience reach the authorizer (and only it) as MCP_PROMPTS_OIDC_*', () => {
  const issuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf';
  const fns = fnByHandler(synth({ oidcIssuer: issuer, oidcAudience: 'client-123' }));
  const env = fns.authorizer.Properties.Environment.Variables;
  assert.equal(env.MCP_PROMPTS_OIDC_ISSUER, issuer);
  assert.equal(env.MCP_PROMPTS_OIDC_AUDIENCE, 'client-123');
  assert.equal(env.MCP_PROMPTS_OIDC_JWKS, `${issuer}/.well-known/jwks.json`, "Cognito's JWKS by default");
  assert.equal(env.MCP_PROMPTS_OIDC_ROLE_CLAIM, 'cognito:groups');
  for (const h of ['websocket', 'http', 'fanout', 'sweeper']) {
    assert.equal(fns[h].Properties.Environment.Variables.MCP_PROMPTS_OIDC_ISSUER, undefined, h);
  }
  assert.equal(fnByHandler(synth()).authorizer.Properties.Environment.Variables.MCP_PROMPTS_OIDC_ISSUER, undefined, 'API keys only by default');
  const half = new App({ context: { ...cdkJsonContext(), oidcIssuer: issuer } });
  assert.throws(() => loadConfig(half.node), /oidcIssuer and oidcAudience go together/);
});
