//! The Lambda binary's wiring: settings from the environment, the app built once
//! per instance (init: no network call, clients are lazy), then
//! `lambda_runtime::run` with the handler this function serves.
//!
//! `MCP_PROMPTS_HANDLER` (else the function's `_HANDLER`) picks it:
//! `websocket` (or `connect` / `disconnect` / `default`: all three routes share
//! one handler that routes on `routeKey`), `fanout` (the SQS consumer of
//! changes; with `MCP_PROMPTS_SHARD_QUEUE_URL` it only sends shards), `shard`
//! (the SQS consumer of the shard queue, which posts), `import` (bulk import
//! batches from `MCP_PROMPTS_IMPORT_QUEUE_URL`) or
//! `sweeper` (republishes the outbox and prunes the change history to
//! `MCP_PROMPTS_HISTORY_MAX_CHANGES` / `MCP_PROMPTS_HISTORY_MAX_AGE_SECS`) or
//! `authorizer` (API keys in the prompts table, JWTs of `MCP_PROMPTS_OIDC_ISSUER`);
//! `s3sync` (catalog files in `MCP_PROMPTS_CATALOG_S3` → the catalog, from the
//! bucket's notifications via SQS); `http` (the REST API) is served by the
//! server crate's `lambda_rest`, `webhooks` (deliveries to webhook
//! subscribers, from `MCP_PROMPTS_WEBHOOK_QUEUE_URL`) by its `subscribers::aws`.
//! `MCP_PROMPTS_CONNECTIONS_URL` is the management API endpoint
//! (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`).

use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};

use super::app::LambdaApp;
use super::emf::{Emf, Metrics};
use super::settings::LambdaSettings;
use crate::catalog_files::{CatalogFiles, S3Location};
use crate::sync_order::SyncOrder;
use crate::{ApiGatewayPusher, AwsClients, DynamoKeyStore, DynamoPromptStore, HistoryBounds};
use mcp_prompts_auth::{AuthMode, Authenticator};
use mcp_prompts_engine::EngineConfig;
use mcp_prompts_engine::ports::SystemClock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerKind {
    WebSocket,
    Fanout,
    /// The shard consumer of the sharded fan-out (SQS on the shard queue).
    Shard,
    /// The bulk import batch consumer (SQS on the import queue).
    Import,
    /// The outbox sweeper, on an EventBridge schedule (any event).
    Sweeper,
    /// The REQUEST authorizer of `$connect` and of the HTTP API's routes.
    Authorizer,
    /// Catalog files in S3 → the catalog: the bucket's notifications via SQS.
    S3Sync,
    /// The REST API behind the HTTP API (`mcp-prompts-server`'s
    /// `lambda_rest`, which the Lambda binary runs instead of [`run`]).
    Http,
    /// Webhook deliveries to catalog subscribers, nudged through the
    /// deliveries queue (`mcp-prompts-server`'s `subscribers::aws`, which the
    /// Lambda binary runs instead of [`run`]).
    Webhooks,
}

impl HandlerKind {
    pub fn parse(name: &str) -> Option<Self> {
        let name = name
            .rsplit('.')
            .next()
            .unwrap_or(name)
            .trim_start_matches('$');
        match name {
            "websocket" | "connect" | "disconnect" | "default" => Some(Self::WebSocket),
            "fanout" | "sqs" => Some(Self::Fanout),
            "shard" | "shards" => Some(Self::Shard),
            "import" | "imports" => Some(Self::Import),
            "sweeper" | "sweep" => Some(Self::Sweeper),
            "authorizer" | "auth" => Some(Self::Authorizer),
            "http" | "rest" => Some(Self::Http),
            "s3sync" | "catalog" => Some(Self::S3Sync),
            "webhooks" | "deliveries" => Some(Self::Webhooks),
            _ => None,
        }
    }

