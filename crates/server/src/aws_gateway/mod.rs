//! `serve --backend aws`: a local gateway that behaves like API Gateway's
//! WebSocket API in front of the Lambda handlers (`mcp_prompts_aws::lambda`),
//! called in-process, on the AWS adapters against any AWS-compatible endpoint
//! (moto locally, or a real account). It also serves the `@connections`
//! management endpoint the handlers post to, polls SQS for the fan-out, runs
//! the outbox sweeper and keeps the change history within its bounds; with a
//! deliveries queue it runs the webhook deliveries (`subscribers::aws`). It
//! serves the REST API too (the Lambda `http` function's router). `aws
//! bootstrap` lives here too.

mod authorize;
mod bootstrap;
pub mod connections;
pub mod health;
mod history;
pub mod sqs;
mod websocket;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;

pub use bootstrap::{AwsCommand, bootstrap};
use connections::LocalConnections;

use crate::cli::ServeArgs;
use mcp_prompts_aws::lambda::{LambdaApp, LambdaLimits};
use mcp_prompts_aws::{ApiGatewayPusher, AwsClients, HistoryBounds};
use mcp_prompts_engine::EngineConfig;
use mcp_prompts_engine::ports::PromptStore;

/// API Gateway closes a WebSocket after 10 idle minutes.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// How often the outbox sweeper looks for unpublished changes.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// `serve` flags that only the AWS-style gateway (`--backend aws`) uses.
#[derive(clap::Args, Debug, Clone)]
pub struct GatewayArgs {
    /// (--backend aws) Close every WebSocket this many seconds after it opened,
    /// as API Gateway does after 2 hours (code 1001); the `$disconnect` route
    /// runs, so the MCP session is detached for resume, not ended.
    #[arg(long, env = "MCP_PROMPTS_MAX_CONNECTION_SECS", default_value_t = 7200, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connection_secs: u64,
}

pub struct AwsGateway {
    pub app: LambdaApp,
    pub clients: Arc<AwsClients>,
    pub local: LocalConnections,
    pub shutdown: CancellationToken,
    pub idle_timeout: Duration,
    /// Connections are cut this long after they opened (API Gateway: 2 h).
    pub max_connection: Duration,
    pub queue_capacity: usize,
    /// `host:port` the events name as `domainName`.
    pub domain: String,
    /// The `$connect` authorizer (`--auth required`), as the stack deploys it.
    pub authorizer: Option<Arc<mcp_prompts_auth::Authenticator>>,
    /// What `/health` probes.
    pub dependencies: health::Dependencies,
    /// `/metrics`: the engine's counters and the open WebSockets.
    pub exposition: crate::metrics::Exposition,
}

/// REST request bodies, as the Lambda `http` function takes them.
const MAX_REST_BODY: usize = crate::lambda_rest::MAX_BODY;

impl AwsGateway {
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(
                "/ws",
                get(websocket::upgrade)
                    .route_layer(axum::middleware::from_fn(crate::http::origin::guard)),
            )
            .route(
                "/@connections/{id}",
                post(connections::post)
                    .get(connections::describe)
                    .delete(connections::delete),
            )
            .route("/health", get(health::health))
            .route("/health/live", get(crate::gateway::health::live))
            .with_state(self.clone())
            .merge(self.metrics_route())
            .merge(self.rest_route())
    }
}

impl AwsGateway {
    /// The REST API (`/prompts…`, `/subscriptions`, `/openapi.json`), what
    /// the Lambda `http` function serves behind the HTTP API, behind the
    /// authorizer's credential check when there is one.
    fn rest_route(self: &Arc<Self>) -> Router {
        let mut rest = crate::rest::router(self.app.host.clone(), MAX_REST_BODY).route_layer(
            // Other processes write to the table too (as `lambda_rest` does).
            axum::middleware::from_fn_with_state(self.clone(), refresh_catalog),
        );
        if let Some(auth) = &self.authorizer {
            rest = rest.route_layer(axum::middleware::from_fn_with_state(
                auth.clone(),
                crate::auth::guard,
            ));
        }
        rest
    }

    /// `/metrics`, behind the `$connect` authorizer's credential check when
    /// there is one (the counts describe the traffic).
    fn metrics_route(self: &Arc<Self>) -> Router {
        let mut route = get(metrics).with_state(self.clone());
        if let Some(auth) = &self.authorizer {
            route = route.route_layer(axum::middleware::from_fn_with_state(
                auth.clone(),
                crate::auth::guard,
            ));
        }
        Router::new().route("/metrics", route)
    }
}

/// Catches the catalog cache up with the table before a REST request.
async fn refresh_catalog(
    axum::extract::State(gw): axum::extract::State<Arc<AwsGateway>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    gw.app.refresh_catalog().await;
    next.run(request).await
}

async fn metrics(
    axum::extract::State(gw): axum::extract::State<Arc<AwsGateway>>,
) -> axum::response::Response {
    gw.exposition.set_websocket_connections(gw.local.len());
    gw.exposition.response()
}

