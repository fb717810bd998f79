#![cfg(feature = "aws")]
//! Credentials on the AWS column, against moto: `keys create|list|revoke
//! --backend aws` keep API keys in the prompts table; the Lambda authorizer
//! (`MCP_PROMPTS_HANDLER=authorizer`) admits them and OIDC JWTs, answering the
//! WebSocket API (an IAM policy, or `Unauthorized` → 401) and the HTTP API
//! (simple responses); `serve --backend aws --auth required` runs it on every
//! `$connect`, and the principal and role it admitted reach `$default` through
//! the authorizer context: a reader cannot write, and 401 comes before any MCP
//! traffic.

mod aws_support;
mod common;

use std::sync::Arc;

use aws_support::{Gateway, Moto};
use common::jwt::{AUDIENCE, ISSUER, claims, fixture, sign};
use common::ws::WsClient;
use mcp_prompts::adapters::aws::DynamoKeyStore;
use mcp_prompts::adapters::aws::lambda::authorizer;
use mcp_prompts::auth::{AuthMode, Authenticator, JwksSource, JwtVerifier, OidcSettings};
use mcp_prompts::domain::Role;
use mcp_prompts::ports::SystemClock;
use serde_json::{Value, json};

fn jwt(sub: &str, groups: &[&str]) -> String {
    sign("test-key-1", &claims(sub, groups))
}

