// Least privilege: per-handler actions and resources, ManageConnections scoped
// to this API's stage and methods, and no wildcard that could be narrower.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { ALLOWED_WILDCARDS } from '../lib/nag-suppressions';
import { resources, synth } from './synth';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
const list = <T>(x: T | T[]): T[] => ([] as T[]).concat(x);

/** handler -> statements of its role's policies. */
function statements(s: ReturnType<typeof synth>): Record<string, Statement[]> {
  const roleOf: Record<string, string> = {};
  for (const [, f] of resources(s, 'AWS::Lambda::Function')) {
    const h = f.Properties.Environment?.Variables?.MCP_PROMPTS_HANDLER;
    if (h) roleOf[f.Properties.Role['Fn::GetAtt'][0]] = h;
  }
  const out: Record<string, Statement[]> = {};
  for (const [, p] of resources(s, 'AWS::IAM::Policy')) {
    for (const r of p.Properties.Roles) {
      const h = roleOf[r.Ref];
      if (h) (out[h] ??= []).push(...p.Properties.PolicyDocument.Statement);
    }
  }
  for (const [id, r] of resources(s, 'AWS::IAM::Role')) {
    if (roleOf[id]) {
      assert.equal(r.Properties.ManagedPolicyArns, undefined, `${roleOf[id]}: no managed policies`);
      assert.equal(r.Properties.Policies, undefined, `${roleOf[id]}: no inline role policies`);
    }
  }
  return out;
}

/** action -> flattened resources, for one handler. */
function grants(st: Statement[]): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const x of st) {
    assert.equal(x.Effect, 'Allow');
    for (const a of list(x.Action)) {
      const set = m.get(a) ?? new Set<string>();
      for (const r of list(x.Resource)) set.add(flattenCfnReference(r));
      m.set(a, set);
    }
  }
  return m;
}

const id = (s: ReturnType<typeof synth>, prefix: string) => Object.keys(s.json.Resources).find((k) => k.startsWith(prefix))!;

