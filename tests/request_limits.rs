//! Budgets on what one caller may ask of the hub, each crossed against a real
//! `serve` process: the render limits as flags (`--max-output-bytes`), requests
//! per second per connection, requests pending per session, WebSocket
//! connections and HTTP sessions per principal.

mod common;

use common::TestServer;
use common::ws::WsClient;
use serde_json::json;

#[tokio::test]
async fn a_render_over_the_output_flag_is_refused_naming_the_limit() {
    let server = TestServer::start_with(None, &["--no-seed", "--max-output-bytes", "200"]);
    let (mut c, _) = WsClient::initialized(&server.ws_url, json!({})).await;
    let created = c
        .call_tool(
            "create_prompt",
            json!({"id": "echo", "name": "Echo", "content": "Say: {{text}}", "variables": ["text"]}),
        )
        .await;
    assert_eq!(created["isError"], false, "{created}");
    let small = c
        .request(
            "prompts/get",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        )
        .await;
    assert_eq!(
        small["result"]["messages"][0]["content"]["text"], "Say: hi",
        "{small}"
    );
    let big = c
        .request(
            "prompts/get",
            json!({"name": "echo", "arguments": {"text": "x".repeat(500)}}),
        )
        .await;
    assert_eq!(big["error"]["code"], -32603, "{big}");
    let message = big["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("rendered output exceeds the output limit of 200 bytes"),
        "{big}"
    );
    // A template over the same budget at save time is refused too.
    let fanout = c
        .call_tool(
            "create_prompt",
            json!({"id": "wide", "name": "Wide", "content": "{{text}}{{text}}{{text}}{{text}}", "variables": ["text"]}),
        )
        .await;
    assert_eq!(fanout["isError"], true, "{fanout}");
    assert!(
        fanout.to_string().contains("output limit of 200 bytes"),
        "{fanout}"
    );
}
