#![cfg(feature = "aws")]
//! `serve --backend aws` end to end against moto: the gateway binary assigns
//! connection ids, calls the Lambda handlers with real API Gateway events, serves
//! `@connections` to the real management SDK client and feeds the fan-out from
//! SQS. Clients are a raw WebSocket client and the official Python and
//! TypeScript SDK clients.

mod aws_support;
mod common;

use mcp_prompts::adapters::aws::sdk::aws_sdk_sqs;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_support::{Gateway, Moto};
use common::ws::WsClient;
use mcp_prompts::adapters::aws::DynamoConnectionStore;
use mcp_prompts::engine::session::Interest;
use mcp_prompts::ports::{ConnectionRecord, ConnectionStore};
use serde_json::{Value, json};

const NOTIFY: Duration = Duration::from_secs(15);

fn start() -> (Moto, Gateway) {
    let moto = Moto::start();
    moto.bootstrap();
    let gateway = Gateway::start(&moto, &["--outbox-grace-ms", "500"]);
    (moto, gateway)
}

/// An empty catalog: no seeding notifications in flight to confuse a test that
/// counts them.
fn start_quiet() -> (Moto, Gateway) {
    let moto = Moto::start();
    moto.bootstrap_with(&["--no-seed"]);
    let gateway = Gateway::start(&moto, &["--outbox-grace-ms", "500", "--no-seed"]);
    (moto, gateway)
}

#[tokio::test]
async fn an_mcp_session_and_its_notifications_work_through_the_aws_gateway() {
    let (_moto, gw) = start();
    let mut editor = WsClient::initialized(&gw.ws_url, json!({})).await.0;
    let mut watcher = WsClient::initialized(&gw.ws_url, json!({})).await.0;

    let list = editor.request("prompts/list", json!({})).await;
    let prompts = list["result"]["prompts"].as_array().unwrap();
    assert!(prompts.len() >= 20, "seeded catalog: {list}");
    let got = editor
        .request("prompts/get", json!({"name": "code-review", "arguments": {"code": "fn main() {}", "language": "rust"}}))
        .await;
    assert!(
        got["result"]["messages"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("fn main"),
        "{got}"
    );
    let missing = editor
        .request("prompts/get", json!({"name": "no-such-prompt"}))
        .await;
    assert_eq!(missing["error"]["code"], -32602);

    let sub = watcher
        .request(
            "resources/subscribe",
            json!({"uri": "prompt://code-review"}),
        )
        .await;
    assert_eq!(sub["result"], json!({}), "{sub}");

    let created = call_ok(
        &mut editor,
        "create_prompt",
        json!({"id": "aws-e2e", "name": "AWS e2e", "content": "Hi {{who}}"}),
    )
    .await;
    assert_eq!(created["version"], 1);
    let note = watcher
        .wait_for("notifications/prompts/list_changed", NOTIFY)
        .await
        .unwrap_or_else(|| panic!("no list_changed\n{}", gw.output()));
    assert!(note["params"]["_meta"]["position"].as_u64().unwrap() > 0);

    let current = call_ok(&mut editor, "get_prompt", json!({"id": "code-review"})).await;
    let version = current["version"].as_u64().unwrap();
    call_ok(
        &mut editor,
        "update_prompt",
        json!({"id": "code-review", "description": "edited on AWS", "expectedVersion": version}),
    )
    .await;
    let updated = watcher
        .wait_for("notifications/resources/updated", NOTIFY)
        .await
        .unwrap_or_else(|| panic!("no resources/updated\n{}", gw.output()));
    assert_eq!(updated["params"]["uri"], "prompt://code-review");
    let stale = editor
        .request("tools/call", json!({"name": "update_prompt", "arguments": {"id": "code-review", "description": "x", "expectedVersion": version}}))
        .await;
    assert_eq!(
        stale["result"]["isError"], true,
        "a stale version is refused: {stale}"
    );

    let history = call_ok(&mut editor, "prompt_history", json!({"id": "code-review"})).await;
    assert!(history.to_string().contains("edited on AWS"));
    editor.close().await;
    watcher.close().await;
}

#[tokio::test]
async fn a_vanished_connection_is_removed_and_the_others_still_hear() {
    let (moto, gw) = start_quiet();
    let mut editor = WsClient::initialized(&gw.ws_url, json!({})).await.0;
    let mut watcher = WsClient::initialized(&gw.ws_url, json!({})).await.0;
    // A connection the store knows but API Gateway no longer has: posting to it
    // answers 410 Gone.
    let clients = moto.clients().await;
    let connections = DynamoConnectionStore::new(clients, "mcp-prompts-connections".into());
    let now = mcp_prompts::adapters::aws::unix_now();
    let ghost = "GhostConn00=";
    connections
        .put(&ConnectionRecord {
            connection_id: ghost.into(),
            session_id: "ghost".into(),
            connected_at: now,
            expires_at: now + 600,
        })
        .await
        .unwrap();
    connections
        .set_interest(
            ghost,
            &Interest {
                initialized: true,
                list_changed: true,
                ..Default::default()
            },
            now + 600,
        )
        .await
        .unwrap();

    call_ok(
        &mut editor,
        "create_prompt",
        json!({"id": "after-ghost", "name": "After ghost", "content": "x"}),
    )
    .await;
    assert!(
        watcher
            .wait_for("notifications/prompts/list_changed", NOTIFY)
            .await
            .is_some(),
        "the live connection still hears\n{}",
        gw.output()
    );
    let deadline = Instant::now() + NOTIFY;
    while connections.get(ghost, 0).await.unwrap().is_some() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        connections.get(ghost, 0).await.unwrap().is_none(),
        "the gone connection was deleted"
    );
    let listeners = connections
        .listeners(&[mcp_prompts::ports::Topic::ListChanged], now)
        .await
        .unwrap();
    assert!(
        listeners.iter().all(|(id, _)| id != ghost),
        "and its subscriptions with it"
    );
}

