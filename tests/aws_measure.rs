#![cfg(feature = "aws")]
//! Measurements of the AWS column, printed (run with `--nocapture` to read them):
//! SDK calls per MCP request and per change fanned out to N connections, fan-out
//! posts/s through the real management SDK client against the local
//! `@connections` endpoint, and the Lambda binary's init time and memory under a
//! stand-in Lambda Runtime API. The assertions only guard the shape (what must
//! be true for the numbers to mean anything); the numbers are for the report.

mod aws_support;
mod common;

use mcp_prompts::adapters::aws::sdk::aws_lambda_events;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use aws_lambda_events::sqs::SqsEvent;
use aws_support::Moto;
use bytes::Bytes;
use common::ws::WsClient;
use futures_util::StreamExt;
use mcp_prompts::adapters::aws::{ApiGatewayPusher, AwsClients, bootstrap};
use mcp_prompts::adapters::memory::RecordingPusher;
use mcp_prompts::edges::aws_gateway::connections::LocalConnections;
use mcp_prompts::edges::aws_gateway::{AwsGateway, health};
use mcp_prompts::edges::lambda::{LambdaApp, LambdaLimits, fanout, websocket};
use mcp_prompts::engine::EngineConfig;
use mcp_prompts::engine::session::Interest;
use mcp_prompts::ports::{PushOutcome, Pusher};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// What the stand-in Lambda Runtime API reports (`next` or `response`, when,
/// body), and whether it already served the one invocation.
type RuntimeState = (
    tokio::sync::mpsc::Sender<(&'static str, Instant, String)>,
    Arc<std::sync::atomic::AtomicBool>,
);

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn message(body: serde_json::Value) -> ApiGatewayWebsocketProxyRequest {
    let mut e: ApiGatewayWebsocketProxyRequest = fixture("default_initialize.json");
    e.body = Some(body.to_string());
    e
}

fn fmt(calls: &BTreeMap<String, u64>) -> String {
    calls
        .iter()
        .map(|(k, v)| format!("{k}×{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn measured(
    clients: &AwsClients,
    what: &str,
    app: &LambdaApp,
    event: ApiGatewayWebsocketProxyRequest,
) -> u64 {
    clients.calls.reset();
    websocket::handle(app, event).await;
    let per_service = clients.calls.per_service();
    let total = per_service.values().sum();
    println!(
        "  {what:<34} {total:>2} calls  [{}]",
        fmt(&clients.calls.snapshot())
    );
    total
}

#[tokio::test]
async fn calls_per_mcp_request() {
    let moto = Moto::start();
    let clients = moto.clients().await;
    let settings = moto.settings();
    bootstrap::run(&clients, &settings).await.unwrap();
    let pusher = Arc::new(RecordingPusher::default());
    let (app, _) = LambdaApp::on_aws(
        &clients,
        &settings,
        pusher,
        EngineConfig::default(),
        LambdaLimits::default(),
    );
    mcp_prompts::seed::seed_if_empty(&app.engine.catalog)
        .await
        .unwrap();

    println!("SDK calls per MCP request (Lambda handlers on DynamoDB/S3/SQS, moto):");
    measured(&clients, "$connect", &app, fixture("connect.json")).await;
    measured(
        &clients,
        "initialize",
        &app,
        fixture("default_initialize.json"),
    )
    .await;
    measured(
        &clients,
        "notifications/initialized",
        &app,
        message(json!({"jsonrpc":"2.0","method":"notifications/initialized"})),
    )
    .await;
    measured(
        &clients,
        "prompts/list (cold instance)",
        &app,
        message(json!({"jsonrpc":"2.0","id":1,"method":"prompts/list"})),
    )
    .await;
    let get = json!({"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"code-review","arguments":{"code":"x","language":"rust"}}});
    measured(&clients, "prompts/get (first)", &app, message(get.clone())).await;
    let warm = measured(&clients, "prompts/get (warm cache)", &app, message(get)).await;
    measured(&clients, "resources/subscribe", &app, message(json!({"jsonrpc":"2.0","id":3,"method":"resources/subscribe","params":{"uri":"prompt://code-review"}}))).await;
    let write = json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"create_prompt","arguments":{"name":"Measured","content":"Hi {{who}}"}}});
    let written = measured(
        &clients,
        "tools/call create_prompt (write)",
        &app,
        message(write),
    )
    .await;
    measured(&clients, "$disconnect", &app, fixture("disconnect.json")).await;
    assert!(
        warm <= 4,
        "a warm read needs no more than the connection, session and head reads"
    );
    assert!(
        written >= 5,
        "a write is a transaction plus publish and mark"
    );
}

/// An in-process gateway (the same one `serve --backend aws` runs) on a free port.
async fn gateway(
    moto: &Moto,
    clients: Arc<AwsClients>,
) -> (Arc<AwsGateway>, SocketAddr, CancellationToken) {
    let settings = moto.settings();
    bootstrap::run(&clients, &settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let pusher = Arc::new(ApiGatewayPusher::new(&clients, &format!("http://{addr}")));
    let (app, store) = LambdaApp::on_aws(
        &clients,
        &settings,
        pusher,
        EngineConfig::default(),
        LambdaLimits::default(),
    );
    let shutdown = CancellationToken::new();
    let gw = Arc::new(AwsGateway {
        clients,
        local: LocalConnections::default(),
        shutdown: shutdown.clone(),
        idle_timeout: Duration::from_secs(600),
        max_connection: Duration::from_secs(7200),
        queue_capacity: 4096,
        domain: addr.to_string(),
        authorizer: None,
        dependencies: health::Dependencies { store },
        exposition: mcp_prompts::edges::metrics::Exposition::aws(&app.engine.metrics),
        app,
    });
    let router = gw.router();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
    });
    (gw, addr, shutdown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_calls_and_posts_per_second_against_the_local_connections_endpoint() {
    let moto = Moto::start();
    let clients = moto.clients().await;
    let (gw, addr, shutdown) = gateway(&moto, clients.clone()).await;
    let url = format!("ws://{addr}/ws");
    let change = json!({"position": 1, "id": "code-review", "version": 2, "kind": "updated",
        "tags": [], "actor": "m", "timestamp": "2026-01-01T00:00:00.000Z"});
    let mut event: SqsEvent = fixture("sqs_changes.json");
    event.records.truncate(1);
    event.records[0].body = Some(change.to_string());

    println!("One change fanned out to N connections (list_changed pair each):");
    let mut sockets = Vec::new();
    let interest = Interest {
        initialized: true,
        list_changed: true,
        ..Default::default()
    };
    let now = mcp_prompts::adapters::aws::unix_now();
    for n in [1usize, 10, 100] {
        while sockets.len() < n {
            sockets.push(WsClient::connect(&url).await);
        }
        for id in gw.local.ids() {
            gw.app
                .host
                .connections
                .set_interest(&id, &interest, now + 600)
                .await
                .unwrap();
        }
        clients.calls.reset();
        let started = Instant::now();
        let (response, stats) = fanout::handle_with_stats(&gw.app, event.clone()).await;
        let took = started.elapsed();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(stats.connections, n, "{stats:?}");
        println!(
            "  N={n:<4} {:>4} posts in {:>7.1} ms ({:>6.0} posts/s incl. the topic query)  [{}]",
            stats.frames,
            took.as_secs_f64() * 1000.0,
            stats.frames as f64 / took.as_secs_f64(),
            fmt(&clients.calls.snapshot())
        );
    }

    // Raw PostToConnection throughput: the management SDK client, 32 in flight.
    let pusher = Arc::new(ApiGatewayPusher::new(&clients, &format!("http://{addr}")));
    let ids = gw.local.ids();
    let frame = Bytes::from_static(
        b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/prompts/list_changed\"}",
    );
    let total = 1000;
    let started = Instant::now();
    let outcomes: Vec<PushOutcome> = futures_util::stream::iter(0..total)
        .map(|i| {
            let (pusher, id, frame) = (pusher.clone(), ids[i % ids.len()].clone(), frame.clone());
            async move { pusher.push(&id, frame).await }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let delivered = outcomes
        .iter()
        .filter(|o| **o == PushOutcome::Delivered)
        .count();
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|o| **o != PushOutcome::Delivered)
        .take(3)
        .collect();
    let took = started.elapsed();
    println!(
        "PostToConnection against the local @connections endpoint: {delivered}/{total} in {:.0} ms = {:.0} posts/s (32 in flight, 100 sockets)",
        took.as_secs_f64() * 1000.0,
        delivered as f64 / took.as_secs_f64()
    );
    assert_eq!(delivered, total, "{failed:?}");
    let gone = pusher.push("NoSuchConn0=", frame).await;
    assert_eq!(
        gone,
        PushOutcome::Gone,
        "410 maps to Gone through the real SDK"
    );
    shutdown.cancel();
}

/// Starts the Lambda binary under a minimal Lambda Runtime API and measures the
/// time to its first `invocation/next` (process start + init) and its memory.
#[tokio::test]
async fn lambda_init_time_and_memory() {
    use axum::extract::State;
    use axum::routing::{get, post};
    use tokio::sync::mpsc;

    let moto = Moto::start();
    let clients = moto.clients().await;
    bootstrap::run(&clients, &moto.settings()).await.unwrap();
    let (tx, mut rx) = mpsc::channel::<(&'static str, Instant, String)>(8);
    let served = Arc::new(std::sync::atomic::AtomicBool::new(false));
    async fn next(State((tx, served)): State<RuntimeState>) -> axum::response::Response {
        use axum::response::IntoResponse;
        let _ = tx.send(("next", Instant::now(), String::new())).await;
        if served.swap(true, std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        let body = std::fs::read_to_string(format!(
            "{}/tests/fixtures/aws/connect.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let deadline = (mcp_prompts::adapters::aws::unix_now_ms() + 29_000).to_string();
        (
            [
                ("lambda-runtime-aws-request-id", "req-1".to_string()),
                ("lambda-runtime-deadline-ms", deadline),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:mcp-prompts-websocket"
                        .to_string(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-5759e988-bd862e3fe1be46a994272793".to_string(),
                ),
                ("content-type", "application/json".to_string()),
            ],
            body,
        )
            .into_response()
    }
    async fn respond(State((tx, _)): State<RuntimeState>, body: String) -> &'static str {
        let _ = tx.send(("response", Instant::now(), body)).await;
        "{}"
    }
    let runtime = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(respond))
        .route("/2018-06-01/runtime/init/error", post(respond))
        .with_state((tx, served));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, runtime).await });

    let started = Instant::now();
    let mut child = moto
        .command(aws_support::binary(
            "MCP_PROMPTS_LAMBDA_BIN",
            env!("CARGO_BIN_EXE_mcp-prompts-lambda"),
        ))
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "mcp-prompts-websocket")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("MCP_PROMPTS_HANDLER", "websocket")
        .env("MCP_PROMPTS_CONNECTIONS_URL", "http://127.0.0.1:9/local")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut first_next = None;
    let mut reply = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while reply.is_none() && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
            Ok(Some(("next", at, _))) => first_next = first_next.or(Some(at)),
            Ok(Some((_, at, body))) => reply = Some((at, body)),
            _ => {}
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
            .unwrap_or_default()
    };
    let _ = child.kill();
    let _ = child.wait();
    let first_next = first_next.expect("the runtime asked for an invocation");
    let (answered, body) = reply.expect("the $connect invocation was answered");
    println!(
        "Lambda binary ({}): init (spawn to first invocation/next) {:.1} ms; $connect invocation {:.1} ms; peak RSS {} kB, RSS {} kB",
        std::env::var("MCP_PROMPTS_LAMBDA_BIN").unwrap_or_else(|_| "this test run's build".into()),
        (first_next - started).as_secs_f64() * 1000.0,
        (answered - first_next).as_secs_f64() * 1000.0,
        field("VmHWM:"),
        field("VmRSS:"),
    );
    let response: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(response["statusCode"], 200, "{body}");
}

/// The whole path through the gateway binary: a write, SQS, the fan-out handler,
/// `PostToConnection` to the gateway's own `@connections`, N sockets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_fanout_to_n_websockets_through_the_gateway() {
    let moto = Moto::start();
    moto.bootstrap_with(&["--no-seed"]);
    let gw = aws_support::Gateway::start(&moto, &["--no-seed"]);
    let n = 100;
    let mut editor = WsClient::initialized(&gw.ws_url, json!({})).await.0;
    let mut watchers = Vec::new();
    for _ in 0..n {
        watchers.push(WsClient::initialized(&gw.ws_url, json!({})).await.0);
    }
    let started = Instant::now();
    let created = editor
        .call_tool("create_prompt", json!({"name": "Fan out", "content": "x"}))
        .await;
    assert_eq!(created["isError"], false, "{created}");
    let written = started.elapsed();
    let waits = watchers.into_iter().map(|mut w| {
        tokio::spawn(async move {
            w.wait_for(
                "notifications/resources/list_changed",
                Duration::from_secs(30),
            )
            .await
            .map(|_| Instant::now())
        })
    });
    let mut last = started;
    let mut heard = 0;
    for w in waits {
        if let Some(at) = w.await.unwrap() {
            heard += 1;
            last = last.max(at);
        }
    }
    let total = last - started;
    println!(
        "End to end ({}): write {:.0} ms; {heard}/{n} sockets had their list_changed pair {:.0} ms after the write began ({:.0} posts/s over the whole path)",
        std::env::var("MCP_PROMPTS_BIN").map_or("this test run's gateway", |_| "$MCP_PROMPTS_BIN"),
        written.as_secs_f64() * 1000.0,
        total.as_secs_f64() * 1000.0,
        (2 * heard) as f64 / total.as_secs_f64()
    );
    assert_eq!(heard, n, "{}", gw.output());
}

