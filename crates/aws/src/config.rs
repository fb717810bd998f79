//! AWS settings and clients. Region, credentials and endpoint come from the
//! standard chain (`aws-config`: `AWS_REGION`, `AWS_ENDPOINT_URL`, profiles, the
//! Lambda role), optionally overridden by flags. Clients are built on first use:
//! a Lambda that only serves `$connect` never builds the S3 or SQS client, and
//! building one makes no network call.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};

use super::metrics::CallCounter;

/// One `PostToConnection` attempt gives up after this long.
const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the AWS column keeps things. Defaults match `aws bootstrap`.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// Overrides the endpoint of every service (moto, LocalStack); `None` uses
    /// the standard resolution, which also honours `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub prompts_table: String,
    pub sessions_table: String,
    pub connections_table: String,
    pub bucket: String,
    /// The change queue's name; its dead-letter queue is `<queue>-dlq`.
    pub queue: String,
    /// Use this queue URL instead of looking the name up.
    pub queue_url: Option<String>,
    /// Templates longer than this (bytes) go to S3; the item keeps a pointer.
    pub large_template_bytes: usize,
    /// Outbox items still unpublished after this long are republished by the sweeper.
    pub outbox_grace: Duration,
}

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            endpoint_url: None,
            region: None,
            prompts_table: "mcp-prompts-prompts".into(),
            sessions_table: "mcp-prompts-sessions".into(),
            connections_table: "mcp-prompts-connections".into(),
            bucket: "mcp-prompts-templates".into(),
            queue: "mcp-prompts-changes".into(),
            queue_url: None,
            large_template_bytes: 64 * 1024,
            outbox_grace: Duration::from_secs(5),
        }
    }
}

impl AwsSettings {
    pub fn dead_letter_queue(&self) -> String {
        format!("{}-dlq", self.queue)
    }
}

/// The shared SDK configuration and the clients built from it on demand. Every
/// client reports its calls to `calls`.
pub struct AwsClients {
    sdk: SdkConfig,
    force_path_style: bool,
    pub calls: Arc<CallCounter>,
    dynamodb: OnceLock<aws_sdk_dynamodb::Client>,
    sqs: OnceLock<aws_sdk_sqs::Client>,
    s3: OnceLock<aws_sdk_s3::Client>,
}

impl AwsClients {
    /// Resolves region and credentials (no network call for static or env credentials).
    pub async fn load(settings: &AwsSettings) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        Self::from_sdk_config(sdk, settings.endpoint_url.is_some())
    }

    /// `force_path_style` is needed for S3 emulators on an IP address.
    pub fn from_sdk_config(sdk: SdkConfig, force_path_style: bool) -> Self {
        let force_path_style = force_path_style || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        Self {
            sdk,
            force_path_style,
            calls: Arc::new(CallCounter::default()),
            dynamodb: OnceLock::new(),
            sqs: OnceLock::new(),
            s3: OnceLock::new(),
        }
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamodb.get_or_init(|| {
            let conf = aws_sdk_dynamodb::config::Builder::from(&self.sdk)
                .interceptor(self.calls.interceptor())
                .build();
            aws_sdk_dynamodb::Client::from_conf(conf)
        })
    }

    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs.get_or_init(|| {
            let conf = aws_sdk_sqs::config::Builder::from(&self.sdk)
                .interceptor(self.calls.interceptor())
                .build();
            aws_sdk_sqs::Client::from_conf(conf)
        })
    }

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(|| {
            let conf = aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(self.force_path_style)
                .interceptor(self.calls.interceptor())
                .build();
            aws_sdk_s3::Client::from_conf(conf)
        })
    }

    /// A management API client for one WebSocket API stage
    /// (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`, or the
    /// local gateway's own URL).
    pub fn apigateway(&self, endpoint: &str) -> aws_sdk_apigatewaymanagement::Client {
        use aws_sdk_apigatewaymanagement::config::retry::RetryConfig;
        use aws_sdk_apigatewaymanagement::config::timeout::TimeoutConfig;
        // The fan-out retries per connection and paces itself on 429s; the
        // SDK's retries (and its retry quota, which hundreds of throttled
        // posts in flight drain) would hide them. A post that hangs is cut.
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(POST_TIMEOUT)
            .build();
        let conf = aws_sdk_apigatewaymanagement::config::Builder::from(&self.sdk)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts)
            .endpoint_url(endpoint)
            .interceptor(self.calls.interceptor())
            .build();
        aws_sdk_apigatewaymanagement::Client::from_conf(conf)
    }
}
