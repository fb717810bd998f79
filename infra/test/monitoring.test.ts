// Alarms, the dashboard over the EMF metrics, and the stack outputs.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { StackConfig } from '../lib/config';
import type { Functions } from '../lib/functions';
import { HANDLER_DIMENSION, METRICS, METRIC_NAMESPACE } from '../lib/metric-names';
import { Monitoring } from '../lib/monitoring';
import type { Queues } from '../lib/queues';
import { resources, synth } from './synth';

/** Alarms, with a single-metric alarm in `Metrics` form (CDK uses it when a label is set) flattened. */
const alarms = (s: ReturnType<typeof synth>) =>
  resources(s, 'AWS::CloudWatch::Alarm').map(([id, a]) => {
    const p = a.Properties;
    const single = p.Metrics?.length === 1 && p.Metrics[0].MetricStat;
    if (!single) return { id, ...p };
    const st = p.Metrics[0].MetricStat;
    const stat: string = st.Stat;
    return {
      id,
      ...p,
      Namespace: st.Metric.Namespace,
      MetricName: st.Metric.MetricName,
      Dimensions: st.Metric.Dimensions,
      ...(stat.startsWith('p') ? { ExtendedStatistic: stat } : { Statistic: stat }),
    };
  });

/** The dashboard's widgets; tokens (Ref / GetAtt) become `@logicalId@` so the body parses as JSON. */
const widgets = (s: ReturnType<typeof synth>): any[] => {
  const [, d] = resources(s, 'AWS::CloudWatch::Dashboard')[0];
  const text = (d.Properties.DashboardBody['Fn::Join'][1] as unknown[])
    .map((x: any) => (typeof x === 'string' ? x : `@${x.Ref ?? x['Fn::GetAtt']?.[0] ?? 'token'}@`))
    .join('');
  return JSON.parse(text).widgets;
};

test('EMF names live in one constants file', () => {
  assert.equal(METRIC_NAMESPACE, 'McpPrompts');
  assert.equal(HANDLER_DIMENSION, 'Handler');
  assert.deepEqual(Object.values(METRICS).sort(), ['Errors', 'FanoutConnections', 'FanoutLagMs', 'FanoutPosts', 'Gone410', 'PostThrottled', 'RenderMs', 'Requests']);
});

test('alarms: dead letters, per-function errors and throttles, API 5xx, integration latency p99, fan-out lag', () => {
  const s = synth();
  const a = alarms(s);
  const dlqId = Object.keys(s.json.Resources).find((k) => k.startsWith('QueuesDeadLetters'))!;
  const dlq = a.find((x) => x.MetricName === 'ApproximateNumberOfMessagesVisible');
  assert.ok(dlq);
  assert.deepEqual(dlq.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }]);
  assert.equal(dlq.Threshold, 1);
  assert.equal(dlq.ComparisonOperator, 'GreaterThanOrEqualToThreshold');

  const fns = resources(s, 'AWS::Lambda::Function').filter(([, f]) => f.Properties.Environment?.Variables?.MCP_PROMPTS_HANDLER);
  assert.equal(fns.length, 9);
  const catalogDlqId = Object.keys(s.json.Resources).find((k) => k.startsWith('QueuesCatalogDeadLetters'))!;
  const catalogDlq = a.find(
    (x) => x.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(x.Dimensions).includes(catalogDlqId),
  );
  assert.ok(catalogDlq, 'an alarm on the catalog events dead letters');
  assert.equal(catalogDlq.Threshold, 1);
  for (const prefix of ['QueuesShardDeadLetters', 'QueuesImportDeadLetters', 'QueuesWebhookDeadLetters']) {
    const dlqOf = Object.keys(s.json.Resources).find((k) => k.startsWith(prefix))!;
    const alarm = a.find((x) => x.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(x.Dimensions).includes(dlqOf));
    assert.ok(alarm, `an alarm on ${prefix}`);
    if (prefix === 'QueuesWebhookDeadLetters') assert.match(alarm.id, /^MonitoringWebhookDeadLettersNotEmpty/);
    assert.equal(alarm.Threshold, 1);
    assert.equal(alarm.Statistic, 'Maximum');
    assert.equal(alarm.Period, 60);
  }
  for (const [fnId] of fns) {
    for (const metric of ['Errors', 'Throttles']) {
      assert.ok(
        a.some((x) => x.Namespace === 'AWS/Lambda' && x.MetricName === metric && x.Dimensions?.[0]?.Value?.Ref === fnId),
        `${metric} alarm for ${fnId}`,
      );
    }
  }
  const http5xx = a.find((x) => x.MetricName === '5xx');
  assert.ok(http5xx && http5xx.Namespace === 'AWS/ApiGateway');
  const ws5xx = a.find((x) => x.Metrics?.some((m: any) => m.Expression === 'ie + ee'));
  assert.ok(ws5xx, 'WebSocket integration + execution errors');
  const names = ws5xx!.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric.MetricName).sort();
  assert.deepEqual(names, ['ExecutionError', 'IntegrationError']);
  const p99 = a.filter((x) => x.MetricName === 'IntegrationLatency' && x.ExtendedStatistic === 'p99');
  assert.equal(p99.length, 2, 'HTTP and WebSocket integration latency p99');
  // Fan-out lag: with the shard function (always in this stack) the end-to-end lag is shard's.
  const lag = a.find((x) => x.id.startsWith('MonitoringFanoutLagP99'));
  assert.ok(lag, 'the FanoutLagP99 alarm keeps its logical id');
  assert.equal(lag!.Threshold, 5000);
  assert.equal(lag!.EvaluationPeriods, 3);
  const expr = lag!.Metrics.find((m: any) => m.Expression);
  assert.equal(expr?.Expression, 'MAX([fanoutP99, shardP99])');
  assert.equal(expr.ReturnData ?? true, true);
  const lagStats = Object.fromEntries(lag!.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [m.Id, m]));
  for (const [id, handler] of [['fanoutP99', 'fanout'], ['shardP99', 'shard']]) {
    const m = lagStats[id];
    assert.ok(m, `the lag alarm reads ${handler}`);
    assert.equal(m.ReturnData, false);
    assert.equal(m.MetricStat.Metric.Namespace, METRIC_NAMESPACE);
    assert.equal(m.MetricStat.Metric.MetricName, METRICS.fanoutLagMs);
    assert.deepEqual(m.MetricStat.Metric.Dimensions, [{ Name: HANDLER_DIMENSION, Value: handler }]);
    assert.equal(m.MetricStat.Stat, 'p99');
    assert.equal(m.MetricStat.Period, 300);
  }
  assert.equal(lag!.Metrics.length, 3);
  for (const x of a) assert.equal(x.TreatMissingData, 'notBreaching', x.id);
  for (const x of a) assert.equal(x.AlarmActions, undefined, 'no actions without alarmTopicArn');
});

