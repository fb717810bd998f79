//! Authentication at the door: `/ws`, `/mcp` and `/prompts…` take an API key
//! (`mcpp_…`) or an OIDC JWT, wherever the request carries it
//! (`mcp_prompts_auth::credential`). Without a valid credential, when the hub
//! requires one, the answer is 401 before any MCP traffic. The check itself is
//! `mcp_prompts_auth::Authenticator`, shared with the Lambda authorizer.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mcp_prompts_engine::domain::Principal;

pub use mcp_prompts_auth::api_key::{hash, new_key};
pub use mcp_prompts_auth::{AuthMode, Authenticator, Refusal};

/// `--auth required|off`.
pub fn parse_mode(text: &str) -> Result<AuthMode, String> {
    match text {
        "required" => Ok(AuthMode::Required),
        "off" => Ok(AuthMode::Off),
        other => Err(format!("'{other}': use 'required' or 'off'")),
    }
}

/// Who made a request: `None` when the hub runs without credentials.
#[derive(Debug, Clone)]
pub struct Caller(pub Option<Principal>);

impl Caller {
    /// The principal of a request (none without the auth layer, or anonymous).
    pub fn principal(caller: Option<axum::Extension<Caller>>) -> Option<Principal> {
        caller.and_then(|axum::Extension(Caller(p))| p)
    }
}

pub async fn guard(
    State(auth): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    let credential = mcp_prompts_auth::credential::find(request.headers(), request.uri().query());
    match auth.authenticate(credential.as_deref()).await {
        Ok(principal) => {
            request.extensions_mut().insert(Caller(principal));
            next.run(request).await
        }
        Err(refusal) => refused(&refusal),
    }
}

/// 401 (or 503 when the check itself failed), as a JSON-RPC error body.
fn refused(refusal: &Refusal) -> Response {
    let (status, code) = match refusal {
        Refusal::Unauthorized(_) => (StatusCode::UNAUTHORIZED, -32001),
        Refusal::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, -32603),
    };
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": null,
        "error": {"code": code, "message": refusal.to_string()}
    });
    let mut r = (status, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::UNAUTHORIZED {
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"mcp-prompts\""),
        );
    }
    r
}
