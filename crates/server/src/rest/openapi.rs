//! `GET /openapi.json` (the OpenAPI 3.1 document of the REST API) and `GET
//! /docs` (Swagger UI over it, its assets compiled into the binary: no CDN).
//! The operations come from the handlers' `#[utoipa::path]` through the
//! router that serves them (`super::router`), the schemas from the Rust types
//! they read and write; this file adds what is not a REST handler: the title,
//! the tags and the health routes (served beside the REST router by the
//! gateway and by the Lambda `http` handler, documented here so one document
//! covers the HTTP API).

use std::collections::BTreeMap;

use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Where the document and the page are served.
pub const DOCUMENT_PATH: &str = "/openapi.json";
pub const PAGE_PATH: &str = "/docs";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mcp-prompts REST API",
        description = "The prompt catalog over HTTP: the same catalog, versions, labels and \
            change notifications as the MCP tools. `ETag` is a prompt's version; `If-Match` \
            makes a write conditional (412 when stale), `If-None-Match` a read (304). Every \
            error is an RFC 9457 `application/problem+json` body naming the `field` at fault.",
    ),
    paths(health, live),
    components(schemas(super::responses::GuardRefusal), responses(
        super::responses::Unauthorized,
        super::responses::Forbidden,
        super::responses::TooLarge,
        super::responses::WrongMediaType,
        super::responses::StoreUnavailable,
        super::responses::Unavailable,
    )),
    tags(
        (name = "prompts", description = "Create, read, update, delete, list, search, render"),
        (name = "versions", description = "History and labels"),
        (name = "imports", description = "Bulk import jobs"),
        (name = "subscriptions", description = "Signed webhooks to catalog subscribers"),
        (name = "health", description = "Readiness per dependency, and liveness"),
    )
)]
pub struct ApiDoc;

/// The credential guard wraps every REST route (`crate::auth::guard` under
/// `--auth required`; the authorizer on AWS), so each `/prompts…` operation
/// takes a bearer token (optional: the guard may be off) and may answer 401.
struct Guarded;

impl utoipa::Modify for Guarded {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement};
        use utoipa::openapi::{Ref, RefOr};
        let scheme = Http::builder()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "An API key (`mcp-prompts keys create`) or a JWT of the OIDC issuer; \
                 needed under `--auth required` (also as a `token` query parameter)",
            ))
            .build();
        if let Some(components) = api.components.as_mut() {
            components.add_security_scheme(
                BEARER,
                utoipa::openapi::security::SecurityScheme::Http(scheme),
            );
        }
        let optional = vec![
            SecurityRequirement::default(),
            SecurityRequirement::new(BEARER, Vec::<String>::new()),
        ];
        for (path, item) in api.paths.paths.iter_mut() {
            if !["/prompts", "/imports", "/subscriptions"]
                .iter()
                .any(|p| path.starts_with(p))
            {
                continue;
            }
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                op.security = Some(optional.clone());
                op.responses.responses.insert(
                    "401".into(),
                    RefOr::Ref(Ref::from_response_name("Unauthorized")),
                );
            }
        }
    }
}

/// The name of the security scheme.
const BEARER: &str = "bearer";

/// The document at [`DOCUMENT_PATH`] and the page at [`PAGE_PATH`]; `api`
/// holds the router's operations (a modifier of [`ApiDoc`] would run before
/// they are added).
pub fn routes(mut api: utoipa::openapi::OpenApi) -> Router {
    utoipa::Modify::modify(&Guarded, &mut api);
    SwaggerUi::new(PAGE_PATH).url(DOCUMENT_PATH, api).into()
}

/// The overall status, and each check's.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum HealthStatus {
    Ok,
    /// Serving, but notifications are late (the publisher lags).
    Degraded,
    Fail,
}

/// The `/health` body (`gateway::health::report`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct HealthReport {
    /// The worst of `checks`.
    status: HealthStatus,
    /// `embedded` or `aws`.
    backend: String,
    /// The hub's version.
    version: String,
    /// One check per dependency: `store` and `publisher` (embedded),
    /// `dynamodb`, `s3` and `sqs` (aws).
    checks: BTreeMap<String, HealthCheck>,
}

/// One dependency's check; a dependency may add its own numbers.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct HealthCheck {
    status: HealthStatus,
    /// How long the probe took.
    latency_ms: f64,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    /// The publisher: changes committed but not yet delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    lag_changes: Option<u64>,
    /// DynamoDB: the change log's head.
    #[serde(skip_serializing_if = "Option::is_none")]
    head_position: Option<u64>,
    /// SQS: messages waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_depth: Option<u64>,
}

/// The `/health/live` body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Liveness {
    status: HealthStatus,
}

/// Documents `gateway::health::health` and `aws_gateway::health::probe`.
#[utoipa::path(
    get, path = "/health", operation_id = "health", tag = "health",
    summary = "Readiness: every dependency probed, with its latency",
    responses(
        (status = 200, description = "Healthy (or degraded: serving, notifications late)",
            body = HealthReport),
        (status = 503, description = "A dependency fails", body = HealthReport),
    )
)]
#[allow(dead_code)]
fn health() {}

/// Documents `gateway::health::live`.
#[utoipa::path(
    get, path = "/health/live", operation_id = "liveness", tag = "health",
    summary = "Liveness: answers without touching any dependency",
    responses((status = 200, description = "Alive", body = Liveness))
)]
#[allow(dead_code)]
fn live() {}