test('alarmTopicArn context: every alarm notifies the topic on alarm and on OK', () => {
  const topic = 'arn:aws:sns:us-east-1:123456789012:ops';
  const a = alarms(synth({ alarmTopicArn: topic }));
  assert.equal(a.length, 29); // 5 dead-letter queues + change backlog, 9 x (errors, throttles), HTTP + WebSocket 5xx, 2 latency p99, fan-out lag (fanout, shard)
  for (const x of a) {
    assert.deepEqual(x.AlarmActions, [topic], x.id);
    assert.deepEqual(x.OKActions, [topic], x.id);
  }
});

test('dashboard graphs every EMF metric by Handler, plus Lambda, API and queue metrics', () => {
  const s = synth();
  const [, d] = resources(s, 'AWS::CloudWatch::Dashboard')[0];
  assert.equal(d.Properties.DashboardName, 'mcp-prompts-ops');
  const body = JSON.stringify(d.Properties.DashboardBody);
  for (const m of Object.values(METRICS)) {
    assert.ok(body.includes(`\\"${METRIC_NAMESPACE}\\",\\"${m}\\",\\"${HANDLER_DIMENSION}\\"`), `dashboard has ${m}`);
  }
  for (const m of ['AWS/Lambda', 'AWS/ApiGateway', 'AWS/SQS', 'ConnectCount', 'MessageCount', 'IntegrationLatency']) assert.ok(body.includes(m), m);
  // The "Dead letters" graph holds all five dead-letter queues.
  const ws = widgets(s);
  const dead = ws.find((w: any) => w.properties?.title === 'Dead letters');
  assert.ok(dead, 'a Dead letters graph');
  const graphed = JSON.stringify(dead.properties.metrics);
  for (const prefix of ['QueuesDeadLetters', 'QueuesShardDeadLetters', 'QueuesCatalogDeadLetters', 'QueuesImportDeadLetters', 'QueuesWebhookDeadLetters']) {
    const q = Object.keys(s.json.Resources).find((k) => k.startsWith(prefix))!;
    assert.ok(graphed.includes(`@${q}@`), `the Dead letters graph has ${prefix}`);
  }
  assert.equal(dead.properties.metrics.length, 5);
  // The per-function graphs iterate HANDLERS: webhooks among them, like every deployed handler.
  for (const title of ['Lambda invocations', 'Lambda errors / throttles', 'Lambda duration p99']) {
    const w = ws.find((x: any) => x.properties?.title === title);
    const fnRefs = resources(s, 'AWS::Lambda::Function')
      .filter(([, f]) => f.Properties.Environment?.Variables?.MCP_PROMPTS_HANDLER)
      .map(([id]) => id);
    for (const fnId of fnRefs) assert.ok(JSON.stringify(w.properties.metrics).includes(`@${fnId}@`), `${title}: ${fnId}`);
  }
});

