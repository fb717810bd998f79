use std::path::PathBuf;

use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use super::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/oidc")
        .join(name)
}

fn settings(jwks: &str) -> OidcSettings {
    OidcSettings {
        issuer: "https://issuer.test".into(),
        audience: "mcp-prompts".into(),
        jwks: JwksSource::File(fixture(jwks)),
        role_claim: "cognito:groups".into(),
        default_role: Role::Reader,
        leeway_secs: 0,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(kid: &str, claims: Value) -> String {
    let pem = std::fs::read(fixture(&format!("{kid}.pem"))).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_pem(&pem).unwrap()).unwrap()
}

fn claims() -> Value {
    json!({"iss": "https://issuer.test", "aud": "mcp-prompts", "sub": "alice",
           "exp": now() + 300, "cognito:groups": ["staff", "editor"]})
}

#[tokio::test]
async fn a_valid_token_names_its_subject_and_highest_role() {
    let v = JwtVerifier::new(settings("jwks-1.json")).await.unwrap();
    let p = v.verify(&sign("test-key-1", claims())).await.unwrap();
    assert_eq!(
        p,
        Principal {
            name: "oidc:alice".into(),
            role: Role::Editor
        }
    );
    let mut c = claims();
    c["cognito:groups"] = json!(["staff"]);
    let p = v.verify(&sign("test-key-1", c)).await.unwrap();
    assert_eq!(p.role, Role::Reader, "no role named: the default");
}

#[tokio::test]
async fn wrong_issuer_audience_expiry_or_subject_are_refused_with_the_reason() {
    let v = JwtVerifier::new(settings("jwks-1.json")).await.unwrap();
    for (field, value, reason) in [
        ("iss", json!("https://evil.test"), "Issuer"),
        ("aud", json!("someone-else"), "Audience"),
        ("exp", json!(now() - 10), "Expired"),
        ("nbf", json!(now() + 600), "Immature"),
    ] {
        let mut c = claims();
        c[field] = value;
        let err = v
            .verify(&sign("test-key-1", c))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(reason), "{field}: {err}");
    }
    let mut c = claims();
    c.as_object_mut().unwrap().remove("sub");
    let err = v
        .verify(&sign("test-key-1", c))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("sub"), "{err}");
}

#[tokio::test]
async fn forged_tampered_and_unknown_key_tokens_are_refused() {
    let v = JwtVerifier::new(settings("jwks-1.json")).await.unwrap();
    // Signed by a key the issuer does not publish.
    let err = v
        .verify(&sign("test-key-2", claims()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no key 'test-key-2'"), "{err}");
    // A changed payload breaks the signature.
    let token = sign("test-key-1", claims());
    let mut parts: Vec<&str> = token.split('.').collect();
    let mut c = claims();
    c["cognito:groups"] = json!(["admin"]);
    let forged = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        c.to_string(),
    );
    parts[1] = &forged;
    let err = v.verify(&parts.join(".")).await.unwrap_err().to_string();
    assert!(err.contains("Signature"), "{err}");
    // HS256 with the public key as the secret (algorithm confusion).
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("test-key-1".into());
    let hs =
        jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(b"x").unwrap()).unwrap();
    let err = v.verify(&hs).await.unwrap_err().to_string();
    assert!(err.contains("does not match"), "{err}");
    assert!(v.verify("not.a.jwt").await.is_err());
    assert!(
        v.verify(&"a".repeat(20_000))
            .await
            .unwrap_err()
            .to_string()
            .contains("bytes")
    );
}

#[tokio::test]
async fn a_rotated_key_is_found_by_reloading_the_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::copy(fixture("jwks-1.json"), &path).unwrap();
    let mut s = settings("jwks-1.json");
    s.jwks = JwksSource::File(path.clone());
    let v = JwtVerifier::new(s).await.unwrap();
    std::fs::copy(fixture("jwks-both.json"), &path).unwrap();
    // Loaded just now: an unknown kid does not reload yet (no reload storms).
    assert!(v.verify(&sign("test-key-2", claims())).await.is_err());
    // Once the reload interval has passed, it does.
    let old = JwksSource::File(fixture("jwks-1.json"))
        .load()
        .await
        .unwrap();
    let aged = Arc::new(KeySet {
        loaded: Instant::now() - MIN_RELOAD,
        ..KeySet::from(&old)
    });
    v.keys.write().unwrap().clone_from(&aged);
    let p = v.verify(&sign("test-key-2", claims())).await.unwrap();
    assert_eq!(p.name, "oidc:alice");
}

#[tokio::test]
async fn a_jwks_without_keys_or_too_big_is_a_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"keys": []}"#).unwrap();
    let mut s = settings("jwks-1.json");
    s.jwks = JwksSource::File(empty);
    let err = JwtVerifier::new(s.clone()).await.err().unwrap();
    assert!(err.contains("no usable signing key"), "{err}");
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 2 * 1024 * 1024]).unwrap();
    s.jwks = JwksSource::File(big);
    let err = JwtVerifier::new(s).await.err().unwrap();
    assert!(err.contains("over the JWKS limit"), "{err}");
}
