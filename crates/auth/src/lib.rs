//! Who is calling, decided the same way at every door: the local gateway's
//! `/ws`, `/mcp` and `/prompts…`, and the Lambda REQUEST authorizer on AWS.
//!
//! Two kinds of credential: API keys (`mcpp_…`, from `mcp-prompts keys create`,
//! kept only as a SHA-256 in the `KeyStore`) and JWTs from an OIDC issuer such
//! as Cognito (signature by the issuer's JWKS; `iss`, `aud`, `exp` checked).
//! Credentials are never logged.

pub mod api_key;
pub mod credential;
#[cfg(feature = "oidc")]
mod jwks;
#[cfg(feature = "oidc")]
pub mod oidc;
mod oidc_args;

use std::sync::Arc;

use mcp_prompts_engine::domain::Principal;
use mcp_prompts_engine::ports::KeyStore;

#[cfg(feature = "oidc")]
pub use jwks::JwksSource;
#[cfg(feature = "oidc")]
pub use oidc::{JwtVerifier, OidcSettings};

/// Without the `oidc` feature there is no verifier to have: `jwt` is `None`.
#[cfg(not(feature = "oidc"))]
#[derive(Debug)]
pub enum JwtVerifier {}

#[cfg(not(feature = "oidc"))]
impl JwtVerifier {
    pub async fn verify(&self, _token: &str) -> Result<Principal, std::convert::Infallible> {
        match *self {}
    }
}
pub use oidc_args::OidcArgs;

/// Whether the hub requires credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Required,
    Off,
}

/// Why a caller is turned away.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No credential, or one that is not valid: 401.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The credential could not be checked (the key store failed): 503.
    #[error("could not check the credential: {0}")]
    Unavailable(String),
}

pub struct Authenticator {
    pub mode: AuthMode,
    pub keys: Arc<dyn KeyStore>,
    /// Set when the hub trusts an OIDC issuer.
    pub jwt: Option<JwtVerifier>,
}

impl Authenticator {
    /// The caller a credential proves. `Ok(None)`: anonymous, allowed only when
    /// credentials are optional (then an invalid credential is anonymous too:
    /// everyone may do everything anyway, and a valid one still gives its role).
    pub async fn authenticate(
        &self,
        credential: Option<&str>,
    ) -> Result<Option<Principal>, Refusal> {
        let proven = match credential {
            None => Err(Refusal::Unauthorized(
                "credentials required: send an API key or a JWT as 'Authorization: Bearer <token>', \
                 a 'token' query parameter or the WebSocket subprotocol 'mcp.auth.<token>'"
                    .into(),
            )),
            Some(key) if key.starts_with(api_key::KEY_PREFIX) => {
                match self.keys.find(&api_key::hash(key)).await {
                    Ok(Some(p)) => Ok(p),
                    Ok(None) => Err(Refusal::Unauthorized("the API key is unknown or revoked".into())),
                    Err(e) => {
                        tracing::error!(error = %e, "could not check an API key");
                        return Err(Refusal::Unavailable("the key store failed".into()));
                    }
                }
            }
            Some(token) => match &self.jwt {
                Some(verifier) => verifier
                    .verify(token)
                    .await
                    .map_err(|e| Refusal::Unauthorized(format!("the token was refused: {e}"))),
                None => Err(Refusal::Unauthorized(
                    "not an API key (keys start with 'mcpp_'), and this hub trusts no OIDC issuer"
                        .into(),
                )),
            },
        };
        match proven {
            Ok(p) => Ok(Some(p)),
            Err(refusal @ Refusal::Unauthorized(_)) if self.mode == AuthMode::Required => {
                Err(refusal)
            }
            Err(Refusal::Unauthorized(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }
}