/// Revision 2026-07-28 on the Lambda `$default` route (which the local gateway
/// calls too): a request with the per-request envelope reads no connection or
/// session item. This app's session and connection tables do not exist, so any
/// such read would fail the request; the counter shows what is left.
#[tokio::test]
async fn stateless_requests_read_no_session() {
    use aws_lambda_events::encodings::Body;

    let moto = Moto::start();
    let clients = moto.clients().await;
    let settings = moto.settings();
    bootstrap::run(&clients, &settings).await.unwrap();
    let no_session_tables = mcp_prompts::adapters::aws::AwsSettings {
        sessions_table: "no-such-sessions-table".into(),
        connections_table: "no-such-connections-table".into(),
        ..settings
    };
    let (app, _) = LambdaApp::on_aws(
        &clients,
        &no_session_tables,
        Arc::new(RecordingPusher::default()),
        EngineConfig::default(),
        LambdaLimits::default(),
    );
    mcp_prompts::seed::seed_if_empty(&app.engine.catalog)
        .await
        .unwrap();
    let reply = |r: aws_lambda_events::apigw::ApiGatewayProxyResponse| -> serde_json::Value {
        match r.body {
            Some(Body::Text(t)) => serde_json::from_str(&t).unwrap(),
            other => panic!("no reply body: {other:?}"),
        }
    };
    // The control: a handshake-era request needs the connection item, and fails.
    let legacy = json!({"jsonrpc":"2.0","id":1,"method":"prompts/list"});
    let failed = reply(websocket::handle(&app, message(legacy)).await);
    assert!(failed.get("error").is_some(), "{failed}");

    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}});
    let get = json!({"_meta": meta, "name": "code-review",
                     "arguments": {"code": "fn main() {}", "language": "rust"}});
    let create = json!({"_meta": meta, "name": "create_prompt",
                        "arguments": {"name": "Stateless", "content": "Hi {{who}}"}});
    let requests = [
        ("server/discover", "server/discover", json!({"_meta": meta})),
        (
            "prompts/list (cold instance)",
            "prompts/list",
            json!({"_meta": meta}),
        ),
        ("prompts/get (first)", "prompts/get", get.clone()),
        ("prompts/get (warm cache)", "prompts/get", get),
        ("tools/call create_prompt (write)", "tools/call", create),
    ];
    println!("SDK calls per 2026-07-28 request (Lambda $default, no session tables, moto):");
    for (i, (what, method, params)) in requests.into_iter().enumerate() {
        let body = json!({"jsonrpc": "2.0", "id": i + 10, "method": method, "params": params});
        clients.calls.reset();
        let r = reply(websocket::handle(&app, message(body)).await);
        let calls = clients.calls.snapshot();
        let total: u64 = calls.values().sum();
        println!("  {what:<34} {total:>2} calls  [{}]", fmt(&calls));
        assert_eq!(r["id"], i + 10, "{r}");
        assert_eq!(r["result"]["resultType"], "complete", "{what}: {r}");
        assert_ne!(r["result"]["isError"], true, "{what}: {r}");
        if what == "prompts/get (warm cache)" {
            // The change-log head only: no connection, no session.
            assert_eq!(calls, BTreeMap::from([("DynamoDB.GetItem".to_string(), 1)]));
            let text = r["result"]["messages"][0]["content"]["text"]
                .as_str()
                .unwrap();
            assert!(text.contains("fn main() {}"), "{text}");
        }
    }
}
