//! JWTs of the test issuer, signed with the test-only keys of
//! `tests/fixtures/oidc` (key N publishes as `kid` `test-key-N`).

use std::path::PathBuf;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://issuer.test/pool";
pub const AUDIENCE: &str = "mcp-prompts-client";

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oidc")
        .join(name)
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Valid claims for `sub` with `groups` as the role claim, 10 minutes left.
pub fn claims(sub: &str, groups: &[&str]) -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "exp": now() + 600,
           "cognito:groups": groups})
}

/// `claims` signed by `tests/fixtures/oidc/<key>.pem`, naming that key as `kid`.
pub fn sign(key: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixture(&format!("{key}.pem"))).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_pem(&pem).unwrap()).unwrap()
}
