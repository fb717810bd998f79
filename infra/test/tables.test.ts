// DynamoDB: the tables, keys, GSIs and TTL the Rust adapters query, checked
// against crates/aws/src/schema.rs itself so the two cannot drift apart.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { infraDir } from '../lib/config';
import {
  CHANGES_PARTITION,
  CONNECTIONS_TABLE,
  CURSOR_PARTITION,
  KEYS_PARTITION,
  MAX_RECEIVE_COUNT,
  PROMPTS_TABLE,
  SESSIONS_TABLE,
  SUBSCRIBERS_PARTITION,
  resourceNames,
  type TableDef,
} from '../lib/schema';
import { resources, synth } from './synth';

const schemaRs = fs.readFileSync(path.join(infraDir(), '..', 'crates', 'aws', 'src', 'schema.rs'), 'utf8');

/** `pub const NAME: &str = "value";` from schema.rs. */
function rsConsts(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of schemaRs.matchAll(/pub const ([A-Z_]+): &str = "([^"]*)";/g)) out[m[1]] = m[2];
  return out;
}

/** The TableDef literal of one table in schema.rs, with constants substituted. */
function rsTable(name: string): TableDef {
  const c = rsConsts();
  const body = schemaRs.split(`pub const ${name}: TableDef = TableDef {`)[1].split('\n};')[0];
  const attr = (src: string) => {
    const [n, t] = src.split(',').map((x) => x.trim());
    return { name: c[n] ?? n, type: t.replace(/"/g, '') as 'S' | 'N' };
  };
  const hash = attr(/hash: \(([^)]*)\)/.exec(body)![1]);
  const range = /range: Some\(\(([^)]*)\)\)/.exec(body);
  const indexes = [...body.matchAll(/\(([A-Z_]+), \(([^)]*)\), \(([^)]*)\)\)/g)].map((m) => ({
    name: c[m[1]],
    hash: attr(m[2]),
    range: attr(m[3]),
  }));
  const ttl = /ttl: Some\(([A-Z_]+)\)/.exec(body);
  return { hash, range: range ? attr(range[1]) : undefined, indexes, ttl: ttl ? c[ttl[1]] : undefined };
}

test('lib/schema.ts matches crates/aws/src/schema.rs', () => {
  const plain = (t: TableDef) => JSON.parse(JSON.stringify(t));
  assert.deepEqual(plain(PROMPTS_TABLE), plain(rsTable('PROMPTS_TABLE')));
  assert.deepEqual(plain(SESSIONS_TABLE), plain(rsTable('SESSIONS_TABLE')));
  assert.deepEqual(plain(CONNECTIONS_TABLE), plain(rsTable('CONNECTIONS_TABLE')));
  assert.equal(PROMPTS_TABLE.indexes.length, 3);
  assert.equal(String(MAX_RECEIVE_COUNT), /MAX_RECEIVE_COUNT: u32 = (\d+)/.exec(schemaRs)![1]);
  assert.deepEqual(
    PROMPTS_TABLE.indexes.map((i) => i.name).concat(CONNECTIONS_TABLE.indexes.map((i) => i.name)),
    ['live', 'by-category', 'outbox', 'by-topic'],
  );
  // The partitions the IAM LeadingKeys conditions name (permissions.ts), and the queues `aws bootstrap` creates.
  const rs = rsConsts();
  assert.equal(KEYS_PARTITION, rs.KEYS_PK);
  assert.equal(CHANGES_PARTITION, rs.CHANGES_PK);
  assert.equal(SUBSCRIBERS_PARTITION, rs.SUBSCRIBERS_PK);
  assert.equal(CURSOR_PARTITION, rs.CURSOR_PK);
  const names = resourceNames('mcp-prompts');
  assert.equal(names.shardQueue, rs.SHARD_QUEUE);
  assert.equal(names.importQueue, rs.IMPORT_QUEUE);
  assert.equal(names.webhookQueue, rs.WEBHOOK_QUEUE);
});

const expected: Array<[string, TableDef]> = [
  ['mcp-prompts-prompts', PROMPTS_TABLE],
  ['mcp-prompts-sessions', SESSIONS_TABLE],
  ['mcp-prompts-connections', CONNECTIONS_TABLE],
];

test('exactly three tables, named as the binary defaults, keys and GSIs as the adapters query them', () => {
  const s = synth();
  assert.equal(resources(s, 'AWS::DynamoDB::Table').length, 3);
  for (const [name, def] of expected) {
    const keys = [{ AttributeName: def.hash.name, KeyType: 'HASH' }];
    if (def.range) keys.push({ AttributeName: def.range.name, KeyType: 'RANGE' });
    const attrs = new Map<string, string>();
    for (const k of [def.hash, def.range, ...def.indexes.flatMap((i) => [i.hash, i.range])]) if (k) attrs.set(k.name, k.type);
    s.template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: name,
      KeySchema: keys,
      AttributeDefinitions: Match.arrayWith([...attrs].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }))),
      GlobalSecondaryIndexes: def.indexes.length
        ? def.indexes.map((i) => ({
            IndexName: i.name,
            KeySchema: [
              { AttributeName: i.hash.name, KeyType: 'HASH' },
              { AttributeName: i.range.name, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          }))
        : Match.absent(),
      TimeToLiveSpecification: def.ttl ? { AttributeName: def.ttl, Enabled: true } : Match.absent(),
    });
    const [, t] = resources(s, 'AWS::DynamoDB::Table').find(([, r]) => r.Properties.TableName === name)!;
    assert.equal(t.Properties.AttributeDefinitions.length, attrs.size, `${name}: only key attributes are defined`);
  }
});

test('tables: on demand, point-in-time recovery, encrypted, retained with deletion protection by default', () => {
  const s = synth();
  for (const [id, t] of resources(s, 'AWS::DynamoDB::Table')) {
    assert.equal(t.Properties.BillingMode, 'PAY_PER_REQUEST', id);
    assert.deepEqual(t.Properties.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true }, id);
    assert.equal(t.Properties.SSESpecification?.SSEEnabled, true, id);
    assert.equal(t.Properties.DeletionProtectionEnabled, true, id);
    assert.equal(t.DeletionPolicy, 'Retain', id);
  }
});

test('context prefix renames tables; removal=destroy drops retention and deletion protection', () => {
  const s = synth({ prefix: 'dev-hub', removal: 'destroy' });
  const names = resources(s, 'AWS::DynamoDB::Table').map(([, t]) => t.Properties.TableName).sort();
  assert.deepEqual(names, ['dev-hub-connections', 'dev-hub-prompts', 'dev-hub-sessions']);
  for (const [, t] of resources(s, 'AWS::DynamoDB::Table')) {
    assert.equal(t.DeletionPolicy, 'Delete');
    assert.equal(t.Properties.DeletionProtectionEnabled, false);
  }
});
