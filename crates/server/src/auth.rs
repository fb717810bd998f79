//! Authentication at the door: `/ws`, `/mcp` and `/prompts…` take an API key
//! (`mcpp_…`, from `mcp-prompts keys create`) as `Authorization: Bearer`, a
//! `token` query parameter, or a second WebSocket subprotocol `mcp.auth.<key>`
//! (browsers cannot set headers on a WebSocket). Without a valid key, when the
//! hub requires one, the answer is 401 before any MCP traffic. When keys are
//! optional, a valid key still gives its role (a reader stays a reader). Keys are
//! never logged: only their SHA-256 is kept and compared.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_prompts_engine::domain::Principal;
use mcp_prompts_engine::ports::KeyStore;
use sha2::{Digest, Sha256};

/// Whether the hub requires credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    Required,
    Off,
}

pub struct Authenticator {
    pub mode: AuthMode,
    pub keys: Arc<dyn KeyStore>,
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

/// The prefix every key starts with, so a leaked one is recognisable.
pub const KEY_PREFIX: &str = "mcpp_";

/// A new random key and its id; the key is shown once, the hash stored.
pub fn new_key() -> (String, String) {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    (id, key)
}

pub fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The credential a request carries, wherever it is.
fn credential(request: &Request) -> Option<String> {
    let headers = request.headers();
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_string());
    }
    if let Some(token) = request.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .map(percent_decode)
    }) {
        return Some(token);
    }
    subprotocol_token(headers)
}

fn subprotocol_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|o| o.trim().strip_prefix("mcp.auth.").map(str::to_string))
}

/// `%XX` escapes of a query value (keys are URL-safe, but a client may escape).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                match u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub async fn guard(
    State(auth): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match credential(&request) {
        Some(key) => match auth.keys.find(&hash(&key)).await {
            Ok(Some(p)) => Some(p),
            Ok(None) if auth.mode == AuthMode::Required => {
                return unauthorized("the API key is unknown or revoked");
            }
            // Without required credentials everyone may do everything: an
            // unknown key only means an anonymous caller.
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "could not check an API key");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "could not check the API key\n",
                )
                    .into_response();
            }
        },
        None if auth.mode == AuthMode::Required => {
            return unauthorized(
                "credentials required: send an API key as 'Authorization: Bearer <key>', \
                 a 'token' query parameter or the WebSocket subprotocol 'mcp.auth.<key>'",
            );
        }
        None => None,
    };
    request.extensions_mut().insert(Caller(principal));
    next.run(request).await
}

fn unauthorized(reason: &str) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": null,
        "error": {"code": -32001, "message": format!("unauthorized: {reason}")}
    });
    let mut r = (StatusCode::UNAUTHORIZED, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"mcp-prompts\""),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hash_stably() {
        let (id1, k1) = new_key();
        let (id2, k2) = new_key();
        assert_ne!(k1, k2);
        assert_ne!(id1, id2);
        assert!(k1.starts_with(KEY_PREFIX) && k1.len() > 40, "{k1}");
        assert_eq!(hash(&k1), hash(&k1));
        assert_ne!(hash(&k1), hash(&k2));
        assert_eq!(hash(&k1).len(), 64);
    }

    #[test]
    fn query_tokens_are_unescaped() {
        assert_eq!(percent_decode("a%2Db"), "a-b");
        assert_eq!(percent_decode("plain"), "plain");
    }
}
