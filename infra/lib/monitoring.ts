// Alarms and one dashboard. Custom metrics come from the handlers' CloudWatch
// Embedded Metric Format lines (namespace/metric names in metric-names.ts);
// the rest are the services' own metrics.
import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { StackConfig } from './config';
import type { Functions } from './functions';
import { HANDLER_DIMENSION, HANDLERS, METRICS, METRIC_NAMESPACE, type HandlerName } from './metric-names';
import type { Queues } from './queues';

/** Alarm thresholds in one place. */
export const THRESHOLDS = {
  lambdaErrors: 1, // any invocation error in 5 min (fan-out reports bad records as batch failures, not errors)
  lambdaThrottles: 1,
  api5xx: 5, // per 5 min
  integrationLatencyP99Ms: 1000, // handlers take tens of ms; a second is trouble
  fanoutLagP99Ms: 5000, // write -> last PostToConnection (shard's when sharded)
  queueOldestAgeSecs: 120,
};

export interface MonitoringProps {
  readonly config: StackConfig;
  readonly functions: Functions;
  readonly queues: Queues;
  readonly webSocketApi: apigwv2.WebSocketApi;
  readonly webSocketStage: string;
  readonly httpApi: apigwv2.HttpApi;
}

export function emf(metric: string, handler: HandlerName, statistic = 'Sum', period = Duration.minutes(1)): cw.Metric {
  return new cw.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: metric,
    dimensionsMap: { [HANDLER_DIMENSION]: handler },
    statistic,
    period,
    label: `${metric} ${handler}${statistic === 'Sum' ? '' : ` ${statistic}`}`,
  });
}

export class Monitoring extends Construct {
  readonly alarms: cw.Alarm[] = [];
  readonly dashboard: cw.Dashboard;

