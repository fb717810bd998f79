//! The REST API as the Lambda `http` handler (`MCP_PROMPTS_HANDLER=http`,
//! behind the API Gateway HTTP API, payload format 2.0): the very router the
//! local gateway serves (`crate::rest`), over the session host of the AWS
//! column, adapted by `lambda_http`. The caller is the one the authorizer
//! admitted (`requestContext.authorizer.lambda`), so roles hold as locally;
//! each request first catches the instance's catalog cache up with the table.
//! `/health` probes DynamoDB, S3 and SQS as `serve --backend aws` does;
//! `/webhooks/github` queues pushes for `s3sync` (`webhooks::aws`);
//! `/subscriptions` works with `MCP_PROMPTS_WEBHOOK_QUEUE_URL` (`subscribers::aws`).
//! Each request (one invocation) writes one EMF line (`aws::lambda::emf`):
//! `Requests` 1, `Errors` 1 for a 5xx, `RenderMs` when it rendered.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use mcp_prompts_aws::lambda::LambdaApp;
use mcp_prompts_aws::lambda::authorizer::principal_of;
use mcp_prompts_aws::lambda::emf::Metrics;
use mcp_prompts_aws::lambda::runtime::HandlerKind;
use mcp_prompts_engine::metrics::tallied;
use tower::util::MapRequest;

use crate::auth::Caller;
use crate::aws_gateway::health::{Dependencies, probe};
use crate::webhooks::GithubWebhook;
use crate::webhooks::aws::{CatalogQueue, DynamoDeliveries};
use mcp_prompts_aws::DynamoPromptStore;

/// API Gateway HTTP APIs take request bodies up to 10 MB; templates are far
/// smaller (the engine's limits apply after this).
pub const MAX_BODY: usize = 1024 * 1024;

/// The `http` function's service: [`router`] behind [`without_stage`].
pub type Service = MapRequest<Router, fn(lambda_http::Request) -> lambda_http::Request>;

pub fn service(
    app: Arc<LambdaApp>,
    health: Arc<Dependencies>,
    webhook: Option<Arc<GithubWebhook>>,
) -> Service {
    MapRequest::new(router(app, health, webhook), without_stage)
}

/// `lambda_http` puts a named stage in front of the path (`/prod/prompts`);
/// the routes are the same at every stage, so it goes (before routing).
pub fn without_stage(mut request: lambda_http::Request) -> lambda_http::Request {
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| s != "$default") else {
        return request;
    };
    let path = request.uri().path();
    let prefix = format!("/{stage}");
    let Some(rest) = path
        .strip_prefix(&prefix)
        .filter(|r| r.is_empty() || r.starts_with('/'))
    else {
        return request;
    };
    let rest = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match request.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_string(),
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// The routes the `http` function serves; `/webhooks/github` with a webhook.
pub fn router(
    app: Arc<LambdaApp>,
    health: Arc<Dependencies>,
    webhook: Option<Arc<GithubWebhook>>,
) -> Router {
    let rest = crate::rest::router(app.host.clone(), MAX_BODY);
    let rest = match webhook {
        Some(hook) => rest.merge(hook.router()),
        None => rest,
    };
    rest.route(
        "/health",
        get(move || {
            let health = health.clone();
            async move { probe(&health).await }
        }),
    )
    .route("/health/live", get(crate::gateway::health::live))
    .layer(axum::middleware::from_fn_with_state(app, per_request))
}

/// The authorizer's caller and the client's address (API Gateway's
/// `sourceIp`: the origin guard judges a remote peer by `Origin` against
/// `Host`, not by a loopback host name) into the request, the catalog cache up
/// to date.
async fn per_request(
    State(app): State<Arc<LambdaApp>>,
    mut request: Request,
    next: Next,
) -> Response {
    let (caller, peer) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => (
            context.authorizer.as_ref().and_then(principal_of),
            context
                .http
                .source_ip
                .as_deref()
                .and_then(|ip| ip.parse::<IpAddr>().ok()),
        ),
        _ => (None, None),
    };
    let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let extensions = request.extensions_mut();
    extensions.insert(ConnectInfo(SocketAddr::new(peer, 0)));
    extensions.insert(Caller(caller));
    let (response, tally) = tallied(async {
        app.refresh_catalog().await;
        next.run(request).await
    })
    .await;
    let mut m = Metrics::requests(1, usize::from(response.status().is_server_error()));
    m.add_tally(&tally, false);
    app.emf.emit(HandlerKind::Http, &m);
    response
}

/// Runs the `http` handler: the app built once per instance, then
/// `lambda_http` feeding it the HTTP API's events.
pub async fn run() -> Result<(), lambda_http::Error> {
    let (_, app, store) = mcp_prompts_aws::lambda::runtime::init().await?;
    crate::subscribers::aws::attach_from_env(&app, &store)?;
    let webhook = webhook_from_env(&store)?;
    lambda_http::run(service(app, Arc::new(Dependencies { store }), webhook)).await
}

/// The GitHub webhook, when `MCP_PROMPTS_GITHUB_WEBHOOK_SECRET` is set: pushes
/// go to `MCP_PROMPTS_CATALOG_QUEUE_URL` (the queue `s3sync` reads), delivery
/// ids to the prompts table; `MCP_PROMPTS_GITHUB_PATH_PREFIX` as locally.
pub fn webhook_from_env(store: &DynamoPromptStore) -> Result<Option<Arc<GithubWebhook>>, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let Some(secret) = var("MCP_PROMPTS_GITHUB_WEBHOOK_SECRET") else {
        return Ok(None);
    };
    let queue_url = var("MCP_PROMPTS_CATALOG_QUEUE_URL").ok_or(
        "MCP_PROMPTS_GITHUB_WEBHOOK_SECRET is set but MCP_PROMPTS_CATALOG_QUEUE_URL (the s3sync queue) is not",
    )?;
    let prefix = var("MCP_PROMPTS_GITHUB_PATH_PREFIX").unwrap_or_default();
    Ok(Some(aws_webhook(store, &secret, &prefix, queue_url)))
}

/// The webhook over the catalog events queue and DynamoDB delivery ids.
pub fn aws_webhook(
    store: &DynamoPromptStore,
    secret: &str,
    path_prefix: &str,
    queue_url: String,
) -> Arc<GithubWebhook> {
    let clients = store.clients().clone();
    GithubWebhook::new(
        secret,
        path_prefix,
        Arc::new(CatalogQueue {
            clients: clients.clone(),
            queue_url,
        }),
        Arc::new(DynamoDeliveries {
            clients,
            table: store.table().to_string(),
        }),
    )
}
