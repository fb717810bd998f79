//! The AWS settings as flags and environment variables: one definition for
//! `serve --backend aws`, `aws bootstrap` and the Lambda binary (which has only
//! the environment). [`LambdaSettings`] is the Lambda deployment's one settings
//! type; the settings it shares with `serve` have the same environment names.

use std::time::Duration;

use clap::{Args, Parser};

use super::{FanoutSettings, ImportSettings, LambdaLimits};
use crate::AwsSettings;
use crate::imports::AwsJobSettings;
use mcp_prompts_engine::host::PostSettings;

#[derive(Args, Debug, Clone)]
pub struct AwsArgs {
    /// Endpoint for every AWS service (e.g. a local moto server); the standard
    /// AWS_ENDPOINT_URL works too.
    #[arg(long = "aws-endpoint-url", env = "MCP_PROMPTS_AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// AWS region (else the standard chain: AWS_REGION, profile).
    #[arg(long = "aws-region", env = "MCP_PROMPTS_AWS_REGION")]
    pub region: Option<String>,
    #[arg(
        long,
        env = "MCP_PROMPTS_PROMPTS_TABLE",
        default_value = "mcp-prompts-prompts"
    )]
    pub prompts_table: String,
    #[arg(
        long,
        env = "MCP_PROMPTS_SESSIONS_TABLE",
        default_value = "mcp-prompts-sessions"
    )]
    pub sessions_table: String,
    #[arg(
        long,
        env = "MCP_PROMPTS_CONNECTIONS_TABLE",
        default_value = "mcp-prompts-connections"
    )]
    pub connections_table: String,
    #[arg(
        long,
        env = "MCP_PROMPTS_BUCKET",
        default_value = "mcp-prompts-templates"
    )]
    pub bucket: String,
    /// The change queue (its dead-letter queue is <queue>-dlq).
    #[arg(long, env = "MCP_PROMPTS_QUEUE", default_value = "mcp-prompts-changes")]
    pub queue: String,
    /// Use this queue URL instead of looking the queue name up.
    #[arg(long, env = "MCP_PROMPTS_QUEUE_URL")]
    pub queue_url: Option<String>,
    /// Templates larger than this many bytes are stored in S3.
    #[arg(long, env = "MCP_PROMPTS_LARGE_TEMPLATE_BYTES", default_value_t = 64 * 1024)]
    pub large_template_bytes: usize,
    /// Unpublished outbox items older than this (ms) are republished by the sweeper.
    #[arg(long, env = "MCP_PROMPTS_OUTBOX_GRACE_MS", default_value_t = 5000)]
    pub outbox_grace_ms: u64,
    #[command(flatten)]
    pub fanout: FanoutArgs,
    #[command(flatten)]
    pub imports: ImportJobArgs,
    /// The webhook deliveries' queue: when set, webhook subscribers
    /// (`/subscriptions`, `subscribe_webhook`) work, the fan-out nudges the
    /// `webhooks` handler through it; unset, they answer 501 / unavailable.
    #[arg(long, env = "MCP_PROMPTS_WEBHOOK_QUEUE_URL")]
    pub webhook_queue_url: Option<String>,
}

/// Bulk import jobs on AWS (`import_catalog`, `POST /imports`).
#[derive(Args, Debug, Clone)]
pub struct ImportJobArgs {
    /// The import queue: when set, bulk import jobs run as batches through it
    /// (the `import` handler consumes it); unset, `import_catalog` is refused.
    #[arg(long, env = "MCP_PROMPTS_IMPORT_QUEUE_URL")]
    pub import_queue_url: Option<String>,
    /// Prompts per import batch (one message, one handler run).
    #[arg(long, env = "MCP_PROMPTS_IMPORT_BATCH", default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..=5_000))]
    pub import_batch: u64,
    /// How long `import_catalog` waits for its job before answering with the
    /// status so far: below the function's timeout (the stack gives the
    /// websocket and http functions 10 s) and API Gateway's 29 s.
    #[arg(long, env = "MCP_PROMPTS_IMPORT_WAIT_SECS", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=25))]
    pub import_wait_secs: u64,
}

impl ImportJobArgs {
    pub fn settings(&self) -> ImportSettings {
        ImportSettings {
            queue_url: self.import_queue_url.clone().filter(|u| !u.is_empty()),
            jobs: AwsJobSettings {
                batch_size: self.import_batch as usize,
                max_wait: Duration::from_secs(self.import_wait_secs),
                ..AwsJobSettings::default()
            },
        }
    }
}