test('each handler gets exactly the actions its adapters call', () => {
  const s = synth();
  const st = statements(s);
  const actions = Object.fromEntries(Object.entries(st).map(([h, x]) => [h, [...grants(x).keys()].sort()]));
  const base = ['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
  const sorted = (a: string[]) => [...new Set([...a, ...base])].sort();
  assert.deepEqual(actions, {
    websocket: sorted([
      'dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem',
      'dynamodb:Query', 'dynamodb:UpdateItem', 'execute-api:ManageConnections', 's3:GetObject', 's3:PutObject', 'sqs:SendMessage',
    ]),
    http: sorted([
      'dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query',
      'dynamodb:UpdateItem', 's3:GetObject', 's3:PutObject', 'sqs:SendMessage',
    ]),
    fanout: sorted([
      'dynamodb:BatchWriteItem', 'dynamodb:Query', 'execute-api:ManageConnections', 'sqs:SendMessage',
      // The SQS event source's own grant (CDK): receive, delete, attributes of the change queue.
      'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage',
    ]),
    shard: sorted([
      'dynamodb:BatchWriteItem', 'dynamodb:Query', 'execute-api:ManageConnections', 'sqs:SendMessage',
      // The SQS event source's own grant (CDK), on the shard queue.
      'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage',
    ]),
    sweeper: sorted(['dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'sqs:SendMessage']),
    authorizer: sorted(['dynamodb:GetItem']),
    s3sync: sorted([
      'dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem',
      's3:GetObject', 's3:ListBucket', 's3:PutObject', 'sqs:SendMessage',
      // The SQS event source's own grant (CDK), on the catalog events queue.
      'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage',
    ]),
    import: sorted([
      // The catalog import (as s3sync) and the job record.
      'dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem',
      // The batch (read, listed for a 404, deleted once counted) and large templates.
      's3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject',
      // The outbox and the next batch.
      'sqs:SendMessage',
      // The job's list_changed: who listens, forget gone connections, post.
      'dynamodb:BatchWriteItem', 'execute-api:ManageConnections',
      // The SQS event source's own grant (CDK), on the import queue.
      'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage',
    ]),
    webhooks: sorted([
      // Subscribers, cursors, the change log, the dependents graph; the cursor and the delivery state. No DeleteItem.
      'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem',
      // Large templates of the prompts it rereads; its own nudge.
      's3:GetObject', 'sqs:SendMessage',
      // The SQS event source's own grant (CDK), on the webhook queue.
      'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage',
    ]),
  });
});

/** The LeadingKeys partitions of a handler's statements granting `action` on `resource` (undefined: unconditioned). */
const partitionsOf = (st: Statement[], action: string, resource: string) =>
  st
    .filter((x) => list(x.Action).includes(action) && list(x.Resource).map(flattenCfnReference).includes(resource))
    .map((x) => {
      const c = (x as Statement & { Condition?: any }).Condition;
      if (c === undefined) return undefined;
      assert.deepEqual(Object.keys(c), ['ForAllValues:StringEquals'], `${action}: only a LeadingKeys condition`);
      assert.deepEqual(Object.keys(c['ForAllValues:StringEquals']), ['dynamodb:LeadingKeys']);
      return [...c['ForAllValues:StringEquals']['dynamodb:LeadingKeys']].sort();
    });

test('webhook subscribers: the webhooks pass, nudges from fanout/sweeper, registering and removing on websocket/http', () => {
  const s = synth();
  const st = statements(s);
  const g = Object.fromEntries(Object.entries(st).map(([h, x]) => [h, grants(x)]));
  const res = (h: string, a: string) => [...(g[h].get(a) ?? [])].sort();
  const prompts = `<${id(s, 'TablesPrompts')}.Arn>`;
  const nudges = `<${id(s, 'QueuesWebhooks')}.Arn>`;
  const templates = `<${id(s, 'StorageTemplates')}.Arn>/templates/*`;

  // The pass: GetItem anywhere (the head, cursors, and the prompts the dependents graph rereads)...
  assert.deepEqual(res('webhooks', 'dynamodb:GetItem'), [prompts]);
  assert.deepEqual(partitionsOf(st.webhooks, 'dynamodb:GetItem', prompts), [undefined]);
  // ...Query of the table in CHANGES and SUBSCRIBERS only, plus the live index (the graph lists live prompts).
  assert.deepEqual(res('webhooks', 'dynamodb:Query'), [prompts, `${prompts}/index/live`].sort());
  assert.deepEqual(partitionsOf(st.webhooks, 'dynamodb:Query', prompts), [['CHANGES', 'SUBSCRIBERS']]);
  assert.deepEqual(partitionsOf(st.webhooks, 'dynamodb:Query', `${prompts}/index/live`), [undefined]);
  // Writes: its cursor (PutItem CURSOR), a failing subscriber's state (UpdateItem SUBSCRIBERS).
  assert.deepEqual(res('webhooks', 'dynamodb:PutItem'), [prompts]);
  assert.deepEqual(partitionsOf(st.webhooks, 'dynamodb:PutItem', prompts), [['CURSOR']]);
  assert.deepEqual(res('webhooks', 'dynamodb:UpdateItem'), [prompts]);
  assert.deepEqual(partitionsOf(st.webhooks, 'dynamodb:UpdateItem', prompts), [['SUBSCRIBERS']]);
  for (const a of ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:Scan', 's3:PutObject', 'execute-api:ManageConnections']) {
    assert.equal(g.webhooks.get(a), undefined, `webhooks ${a}`);
  }
  assert.deepEqual(res('webhooks', 's3:GetObject'), [templates]);
  assert.deepEqual(res('webhooks', 'sqs:SendMessage'), [nudges], 'it nudges its own queue only');
  assert.deepEqual(res('webhooks', 'sqs:ReceiveMessage'), [nudges]);
  assert.deepEqual(res('webhooks', 'sqs:DeleteMessage'), [nudges]);
  for (const tbl of ['TablesSessions', 'TablesConnections']) {
    const arn = `<${id(s, tbl)}.Arn>`;
    for (const [a, r] of g.webhooks) assert.ok(![...r].some((x) => x.startsWith(arn)), `webhooks ${a} on ${tbl}`);
  }

  // Nudges: fanout once per batch, the sweeper once per run; no one else sends to or reads the queue.
  assert.deepEqual(res('fanout', 'sqs:SendMessage'), [`<${id(s, 'QueuesShards')}.Arn>`, nudges].sort());
  assert.deepEqual(res('sweeper', 'sqs:SendMessage'), [`<${id(s, 'QueuesChanges')}.Arn>`, nudges].sort());
  for (const [h, m] of Object.entries(g)) {
    const onQueue = [...m.entries()].filter(([, r]) => r.has(nudges)).map(([a]) => a).sort();
    if (h === 'fanout' || h === 'sweeper') assert.deepEqual(onQueue, ['sqs:SendMessage'], h);
    else if (h !== 'webhooks') assert.deepEqual(onQueue, [], h);
  }

  // Registering (Query, GetItem, conditional PutItem) is among a writer's grants; unsubscribe
  // deletes the subscriber and its cursor: DeleteItem in SUBSCRIBERS and CURSOR only.
  for (const h of ['websocket', 'http']) {
    for (const a of ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem']) {
      assert.deepEqual(partitionsOf(st[h], a, prompts), [undefined], `${h} ${a}`);
    }
    const deletes = partitionsOf(st[h], 'dynamodb:DeleteItem', prompts);
    assert.deepEqual(deletes, h === 'http' ? [['WEBHOOK'], ['CURSOR', 'SUBSCRIBERS']] : [['CURSOR', 'SUBSCRIBERS']], h);
  }
  for (const h of ['fanout', 'shard', 'sweeper', 'authorizer', 's3sync', 'import']) {
    assert.deepEqual(partitionsOf(st[h], 'dynamodb:DeleteItem', prompts), [], `${h}: no DeleteItem on the prompts table`);
  }
});

test('table, index, key-prefix and queue resources per handler', () => {
  const s = synth();
  const g = Object.fromEntries(Object.entries(statements(s)).map(([h, x]) => [h, grants(x)]));
  const prompts = `<${id(s, 'TablesPrompts')}.Arn>`;
  const sessions = `<${id(s, 'TablesSessions')}.Arn>`;
  const connections = `<${id(s, 'TablesConnections')}.Arn>`;
  const queue = `<${id(s, 'QueuesChanges')}.Arn>`;
  const templates = `<${id(s, 'StorageTemplates')}.Arn>/templates/*`;
  const batches = `<${id(s, 'StorageTemplates')}.Arn>/imports/*`;
  const imports = `<${id(s, 'QueuesImports')}.Arn>`;
  const res = (h: string, a: string) => [...(g[h].get(a) ?? [])].sort();

  assert.deepEqual(res('websocket', 'dynamodb:Query'), [`${connections}`, prompts, `${prompts}/index/by-category`, `${prompts}/index/live`].sort());
  // Sessions, and (unsubscribe) a subscriber and its cursor.
  assert.deepEqual(res('websocket', 'dynamodb:DeleteItem'), [prompts, sessions].sort());
  assert.deepEqual(res('websocket', 'dynamodb:BatchWriteItem'), [connections]);
  assert.deepEqual(res('websocket', 'dynamodb:GetItem'), [connections, prompts, sessions].sort());
  // import_catalog submits jobs: batches under imports/, the first batch on the import queue.
  assert.deepEqual(res('websocket', 's3:PutObject'), [batches, templates].sort());
  assert.deepEqual(res('websocket', 's3:GetObject'), [templates]);
  assert.deepEqual(res('websocket', 'sqs:SendMessage'), [imports, queue].sort(), 'registering a subscriber nudges nothing');
  assert.equal(g.websocket.get('s3:DeleteObject'), undefined);
  assert.equal(g.websocket.get('s3:ListBucket'), undefined);
  // The job record (JOBS / J#{job}): PutItem, GetItem, Query on the prompts table, which a writer has anyway.
  for (const h of ['websocket', 'http']) {
    for (const a of ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']) assert.ok(g[h].get(a)?.has(prompts), `${h} ${a}`);
  }

  assert.deepEqual(res('http', 'dynamodb:Query'), [prompts, `${prompts}/index/by-category`, `${prompts}/index/live`].sort());
  assert.deepEqual(res('http', 's3:GetObject'), [templates]);
  // POST /imports: batches under imports/; the GitHub webhook: pushes to s3sync's queue, delivery ids in the WEBHOOK partition only.
  assert.deepEqual(res('http', 's3:PutObject'), [batches, templates].sort());
  assert.deepEqual(res('http', 'sqs:SendMessage'), [`<${id(s, 'QueuesCatalogEvents')}.Arn>`, imports, queue].sort());
  assert.deepEqual(res('http', 'dynamodb:DeleteItem'), [prompts, sessions].sort());
  const forget = statements(s).http.filter(
    (x) => list(x.Action).includes('dynamodb:DeleteItem') && flattenCfnReference(list(x.Resource)[0]) === prompts,
  ) as Array<Statement & { Condition?: unknown }>;
  // The GitHub delivery ids, and (unsubscribe) a subscriber and its cursor: nothing else of the prompts table.
  assert.deepEqual(forget.map((x) => x.Condition), [
    { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['WEBHOOK'] } },
    { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['SUBSCRIBERS', 'CURSOR'] } },
  ]);

  assert.deepEqual(res('fanout', 'dynamodb:Query'), [connections, `${connections}/index/by-topic`].sort());
  assert.deepEqual(res('fanout', 'dynamodb:BatchWriteItem'), [connections]);
  assert.deepEqual(res('fanout', 'sqs:ReceiveMessage'), [queue]);
  const shards = `<${id(s, 'QueuesShards')}.Arn>`;
  assert.deepEqual(res('fanout', 'sqs:SendMessage'), [shards, `<${id(s, 'QueuesWebhooks')}.Arn>`].sort());
  assert.deepEqual(res('shard', 'sqs:SendMessage'), [shards], 'retry shards go back to its own queue');
  assert.deepEqual(res('shard', 'sqs:ReceiveMessage'), [shards]);
  assert.deepEqual(res('shard', 'dynamodb:BatchWriteItem'), [connections]);

  assert.deepEqual(res('sweeper', 'dynamodb:Query'), [prompts, `${prompts}/index/outbox`].sort());
  assert.deepEqual(res('sweeper', 'dynamodb:BatchWriteItem'), [prompts]);
  assert.deepEqual(res('sweeper', 'sqs:SendMessage'), [queue, `<${id(s, 'QueuesWebhooks')}.Arn>`].sort());

  // s3sync reads catalog files under catalog/ (and lists only that prefix), imports them as any writer.
  const catalog = `<${id(s, 'StorageCatalog')}.Arn>`;
  assert.deepEqual(res('s3sync', 's3:GetObject'), [`${catalog}/catalog/*`, templates].sort());
  assert.deepEqual(res('s3sync', 's3:ListBucket'), [catalog]);
  const listing = statements(s).s3sync.find((x) => list(x.Action).includes('s3:ListBucket')) as Statement & { Condition?: unknown };
  assert.deepEqual(listing.Condition, { StringLike: { 's3:prefix': ['catalog/*'] } });
  assert.deepEqual(res('s3sync', 's3:PutObject'), [templates]);
  assert.deepEqual(res('s3sync', 'sqs:SendMessage'), [queue]);
  assert.deepEqual(res('s3sync', 'sqs:ReceiveMessage'), [`<${id(s, 'QueuesCatalogEvents')}.Arn>`]);
  assert.deepEqual(res('s3sync', 'dynamodb:Query'), [prompts, `${prompts}/index/by-category`, `${prompts}/index/live`].sort());

  // import: its batch under imports/ (GetObject, DeleteObject; ListBucket on that prefix only), the
  // catalog import as s3sync, the outbox and the next batch, and list_changed as fanout without shards.
  assert.deepEqual(res('import', 's3:GetObject'), [batches, templates].sort());
  assert.deepEqual(res('import', 's3:DeleteObject'), [batches]);
  assert.deepEqual(res('import', 's3:PutObject'), [templates]);
  assert.deepEqual(res('import', 's3:ListBucket'), [`<${id(s, 'StorageTemplates')}.Arn>`]);
  const batchListing = statements(s).import.find((x) => list(x.Action).includes('s3:ListBucket')) as Statement & { Condition?: unknown };
  assert.deepEqual(batchListing.Condition, { StringLike: { 's3:prefix': ['imports/*'] } });
  assert.deepEqual(res('import', 'sqs:SendMessage'), [imports, queue].sort());
  assert.deepEqual(res('import', 'sqs:ReceiveMessage'), [imports]);
  assert.deepEqual(res('import', 'sqs:DeleteMessage'), [imports]);
  for (const a of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem']) {
    assert.deepEqual(res('import', a), [prompts], a);
  }
  assert.deepEqual(
    res('import', 'dynamodb:Query'),
    [prompts, `${prompts}/index/by-category`, `${prompts}/index/live`, connections, `${connections}/index/by-topic`].sort(),
  );
  assert.deepEqual(res('import', 'dynamodb:BatchWriteItem'), [connections]);
  for (const a of ['dynamodb:DeleteItem', 'dynamodb:Scan', 's3:DeleteObjectVersion']) assert.equal(g.import.get(a), undefined, a);
  // No one else touches the batches or the import queue.
  for (const [h, m] of Object.entries(g)) {
    const onBatches = [...m.entries()].filter(([, r]) => r.has(batches)).map(([a]) => a).sort();
    const onQueue = [...m.entries()].filter(([, r]) => r.has(imports)).map(([a]) => a);
    if (h === 'websocket' || h === 'http') {
      assert.deepEqual(onBatches, ['s3:PutObject'], h);
      assert.deepEqual(onQueue, ['sqs:SendMessage'], h);
    } else if (h !== 'import') {
      assert.deepEqual(onBatches, [], h);
      assert.deepEqual(onQueue, [], h);
    }
  }

  // The authorizer reads API keys only: the KEYS partition of the prompts table.
  assert.deepEqual(res('authorizer', 'dynamodb:GetItem'), [prompts]);
  const keyRead = statements(s).authorizer.find((x) => list(x.Action).includes('dynamodb:GetItem')) as Statement & { Condition?: unknown };
  assert.deepEqual(keyRead.Condition, { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['KEYS'] } });

  for (const [h, m] of Object.entries(g)) {
    const logs = [...m.get('logs:PutLogEvents')!];
    assert.equal(logs.length, 1, h);
    assert.match(logs[0], /^<Functions[A-Z][A-Za-z0-9]*Logs[A-Z0-9]+\.Arn>$/, h);
  }
});

test('execute-api:ManageConnections: this API, this stage, POST/DELETE @connections only', () => {
  const s = synth();
  const g = Object.fromEntries(Object.entries(statements(s)).map(([h, x]) => [h, grants(x)]));
  const apiRef = `<${id(s, 'WebSocketApi')}>`;
  const arn = (m: string) => `arn:aws:execute-api:us-east-1:123456789012:${apiRef}/prod/${m}/@connections/*`;
  assert.deepEqual([...g.websocket.get('execute-api:ManageConnections')!].sort(), [arn('DELETE'), arn('POST')]);
  assert.deepEqual([...g.fanout.get('execute-api:ManageConnections')!], [arn('POST')]);
  assert.deepEqual([...g.shard.get('execute-api:ManageConnections')!], [arn('POST')]);
  assert.deepEqual([...g.import.get('execute-api:ManageConnections')!], [arn('POST')], "a job's end announces list_changed");
  for (const h of ['http', 'sweeper', 'authorizer', 's3sync', 'webhooks']) assert.equal(g[h].get('execute-api:ManageConnections'), undefined, h);
  // Environment-agnostic synth keeps the scope, with pseudo parameters.
  const agnostic = statements(synth({ stage: 'live' }));
  const flat = JSON.stringify(agnostic.websocket);
  assert.match(flat, /\/live\/POST\/@connections\/\*/);
});

test('no wildcard action; wildcard resources only where nothing narrower exists (lib/nag-suppressions.ts)', () => {
  for (const ctx of [{}, { auth: 'open' }, { removal: 'destroy' }]) {
    const s = synth(ctx);
    for (const [, p] of resources(s, 'AWS::IAM::Policy')) {
      const path = JSON.stringify(p.Properties.Roles);
      const deployment = path.includes('CDKBucketDeployment') || path.includes('CustomS3AutoDeleteObjects');
      for (const st of p.Properties.PolicyDocument.Statement as Statement[]) {
        const actions = list(st.Action);
        if (!deployment) for (const a of actions) assert.ok(!a.includes('*'), `wildcard action ${a} in ${path}`);
        for (const r of list(st.Resource).map(flattenCfnReference)) {
          if (!r.includes('*') || deployment) continue;
          const ok = ALLOWED_WILDCARDS.some((w) => w.pattern.test(r) && (!w.onlyActions || actions.every((a) => w.onlyActions!.test(a))));
          assert.ok(ok, `wildcard resource ${r} for ${actions.join(',')} in ${path}`);
        }
      }
    }
  }
});
