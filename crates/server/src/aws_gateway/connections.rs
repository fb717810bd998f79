//! The local `@connections` endpoint: the API Gateway management API, served by
//! the gateway so the real `aws-sdk-apigatewaymanagement` client posts to it
//! (`POST` sends a frame, `GET` describes, `DELETE` closes; an unknown id is 410
//! Gone with the `GoneException` error type the SDK maps).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::AwsGateway;
use mcp_prompts_aws::unix_now_ms;
use mcp_prompts_engine::realtime::Outgoing;

/// One WebSocket the gateway holds open.
pub struct LocalConnection {
    pub tx: mpsc::Sender<Outgoing>,
    pub connected_at_ms: u64,
    pub last_active_ms: AtomicU64,
    pub source_ip: String,
    pub user_agent: String,
    /// Cancelled by `DELETE @connections/{id}` or when the client stops reading.
    pub closed: CancellationToken,
}

impl LocalConnection {
    pub fn touch(&self) {
        self.last_active_ms.store(unix_now_ms(), Ordering::Relaxed);
    }
}

/// Open connections by id. `std::sync` lock: held only to look up or insert,
/// never across an `.await`.
#[derive(Default)]
pub struct LocalConnections {
    map: RwLock<HashMap<String, Arc<LocalConnection>>>,
}

impl LocalConnections {
    pub fn insert(&self, id: String, conn: Arc<LocalConnection>) {
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, conn);
    }

    pub fn get(&self, id: &str) -> Option<Arc<LocalConnection>> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    pub fn remove(&self, id: &str) -> Option<Arc<LocalConnection>> {
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
    }

    pub fn ids(&self) -> Vec<String> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn close_all(&self) {
        for c in self.map.read().unwrap_or_else(|e| e.into_inner()).values() {
            c.closed.cancel();
        }
    }
}

fn gone(id: &str) -> Response {
    let mut r = (
        StatusCode::GONE,
        axum::Json(json!({ "message": format!("connection {id} is gone") })),
    )
        .into_response();
    r.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("GoneException"),
    );
    r
}

fn too_large(size: usize, limit: usize) -> Response {
    let mut r = (
        StatusCode::PAYLOAD_TOO_LARGE,
        axum::Json(json!({ "message": format!("message of {size} bytes exceeds {limit} bytes") })),
    )
        .into_response();
    r.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("PayloadTooLargeException"),
    );
    r
}

pub async fn post(
    State(gw): State<Arc<AwsGateway>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let limit = gw.app.limits.max_message_bytes;
    if body.len() > limit {
        return too_large(body.len(), limit);
    }
    let Some(conn) = gw.local.get(&id) else {
        return gone(&id);
    };
    match conn.tx.try_send(Outgoing::Frame(body)) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!(connection = %id, "dropping a client that stopped reading");
            conn.closed.cancel();
            gw.local.remove(&id);
            gone(&id)
        }
        Err(mpsc::error::TrySendError::Closed(_)) => gone(&id),
    }
}

pub async fn describe(State(gw): State<Arc<AwsGateway>>, Path(id): Path<String>) -> Response {
    let Some(conn) = gw.local.get(&id) else {
        return gone(&id);
    };
    let iso = |ms: u64| {
        time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default()
    };
    axum::Json(json!({
        "connectedAt": iso(conn.connected_at_ms),
        "lastActiveAt": iso(conn.last_active_ms.load(Ordering::Relaxed)),
        "identity": { "sourceIp": conn.source_ip, "userAgent": conn.user_agent },
    }))
    .into_response()
}

pub async fn delete(State(gw): State<Arc<AwsGateway>>, Path(id): Path<String>) -> Response {
    match gw.local.remove(&id) {
        Some(conn) => {
            conn.closed.cancel();
            StatusCode::NO_CONTENT.into_response()
        }
        None => gone(&id),
    }
}
