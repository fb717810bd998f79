//! The command line: `mcp-prompts serve`, `mcp-prompts stdio`, `import`, `export`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "mcp-prompts", version, about = "A realtime MCP prompt hub", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the hub: MCP over WebSocket at /ws, health at /health.
    Serve(Box<ServeArgs>),
    /// Serve one MCP client on stdin/stdout (newline-delimited JSON-RPC; logs
    /// on stderr), for clients that launch the hub as a subprocess.
    Stdio(StdioArgs),
    /// Import a catalog folder or file (JSON, YAML, Markdown, text) into the
    /// data folder: creates, updates (a new version), leaves unchanged.
    Import(crate::catalog_cli::ImportArgs),
    /// Export the catalog as files: DIR/<category>/<id>.<ext>.
    Export(crate::catalog_cli::ExportArgs),
    /// Keep the data folder in step with a catalog in S3: only objects whose
    /// ETag changed are read; prompts of removed files are deleted.
    #[cfg(feature = "aws")]
    Sync(crate::catalog_cli::sync::SyncArgs),
    /// API keys for `serve --auth required`: create, list, revoke.
    #[command(subcommand)]
    Keys(crate::keys_cli::KeysCommand),
    /// AWS column tools (`aws bootstrap`).
    #[cfg(feature = "aws")]
    #[command(subcommand)]
    Aws(crate::aws_gateway::AwsCommand),
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on (HOST:PORT; port 0 picks a free one).
    #[arg(long, env = "MCP_PROMPTS_ADDR", default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    /// Require credentials (an API key from `mcp-prompts keys create`, or a JWT
    /// of the `--oidc-issuer`) on /ws, /mcp and /prompts: `required` or `off`.
    /// Default: off on a loopback address, required on any other.
    #[arg(long, env = "MCP_PROMPTS_AUTH", value_parser = crate::auth::parse_mode)]
    pub auth: Option<crate::auth::AuthMode>,
    #[command(flatten)]
    pub oidc: mcp_prompts_auth::OidcArgs,
    #[command(flatten)]
    pub github: GithubArgs,
    #[command(flatten)]
    pub hub: HubArgs,
    /// Seconds of silence after which a WebSocket is pinged.
    #[arg(long, env = "MCP_PROMPTS_PING_SECS", default_value_t = 30)]
    pub ping_secs: u64,
    /// How long an MCP session outlives its WebSocket, in seconds: a client that
    /// reconnects within it resumes the session (`initialize` with
    /// `mcpSessionId`) and gets the changes it missed.
    #[arg(long, env = "MCP_PROMPTS_SESSION_GRACE_SECS", default_value_t = 600)]
    pub session_grace_secs: u64,
    /// Detached sessions kept for resume at most; beyond it the oldest are
    /// forgotten first.
    #[arg(
        long,
        env = "MCP_PROMPTS_MAX_DETACHED_SESSIONS",
        default_value_t = 10_000
    )]
    pub max_detached_sessions: u64,
    /// WebSocket connections open at once; more get HTTP 503 before the upgrade
    /// (each is a file descriptor: keep it below the open-file hard limit).
    #[arg(long, env = "MCP_PROMPTS_MAX_CONNECTIONS", default_value_t = 16_000)]
    pub max_connections: usize,
    /// WebSocket connections one principal (one client address when
    /// anonymous) may hold open; more get HTTP 429 before the upgrade.
    #[arg(
        long,
        env = "MCP_PROMPTS_MAX_CONNECTIONS_PER_PRINCIPAL",
        default_value_t = 100
    )]
    pub max_connections_per_principal: usize,
    /// Streamable HTTP sessions one principal (one client address when
    /// anonymous) may hold; `initialize` beyond it gets HTTP 429.
    #[arg(
        long,
        env = "MCP_PROMPTS_MAX_HTTP_SESSIONS_PER_PRINCIPAL",
        default_value_t = 100
    )]
    pub max_http_sessions_per_principal: usize,
    /// Streamable HTTP sessions kept at once; `initialize` beyond it gets
    /// HTTP 503 with `Retry-After`.
    #[arg(long, env = "MCP_PROMPTS_MAX_HTTP_SESSIONS", default_value_t = 10_000)]
    pub max_http_sessions: usize,
    /// Seconds after which a Streamable HTTP session with no request and no
    /// open stream is ended.
    #[arg(long, env = "MCP_PROMPTS_HTTP_IDLE_SECS", default_value_t = 1800)]
    pub http_idle_secs: u64,
    /// Requests of one Streamable HTTP session in flight at once (it runs
    /// them one at a time); more get HTTP 429. A WebSocket reads its next
    /// message only after answering the last, so it needs no such bound.
    #[arg(long, env = "MCP_PROMPTS_MAX_PENDING", default_value_t = 32)]
    pub max_pending: usize,
    /// Let webhook subscribers (`POST /subscriptions`) point at loopback,
    /// private and link-local addresses (refused by default: a registered URL
    /// makes the hub send requests into its own network).
    #[arg(long, env = "MCP_PROMPTS_SUBSCRIBER_ALLOW_PRIVATE")]
    pub subscriber_allow_private: bool,
    /// Messages per second one WebSocket connection or Streamable HTTP
    /// session may send, sustained (a token bucket); a request over it gets
    /// JSON-RPC -32029 (`data.retryAfterMs`), a notification is dropped. 0
    /// turns the limit off.
    #[arg(long, env = "MCP_PROMPTS_RATE_PER_SEC", default_value_t = 50.0)]
    pub rate_per_sec: f64,
    /// Messages a quiet connection may send at once (the bucket's size).
    #[arg(long, env = "MCP_PROMPTS_RATE_BURST", default_value_t = 100.0)]
    pub rate_burst: f64,
    /// Seconds a WebSocket may stay open without sending `initialize` (then 1008).
    #[arg(long, env = "MCP_PROMPTS_INIT_TIMEOUT_SECS", default_value_t = 10)]
    pub init_timeout_secs: u64,
    /// The change history kept for replay: at most this many changes...
    #[arg(
        long,
        env = "MCP_PROMPTS_HISTORY_MAX_CHANGES",
        default_value_t = 100_000
    )]
    pub history_max_changes: u64,
    /// ...and none older than this many seconds (default 7 days).
    #[arg(long, env = "MCP_PROMPTS_HISTORY_MAX_AGE_SECS", default_value_t = 7 * 24 * 3600)]
    pub history_max_age_secs: u64,
    /// How often the change history is pruned to its bounds, in seconds.
    #[arg(long, env = "MCP_PROMPTS_HISTORY_PRUNE_SECS", default_value_t = 60)]
    pub history_prune_secs: u64,
    /// Where prompts, sessions and change events live: the embedded SQLite
    /// store, or DynamoDB/S3/SQS behind a local API Gateway-style gateway.
    #[arg(long, value_enum, env = "MCP_PROMPTS_BACKEND", default_value_t = Backend::Embedded)]
    pub backend: Backend,
    #[cfg(feature = "aws")]
    #[command(flatten)]
    pub aws: mcp_prompts_aws::lambda::AwsArgs,
    #[cfg(feature = "aws")]
    #[command(flatten)]
    pub gateway: crate::aws_gateway::GatewayArgs,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Aws,
}