#[tokio::test]
async fn a_poison_message_lands_in_the_dlq_after_three_receives_while_its_batch_succeeds() {
    let (moto, gw) = start();
    let mut watcher = WsClient::initialized(&gw.ws_url, json!({})).await.0;
    let clients = moto.clients().await;
    let sqs = clients.sqs();
    let url = sqs
        .get_queue_url()
        .queue_name("mcp-prompts-changes")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let dlq = sqs
        .get_queue_url()
        .queue_name("mcp-prompts-changes-dlq")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let change = json!({"position": 9999, "id": "code-review", "version": 1, "kind": "updated",
        "tags": [], "actor": "test", "timestamp": "2026-01-01T00:00:00.000Z"});
    let entry = |id: &str, body: String| {
        aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
            .id(id)
            .message_body(body)
            .build()
            .unwrap()
    };
    sqs.send_message_batch()
        .queue_url(&url)
        .entries(entry("poison", "{\"this is\": \"not a change\"}".into()))
        .entries(entry("good", change.to_string()))
        .send()
        .await
        .unwrap();
    // (Notifications of the seeding may still arrive first.)
    let deadline = Instant::now() + NOTIFY;
    let mut delivered = false;
    while !delivered && Instant::now() < deadline {
        if let Some(note) = watcher
            .wait_for("notifications/prompts/list_changed", Duration::from_secs(1))
            .await
        {
            delivered = note["params"]["_meta"]["position"] == 9999;
        }
    }
    assert!(delivered, "the good message was delivered\n{}", gw.output());

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut parked = None;
    while parked.is_none() && Instant::now() < deadline {
        let got = sqs
            .receive_message()
            .queue_url(&dlq)
            .wait_time_seconds(1)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
            )
            .send()
            .await
            .unwrap();
        parked = got.messages().first().cloned();
    }
    let parked = parked.unwrap_or_else(|| panic!("no message in the DLQ\n{}", gw.output()));
    assert_eq!(parked.body(), Some("{\"this is\": \"not a change\"}"));
    let failures = gw.output().matches("not a change event").count();
    assert!(
        failures >= 3,
        "received and failed 3 times before parking ({failures})"
    );
}

