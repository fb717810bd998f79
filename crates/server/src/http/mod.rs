//! MCP over Streamable HTTP (the 2025-11-25 transport) at `/mcp`.
//!
//! - `POST` carries one client message; requests are answered with JSON (or an
//!   SSE response for clients that accept only `text/event-stream`), notifications
//!   and responses with 202 ([`post`]).
//! - `GET` opens the session's standalone SSE stream, where catalog notifications
//!   arrive, resumable with `Last-Event-ID` ([`stream`]).
//! - `DELETE` ends the session ([`delete`]).
//!
//! Each session lives in a bounded table keyed by `Mcp-Session-Id` ([`sessions`]);
//! it is one registry connection from `initialize` until it is deleted or expires,
//! so notifications that arrive while no stream is open wait in its replay buffer
//! ([`events`]). Every route is behind the DNS-rebinding guard ([`origin`]),
//! and answers browsers on allowed origins with CORS headers ([`cors`]).

mod cors;
mod delete;
mod events;
mod headers;
mod modern;
pub(crate) mod origin;
mod post;
mod session;
mod sessions;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post as post_route;

use self::session::HttpSession;
use self::sessions::Doors;
pub(crate) use self::sessions::SessionTable;
use super::gateway::Gateway;
use mcp_prompts_engine::jsonrpc::{self, RpcError};

/// Limits of the Streamable HTTP edge.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Sessions kept at once; `initialize` beyond this gets 503.
    pub max_sessions: usize,
    /// Sessions of one principal (one client address when anonymous);
    /// `initialize` beyond this gets 429.
    pub max_sessions_per_principal: usize,
    /// Requests of one session in flight at once; more get 429.
    pub max_pending: usize,
    /// A session with no request and no open stream for this long is ended.
    pub idle_timeout: Duration,
    /// Notifications kept per session for `Last-Event-ID` replay.
    pub replay_events: usize,
    /// Silence after which an SSE stream gets a keep-alive comment.
    pub keep_alive: Duration,
    /// Reconnection delay suggested to clients (the SSE `retry` field).
    pub retry: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_sessions: 10_000,
            max_sessions_per_principal: 100,
            max_pending: 32,
            idle_timeout: Duration::from_secs(30 * 60),
            replay_events: 512,
            keep_alive: Duration::from_secs(15),
            retry: Duration::from_secs(1),
        }
    }
}

/// Shared state of the `/mcp` routes.
pub struct HttpEdge {
    pub gw: Arc<Gateway>,
    pub sessions: Arc<SessionTable>,
    pub config: HttpConfig,
}

impl HttpEdge {
    /// What a session's pump needs from the gateway.
    fn doors(&self) -> Doors {
        Doors {
            host: self.gw.host.clone(),
            registry: self.gw.registry.clone(),
            shutdown: self.gw.shutdown.clone(),
        }
    }

    /// The live session `id`, or the stored one attached again (the hub
    /// restarted while the client was away), if `principal` may use it: else
    /// the refusal to send (404 with `not_found`, or 403 for a session opened
    /// with other credentials).
    async fn session(
        &self,
        id: &str,
        principal: Option<&mcp_prompts_engine::domain::Principal>,
        peer: std::net::SocketAddr,
        not_found: &'static str,
    ) -> Result<Arc<HttpSession>, Response> {
        let found = match self.sessions.get(id) {
            Some(session) => Some(session),
            None => match self
                .sessions
                .reattach(id, principal, peer, self.doors())
                .await
            {
                Ok(found) => found,
                Err(full) => {
                    return Err(too_many(jsonrpc::TOO_MANY_SESSIONS, full.to_string(), 60));
                }
            },
        };
        match found {
            None => Err(reject(
                StatusCode::NOT_FOUND,
                jsonrpc::INVALID_REQUEST,
                not_found,
            )),
            Some(s) if !s.belongs_to(principal).await => Err(reject(
                StatusCode::FORBIDDEN,
                jsonrpc::INVALID_REQUEST,
                "this session was opened with other credentials",
            )),
            Some(s) => Ok(s),
        }
    }
}

/// The `/mcp` routes, ready to merge into the gateway's router.
pub fn router(gw: &Arc<Gateway>) -> Router {
    let config = HttpConfig {
        max_sessions_per_principal: gw.limits.max_http_sessions_per_principal,
        max_pending: gw.limits.max_pending,
        max_sessions: gw.limits.max_http_sessions,
        idle_timeout: gw.limits.http_idle_timeout,
        ..HttpConfig::default()
    };
    let sessions = Arc::new(SessionTable::new(&config));
    gw.count_http_sessions(sessions.clone());
    let edge = Arc::new(HttpEdge {
        gw: gw.clone(),
        sessions,
        config,
    });
    Router::new()
        .route(
            "/mcp",
            post_route(post::handle)
                .get(stream::handle)
                .delete(delete::handle)
                .options(|| async { StatusCode::NO_CONTENT }),
        )
        // The guard runs first: CORS headers only ever name an allowed origin.
        .route_layer(axum::middleware::from_fn(cors::headers))
        .route_layer(axum::middleware::from_fn(origin::guard))
        // Oversize messages reach the engine, which names the limit in a JSON-RPC error;
        // beyond this hard cap axum refuses the body, answered as JSON-RPC too.
        .layer(DefaultBodyLimit::max(gw.limits.max_ws_message))
        .layer(axum::middleware::map_response_with_state(
            gw.limits.max_ws_message,
            json_rejections,
        ))
        .with_state(edge)
}

/// axum's own body rejections (413 over the limit, 400 for a body that cannot
/// be read) are `text/plain`; the transport documents a JSON-RPC error body, so
/// they are rewritten as one (id `null`, -32600) naming the limit or the reason.
async fn json_rejections(
    axum::extract::State(limit): axum::extract::State<usize>,
    response: Response,
) -> Response {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !plain
        || !matches!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::BAD_REQUEST
        )
    {
        return response;
    }
    // Keep the other headers (CORS) of the rejection.
    let (mut parts, body) = response.into_parts();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("request body exceeds the limit of {limit} bytes")
    } else {
        let body = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
        format!("invalid request body: {}", String::from_utf8_lossy(&body))
    };
    let json = jsonrpc::failure(None, &RpcError::new(jsonrpc::INVALID_REQUEST, message));
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(json))
}

/// An HTTP error whose body is a JSON-RPC error without an id, as the transport
/// spec allows, so clients can show the reason.
pub(crate) fn reject(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    let body = jsonrpc::failure(None, &RpcError::new(code, message));
    json_response(status, body)
}

/// 429 with `Retry-After` (seconds) and a JSON-RPC error body naming the limit.
pub(crate) fn too_many(code: i64, message: impl Into<String>, retry_after_secs: u64) -> Response {
    let mut response = reject(StatusCode::TOO_MANY_REQUESTS, code, message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
