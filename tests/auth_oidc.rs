#![cfg(feature = "oidc")]
//! OIDC at the door: `serve --oidc-issuer … --oidc-audience … --oidc-jwks …`
//! accepts JWTs of that issuer (signed by a key of its JWKS, for that audience,
//! unexpired) on `/ws`, `/mcp` and `/prompts` wherever an API key is accepted,
//! maps the role claim to reader/editor/admin, and refuses every other token
//! with 401 before any MCP traffic.

mod common;

use common::TestServer;
use common::http::request;
use common::jwt::{AUDIENCE, ISSUER, claims, fixture, now, sign};
use common::ws::{WsClient, init_params};
use serde_json::json;

fn server() -> TestServer {
    let jwks = fixture("jwks-1.json");
    TestServer::start_with(
        None,
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
    )
}

fn get_prompts(server: &TestServer, token: &str) -> u16 {
    let bearer = format!("Bearer {token}");
    request(
        &server.http_url,
        "GET",
        "/prompts",
        &[("Authorization", &bearer)],
        None,
    )
    .status
}

#[tokio::test]
async fn a_token_of_the_issuer_opens_every_door_with_the_role_it_names() {
    let server = server();
    let editor = sign("test-key-1", &claims("alice", &["staff", "editor"]));
    let reader = sign("test-key-1", &claims("bob", &["staff"]));

    let mut ws =
        WsClient::initialized_with(&server.ws_url, &format!("mcp, mcp.auth.{editor}")).await;
    let r = ws
        .call_tool(
            "update_prompt",
            json!({"id": "code-review", "description": "by alice"}),
        )
        .await;
    assert_eq!(r["isError"], false, "the editor group may write: {r}");

    let mcp = request(
        &server.http_url,
        "POST",
        "/mcp",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("Authorization", &format!("Bearer {reader}")),
        ],
        Some(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                    "params": init_params(json!({}))})
            .to_string(),
        ),
    );
    assert_eq!(mcp.status, 200, "{mcp:?}");
    assert_eq!(get_prompts(&server, &reader), 200);
    let write = request(
        &server.http_url,
        "PUT",
        "/prompts/code-review",
        &[
            ("Authorization", &format!("Bearer {reader}")),
            ("Content-Type", "application/json"),
        ],
        Some("{\"description\":\"by bob\"}"),
    );
    assert_eq!(
        write.status, 403,
        "no role claim: the default, reader: {write:?}"
    );
    assert!(
        !server.output().contains(&editor) && !server.output().contains(&reader),
        "tokens are never logged"
    );
}

#[tokio::test]
async fn any_other_token_is_refused_before_mcp_traffic() {
    let server = server();
    let mut expired = claims("carol", &["admin"]);
    expired["exp"] = json!(now() - 3600);
    let mut other_audience = claims("carol", &["admin"]);
    other_audience["aud"] = json!("someone-else");
    let mut other_issuer = claims("carol", &["admin"]);
    other_issuer["iss"] = json!("https://evil.test");
    let refused = [
        ("expired", sign("test-key-1", &expired)),
        ("another audience", sign("test-key-1", &other_audience)),
        ("another issuer", sign("test-key-1", &other_issuer)),
        (
            "a key not in the JWKS",
            sign("test-key-2", &claims("carol", &["admin"])),
        ),
        ("not a JWT", "eyJhbGciOiJub25lIn0.e30.".to_string()),
    ];
    for (what, token) in &refused {
        assert_eq!(get_prompts(&server, token), 401, "{what}");
        let ws = WsClient::try_connect(&server.ws_url, Some(&format!("mcp, mcp.auth.{token}")))
            .await
            .err()
            .unwrap_or_else(|| panic!("{what}: the WebSocket upgrade is refused"));
        assert_eq!(ws.0, 401, "{what}: {ws:?}");
    }
    let good = sign("test-key-1", &claims("carol", &[]));
    assert_eq!(get_prompts(&server, &good), 200, "the hub still answers");
}
