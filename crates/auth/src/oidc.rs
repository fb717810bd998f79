//! JWTs from an OIDC issuer: the signature by one of the issuer's keys (asymmetric
//! algorithms only, so a public key can never be used as an HMAC secret), `iss`,
//! `aud` and `exp` checked, the subject and role read from the claims.
//!
//! Keys are looked up by `kid`. An unknown `kid` (the issuer rotated its keys)
//! reloads the JWKS, at most once per `MIN_RELOAD`, so tokens with invented
//! `kid`s cannot make the hub hammer the issuer.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mcp_prompts_engine::domain::{Principal, Role};
use serde_json::{Map, Value};

use crate::jwks::JwksSource;

/// The shortest time between two JWKS reloads.
const MIN_RELOAD: Duration = Duration::from_secs(30);
/// Keys are reloaded when older than this, so revoked keys stop working.
const MAX_KEY_AGE: Duration = Duration::from_secs(3600);
/// A token longer than this is refused before any parsing.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The `iss` every token must carry.
    pub issuer: String,
    /// The `aud` every token must carry (Cognito ID tokens: the app client id).
    pub audience: String,
    pub jwks: JwksSource,
    /// The claim naming the role: a string or an array of strings (Cognito:
    /// `cognito:groups`); the highest role named wins.
    pub role_claim: String,
    /// The role of a valid token whose claim names none.
    pub default_role: Role,
    /// Clock skew tolerated on `exp`/`nbf`, in seconds.
    pub leeway_secs: u64,
}

pub struct JwtVerifier {
    settings: OidcSettings,
    keys: RwLock<Arc<KeySet>>,
    reload: tokio::sync::Mutex<()>,
}

struct KeySet {
    by_kid: HashMap<String, (DecodingKey, Vec<Algorithm>)>,
    /// Keys without a `kid`, tried when a token names none.
    unnamed: Vec<(DecodingKey, Vec<Algorithm>)>,
    loaded: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("{0}")]
    Invalid(String),
    #[error("the issuer's keys could not be loaded: {0}")]
    Keys(String),
}

impl JwtVerifier {
    /// Loads the issuer's keys once (a configuration error is reported at start).
    pub async fn new(settings: OidcSettings) -> Result<Self, String> {
        let set = settings.jwks.load().await?;
        let keys = KeySet::from(&set);
        if keys.by_kid.is_empty() && keys.unnamed.is_empty() {
            return Err(format!("{} holds no usable signing key", settings.jwks));
        }
        Ok(Self {
            settings,
            keys: RwLock::new(Arc::new(keys)),
            reload: tokio::sync::Mutex::new(()),
        })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The principal a valid token names (`oidc:<sub>`, role from the claims).
    pub async fn verify(&self, token: &str) -> Result<Principal, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::Invalid(format!(
                "token over {MAX_TOKEN_BYTES} bytes"
            )));
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| JwtError::Invalid(format!("not a JWT: {e}")))?;
        let (key, algorithms) = self.key_for(header.kid.as_deref()).await?;
        if !algorithms.contains(&header.alg) {
            return Err(JwtError::Invalid(format!(
                "algorithm {:?} does not match the issuer's key",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.settings.leeway_secs;
        validation.validate_nbf = true;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| JwtError::Invalid(e.to_string()))?;
        let claims = data.claims;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if subject.is_empty() {
            return Err(JwtError::Invalid("the token has an empty 'sub'".into()));
        }
        Ok(Principal {
            name: format!("oidc:{subject}"),
            role: role_of(claims.get(&self.settings.role_claim))
                .unwrap_or(self.settings.default_role),
        })
    }

    async fn key_for(&self, kid: Option<&str>) -> Result<(DecodingKey, Vec<Algorithm>), JwtError> {
        let current = self.current();
        if let Some(found) = current.find(kid)
            && current.loaded.elapsed() < MAX_KEY_AGE
        {
            return Ok(found);
        }
        if current.loaded.elapsed() >= MIN_RELOAD {
            // One reload at a time; whoever waited finds the new set.
            let _guard = self.reload.lock().await;
            if Arc::ptr_eq(&current, &self.current()) {
                match self.settings.jwks.load().await {
                    Ok(set) => {
                        tracing::info!(jwks = %self.settings.jwks, "reloaded the issuer's keys");
                        *self.keys.write().unwrap_or_else(|p| p.into_inner()) =
                            Arc::new(KeySet::from(&set));
                    }
                    Err(e) => {
                        tracing::warn!(jwks = %self.settings.jwks, error = %e, "could not reload the issuer's keys")
                    }
                }
            }
        }
        self.current().find(kid).ok_or_else(|| match kid {
            Some(kid) => JwtError::Invalid(format!("no key '{kid}' in the issuer's JWKS")),
            None => JwtError::Invalid("the token names no key ('kid') and none fits".into()),
        })
    }

    fn current(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl KeySet {
    fn from(set: &JwkSet) -> Self {
        let mut by_kid = HashMap::new();
        let mut unnamed = Vec::new();
        for jwk in &set.keys {
            let Some(algorithms) = algorithms_for(jwk) else {
                continue;
            };
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                tracing::warn!(kid = ?jwk.common.key_id, "skipping a JWK that is not a valid key");
                continue;
            };
            match &jwk.common.key_id {
                Some(kid) => {
                    by_kid.insert(kid.clone(), (key, algorithms));
                }
                None => unnamed.push((key, algorithms)),
            }
        }
        Self {
            by_kid,
            unnamed,
            loaded: Instant::now(),
        }
    }

    fn find(&self, kid: Option<&str>) -> Option<(DecodingKey, Vec<Algorithm>)> {
        match kid {
            Some(kid) => self.by_kid.get(kid).cloned(),
            None => match (self.unnamed.as_slice(), self.by_kid.len()) {
                ([only], _) => Some(only.clone()),
                ([], 1) => self.by_kid.values().next().cloned(),
                _ => None,
            },
        }
    }
}

/// The asymmetric algorithms a key may verify: its declared `alg`, else what its
/// type allows. Symmetric (`oct`) keys are never accepted from a JWKS.
fn algorithms_for(jwk: &Jwk) -> Option<Vec<Algorithm>> {
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => vec![
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(_) => vec![Algorithm::EdDSA],
        _ => return None,
    };
    let declared = jwk.common.key_algorithm.and_then(|a| match a {
        KeyAlgorithm::RS256 => Some(Algorithm::RS256),
        KeyAlgorithm::RS384 => Some(Algorithm::RS384),
        KeyAlgorithm::RS512 => Some(Algorithm::RS512),
        KeyAlgorithm::PS256 => Some(Algorithm::PS256),
        KeyAlgorithm::PS384 => Some(Algorithm::PS384),
        KeyAlgorithm::PS512 => Some(Algorithm::PS512),
        KeyAlgorithm::ES256 => Some(Algorithm::ES256),
        KeyAlgorithm::ES384 => Some(Algorithm::ES384),
        KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
        _ => None,
    });
    match declared {
        Some(alg) if by_type.contains(&alg) => Some(vec![alg]),
        Some(_) => None,
        None => Some(by_type),
    }
}

/// The highest role a claim names (a string or an array of strings).
fn role_of(claim: Option<&Value>) -> Option<Role> {
    let names: Vec<&str> = match claim? {
        Value::String(s) => s.split([' ', ',']).collect(),
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    names.into_iter().filter_map(|n| Role::parse(n).ok()).max()
}

#[cfg(test)]
mod tests;
