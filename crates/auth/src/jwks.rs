//! The issuer's signing keys (a JWKS document), from a file or a URL, with a
//! size and time budget: a slow or hostile issuer endpoint cannot hold the hub.

use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;

/// A JWKS document larger than this is refused (real ones are a few KB).
const MAX_JWKS_BYTES: u64 = 1024 * 1024;
/// A JWKS fetch that takes longer fails.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    File(PathBuf),
    /// `https://…/.well-known/jwks.json` (Cognito:
    /// `https://cognito-idp.{region}.amazonaws.com/{pool}/.well-known/jwks.json`).
    Url(String),
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(p) => write!(f, "{}", p.display()),
            JwksSource::Url(u) => f.write_str(u),
        }
    }
}

impl JwksSource {
    /// A URL (`http://`, `https://`) or else a file path.
    pub fn parse(text: &str) -> Self {
        if text.starts_with("https://") || text.starts_with("http://") {
            JwksSource::Url(text.to_string())
        } else {
            JwksSource::File(PathBuf::from(text))
        }
    }

    /// Reads and parses the key set (on the blocking pool: the client is blocking).
    pub async fn load(&self) -> Result<JwkSet, String> {
        let source = self.clone();
        let text = tokio::task::spawn_blocking(move || source.read())
            .await
            .map_err(|e| format!("JWKS load task failed: {e}"))??;
        serde_json::from_str(&text).map_err(|e| format!("{self} is not a JWKS document: {e}"))
    }

    fn read(&self) -> Result<String, String> {
        match self {
            JwksSource::File(path) => {
                let meta = std::fs::metadata(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                if meta.len() > MAX_JWKS_BYTES {
                    return Err(format!(
                        "{} is {} bytes, over the JWKS limit of {MAX_JWKS_BYTES}",
                        path.display(),
                        meta.len()
                    ));
                }
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))
            }
            JwksSource::Url(url) => {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(FETCH_TIMEOUT))
                    .build()
                    .into();
                let mut response = agent
                    .get(url)
                    .call()
                    .map_err(|e| format!("cannot fetch {url}: {e}"))?;
                response
                    .body_mut()
                    .with_config()
                    .limit(MAX_JWKS_BYTES)
                    .read_to_string()
                    .map_err(|e| format!("cannot read {url}: {e}"))
            }
        }
    }
}
