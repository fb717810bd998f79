// The CloudWatch Embedded Metric Format names the Rust handlers emit. One place
// so the dashboard and alarms follow a rename in the Rust code with one edit.
// The Rust side is crates/aws/src/lambda/emf.rs; its unit test reads this file
// and fails when the two lists differ.

/** EMF namespace of every custom metric. */
export const METRIC_NAMESPACE = 'McpPrompts';
/** The one dimension on every EMF metric: which handler emitted it. */
export const HANDLER_DIMENSION = 'Handler';

export const METRICS = {
  requests: 'Requests',
  errors: 'Errors',
  renderMs: 'RenderMs',
  fanoutConnections: 'FanoutConnections',
  fanoutPosts: 'FanoutPosts',
  fanoutLagMs: 'FanoutLagMs',
  gone410: 'Gone410',
  postThrottled: 'PostThrottled',
} as const;

/** `MCP_PROMPTS_HANDLER` values; also the `Handler` dimension values. */
export const HANDLERS = ['websocket', 'http', 'fanout', 'sweeper', 'authorizer', 's3sync', 'shard', 'import', 'webhooks'] as const;
export type HandlerName = (typeof HANDLERS)[number];
