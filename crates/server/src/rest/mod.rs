//! The REST API (`/prompts…`), one more thin door: decode → the catalog service
//! → encode, with HTTP's own concurrency control on top of the catalog's
//! versions (`ETag` = version, `If-Match` → 412 when stale, `If-None-Match` →
//! 304) and RFC 9457 problem bodies for every error ([`problem`]). Writes go
//! through the same `Catalog` as MCP tool calls, so they land in the same change
//! log and every MCP client hears about them. The routes are registered with
//! their OpenAPI operations (`utoipa_axum::routes!`), so `/openapi.json`
//! ([`openapi`]) lists exactly what the router serves.

mod body;
mod conditional;
mod imports;
pub mod openapi;
mod problem;
mod prompts;
mod responses;
mod subscribers;
mod versions;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use mcp_prompts_engine::Catalog;
use mcp_prompts_engine::host::SessionHost;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use problem::Problem;

/// Shared state of the REST routes.
pub struct RestEdge {
    pub host: Arc<SessionHost>,
    /// Largest request body accepted (413 beyond).
    pub max_body: usize,
}

impl RestEdge {
    fn catalog(&self) -> &Catalog {
        &self.host.engine.catalog
    }

    fn page_size(&self) -> usize {
        self.host.engine.config.page_size
    }
}

/// Who REST writes are recorded as in the change log.
const ACTOR: &str = "rest";

/// A caller whose role cannot write gets 403 for every method but GET; the
/// render (`POST …/apply`) only reads.
async fn writes_need_editor(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let role = request
        .extensions()
        .get::<crate::auth::Caller>()
        .and_then(|c| c.0.as_ref())
        .map(|p| p.role);
    let reads = request.method() == axum::http::Method::GET
        || request.method() == axum::http::Method::HEAD
        || request.uri().path().ends_with("/apply");
    match role {
        Some(role) if !reads && !role.can_write() => Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the role '{}' may not change the catalog: it needs the editor role",
                role.as_str()
            ),
        )
        .into_response(),
        _ => next.run(request).await,
    }
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Problem {
    Problem::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!("{} does not take {method}", uri.path()),
    )
}

/// The REST routes, `/openapi.json` and `/docs`.
pub fn router(host: Arc<SessionHost>, max_body: usize) -> Router {
    let edge = Arc::new(RestEdge { host, max_body });
    let (rest, api) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(prompts::list, prompts::create))
        .routes(routes!(prompts::get, prompts::update, prompts::delete))
        .routes(routes!(versions::apply))
        .routes(routes!(versions::history))
        .routes(routes!(versions::version))
        .routes(routes!(versions::set_label))
        .routes(routes!(imports::recent, imports::submit))
        .routes(routes!(imports::status))
        .routes(routes!(subscribers::list, subscribers::register))
        .routes(routes!(subscribers::get, subscribers::remove))
        .split_for_parts();
    rest
        // A method a route does not have (`PATCH /prompts/{id}`) is a problem
        // body too, not axum's empty 405 (found by the REST fuzz test).
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are read within `max_body` by the handlers, which answer 413
        // with a problem body rather than axum's plain text.
        .layer(DefaultBodyLimit::disable())
        .route_layer(axum::middleware::from_fn(writes_need_editor))
        .route_layer(axum::middleware::from_fn(crate::http::origin::guard))
        .with_state(edge)
        .merge(
            openapi::routes(api).route_layer(axum::middleware::from_fn(crate::http::origin::guard)),
        )
}
