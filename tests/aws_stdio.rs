#![cfg(feature = "aws")]
//! `mcp-prompts stdio --backend aws` against moto: a stdio client reads the
//! catalog from DynamoDB exactly as the embedded store serves it, and changes
//! made by other processes (a second stdio process; a WebSocket client of
//! `serve --backend aws`) reach it as notifications by tailing the change log,
//! while its own writes reach the WebSocket clients through SQS.

mod aws_support;
mod common;

use std::time::{Duration, Instant};

use aws_support::{Gateway, Moto};
use common::stdio::StdioProc;
use common::ws::WsClient;
use serde_json::{Value, json};

const NOTIFY: Duration = Duration::from_secs(15);

/// `stdio --backend aws` on `moto`'s tables, with `extra` arguments, initialized.
fn aws(moto: &Moto, extra: &[&str]) -> StdioProc {
    let mut cmd = moto.command(env!("CARGO_BIN_EXE_mcp-prompts"));
    cmd.args(["stdio", "--backend", "aws", "--poll-ms", "50"])
        .args(extra);
    let mut s = StdioProc::spawn(cmd);
    s.initialize();
    s
}

/// `stdio` on an embedded data folder, initialized.
fn embedded(data: &std::path::Path) -> StdioProc {
    let mut s = StdioProc::embedded(data, &[]);
    s.initialize();
    s
}

fn seed_count() -> usize {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/seed/starter-catalog.json");
    let seed: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    seed.len()
}

#[test]
fn a_stdio_client_on_aws_reads_the_catalog_and_hears_another_process_edit_it() {
    let moto = Moto::start();
    moto.bootstrap();
    let mut reader = aws(&moto, &[]);

    // The whole seeded catalog, one page, the same prompts the embedded store has.
    let list = reader.request("prompts/list", json!({}));
    let names: Vec<&str> = list["result"]["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), seed_count(), "{list}");
    assert!(list["result"].get("nextCursor").is_none(), "{list}");
    let get =
        json!({"name": "code-review", "arguments": {"code": "fn main() {}", "language": "rust"}});
    let from_aws = reader.request("prompts/get", get.clone());
    let data = tempfile::tempdir().unwrap();
    let mut embedded = embedded(data.path());
    let from_sqlite = embedded.request("prompts/get", get);
    assert!(
        from_aws["result"]["messages"][0]["content"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("fn main() {}"))
    );
    assert_eq!(from_aws["result"], from_sqlite["result"]);
    let embedded_list = embedded.request("prompts/list", json!({}));
    assert_eq!(list["result"], embedded_list["result"]);
    let subscribed = reader.request(
        "resources/subscribe",
        json!({"uri": "prompt://code-review"}),
    );
    assert_eq!(subscribed["result"], json!({}), "{subscribed}");

    // Another process on the same tables creates a prompt and edits one.
    let mut editor = aws(&moto, &[]);
    let created = editor.call_tool(
        "create_prompt",
        json!({"id": "from-editor", "name": "From editor", "content": "Hi {{who}}",
               "variables": ["who"]}),
    );
    assert_eq!(created["version"], 1, "{created}");
    let heard = reader.wait_for("notifications/prompts/list_changed", NOTIFY);
    assert!(heard.is_some(), "no list_changed; got {:?}", reader.pending);
    assert!(
        reader
            .wait_for("notifications/resources/list_changed", NOTIFY)
            .is_some()
    );
    let rendered = reader.request(
        "prompts/get",
        json!({"name": "from-editor", "arguments": {"who": "stdio"}}),
    );
    assert_eq!(
        rendered["result"]["messages"][0]["content"]["text"], "Hi stdio",
        "{rendered}"
    );

    editor.call_tool(
        "update_prompt",
        json!({"id": "code-review", "description": "edited elsewhere"}),
    );
    let updated = reader
        .wait_for("notifications/resources/updated", NOTIFY)
        .unwrap_or_else(|| panic!("no resources/updated; got {:?}", reader.pending));
    assert_eq!(
        updated["params"]["uri"], "prompt://code-review",
        "{updated}"
    );
    // The cache was dropped: the next read has the edit.
    let after = reader.request(
        "prompts/get",
        json!({"name": "code-review",
        "arguments": {"code": "x", "language": "rust"}}),
    );
    assert_eq!(
        after["result"]["description"], "edited elsewhere",
        "{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_cross_between_stdio_and_websocket_clients_of_the_aws_gateway() {
    let moto = Moto::start();
    moto.bootstrap_with(&["--no-seed"]);
    let gw = Gateway::start(&moto, &["--no-seed"]);
    let (mut ws, _) = WsClient::initialized(&gw.ws_url, json!({})).await;
    let mut stdio = tokio::task::block_in_place(|| aws(&moto, &["--no-seed"]));

    // WebSocket → stdio: the stdio process finds the change in the change log.
    let made = ws
        .call_tool(
            "create_prompt",
            json!({"id": "from-ws", "name": "From WS", "content": "ws"}),
        )
        .await;
    assert_eq!(made["isError"], json!(false), "{made}");
    let heard = tokio::task::block_in_place(|| {
        stdio.wait_for("notifications/prompts/list_changed", NOTIFY)
    });
    assert!(
        heard.is_some(),
        "stdio heard nothing; got {:?}",
        stdio.pending
    );
    let position = heard.unwrap()["params"]["_meta"]["position"].as_u64();
    assert_eq!(position, Some(1), "the first change of an empty table");

    // stdio → WebSocket: its write goes to SQS and the gateway's fan-out.
    let made = tokio::task::block_in_place(|| {
        stdio.call_tool(
            "create_prompt",
            json!({"id": "from-stdio", "name": "From stdio", "content": "stdio"}),
        )
    });
    assert_eq!(made["version"], 1, "{made}");
    // (It may first hear its own change, position 1.)
    let deadline = Instant::now() + NOTIFY;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let heard = ws
            .wait_for("notifications/prompts/list_changed", left)
            .await
            .unwrap_or_else(|| panic!("the WebSocket never heard position 2:\n{}", gw.output()));
        if heard["params"]["_meta"]["position"] == 2 {
            break;
        }
        assert_eq!(heard["params"]["_meta"]["position"], 1, "{heard}");
    }
    let read = ws
        .request("prompts/get", json!({"name": "from-stdio"}))
        .await;
    assert_eq!(read["result"]["messages"][0]["content"]["text"], "stdio");
}
