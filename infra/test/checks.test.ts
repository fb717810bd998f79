// cdk-nag AwsSolutions: nothing left unacknowledged in any variant, every
// acknowledgement with a reason; the lint skip lists each give a reason.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { infraDir } from '../lib/config';
import { synth } from './synth';

const variants: Array<Record<string, unknown>> = [
  {},
  { auth: 'open' },
  { removal: 'destroy', fanoutReservedConcurrency: 10, apiGatewayAccountRole: false, alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops' },
];

for (const ctx of variants) {
  test(`cdk-nag AwsSolutions: no unacknowledged finding (${JSON.stringify(ctx)})`, () => {
    assert.deepEqual(synth(ctx).nag, []);
  });
}

test('every acknowledgement has a reason of a sentence', () => {
  const s = synth();
  let count = 0;
  for (const c of s.stack.node.findAll()) {
    for (const m of c.node.metadata.filter((x) => x.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)) {
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
        count++;
        assert.match(id, /^Annotation::AwsSolutions-[A-Z]+[0-9]+/, c.node.path);
        assert.ok(typeof reason === 'string' && reason.length >= 40, `${c.node.path} ${id}: ${reason}`);
      }
    }
  }
  assert.ok(count > 0);
});

test('checkov resource skips in the template carry comments', () => {
  const s = synth();
  let count = 0;
  for (const [id, r] of Object.entries(s.json.Resources as Record<string, any>)) {
    for (const skip of r.Metadata?.checkov?.skip ?? []) {
      count++;
      assert.match(skip.id, /^CKV_AWS_\d+$/, id);
      assert.ok(skip.comment.length >= 40, `${id} ${skip.id}`);
    }
  }
  assert.equal(count, 2);
});

for (const file of ['cfn-lint-skips.txt', 'checkov-skips.txt']) {
  test(`lint/${file}: every skipped check has a reason`, () => {
    const lines = fs
      .readFileSync(path.join(infraDir(), 'lint', file), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    assert.ok(lines.length > 0);
    for (const l of lines) {
      const [, id, reason] = /^(\S+)\s+(.*)$/.exec(l) ?? [];
      assert.ok(id && reason && reason.length >= 40, `${file}: ${l}`);
    }
  });
}

test('the test run lints the template bin/app.ts synthesized (INFRA_TEMPLATE from test.sh)', { skip: !process.env.INFRA_TEMPLATE && 'not run by test.sh' }, () => {
  const t = JSON.parse(fs.readFileSync(process.env.INFRA_TEMPLATE!, 'utf8'));
  const s = synth();
  assert.deepEqual(Object.keys(t.Resources).sort(), Object.keys(s.json.Resources).sort());
});