    /// The `Handler` dimension value of its EMF metrics (and the
    /// `MCP_PROMPTS_HANDLER` value the stack sets).
    pub const fn dimension(self) -> &'static str {
        match self {
            Self::WebSocket => "websocket",
            Self::Fanout => "fanout",
            Self::Shard => "shard",
            Self::Sweeper => "sweeper",
            Self::Authorizer => "authorizer",
            Self::S3Sync => "s3sync",
            Self::Import => "import",
            Self::Http => "http",
            Self::Webhooks => "webhooks",
        }
    }

    pub fn from_env() -> Result<Self, Error> {
        let name = std::env::var("MCP_PROMPTS_HANDLER")
            .or_else(|_| std::env::var("_HANDLER"))
            .unwrap_or_else(|_| "websocket".into());
        Self::parse(&name).ok_or_else(|| {
            format!("unknown handler '{name}': use websocket, http, fanout, shard, import, sweeper, authorizer, s3sync or webhooks")
                .into()
        })
    }
}

/// Builds the app from the environment (what a cold start pays for); its
/// handlers write their EMF metrics to stdout.
pub async fn init() -> Result<(HandlerKind, Arc<LambdaApp>, Arc<DynamoPromptStore>), Error> {
    let kind = HandlerKind::from_env()?;
    let all = LambdaSettings::from_env()?;
    let settings = all.aws.settings();
    let clients = Arc::new(AwsClients::load(&settings).await);
    let endpoint = all
        .connections_url
        .clone()
        .ok_or("MCP_PROMPTS_CONNECTIONS_URL is not set (the WebSocket API stage URL)")?;
    let pusher = Arc::new(ApiGatewayPusher::new(&clients, &endpoint));
    let limits = all.limits();
    let config = EngineConfig {
        page_size: all.page_size.max(1),
        max_message_bytes: limits.max_message_bytes,
    };
    let (mut app, store) = LambdaApp::on_aws(&clients, &settings, pusher, config, limits);
    app.emf = Emf::stdout();
    Ok((kind, Arc::new(app), store))
}

/// The authorizer's check: API keys in the prompts table, and the OIDC issuer
/// of the environment if one is set (its JWKS loaded now, at init).
pub async fn authenticator() -> Result<Authenticator, Error> {
    let all = LambdaSettings::from_env()?;
    let settings = all.aws.settings();
    let clients = Arc::new(AwsClients::load(&settings).await);
    let keys = DynamoKeyStore::new(clients, settings.prompts_table, Arc::new(SystemClock));
    Ok(Authenticator {
        mode: AuthMode::Required,
        keys: Arc::new(keys),
        jwt: all.oidc.verifier().await?,
    })
}

pub async fn run() -> Result<(), Error> {
    run_with(|_, _| Ok(())).await
}

