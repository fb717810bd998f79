//! `GET /metrics`: the Prometheus (OpenMetrics) text exposition of one hub
//! process. The engine counts requests, renders and fan-outs where every door's
//! traffic passes (`mcp_prompts_engine::metrics`); the gauges here are read at
//! scrape time from what the gateway already tracks (open WebSockets, HTTP
//! sessions, attached sessions, publisher lag), so the hot path pays nothing
//! for them. Behind the same credential guard as `/prompts` under
//! `--auth required`: the counts describe the traffic.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::gateway::Gateway;
use mcp_prompts_engine::metrics::EngineMetrics;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The registry of one gateway and the gauges set at each scrape.
pub struct Exposition {
    registry: Registry,
    websocket_connections: Gauge,
    /// Only the embedded gateway has them: `serve --backend aws` keeps its
    /// sessions in DynamoDB and its backlog is the SQS queue (`/health`).
    local: Option<LocalGauges>,
}

struct LocalGauges {
    http_sessions: Gauge,
    attached_sessions: Gauge,
    publisher_lag: Gauge,
}

fn gauge(registry: &mut Registry, name: &str, help: &str) -> Gauge {
    let g = Gauge::default();
    registry.register(name, help, g.clone());
    g
}

impl Exposition {
    /// The embedded gateway's: the engine's metrics and every gauge.
    pub fn embedded(engine: &EngineMetrics) -> Self {
        let mut this = Self::aws(engine);
        let registry = &mut this.registry;
        this.local = Some(LocalGauges {
            http_sessions: gauge(
                registry,
                "mcp_prompts_http_sessions",
                "Streamable HTTP sessions kept (/mcp)",
            ),
            attached_sessions: gauge(
                registry,
                "mcp_prompts_attached_sessions",
                "MCP sessions attached to a connection of this process (every door)",
            ),
            publisher_lag: gauge(
                registry,
                "mcp_prompts_publisher_lag_changes",
                "Change-log entries committed but not yet fanned out by this process",
            ),
        });
        this
    }

    /// `serve --backend aws`'s: the engine's metrics and the open WebSockets.
    pub fn aws(engine: &EngineMetrics) -> Self {
        let mut registry = Registry::default();
        engine.register(&mut registry);
        let websocket_connections = gauge(
            &mut registry,
            "mcp_prompts_websocket_connections",
            "Open WebSocket connections (/ws)",
        );
        Self {
            registry,
            websocket_connections,
            local: None,
        }
    }

    pub fn set_websocket_connections(&self, n: usize) {
        self.websocket_connections.set(count(n));
    }

    /// The text exposition, as a response.
    pub fn response(&self) -> Response {
        let mut text = String::with_capacity(4096);
        match prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            Ok(()) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "encoding /metrics");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// The embedded gateway's `/metrics`.
pub(crate) async fn serve(State(gw): State<Arc<Gateway>>) -> Response {
    let m = &gw.exposition;
    m.set_websocket_connections(gw.open_connections());
    if let Some(local) = &m.local {
        local.http_sessions.set(count(gw.http_session_count()));
        local.attached_sessions.set(count(gw.registry.len()));
        // A failing store leaves the last value; `/health` says why.
        if let Ok(head) = gw.host.engine.catalog.store().head_position().await {
            let lag = head.saturating_sub(gw.registry.position());
            local
                .publisher_lag
                .set(i64::try_from(lag).unwrap_or(i64::MAX));
        }
    }
    m.response()
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
