//! The local gateway: one axum server for MCP over WebSocket (`/ws`), health
//! (`health.rs`) and metrics (`crate::metrics`).
//! It behaves like API Gateway's WebSocket API: each connection gets an id and
//! its frames go to the same engine the Lambda handlers call.

pub mod health;
mod web;
mod websocket;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for open WebSockets to finish their close handshake.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

use crate::auth::Authenticator;
use mcp_prompts_engine::host::SessionHost;
use mcp_prompts_engine::realtime::Registry;

/// Shared state of every route.
pub struct Gateway {
    /// Every door's session behaviour; its connection store, pusher and
    /// audience are `registry`.
    pub host: Arc<SessionHost>,
    pub registry: Arc<Registry>,
    pub shutdown: CancellationToken,
    pub limits: Limits,
    /// Credentials checked at `/ws`, `/mcp` and `/prompts…`; `None` serves
    /// everyone as one anonymous caller.
    pub auth: Option<Arc<Authenticator>>,
    /// Open WebSocket connections (upgraded connections outlive axum's graceful
    /// shutdown), so `serve` can wait for their close handshakes; also their count
    /// for `Limits::max_connections`.
    connections: TaskTracker,
    /// Open WebSockets per principal (per client address when anonymous), for
    /// `Limits::max_connections_per_principal`.
    per_principal: Arc<crate::per_principal::PerOwner>,
    /// `/metrics`: the engine's counters and the gauges below.
    pub(crate) exposition: crate::metrics::Exposition,
    /// The Streamable HTTP session table, once `/mcp` is routed (its size is a gauge).
    http_sessions: std::sync::OnceLock<Arc<crate::http::SessionTable>>,
}

#[derive(Debug, Clone)]
pub struct Limits {
    /// Idle connections are pinged this often.
    pub ping_interval: std::time::Duration,
    /// Hard cap on one WebSocket frame and message (and HTTP body): larger ones
    /// close the connection with 1009 (413 over HTTP). Set a little above the
    /// engine's message limit, so messages just over that get its JSON-RPC error
    /// naming the limit instead.
    pub max_ws_message: usize,
    /// Open WebSockets at once; more get 503 before the upgrade, so one client
    /// cannot take every file descriptor (and `/health` with them).
    pub max_connections: usize,
    /// A WebSocket that has not sent `initialize` by then is closed (1008): an
    /// idle, never-initialized connection holds resources for nothing.
    pub init_timeout: std::time::Duration,
    /// Open WebSockets of one principal (of one client address when
    /// anonymous); more get 429 before the upgrade, so one caller cannot take
    /// all of `max_connections`.
    pub max_connections_per_principal: usize,
    /// Streamable HTTP sessions of one principal (one client address when
    /// anonymous); `initialize` beyond it gets 429.
    pub max_http_sessions_per_principal: usize,
    /// Streamable HTTP sessions kept at once; `initialize` beyond it gets 503.
    pub max_http_sessions: usize,
    /// A Streamable HTTP session with no request and no open stream for this
    /// long is ended (many clients never send DELETE).
    pub http_idle_timeout: std::time::Duration,
    /// Requests of one HTTP session in flight at once (waiting for the
    /// session, which runs them one at a time, or running); more get 429. A
    /// WebSocket reads its next message only after answering the last one, so
    /// its pending requests wait in the socket (TCP backpressure) instead.
    pub max_pending: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            ping_interval: std::time::Duration::from_secs(30),
            max_ws_message: 16 * 1024 * 1024,
            max_connections: 16_000,
            init_timeout: std::time::Duration::from_secs(10),
            max_connections_per_principal: 100,
            max_http_sessions_per_principal: 100,
            max_http_sessions: 10_000,
            http_idle_timeout: std::time::Duration::from_secs(30 * 60),
            max_pending: 32,
        }
    }
}

impl Gateway {
    pub fn new(
        host: Arc<SessionHost>,
        registry: Arc<Registry>,
        shutdown: CancellationToken,
        limits: Limits,
        auth: Option<Arc<Authenticator>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            per_principal: crate::per_principal::PerOwner::new(
                limits.max_connections_per_principal,
            ),
            auth,
            exposition: crate::metrics::Exposition::embedded(&host.engine.metrics),
            http_sessions: std::sync::OnceLock::new(),
            host,
            registry,
            shutdown,
            limits,
            connections: TaskTracker::new(),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        let mut ws = get(websocket::upgrade);
        let mut doors = Router::new()
            .merge(crate::http::router(self))
            .merge(crate::rest::router(
                self.host.clone(),
                self.limits.max_ws_message,
            ))
            .route(
                "/metrics",
                get(crate::metrics::serve).with_state(self.clone()),
            );
        if let Some(auth) = &self.auth {
            let check = || axum::middleware::from_fn_with_state(auth.clone(), crate::auth::guard);
            ws = ws.route_layer(check());
            doors = doors.route_layer(check());
        }
        Router::new()
            .route(
                "/ws",
                ws.route_layer(axum::middleware::from_fn(crate::http::origin::guard)),
            )
            .route("/health", get(health::health))
            .route("/health/live", get(health::live))
            .route("/", get(web::index))
            .route("/assets/{*path}", get(web::file))
            .with_state(self.clone())
            .merge(doors)
    }

    /// WebSocket connections open now.
    pub fn open_connections(&self) -> usize {
        self.connections.len()
    }

    /// Streamable HTTP sessions kept now.
    pub fn http_session_count(&self) -> usize {
        self.http_sessions.get().map_or(0, |t| t.len())
    }

    pub(crate) fn count_http_sessions(&self, table: Arc<crate::http::SessionTable>) {
        let _ = self.http_sessions.set(table);
    }

    /// Serves until the shutdown token is cancelled; open WebSockets are closed
    /// with 1001 (going away) first.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        self.serve_with(listener, Router::new()).await
    }

    /// `serve`, with more routes beside the doors (webhooks, which bring
    /// their own authentication).
    pub async fn serve_with(
        self: Arc<Self>,
        listener: TcpListener,
        extra: Router,
    ) -> std::io::Result<()> {
        let shutdown = self.shutdown.clone();
        let registry = self.registry.clone();
        let stopping = shutdown.clone();
        tokio::spawn(async move {
            stopping.cancelled().await;
            // WebSocket connections watch only their own token (see websocket.rs).
            registry.drop_all();
        });
        axum::serve(
            listener,
            self.router()
                .merge(extra)
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
        self.connections.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                open = self.connections.len(),
                "WebSocket connections still closing at exit"
            );
        }
        Ok(())
    }
}