/// `mcp-prompts stdio`: the same store and engine as `serve`, one client.
#[derive(Args, Debug, Clone)]
pub struct StdioArgs {
    #[command(flatten)]
    pub hub: HubArgs,
    /// How often to look for changes other processes made to the store (the
    /// data folder's change log, or with `--backend aws` the change log in the
    /// prompts table), in milliseconds.
    #[arg(long, env = "MCP_PROMPTS_POLL_MS", default_value_t = 200)]
    pub poll_ms: u64,
    /// Where prompts live: the embedded store in the data folder, or the AWS
    /// tables (DynamoDB, S3) that `serve --backend aws` and the Lambdas use.
    #[arg(long, value_enum, env = "MCP_PROMPTS_BACKEND", default_value_t = Backend::Embedded)]
    pub backend: Backend,
    #[cfg(feature = "aws")]
    #[command(flatten)]
    pub aws: mcp_prompts_aws::lambda::AwsArgs,
}

/// What `serve` and `stdio` configure alike.
#[derive(Args, Debug, Clone)]
pub struct HubArgs {
    /// Data folder holding the embedded database (created and seeded with the
    /// starter catalog when empty; processes on the same folder share the
    /// catalog and hear each other's changes). Default: the user's data dir,
    /// e.g. ~/.local/share/mcp-prompts.
    #[arg(long, env = "MCP_PROMPTS_DATA")]
    pub data: Option<PathBuf>,
    /// Default page size for prompts/list, resources/list and list_prompts.
    #[arg(long, env = "MCP_PROMPTS_PAGE_SIZE", default_value_t = 50)]
    pub page_size: usize,
    /// Largest JSON-RPC message accepted, in bytes; larger ones get an error.
    #[arg(long, env = "MCP_PROMPTS_MAX_MESSAGE_BYTES", default_value_t = 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Coalescing window for change notifications, in milliseconds: a burst of
    /// changes within it reaches each session as one list_changed.
    #[arg(long, env = "MCP_PROMPTS_COALESCE_MS", default_value_t = 50)]
    pub coalesce_ms: u64,
    /// Frames queued for one connection before it counts as not reading and is
    /// closed (code 1008 on a WebSocket).
    #[arg(long, env = "MCP_PROMPTS_SEND_QUEUE", default_value_t = 1024)]
    pub send_queue: usize,
    #[command(flatten)]
    pub render: RenderArgs,
    /// Do not seed an empty data folder with the starter catalog.
    #[arg(long, env = "MCP_PROMPTS_NO_SEED")]
    pub no_seed: bool,
    /// JSON file of read-only resources served beside the prompts (fixed
    /// text/blob resources and `{var}` URI templates; see the README). A file
    /// that does not validate stops startup.
    #[arg(long, env = "MCP_PROMPTS_RESOURCES")]
    pub resources: Option<PathBuf>,
}