test('dashboard: the fan-out graphs hold the shard series beside fanout', () => {
  const w = widgets(synth());
  /** `[metric, handler, stat]` of each series in the graph titled `title`. */
  const series = (title: string) => {
    const g = w.find((x: any) => x.properties?.title === title);
    assert.ok(g, `a ${title} graph`);
    return g.properties.metrics.map((m: any[]) => {
      assert.deepEqual(m.slice(0, 3), [METRIC_NAMESPACE, m[1], HANDLER_DIMENSION], title);
      return [m[1], m[3], m[4]?.stat];
    });
  };
  const both = ['fanout', 'shard'];
  assert.deepEqual(
    series('Fan-out connections / posts'),
    both.flatMap((h) => [[METRICS.fanoutConnections, h, 'Sum'], [METRICS.fanoutPosts, h, 'Sum']]),
  );
  assert.deepEqual(
    series('FanoutLagMs p50 / p99 / max'),
    both.flatMap((h) => ['p50', 'p99', 'Maximum'].map((stat) => [METRICS.fanoutLagMs, h, stat])),
  );
  assert.deepEqual(
    series('Gone (410) / PostToConnection throttled'),
    [...both, 'websocket'].flatMap((h) => [[METRICS.gone410, h, 'Sum'], [METRICS.postThrottled, h, 'Sum']]),
  );
});

test('without a shard function: the lag alarm and the fan-out graphs read fanout alone', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-prompts-cdk-out-'));
  const stack = new Stack(new App({ outdir }), 'NoShards');
  const fanout = new lambda.Function(stack, 'Fanout', {
    runtime: lambda.Runtime.NODEJS_20_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
  const byHandler = { fanout };
  const queue = (id: string) => new sqs.Queue(stack, id);
  new Monitoring(stack, 'Monitoring', {
    config: { prefix: 'mcp-prompts' } as StackConfig,
    functions: { byHandler, get: (h: keyof typeof byHandler) => byHandler[h] } as unknown as Functions,
    queues: {
      changes: queue('Changes'),
      deadLetters: queue('DeadLetters'),
      shardDeadLetters: queue('ShardDeadLetters'),
      catalogDeadLetters: queue('CatalogDeadLetters'),
      importDeadLetters: queue('ImportDeadLetters'),
      webhookDeadLetters: queue('WebhookDeadLetters'),
    } as unknown as Queues,
    webSocketApi: new apigwv2.WebSocketApi(stack, 'Ws'),
    webSocketStage: 'prod',
    httpApi: new apigwv2.HttpApi(stack, 'Http'),
  });
  const json = Template.fromStack(stack).toJSON();
  const s = { json } as ReturnType<typeof synth>;
  const lag = alarms(s).find((x) => x.id.startsWith('MonitoringFanoutLagP99'));
  assert.ok(lag);
  assert.equal(lag!.MetricName, METRICS.fanoutLagMs);
  assert.deepEqual(lag!.Dimensions, [{ Name: HANDLER_DIMENSION, Value: 'fanout' }]);
  assert.equal(lag!.ExtendedStatistic, 'p99');
  for (const title of ['Fan-out connections / posts', 'FanoutLagMs p50 / p99 / max', 'Gone (410) / PostToConnection throttled']) {
    const g = widgets(s).find((x: any) => x.properties?.title === title);
    const handlers = new Set(g.properties.metrics.map((m: any[]) => m[3]));
    assert.ok(handlers.has('fanout') && !handlers.has('shard'), `${title}: ${[...handlers]}`);
  }
  fs.rmSync(outdir, { recursive: true, force: true });
});

test('outputs: WebSocket URL, HTTP URL, UI URL', () => {
  const s = synth();
  const o = s.json.Outputs;
  assert.match(JSON.stringify(o.WebSocketUrl.Value), /wss:\/\//);
  assert.match(JSON.stringify(o.WebSocketUrl.Value), /\/prod/);
  assert.match(JSON.stringify(o.HttpUrl.Value), /https:\/\//);
  assert.match(JSON.stringify(o.UiUrl.Value), /https:\/\/.*DomainName/);
  assert.match(JSON.stringify(o.ConnectionsUrl.Value), /https:\/\//);
  assert.equal(o.AuthMode.Value, 'authorizer');
  const id = (prefix: string) => Object.keys(s.json.Resources).find((k) => k.startsWith(prefix))!;
  assert.deepEqual(o.ChangeQueueUrl.Value, { Ref: id('QueuesChanges') });
  assert.deepEqual(o.ImportQueueUrl.Value, { Ref: id('QueuesImports') });
});