  constructor(scope: Construct, id: string, p: MonitoringProps) {
    super(scope, id);
    const five = Duration.minutes(5);
    const wsMetric = (metricName: string, statistic: string) =>
      new cw.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: p.webSocketApi.apiId, Stage: p.webSocketStage },
        statistic,
        period: five,
      });
    const handlers = HANDLERS.filter((h) => p.functions.byHandler[h]);
    // The sharded fan-out: `shard` does the posting (README: "The sharded fan-out and its arithmetic").
    const sharded = p.functions.byHandler.shard !== undefined;
    const delivering: HandlerName[] = sharded ? ['fanout', 'shard'] : ['fanout'];

    // Dead letters: a change nobody could deliver after 3 receives.
    this.alarm('DeadLettersNotEmpty', 'Change messages parked in the dead-letter queue', {
      metric: p.queues.deadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
    });
    this.alarm('ShardDeadLettersNotEmpty', 'Fan-out shards parked after 3 receives (their connections missed a change)', {
      metric: p.queues.shardDeadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
    });
    this.alarm('CatalogDeadLettersNotEmpty', 'S3 catalog notifications s3sync could not apply after 3 receives', {
      metric: p.queues.catalogDeadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
    });
    this.alarm('ImportDeadLettersNotEmpty', 'Bulk import batches parked after 3 receives (their job stopped there)', {
      metric: p.queues.importDeadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
    });
    this.alarm('WebhookDeadLettersNotEmpty', 'Webhook delivery nudges parked after 3 receives (passes could not read the subscribers)', {
      metric: p.queues.webhookDeadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
    });
    this.alarm('ChangeQueueBacklog', 'Oldest change message waiting for fan-out', {
      metric: p.queues.changes.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: THRESHOLDS.queueOldestAgeSecs,
      evaluationPeriods: 3,
    });
    for (const h of handlers) {
      const fn = p.functions.get(h);
      this.alarm(`${cap(h)}Errors`, `Lambda ${h}: invocation errors`, {
        metric: fn.metricErrors({ period: five, statistic: 'Sum' }),
        threshold: THRESHOLDS.lambdaErrors,
      });
      this.alarm(`${cap(h)}Throttles`, `Lambda ${h}: throttled invocations`, {
        metric: fn.metricThrottles({ period: five, statistic: 'Sum' }),
        threshold: THRESHOLDS.lambdaThrottles,
      });
    }
    this.alarm('Http5xx', 'HTTP API: 5xx responses', {
      metric: p.httpApi.metricServerError({ period: five, statistic: 'Sum' }),
      threshold: THRESHOLDS.api5xx,
    });
    // WebSocket APIs publish no 5xx count: integration + execution errors are the equivalent.
    this.alarm('WebSocket5xx', 'WebSocket API: integration and execution errors', {
      metric: new cw.MathExpression({
        expression: 'ie + ee',
        usingMetrics: { ie: wsMetric('IntegrationError', 'Sum'), ee: wsMetric('ExecutionError', 'Sum') },
        period: five,
        label: 'WebSocket errors',
      }),
      threshold: THRESHOLDS.api5xx,
    });
    this.alarm('HttpIntegrationLatencyP99', 'HTTP API: integration latency p99', {
      metric: p.httpApi.metricIntegrationLatency({ period: five, statistic: 'p99' }),
      threshold: THRESHOLDS.integrationLatencyP99Ms,
      evaluationPeriods: 3,
    });
    this.alarm('WebSocketIntegrationLatencyP99', 'WebSocket API: integration latency p99', {
      metric: wsMetric('IntegrationLatency', 'p99'),
      threshold: THRESHOLDS.integrationLatencyP99Ms,
      evaluationPeriods: 3,
    });
    // With the shard function, `fanout` posts nothing: its FanoutLagMs ends at the
    // hand-off and `shard`'s at the last post (the end-to-end lag). The alarm takes
    // the larger of the two p99s per period: shard's whenever shards post (the
    // hand-off comes first), fanout's when none do (shards that cannot be sent).
    // Same construct id and logical id: the deployed alarm is updated, not replaced.
    const lagP99 = emf(METRICS.fanoutLagMs, 'fanout', 'p99', five);
    this.alarm('FanoutLagP99', 'Fan-out lag (write to last PostToConnection) p99, from EMF', {
      metric: sharded
        ? new cw.MathExpression({
            expression: 'MAX([fanoutP99, shardP99])',
            usingMetrics: { fanoutP99: lagP99, shardP99: emf(METRICS.fanoutLagMs, 'shard', 'p99', five) },
            period: five,
            label: `${METRICS.fanoutLagMs} p99 (max of fanout, shard)`,
          })
        : lagP99,
      threshold: THRESHOLDS.fanoutLagP99Ms,
      evaluationPeriods: 3,
    });

    if (p.config.alarmTopicArn) {
      const topic = sns.Topic.fromTopicArn(this, 'AlarmTopic', p.config.alarmTopicArn);
      for (const a of this.alarms) {
        a.addAlarmAction(new cwActions.SnsAction(topic));
        a.addOkAction(new cwActions.SnsAction(topic));
      }
    }

    const served: HandlerName[] = ['websocket', 'http'];
    const graph = (title: string, left: cw.IMetric[], width = 8) => new cw.GraphWidget({ title, left, width, height: 6 });
    this.dashboard = new cw.Dashboard(this, 'Dashboard', {
      dashboardName: `${p.config.prefix}-ops`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cw.TextWidget({
        markdown: `# mcp-prompts\nEMF namespace \`${METRIC_NAMESPACE}\`, dimension \`${HANDLER_DIMENSION}\`. Alarms below.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Requests', served.map((h) => emf(METRICS.requests, h))),
      graph('Errors', served.map((h) => emf(METRICS.errors, h))),
      graph('RenderMs p50 / p99', served.flatMap((h) => [emf(METRICS.renderMs, h, 'p50'), emf(METRICS.renderMs, h, 'p99')])),
    );
    this.dashboard.addWidgets(
      // With shards, fanout's connections are those handed to shards and its lag ends at the
      // hand-off; shard's are the posts and the end-to-end lag.
      graph('Fan-out connections / posts', delivering.flatMap((h) => [emf(METRICS.fanoutConnections, h), emf(METRICS.fanoutPosts, h)])),
      graph('FanoutLagMs p50 / p99 / max', delivering.flatMap((h) => [
        emf(METRICS.fanoutLagMs, h, 'p50'),
        emf(METRICS.fanoutLagMs, h, 'p99'),
        emf(METRICS.fanoutLagMs, h, 'Maximum'),
      ])),
      graph('Gone (410) / PostToConnection throttled', [...delivering, 'websocket' as const].flatMap((h) => [
        emf(METRICS.gone410, h),
        emf(METRICS.postThrottled, h),
      ])),
    );
    this.dashboard.addWidgets(
      graph('Lambda invocations', handlers.map((h) => p.functions.get(h).metricInvocations({ label: h }))),
      graph('Lambda errors / throttles', handlers.flatMap((h) => [
        p.functions.get(h).metricErrors({ label: `${h} errors` }),
        p.functions.get(h).metricThrottles({ label: `${h} throttles` }),
      ])),
      graph('Lambda duration p99', handlers.map((h) => p.functions.get(h).metricDuration({ statistic: 'p99', label: h }))),
    );
    this.dashboard.addWidgets(
      graph('WebSocket connects / messages', [wsMetric('ConnectCount', 'Sum'), wsMetric('MessageCount', 'Sum')]),
      graph('Integration latency p99', [wsMetric('IntegrationLatency', 'p99'), p.httpApi.metricIntegrationLatency({ statistic: 'p99' })]),
      graph('HTTP requests / 4xx / 5xx', [p.httpApi.metricCount(), p.httpApi.metricClientError(), p.httpApi.metricServerError()]),
    );
    this.dashboard.addWidgets(
      graph('Change queue', [
        p.queues.changes.metricApproximateNumberOfMessagesVisible(),
        p.queues.changes.metricApproximateAgeOfOldestMessage(),
      ], 12),
      graph(
        'Dead letters',
        [
          p.queues.deadLetters,
          p.queues.catalogDeadLetters,
          p.queues.shardDeadLetters,
          p.queues.importDeadLetters,
          p.queues.webhookDeadLetters,
        ].map((q) => q.metricApproximateNumberOfMessagesVisible()),
        12,
      ),
    );
    this.dashboard.addWidgets(new cw.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }));
  }

  private alarm(id: string, description: string, o: { metric: cw.IMetric; threshold: number; evaluationPeriods?: number }): void {
    this.alarms.push(
      new cw.Alarm(this, id, {
        alarmDescription: `mcp-prompts: ${description}`,
        metric: o.metric,
        threshold: o.threshold,
        evaluationPeriods: o.evaluationPeriods ?? 1,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No traffic is no trouble (EMF and latency metrics are absent when idle).
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