/// What one render or save may cost (`mcp_prompts_engine::catalog::Limits`;
/// the README's "Limits" table explains each).
#[derive(Args, Debug, Clone)]
pub struct RenderArgs {
    /// Largest template a write may save, in bytes.
    #[arg(long, env = "MCP_PROMPTS_MAX_TEMPLATE_BYTES", default_value_t = 256 * 1024)]
    pub max_template_bytes: usize,
    /// Largest rendered output, in bytes: estimated at save time through the
    /// partials, enforced while rendering.
    #[arg(long, env = "MCP_PROMPTS_MAX_OUTPUT_BYTES", default_value_t = 1024 * 1024)]
    pub max_output_bytes: usize,
    /// Bytes the save-time estimate allows per value a template writes.
    #[arg(long, env = "MCP_PROMPTS_VALUE_ALLOWANCE", default_value_t = 64)]
    pub value_allowance: usize,
    /// Longest a render may take, in milliseconds.
    #[arg(long, env = "MCP_PROMPTS_MAX_RENDER_MS", default_value_t = 2000)]
    pub max_render_ms: u64,
    /// Deepest partial nesting (`a` includes `b` includes `c`...).
    #[arg(long, env = "MCP_PROMPTS_MAX_PARTIAL_DEPTH", default_value_t = 16)]
    pub max_partial_depth: usize,
    /// Largest total size of one render's arguments, in bytes.
    #[arg(long, env = "MCP_PROMPTS_MAX_ARGUMENT_BYTES", default_value_t = 256 * 1024)]
    pub max_argument_bytes: usize,
}

impl RenderArgs {
    pub fn limits(&self) -> mcp_prompts_engine::catalog::Limits {
        mcp_prompts_engine::catalog::Limits {
            max_template_bytes: self.max_template_bytes.max(1),
            max_output_bytes: self.max_output_bytes.max(1),
            value_allowance: self.value_allowance,
            max_render_time: std::time::Duration::from_millis(self.max_render_ms.max(1)),
            max_partial_depth: self.max_partial_depth.max(1),
            max_argument_bytes: self.max_argument_bytes.max(1),
        }
    }
}

impl HubArgs {
    /// The data folder: the given one, else the user's data dir, e.g.
    /// ~/.local/share/mcp-prompts.
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(default_data_dir)
    }
}

/// `POST /webhooks/github`: a push syncs the catalog files it touched.
#[derive(Args, Debug, Clone)]
pub struct GithubArgs {
    /// The webhook's secret (prefer the environment variable: flags show in
    /// `ps`). Without it there is no `/webhooks/github`.
    #[arg(
        long,
        env = "MCP_PROMPTS_GITHUB_WEBHOOK_SECRET",
        requires = "catalog_source",
        hide_env_values = true
    )]
    pub github_webhook_secret: Option<String>,
    /// The folder holding the catalog files a push changes (a checkout of the
    /// repository, kept current by whatever pulls it).
    #[arg(
        long,
        env = "MCP_PROMPTS_CATALOG_SOURCE",
        requires = "github_webhook_secret"
    )]
    pub catalog_source: Option<PathBuf>,
    /// Where the catalog lives inside the repository (e.g. `catalog`): pushed
    /// paths outside it are ignored.
    #[arg(long, env = "MCP_PROMPTS_GITHUB_PATH_PREFIX", default_value = "")]
    pub github_path_prefix: String,
}

impl GithubArgs {
    pub fn settings(&self) -> Option<crate::webhooks::WebhookSettings> {
        Some(crate::webhooks::WebhookSettings {
            secret: self.github_webhook_secret.clone()?,
            source: self.catalog_source.clone()?,
            path_prefix: self.github_path_prefix.clone(),
        })
    }
}

/// The user's data dir, e.g. ~/.local/share/mcp-prompts.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("mcp-prompts")
}

impl ServeArgs {
    /// `--rate-per-sec`/`--rate-burst`; `None` when the rate is 0 (off).
    pub fn rate(&self) -> Option<mcp_prompts_engine::host::RateSettings> {
        (self.rate_per_sec > 0.0).then(|| mcp_prompts_engine::host::RateSettings {
            per_sec: self.rate_per_sec,
            burst: self.rate_burst.max(1.0),
        })
    }

    /// `--auth`, or its default for the address: off only on loopback.
    pub fn auth_mode(&self) -> crate::auth::AuthMode {
        self.auth.unwrap_or(if self.addr.ip().is_loopback() {
            crate::auth::AuthMode::Off
        } else {
            crate::auth::AuthMode::Required
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every subcommand's arguments are consistent (clap checks names, groups
    /// and defaults only when a command is built: e.g. two flattened structs
    /// of one name collide at `import` run time otherwise).
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
