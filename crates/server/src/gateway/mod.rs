//! The local gateway: one axum server for MCP over WebSocket (`/ws`) and health.
//! It behaves like API Gateway's WebSocket API: each connection gets an id and
//! its frames go to the same engine the Lambda handlers call.

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

use mcp_prompts_engine::Engine;
use mcp_prompts_engine::realtime::Registry;

/// Shared state of every route.
pub struct Gateway {
    pub engine: Arc<Engine>,
    pub registry: Arc<Registry>,
    pub shutdown: CancellationToken,
    pub limits: Limits,
    /// Open WebSocket connections (upgraded connections outlive axum's graceful
    /// shutdown), so `serve` can wait for their close handshakes.
    connections: TaskTracker,
}

#[derive(Debug, Clone)]
pub struct Limits {
    /// Idle connections are pinged this often.
    pub ping_interval: std::time::Duration,
    /// How long a session outlives its connection, waiting to be resumed.
    pub session_grace: std::time::Duration,
    /// Hard cap on one WebSocket message; the engine refuses smaller oversize
    /// messages itself with a JSON-RPC error.
    pub max_ws_message: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            ping_interval: std::time::Duration::from_secs(30),
            session_grace: std::time::Duration::from_secs(600),
            max_ws_message: 16 * 1024 * 1024,
        }
    }
}

impl Gateway {
    pub fn new(
        engine: Arc<Engine>,
        registry: Arc<Registry>,
        shutdown: CancellationToken,
        limits: Limits,
    ) -> Arc<Self> {
        Arc::new(Self {
            engine,
            registry,
            shutdown,
            limits,
            connections: TaskTracker::new(),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/ws", get(websocket::upgrade))
            .route("/health", get(health))
            .route("/", get(web::index))
            .route("/assets/{*path}", get(web::file))
            .with_state(self.clone())
            .merge(crate::http::router(self))
    }

    /// Serves until the shutdown token is cancelled; open WebSockets are closed
    /// with 1001 (going away) first.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
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

/// The hub's real state: one cheap store read per call (a corrupt or
/// unreachable store is 503, not "ok"), with its latency.
async fn health(
    axum::extract::State(gw): axum::extract::State<Arc<Gateway>>,
) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    let started = std::time::Instant::now();
    let store = gw.engine.catalog.store().health().await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let version = mcp_prompts_engine::protocol::SERVER_VERSION;
    match store {
        Ok(()) => (
            axum::http::StatusCode::OK,
            axum::Json(serde_json::json!({
                "status": "ok", "version": version,
                "store": {"status": "ok", "latencyMs": latency_ms},
            })),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: the store fails");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({
                    "status": "unavailable", "version": version,
                    "store": {"status": "error", "error": e.to_string(), "latencyMs": latency_ms},
                })),
            )
        }
    }
}