/// How a change is fanned out to the WebSocket connections (README, "AWS
/// column": the shard arithmetic).
#[derive(Args, Debug, Clone)]
pub struct FanoutArgs {
    /// The shard queue: when set, the change consumer sends shards of
    /// listeners there and the `shard` handler posts them.
    #[arg(long, env = "MCP_PROMPTS_SHARD_QUEUE_URL")]
    pub shard_queue_url: Option<String>,
    /// Connections per shard message.
    #[arg(long, env = "MCP_PROMPTS_SHARD_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub shard_size: u64,
    /// `PostToConnection` calls per second across all invocations (0: unpaced).
    #[arg(long, env = "MCP_PROMPTS_POST_BUDGET", default_value_t = 5000)]
    pub post_budget: u64,
    /// Invocations posting at once at most (the shard function's reserved
    /// concurrency); each paces itself to post-budget / this.
    #[arg(long, env = "MCP_PROMPTS_POST_CONSUMERS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub post_consumers: u64,
    /// Connections posted to at once in one invocation.
    #[arg(long, env = "MCP_PROMPTS_FANOUT_CONCURRENCY", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub fanout_concurrency: u64,
}

impl FanoutArgs {
    pub fn settings(&self) -> FanoutSettings {
        FanoutSettings {
            post: PostSettings {
                concurrency: self.fanout_concurrency as usize,
                ..PostSettings::default()
            },
            budget: self.post_budget as f64,
            consumers: self.post_consumers as usize,
            shard_size: self.shard_size as usize,
            shard_queue_url: self.shard_queue_url.clone().filter(|u| !u.is_empty()),
        }
    }
}

impl AwsArgs {
    /// The deliveries queue of webhook subscribers, when configured.
    pub fn webhook_queue(&self) -> Option<String> {
        self.webhook_queue_url.clone().filter(|u| !u.is_empty())
    }

    pub fn settings(&self) -> AwsSettings {
        AwsSettings {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            prompts_table: self.prompts_table.clone(),
            sessions_table: self.sessions_table.clone(),
            connections_table: self.connections_table.clone(),
            bucket: self.bucket.clone(),
            queue: self.queue.clone(),
            queue_url: self.queue_url.clone(),
            large_template_bytes: self.large_template_bytes,
            outbox_grace: Duration::from_millis(self.outbox_grace_ms),
        }
    }
}

/// Everything a Lambda function of the hub is configured with, from its
/// environment (the names `serve` reads too).
#[derive(Parser, Debug, Clone)]
pub struct LambdaSettings {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The WebSocket API stage URL the management API is reached at
    /// (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`).
    #[arg(long, env = "MCP_PROMPTS_CONNECTIONS_URL")]
    pub connections_url: Option<String>,
    /// Default page size for prompts/list, resources/list and list_prompts.
    #[arg(long, env = "MCP_PROMPTS_PAGE_SIZE", default_value_t = 50)]
    pub page_size: usize,
    /// How long an MCP session outlives its connection, in seconds.
    #[arg(long, env = "MCP_PROMPTS_SESSION_GRACE_SECS", default_value_t = 600)]
    pub session_grace_secs: u64,
    /// (`webhooks`) Let webhook subscribers point at loopback, private and
    /// link-local addresses (refused by default), as `serve` allows them.
    #[arg(long, env = "MCP_PROMPTS_SUBSCRIBER_ALLOW_PRIVATE")]
    pub subscriber_allow_private: bool,
    /// Where the `s3sync` handler's catalog files live: `s3://bucket/prefix`.
    #[arg(long, env = "MCP_PROMPTS_CATALOG_S3")]
    pub catalog_s3: Option<String>,
    /// The authorizer's OIDC issuer (API keys are checked in the prompts table).
    #[command(flatten)]
    pub oidc: mcp_prompts_auth::OidcArgs,
}

impl LambdaSettings {
    /// The settings from the environment alone (the Lambda case).
    pub fn from_env() -> Result<Self, clap::Error> {
        Self::try_parse_from(["mcp-prompts-lambda"])
    }

    pub fn limits(&self) -> LambdaLimits {
        LambdaLimits {
            session_ttl_secs: self.session_grace_secs,
            fanout: self.aws.fanout.settings(),
            imports: self.aws.imports.settings(),
            webhook_queue_url: self.aws.webhook_queue(),
            ..LambdaLimits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_lambda_settings_are_well_formed() {
        super::LambdaSettings::command().debug_assert();
    }
}