/// [`run`], with `prepare` finishing the app after init (the Lambda binary
/// attaches the webhook subscribers, which live in the server crate).
pub async fn run_with(
    prepare: impl FnOnce(&Arc<LambdaApp>, &Arc<DynamoPromptStore>) -> Result<(), Error>,
) -> Result<(), Error> {
    let started = Instant::now();
    if HandlerKind::from_env()? == HandlerKind::Authorizer {
        let auth = Arc::new(authenticator().await?);
        tracing::info!(
            handler = "authorizer",
            init_ms = started.elapsed().as_secs_f64() * 1000.0,
            oidc = auth.jwt.is_some(),
            "lambda init done"
        );
        let emf = Emf::stdout();
        return lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
            let (auth, emf) = (auth.clone(), emf.clone());
            async move {
                let answer = super::authorizer::handle(&auth, event.payload).await;
                let refused =
                    matches!(&answer, Err(e) if e.to_string() == super::authorizer::UNAUTHORIZED);
                emf.emit(
                    HandlerKind::Authorizer,
                    &invocation(answer.is_err() && !refused),
                );
                answer
            }
        }))
        .await;
    }
    let (kind, app, store) = init().await?;
    prepare(&app, &store)?;
    tracing::info!(
        handler = ?kind,
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        max_rss_kb = max_rss_kb(),
        "lambda init done"
    );
    match kind {
        HandlerKind::WebSocket => lambda_runtime::run(service_fn(
            move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
                let app = app.clone();
                async move { Ok::<_, Error>(super::websocket::handle(&app, event.payload).await) }
            },
        ))
        .await,
        HandlerKind::Fanout => {
            lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
                let app = app.clone();
                async move { Ok::<_, Error>(super::fanout::handle(&app, event.payload).await) }
            }))
            .await
        }
        HandlerKind::Shard => {
            if app.shards.is_none() {
                return Err("MCP_PROMPTS_SHARD_QUEUE_URL is not set (the shard handler retries failed connections through it)".into());
            }
            lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
                let app = app.clone();
                async move { Ok::<_, Error>(super::shard::handle(&app, event.payload).await) }
            }))
            .await
        }
        HandlerKind::Import => {
            let jobs = app.imports.clone().ok_or(
                "MCP_PROMPTS_IMPORT_QUEUE_URL is not set (the import handler queues each next batch there)",
            )?;
            lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
                let (app, jobs) = (app.clone(), jobs.clone());
                async move {
                    Ok::<_, Error>(super::imports::handle(&app, &jobs, event.payload).await)
                }
            }))
            .await
        }
        HandlerKind::S3Sync => {
            let at = LambdaSettings::from_env()?.catalog_s3.ok_or(
                "MCP_PROMPTS_CATALOG_S3 is not set (s3://bucket/prefix of the catalog files)",
            )?;
            let source = S3Location::parse(&at)
                .ok_or_else(|| format!("MCP_PROMPTS_CATALOG_S3 '{at}': not s3://bucket/prefix"))?;
            let files = Arc::new(CatalogFiles::new(store.clients().clone()));
            let order = Arc::new(SyncOrder::new(store.clients().clone(), store.table()));
            lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
                let (app, files, source, order) =
                    (app.clone(), files.clone(), source.clone(), order.clone());
                async move {
                    Ok::<_, Error>(
                        super::s3sync::handle(&app, &files, &source, &order, event.payload).await,
                    )
                }
            }))
            .await
        }
        HandlerKind::Sweeper => {
            let history = HistoryBounds::from_env()?;
            lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
                let (store, app) = (store.clone(), app.clone());
                async move {
                    let swept = async {
                        let published = store.outbox.sweep().await?;
                        let pruned = store.prune_history(history).await?;
                        // The backstop of the webhook deliveries (a nudge lost
                        // with a crashed instance): one pass per sweep.
                        if let Some(queue) = &app.webhooks {
                            queue.nudge(0, "sweep").await;
                        }
                        Ok::<_, Error>(
                            serde_json::json!({ "published": published, "pruned": pruned }),
                        )
                    }
                    .await;
                    app.emf
                        .emit(HandlerKind::Sweeper, &invocation(swept.is_err()));
                    swept
                }
            }))
            .await
        }
        // Served above, without the app (it needs no connections URL).
        HandlerKind::Authorizer => Err("the authorizer has no app".into()),
        HandlerKind::Http => Err("the http handler is mcp_prompts_server::lambda_rest::run".into()),
        HandlerKind::Webhooks => {
            Err("the webhooks handler is mcp_prompts_server::subscribers::aws::run".into())
        }
    }
}

/// The metrics of a handler whose invocation is one unit of work.
fn invocation(failed: bool) -> Metrics {
    Metrics::requests(1, usize::from(failed))
}

/// Peak resident memory of this process (Linux), for the init log line.
pub fn max_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::HandlerKind;

    #[test]
    fn handler_names_and_the_routes_of_the_stack_parse() {
        for (name, kind) in [
            ("websocket", HandlerKind::WebSocket),
            ("$connect", HandlerKind::WebSocket),
            ("bootstrap.default", HandlerKind::WebSocket),
            ("fanout", HandlerKind::Fanout),
            ("shard", HandlerKind::Shard),
            ("import", HandlerKind::Import),
            ("sweeper", HandlerKind::Sweeper),
            ("authorizer", HandlerKind::Authorizer),
            ("s3sync", HandlerKind::S3Sync),
            ("webhooks", HandlerKind::Webhooks),
        ] {
            assert_eq!(HandlerKind::parse(name), Some(kind), "{name}");
        }
        assert_eq!(HandlerKind::parse("http"), Some(HandlerKind::Http));
        assert_eq!(HandlerKind::parse("nope"), None);
    }
}
