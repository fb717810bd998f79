//! `/health` and `/health/live` of the embedded gateway. `/health` is what a
//! load balancer or an operator asks "can this hub serve and notify?": one cheap
//! store read (a corrupt or unreachable store is 503, not "ok") that also
//! returns the change-log head, and how far the change publisher is behind it
//! (the registry's delivered position); the latency is that read's.
//! `/health/live` touches nothing: a process that answers is alive.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Gateway;

/// Changes the publisher may be behind the change-log head before the hub
/// reports itself degraded (still 200: it serves, its notifications are late).
/// One publisher batch: a burst within a coalescing window stays below it.
pub const PUBLISHER_LAG_DEGRADED: u64 = 1000;

pub(super) async fn health(State(gw): State<Arc<Gateway>>) -> (StatusCode, Json<Value>) {
    let started = Instant::now();
    // One read: the store's check and the change-log head.
    let read = gw.host.engine.catalog.store().health_and_head().await;
    let latency = ms(started);
    let (store, publisher) = match read {
        Ok(head) => {
            let lag = head.saturating_sub(gw.registry.position());
            let status = if lag > PUBLISHER_LAG_DEGRADED {
                "degraded"
            } else {
                "ok"
            };
            (
                json!({"status": "ok", "latencyMs": latency}),
                json!({"status": status, "lagChanges": lag, "latencyMs": latency}),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "health check: the store fails");
            (
                json!({"status": "fail", "latencyMs": latency, "detail": e.to_string()}),
                json!({"status": "fail", "lagChanges": null, "latencyMs": latency,
                       "detail": "the change-log head cannot be read"}),
            )
        }
    };
    let checks = json!({"store": store, "publisher": publisher});
    report("embedded", checks)
}

/// Liveness: answers without touching any dependency.
pub async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The overall status of `checks` (the worst of them): `fail` is 503,
/// `ok` and `degraded` are 200.
pub fn report(backend: &str, checks: Value) -> (StatusCode, Json<Value>) {
    let statuses = checks
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .map(|c| c["status"].as_str().unwrap_or("fail"));
    let mut overall = "ok";
    for s in statuses {
        if s == "fail" {
            overall = "fail";
        } else if s == "degraded" && overall == "ok" {
            overall = "degraded";
        }
    }
    let code = if overall == "fail" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = json!({
        "status": overall,
        "backend": backend,
        "version": mcp_prompts_engine::protocol::SERVER_VERSION,
        "checks": checks,
    });
    (code, Json(body))
}

/// Milliseconds since `started`, fractional.
pub fn ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}