#[tokio::test]
async fn a_write_made_while_sqs_is_unreachable_still_notifies() {
    let (moto, gw) = start_quiet();
    let mut editor = WsClient::initialized(&gw.ws_url, json!({})).await.0;
    let mut watcher = WsClient::initialized(&gw.ws_url, json!({})).await.0;
    let clients = moto.clients().await;
    let url = clients
        .sqs()
        .get_queue_url()
        .queue_name("mcp-prompts-changes")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    clients
        .sqs()
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .unwrap();

    call_ok(
        &mut editor,
        "create_prompt",
        json!({"id": "while-down", "name": "While down", "content": "x"}),
    )
    .await;
    let pending =
        mcp_prompts::adapters::aws::outbox::pending_count(&clients, "mcp-prompts-prompts")
            .await
            .unwrap();
    assert_eq!(pending, 1, "committed, not yet published");
    assert!(
        watcher
            .wait_for(
                "notifications/prompts/list_changed",
                Duration::from_millis(1500)
            )
            .await
            .is_none()
    );

    moto.bootstrap_with(&["--no-seed"]); // the queue is back
    let note = watcher
        .wait_for(
            "notifications/prompts/list_changed",
            Duration::from_secs(20),
        )
        .await
        .unwrap_or_else(|| panic!("the sweeper published the change\n{}", gw.output()));
    assert!(note["params"]["_meta"]["position"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn with_a_shard_queue_the_gateway_fans_out_through_shards() {
    let moto = Moto::start();
    let boot = moto.bootstrap_with(&["--no-seed"]);
    let url = boot
        .lines()
        .find_map(|l| l.strip_prefix("shards   "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("bootstrap prints the shard queue:\n{boot}"))
        .to_string();
    let gw = Gateway::start(&moto, &["--no-seed", "--shard-queue-url", &url]);
    let mut editor = WsClient::initialized(&gw.ws_url, json!({})).await.0;
    let mut watcher = WsClient::initialized(&gw.ws_url, json!({})).await.0;
    call_ok(
        &mut editor,
        "create_prompt",
        json!({"id": "sharded", "name": "Sharded", "content": "x"}),
    )
    .await;
    for c in [&mut watcher, &mut editor] {
        assert!(
            c.wait_for("notifications/prompts/list_changed", NOTIFY)
                .await
                .is_some(),
            "heard through the shard queue\n{}",
            gw.output()
        );
    }
    assert!(
        gw.output().contains("fan-out sharded"),
        "the change consumer sent shards\n{}",
        gw.output()
    );
}

/// A tool call that must succeed; its structured result.
async fn call_ok(c: &mut WsClient, name: &str, arguments: Value) -> Value {
    let r = c.call_tool(name, arguments).await;
    assert_ne!(r["isError"], true, "{name} failed: {r}");
    r["structuredContent"].clone()
}

fn tool(var: &str, default: &str) -> std::path::PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => v.into(),
        _ => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(default),
    }
}

fn run_client(mut cmd: Command, gw: &Gateway) {
    let out = cmd.output().expect("run the SDK client");
    assert!(
        out.status.success(),
        "client failed\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- gateway ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        gw.output()
    );
    println!("{}", String::from_utf8_lossy(&out.stdout).trim_end());
}

#[test]
fn the_python_sdk_client_passes_on_the_aws_backend() {
    let python = tool("MCP_PROMPTS_PYTHON", ".tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/install-test-tools.sh",
        python.display()
    );
    let moto = Moto::start();
    moto.bootstrap();
    let gw = Gateway::start(&moto, &["--page-size", "7"]);
    let mut cmd = Command::new(python);
    cmd.arg(tool("", "tests/clients/py_ws_client.py"))
        .arg(&gw.ws_url)
        .env("PYTHONUNBUFFERED", "1");
    run_client(cmd, &gw);
}

#[test]
fn the_typescript_sdk_client_passes_on_the_aws_backend() {
    let clients = tool("MCP_PROMPTS_NODE_CLIENTS", "tests/clients");
    assert!(
        clients
            .join("node_modules/@modelcontextprotocol/sdk")
            .exists(),
        "run scripts/install-test-tools.sh"
    );
    let moto = Moto::start();
    moto.bootstrap();
    let gw = Gateway::start(&moto, &[]);
    let mut cmd = Command::new(std::env::var("MCP_PROMPTS_NODE").unwrap_or_else(|_| "node".into()));
    cmd.arg("--experimental-websocket")
        .arg(clients.join("ts_ws_client.mjs"))
        .arg(&gw.ws_url)
        .current_dir(&clients);
    run_client(cmd, &gw);
}

/// `/health` probes DynamoDB, S3 and SQS (with the queue depth); once moto is
/// gone it is 503 naming each failed dependency, while `/health/live`, which
/// touches nothing, stays 200.
#[test]
fn health_checks_each_dependency_and_fails_when_moto_is_gone() {
    use common::http::request;
    let (moto, gw) = start_quiet();
    let health = request(&gw.http_url, "GET", "/health", &[], None);
    let body = health.json();
    assert_eq!(health.status, 200, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["backend"], "aws");
    assert!(body["version"].is_string(), "{body}");
    for name in ["dynamodb", "s3", "sqs"] {
        let check = &body["checks"][name];
        assert_eq!(check["status"], "ok", "{name}: {body}");
        assert!(check["latencyMs"].as_f64().unwrap() >= 0.0, "{body}");
    }
    assert!(body["checks"]["sqs"]["queueDepth"].is_u64(), "{body}");
    assert!(
        body["checks"]["dynamodb"]["headPosition"].is_u64(),
        "{body}"
    );

    drop(moto);
    let health = request(&gw.http_url, "GET", "/health", &[], None);
    let body = health.json();
    assert_eq!(health.status, 503, "{body}");
    assert_eq!(body["status"], "fail", "{body}");
    for name in ["dynamodb", "s3", "sqs"] {
        let check = &body["checks"][name];
        assert_eq!(check["status"], "fail", "{name}: {body}");
        assert!(
            check["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
    }
    let live = request(&gw.http_url, "GET", "/health/live", &[], None);
    assert_eq!((live.status, live.json()), (200, json!({"status": "ok"})));
}

/// `/metrics` on `serve --backend aws`: the engine's request counter and render
/// histogram after traffic over the WebSocket, and the open WebSockets.
#[tokio::test]
async fn metrics_count_the_requests_of_the_aws_gateway() {
    use common::http::request;
    let (_moto, gw) = start();
    let scrape = || {
        let r = request(&gw.http_url, "GET", "/metrics", &[], None);
        assert_eq!(r.status, 200, "{r:?}");
        let lines = r.body.lines().map(|l| Ok(l.to_string()));
        prometheus_parse::Scrape::parse(lines).expect("a Prometheus text exposition")
    };
    let value = |s: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]| -> f64 {
        s.samples
            .iter()
            .filter(|x| x.metric == name)
            .filter(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
            .map(|x| match x.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                ref other => panic!("{name}: {other:?}"),
            })
            .sum()
    };
    let gets = [("method", "prompts/get"), ("outcome", "ok")];
    let before = scrape();
    let mut client = WsClient::initialized(&gw.ws_url, json!({})).await.0;
    for _ in 0..3 {
        let got = client
            .request(
                "prompts/get",
                json!({"name": "code-review", "arguments": {"code": "x", "language": "rust"}}),
            )
            .await;
        assert!(got["result"]["messages"].is_array(), "{got}");
    }
    let after = scrape();
    assert_eq!(
        value(&after, "mcp_prompts_requests_total", &gets)
            - value(&before, "mcp_prompts_requests_total", &gets),
        3.0
    );
    assert_eq!(
        value(&after, "mcp_prompts_render_seconds_count", &[])
            - value(&before, "mcp_prompts_render_seconds_count", &[]),
        3.0
    );
    assert_eq!(value(&after, "mcp_prompts_websocket_connections", &[]), 1.0);
}