/// `mcp-prompts keys ARGS --backend aws` against moto; its stdout.
fn keys(moto: &Moto, args: &[&str]) -> String {
    let out = moto
        .command(env!("CARGO_BIN_EXE_mcp-prompts"))
        .arg("keys")
        .args(args)
        .args(["--backend", "aws"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keys {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new key's id and the key (alone on the last line).
fn create_key(moto: &Moto, name: &str, role: &str) -> (String, String) {
    let out = keys(moto, &["create", "--name", name, "--role", role]);
    let id = out.split_whitespace().nth(2).unwrap().to_string();
    (id, out.lines().last().unwrap().to_string())
}

#[tokio::test]
async fn the_connect_authorizer_admits_keys_and_jwts_and_their_roles_reach_default() {
    let moto = Moto::start();
    moto.bootstrap();
    let (_, editor) = create_key(&moto, "ci", "editor");
    let (reader_id, reader) = create_key(&moto, "dashboard", "reader");
    let listed = keys(&moto, &["list"]);
    assert!(
        listed.contains("ci") && listed.contains("dashboard"),
        "{listed}"
    );
    assert!(!listed.contains(&editor), "list never shows a key");
    let jwks = fixture("jwks-1.json");
    let gw = Gateway::start(
        &moto,
        &[
            "--auth",
            "required",
            "--oidc-issuer",
            ISSUER,
            "--oidc-audience",
            AUDIENCE,
            "--oidc-jwks",
            jwks.to_str().unwrap(),
        ],
    );

    let refused = WsClient::try_connect(&gw.ws_url, Some("mcp"))
        .await
        .err()
        .expect("401");
    assert_eq!(refused.0, 401, "{refused:?}");
    let forged = WsClient::try_connect(&gw.ws_url, Some("mcp, mcp.auth.mcpp_forged"))
        .await
        .err()
        .expect("401");
    assert_eq!(forged.0, 401, "{forged:?}");
    {
        use common::http::request;
        let bearer = format!("Bearer {editor}");
        let status = |path: &str, headers: &[(&str, &str)]| {
            request(&gw.http_url, "GET", path, headers, None).status
        };
        assert_eq!(status("/metrics", &[]), 401, "/metrics needs a key");
        assert_eq!(status("/metrics", &[("Authorization", &bearer)]), 200);
        assert_eq!(status("/health", &[]), 200, "health stays open");
        assert_eq!(status("/health/live", &[]), 200);
    }

    let mut ws = WsClient::initialized_with(&gw.ws_url, &format!("mcp, mcp.auth.{editor}")).await;
    let wrote = ws
        .call_tool(
            "update_prompt",
            json!({"id": "code-review", "description": "by ci"}),
        )
        .await;
    assert_eq!(wrote["isError"], false, "{wrote}");

    let url = format!("{}?token={reader}", gw.ws_url);
    let mut rd = WsClient::initialized_with(&url, "mcp").await;
    let names = rd.tool_names().await;
    assert!(
        names.iter().any(|n| n == "get_prompt") && !names.iter().any(|n| n == "update_prompt"),
        "{names:?}"
    );
    let denied = rd
        .call_tool(
            "update_prompt",
            json!({"id": "code-review", "description": "x"}),
        )
        .await;
    assert_eq!(
        denied["isError"], true,
        "the reader's role reached $default: {denied}"
    );

    let token = jwt("alice", &["editor"]);
    let mut oidc = WsClient::initialized_with(&gw.ws_url, &format!("mcp, mcp.auth.{token}")).await;
    let by_jwt = oidc
        .call_tool(
            "update_prompt",
            json!({"id": "code-review", "description": "by alice"}),
        )
        .await;
    assert_eq!(by_jwt["isError"], false, "{by_jwt}");

    keys(&moto, &["revoke", &reader_id]);
    let gone = WsClient::try_connect(&url, Some("mcp"))
        .await
        .err()
        .expect("revoked");
    assert_eq!(gone.0, 401);
    let out = gw.output();
    for secret in [&editor, &reader, &token] {
        assert!(
            !out.contains(secret.as_str()),
            "credentials are never logged"
        );
    }
}

/// The handler the `authorizer` Lambda runs, called with the two event shapes
/// API Gateway sends it.
#[tokio::test]
async fn the_authorizer_answers_the_websocket_and_the_http_api() {
    let moto = Moto::start();
    moto.bootstrap_with(&["--no-seed"]);
    let clients = moto.clients().await;
    let settings = moto.settings();
    let keys = DynamoKeyStore::new(clients, settings.prompts_table, Arc::new(SystemClock));
    let (id, key) = mcp_prompts::auth::api_key::new_key();
    use mcp_prompts::ports::KeyStore;
    keys.add(
        &id,
        "ops",
        Role::Admin,
        &mcp_prompts::auth::api_key::hash(&key),
    )
    .await
    .unwrap();
    let auth = Authenticator {
        mode: AuthMode::Required,
        keys: Arc::new(keys),
        jwt: Some(
            JwtVerifier::new(OidcSettings {
                issuer: ISSUER.into(),
                audience: AUDIENCE.into(),
                jwks: JwksSource::File(fixture("jwks-1.json")),
                role_claim: "cognito:groups".into(),
                default_role: Role::Reader,
                leeway_secs: 0,
            })
            .await
            .unwrap(),
        ),
    };
    let arn = "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/$connect";
    let ws_event = |headers: Value, query: Value| {
        json!({"type": "REQUEST", "methodArn": arn, "headers": headers,
               "queryStringParameters": query,
               "requestContext": {"routeKey": "$connect", "eventType": "CONNECT",
                                  "connectionId": "c1", "stage": "prod", "apiId": "abc"}})
    };
    let allowed = authorizer::handle(&auth, ws_event(json!({}), json!({"token": key})))
        .await
        .unwrap();
    assert_eq!(allowed["principalId"], "ops", "{allowed}");
    assert_eq!(
        allowed["policyDocument"]["Statement"][0]["Effect"], "Allow",
        "{allowed}"
    );
    assert_eq!(
        allowed["policyDocument"]["Statement"][0]["Resource"][0], arn,
        "{allowed}"
    );
    assert_eq!(
        allowed["context"],
        json!({"principal": "ops", "role": "admin"})
    );
    let by_subprotocol = authorizer::handle(
        &auth,
        ws_event(
            json!({"Sec-WebSocket-Protocol": format!("mcp, mcp.auth.{}", jwt("bob", &[]))}),
            Value::Null,
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        by_subprotocol["context"],
        json!({"principal": "oidc:bob", "role": "reader"})
    );
    let refused = authorizer::handle(
        &auth,
        ws_event(json!({"Authorization": "Bearer mcpp_nope"}), Value::Null),
    )
    .await
    .expect_err("refused");
    assert_eq!(
        refused.to_string(),
        "Unauthorized",
        "API Gateway's 401 needs exactly this"
    );

    let http_event = |authorization: &str| {
        json!({"version": "2.0", "type": "REQUEST",
               "routeArn": "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/prompts",
               "identitySource": [authorization], "routeKey": "GET /prompts",
               "rawPath": "/prompts", "rawQueryString": "",
               "headers": {"authorization": authorization},
               "requestContext": {"accountId": "123456789012", "apiId": "abc",
                                  "domainName": "abc.execute-api.eu-west-1.amazonaws.com",
                                  "domainPrefix": "abc", "requestId": "r1", "routeKey": "GET /prompts",
                                  "stage": "prod", "time": "03/Dec/2026:06:00:00 +0000", "timeEpoch": 0,
                                  "http": {"method": "GET", "path": "/prompts", "protocol": "HTTP/1.1",
                                           "sourceIp": "127.0.0.1", "userAgent": "test"}}})
    };
    let yes = authorizer::handle(
        &auth,
        http_event(&format!("Bearer {}", jwt("carol", &["editor"]))),
    )
    .await
    .unwrap();
    assert_eq!(
        yes,
        json!({"isAuthorized": true, "context": {"principal": "oidc:carol", "role": "editor"}})
    );
    let no = authorizer::handle(&auth, http_event("Bearer not-a-token"))
        .await
        .unwrap();
    assert_eq!(no["isAuthorized"], false, "{no}");
}
