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
    http_sessions: Gauge,
    attached_sessions: Gauge,
    publisher_lag: Gauge,
}

impl Exposition {
    pub fn new(engine: &EngineMetrics) -> Self {
        let mut registry = Registry::default();
        engine.register(&mut registry);
        let mut gauge = |name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let websocket_connections = gauge(
            "mcp_prompts_websocket_connections",
            "Open WebSocket connections (/ws)",
        );
        let http_sessions = gauge(
            "mcp_prompts_http_sessions",
            "Streamable HTTP sessions kept (/mcp)",
        );
        let attached_sessions = gauge(
            "mcp_prompts_attached_sessions",
            "MCP sessions attached to a connection of this process (every door)",
        );
        let publisher_lag = gauge(
            "mcp_prompts_publisher_lag_changes",
            "Change-log entries committed but not yet fanned out by this process",
        );
        Self {
            registry,
            websocket_connections,
            http_sessions,
            attached_sessions,
            publisher_lag,
        }
    }
}

pub(crate) async fn serve(State(gw): State<Arc<Gateway>>) -> Response {
    let m = &gw.exposition;
    m.websocket_connections.set(gauge(gw.open_connections()));
    m.http_sessions.set(gauge(gw.http_session_count()));
    m.attached_sessions.set(gauge(gw.registry.len()));
    // A failing store leaves the last value; `/health` says why.
    if let Ok(head) = gw.host.engine.catalog.store().head_position().await {
        let lag = head.saturating_sub(gw.registry.position());
        m.publisher_lag.set(i64::try_from(lag).unwrap_or(i64::MAX));
    }
    let mut text = String::with_capacity(4096);
    match prometheus_client::encoding::text::encode(&mut text, &m.registry) {
        Ok(()) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "encoding /metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
