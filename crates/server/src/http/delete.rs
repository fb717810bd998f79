//! `DELETE /mcp`: the client ends its session. Its registry connection is
//! dropped and its stream, if open, ends; the id then answers 404.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::headers;
use super::{HttpEdge, reject};
use mcp_prompts_engine::jsonrpc;

pub async fn handle(
    State(edge): State<Arc<HttpEdge>>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let principal = crate::auth::Caller::principal(caller);
    if let Err(response) = headers::check_protocol_version(&headers) {
        return *response;
    }
    let Some(id) = headers::session_id(&headers) else {
        return reject(
            StatusCode::BAD_REQUEST,
            jsonrpc::INVALID_REQUEST,
            "Bad Request: Mcp-Session-Id header is required",
        );
    };
    // A stored session (the hub restarted) is attached first, so it ends the same way.
    if let Err(refused) = edge
        .session(id, principal.as_ref(), peer, "Session not found")
        .await
    {
        return refused;
    }
    match edge.sessions.remove(id) {
        Some(session) => {
            // Deleted from the store before answering (the pump does it too,
            // later): a request right after must not find it to reattach.
            let attachment = session.state.lock().await.clone();
            edge.gw.host.end(&attachment).await;
            tracing::debug!(session = %id, "HTTP session deleted");
            StatusCode::OK.into_response()
        }
        None => reject(
            StatusCode::NOT_FOUND,
            jsonrpc::INVALID_REQUEST,
            "Session not found",
        ),
    }
}