/// Runs the gateway until SIGINT/SIGTERM.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.aws.settings();
    let clients = Arc::new(AwsClients::load(&settings).await);
    let listener = crate::startup::bind(args.addr)?;
    let addr = listener.local_addr()?;
    let endpoint = format!("http://{addr}");
    let pusher = Arc::new(ApiGatewayPusher::new(&clients, &endpoint));
    let limits = LambdaLimits {
        session_ttl_secs: args.session_grace_secs,
        fanout: args.aws.fanout.settings(),
        imports: args.aws.imports.settings(),
        webhook_queue_url: args.aws.webhook_queue(),
        ..Default::default()
    };
    let config = EngineConfig {
        page_size: args.hub.page_size.max(1),
        max_message_bytes: args.hub.max_message_bytes.min(limits.max_message_bytes),
    };
    let (app, store) = LambdaApp::on_aws(&clients, &settings, pusher, config, limits);
    let subscriptions =
        crate::subscribers::aws::attach(&app, &store, args.subscriber_allow_private);
    let authorizer = match args.auth_mode() {
        crate::auth::AuthMode::Required => Some(Arc::new(mcp_prompts_auth::Authenticator {
            mode: crate::auth::AuthMode::Required,
            keys: Arc::new(mcp_prompts_aws::DynamoKeyStore::new(
                clients.clone(),
                settings.prompts_table.clone(),
                app.engine.catalog.clock().clone(),
            )),
            jwt: args.oidc.verifier().await.map_err(anyhow::Error::msg)?,
        })),
        crate::auth::AuthMode::Off => None,
    };
    tracing::info!(auth = ?args.auth_mode(), oidc = ?args.oidc.oidc_issuer, "credentials ($connect authorizer)");
    if !args.hub.no_seed {
        let seeded = mcp_prompts_engine::seed::seed_if_empty(&app.engine.catalog)
            .await
            .context("seeding the starter catalog (did you run `mcp-prompts aws bootstrap`?)")?;
        if seeded > 0 {
            tracing::info!(seeded, "seeded the starter catalog");
        }
    }
    let prompts = store
        .count_live()
        .await
        .context("reading the prompts table")?;
    let shutdown = CancellationToken::new();
    let gateway = Arc::new(AwsGateway {
        clients,
        local: LocalConnections::default(),
        shutdown: shutdown.clone(),
        idle_timeout: IDLE_TIMEOUT,
        max_connection: Duration::from_secs(args.gateway.max_connection_secs),
        queue_capacity: args.hub.send_queue.max(1),
        domain: addr.to_string(),
        authorizer,
        dependencies: health::Dependencies {
            store: store.clone(),
        },
        exposition: crate::metrics::Exposition::aws(&app.engine.metrics),
        app,
    });
    let shard_queue = gateway.app.shards.as_ref().map(|q| q.url.clone());
    let import_queue = gateway.app.limits.imports.queue_url.clone();
    let mut tasks = vec![
        tokio::spawn(sqs::poll_changes(
            gateway.clone(),
            store.clone(),
            shutdown.clone(),
        )),
        tokio::spawn(sqs::sweep_outbox(
            store.clone(),
            SWEEP_EVERY,
            shutdown.clone(),
        )),
        tokio::spawn(history::prune(
            store.clone(),
            HistoryBounds {
                max_changes: args.history_max_changes.max(1),
                max_age: Duration::from_secs(args.history_max_age_secs),
            },
            Duration::from_secs(args.history_prune_secs.max(1)),
            shutdown.clone(),
        )),
    ];
    if let Some(url) = shard_queue {
        tasks.push(tokio::spawn(sqs::poll_shards(
            gateway.clone(),
            url,
            shutdown.clone(),
        )));
    }
    if let Some(url) = import_queue {
        tasks.push(tokio::spawn(sqs::poll_imports(
            gateway.clone(),
            url,
            shutdown.clone(),
        )));
    }
    if let Some(subscriptions) = subscriptions {
        tasks.push(tokio::spawn(sqs::poll_webhooks(
            gateway.clone(),
            subscriptions,
            shutdown.clone(),
        )));
    }
    announce(&addr, &settings.prompts_table, prompts)?;
    tokio::spawn(crate::startup::wait_for_signal(shutdown.clone()));
    let router = gateway.router();
    let closing = gateway.clone();
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        closing.shutdown.cancelled().await;
        closing.local.close_all();
    })
    .await?;
    for t in tasks {
        let _ = t.await;
    }
    tracing::info!("shut down cleanly");
    Ok(())
}

fn announce(addr: &SocketAddr, table: &str, prompts: u64) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "mcp-prompts {} serving {prompts} prompts from DynamoDB table {table} (backend aws)",
        mcp_prompts_engine::protocol::SERVER_VERSION
    )?;
    writeln!(
        out,
        "  MCP over WebSocket: ws://{addr}/ws   (subprotocol \"mcp\")"
    )?;
    writeln!(
        out,
        "  @connections:       http://{addr}/@connections/{{id}}"
    )?;
    writeln!(out, "  Health:             http://{addr}/health")?;
    out.flush()
}
