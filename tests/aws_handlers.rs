#![cfg(feature = "aws")]
//! The Lambda handlers called directly with recorded API Gateway and SQS events
//! (tests/fixtures/aws/), on in-memory session/connection stores, a recording
//! pusher and the embedded prompt store: no AWS, no network.

use mcp_prompts::adapters::aws::sdk::aws_lambda_events;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::sqs::SqsEvent;
use mcp_prompts::adapters::embedded::EmbeddedStore;
use mcp_prompts::adapters::memory::{MemoryConnectionStore, MemorySessionStore, RecordingPusher};
use mcp_prompts::edges::lambda::{LambdaApp, LambdaLimits, fanout, websocket};
use mcp_prompts::engine::{Catalog, Engine, EngineConfig};
use mcp_prompts::ports::{ConnectionStore, SessionStore, SystemClock};
use serde_json::{Value, json};

const CONNECTION: &str = "SxgvPdYEIAMCKbg=";

struct Harness {
    app: LambdaApp,
    sessions: Arc<MemorySessionStore>,
    connections: Arc<MemoryConnectionStore>,
    pusher: Arc<RecordingPusher>,
    _dir: tempfile::TempDir,
}

async fn harness(limits: LambdaLimits) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(SystemClock);
    let store = Arc::new(EmbeddedStore::open(dir.path(), clock.clone()).unwrap());
    let catalog = Arc::new(Catalog::new(store, clock));
    mcp_prompts::seed::seed_if_empty(&catalog).await.unwrap();
    let sessions = Arc::new(MemorySessionStore::default());
    let engine =
        Arc::new(Engine::new(catalog, EngineConfig::default()).with_sessions(sessions.clone()));
    let connections = Arc::new(MemoryConnectionStore::default());
    let pusher = Arc::new(RecordingPusher::default());
    let app = LambdaApp::new(
        engine,
        sessions.clone(),
        connections.clone(),
        pusher.clone(),
        limits,
    );
    Harness {
        app,
        sessions,
        connections,
        pusher,
        _dir: dir,
    }
}

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn message(body: Value) -> ApiGatewayWebsocketProxyRequest {
    let mut e: ApiGatewayWebsocketProxyRequest = fixture("default_initialize.json");
    e.body = Some(body.to_string());
    e
}

fn body(r: &ApiGatewayProxyResponse) -> Option<Value> {
    match &r.body {
        Some(Body::Text(t)) if !t.is_empty() => Some(serde_json::from_str(t).unwrap()),
        _ => None,
    }
}

/// $connect then initialize + initialized, as a client does.
async fn connected(h: &Harness) {
    let r = websocket::handle(&h.app, fixture("connect.json")).await;
    assert_eq!(r.status_code, 200);
    let r = websocket::handle(&h.app, fixture("default_initialize.json")).await;
    assert!(body(&r).unwrap()["result"]["serverInfo"].is_object());
    let r = websocket::handle(
        &h.app,
        message(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})),
    )
    .await;
    assert_eq!(body(&r), None, "a notification gets no reply");
}

#[tokio::test]
async fn connect_echoes_mcp_and_registers_the_connection_with_a_session() {
    let h = harness(LambdaLimits::default()).await;
    let r = websocket::handle(&h.app, fixture("connect.json")).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(r.headers.get("sec-websocket-protocol").unwrap(), "mcp");
    let session_id = r.headers.get("mcp-session-id").unwrap().to_str().unwrap();
    let conn = h.connections.get(CONNECTION, 0).await.unwrap().unwrap();
    assert_eq!(conn.session_id, session_id);
    assert!(
        h.sessions.load(session_id, 0).await.unwrap().is_none(),
        "the session is stored once initialize decided whether it resumes one"
    );
}

#[tokio::test]
async fn connect_refuses_unknown_subprotocols_with_400() {
    let h = harness(LambdaLimits::default()).await;
    let mut e: ApiGatewayWebsocketProxyRequest = fixture("connect.json");
    e.headers
        .insert("sec-websocket-protocol", "graphql-ws".parse().unwrap());
    let r = websocket::handle(&h.app, e).await;
    assert_eq!(r.status_code, 400);
    let Some(Body::Text(text)) = r.body else {
        panic!("no body")
    };
    assert!(text.contains("accepted: mcp"), "{text}");
    assert!(h.connections.is_empty());
}

#[tokio::test]
async fn default_route_runs_the_engine_and_keeps_the_session_between_messages() {
    let h = harness(LambdaLimits::default()).await;
    let r = websocket::handle(&h.app, fixture("connect.json")).await;
    let session_id = r
        .headers
        .get("mcp-session-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let r = websocket::handle(&h.app, fixture("default_initialize.json")).await;
    let reply = body(&r).unwrap();
    assert_eq!(reply["id"], 0);
    assert_eq!(reply["result"]["protocolVersion"], "2025-06-18");
    websocket::handle(
        &h.app,
        message(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})),
    )
    .await;
    let saved = h.sessions.load(&session_id, 0).await.unwrap().unwrap();
    assert!(saved.session.is_initialized());
    assert_eq!(saved.session.protocol_version, "2025-06-18");

    let r = websocket::handle(
        &h.app,
        message(json!({"jsonrpc": "2.0", "id": 2, "method": "prompts/get",
            "params": {"name": "nope"}})),
    )
    .await;
    let reply = body(&r).unwrap();
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    let r = websocket::handle(
        &h.app,
        message(
            json!({"jsonrpc": "2.0", "id": 3, "method": "resources/subscribe",
            "params": {"uri": "prompt://code-review"}}),
        ),
    )
    .await;
    assert_eq!(body(&r).unwrap()["result"], json!({}));
    let listeners = h
        .connections
        .listeners(
            &[mcp_prompts::ports::Topic::Prompt(
                mcp_prompts::domain::PromptId::parse("code-review").unwrap(),
            )],
            0,
        )
        .await;
    assert_eq!(
        listeners.unwrap().len(),
        1,
        "the subscription is indexed by topic"
    );
}

#[tokio::test]
async fn log_notifications_are_posted_before_the_reply_is_returned() {
    let h = harness(LambdaLimits::default()).await;
    connected(&h).await;
    websocket::handle(
        &h.app,
        message(json!({"jsonrpc": "2.0", "id": 5, "method": "logging/setLevel", "params": {"level": "debug"}})),
    )
    .await;
    let r = websocket::handle(
        &h.app,
        message(
            json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {
            "name": "create_prompt",
            "arguments": {"name": "Handler Test", "content": "Hi {{who}}"}}}),
        ),
    )
    .await;
    let reply = body(&r).unwrap();
    assert_eq!(reply["id"], 6, "the reply is the route response: {reply}");
    let pushed = h.pusher.frames(CONNECTION);
    assert!(
        pushed.iter().all(|f| f.contains("\"method\"")),
        "only notifications are pushed: {pushed:?}"
    );
}

#[tokio::test]
async fn a_reply_over_the_api_gateway_limit_becomes_a_clear_error() {
    let h = harness(LambdaLimits {
        max_message_bytes: 2048,
        ..Default::default()
    })
    .await;
    connected(&h).await;
    let r = websocket::handle(
        &h.app,
        message(json!({"jsonrpc": "2.0", "id": "big", "method": "prompts/list"})),
    )
    .await;
    let reply = body(&r).unwrap();
    assert_eq!(reply["id"], "big");
    assert_eq!(reply["error"]["code"], -32603);
    let text = reply["error"]["message"].as_str().unwrap();
    assert!(
        text.contains("API Gateway WebSocket message limit of 2048 bytes"),
        "{text}"
    );
}

#[tokio::test]
async fn fanout_reports_only_the_poison_message_and_forgets_gone_connections() {
    let h = harness(LambdaLimits::default()).await;
    connected(&h).await;
    websocket::handle(
        &h.app,
        message(
            json!({"jsonrpc": "2.0", "id": 3, "method": "resources/subscribe",
            "params": {"uri": "prompt://code-review"}}),
        ),
    )
    .await;
    // A second listener whose client has vanished: API Gateway answers 410.
    let mut other: ApiGatewayWebsocketProxyRequest = fixture("connect.json");
    other.request_context.connection_id = Some("GoneConnId0=".into());
    websocket::handle(&h.app, other.clone()).await;
    let mut init = message(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}}),
    );
    init.request_context.connection_id = Some("GoneConnId0=".into());
    websocket::handle(&h.app, init).await;
    let mut ready = message(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    ready.request_context.connection_id = Some("GoneConnId0=".into());
    websocket::handle(&h.app, ready).await;
    h.pusher.mark_gone("GoneConnId0=");

    let event: SqsEvent = fixture("sqs_changes.json");
    let (response, stats) = fanout::handle_with_stats(&h.app, event).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        ["2e1424d4-f796-459a-8184-9c92662be6da"],
        "only the poison message fails"
    );
    assert_eq!(stats.gone, 1);
    assert!(
        h.connections
            .get("GoneConnId0=", 0)
            .await
            .unwrap()
            .is_none(),
        "gone connection deleted"
    );
    let frames = h.pusher.frames(CONNECTION);
    let methods: Vec<String> = frames
        .iter()
        .map(|f| {
            let v: Value = serde_json::from_str(f).unwrap();
            format!(
                "{}@{}",
                v["method"].as_str().unwrap(),
                v["params"]["_meta"]["position"]
            )
        })
        .collect();
    assert_eq!(
        methods,
        [
            "notifications/prompts/list_changed@42",
            "notifications/resources/list_changed@42",
            "notifications/resources/updated@41",
        ],
        "two changes coalesce into one list_changed pair"
    );
}

#[tokio::test]
async fn disconnect_forgets_the_connection_and_detaches_the_session() {
    let h = harness(LambdaLimits::default()).await;
    let r = websocket::handle(&h.app, fixture("connect.json")).await;
    let session_id = r
        .headers
        .get("mcp-session-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    websocket::handle(&h.app, fixture("default_initialize.json")).await;
    let r = websocket::handle(&h.app, fixture("disconnect.json")).await;
    assert_eq!(r.status_code, 200);
    assert!(h.connections.is_empty());
    let record = h.sessions.load(&session_id, 0).await.unwrap().unwrap();
    assert_eq!(
        record.connection_id, None,
        "the session outlives its connection"
    );
}

#[tokio::test]
async fn a_session_resumed_on_a_new_connection_takes_over_and_replays_what_it_missed() {
    let h = harness(LambdaLimits::default()).await;
    connected(&h).await;
    let sub = json!({"jsonrpc": "2.0", "id": 3, "method": "resources/subscribe",
        "params": {"uri": "prompt://code-review"}});
    websocket::handle(&h.app, message(sub)).await;
    let r = websocket::handle(
        &h.app,
        message(json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "get_prompt", "arguments": {"id": "code-review"}}})),
    )
    .await;
    let version = body(&r).unwrap()["result"]["structuredContent"]["version"]
        .as_u64()
        .unwrap();
    let head = h.app.engine.catalog.store().head_position().await.unwrap();
    let session_id = h
        .connections
        .get(CONNECTION, 0)
        .await
        .unwrap()
        .unwrap()
        .session_id;
    // While the client is away, someone edits the prompt it subscribed to.
    h.app
        .engine
        .catalog
        .update(
            &mcp_prompts::domain::PromptId::parse("code-review").unwrap(),
            serde_json::from_value(json!({"description": "edited while away"})).unwrap(),
            Some(version),
            "other",
        )
        .await
        .unwrap();

    let second = "NewConnId00=";
    let mut connect: ApiGatewayWebsocketProxyRequest = fixture("connect.json");
    connect.request_context.connection_id = Some(second.into());
    websocket::handle(&h.app, connect).await;
    let mut init = message(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"},
        "mcpSessionId": session_id, "lastPosition": head}}),
    );
    init.request_context.connection_id = Some(second.into());
    let reply = body(&websocket::handle(&h.app, init).await).unwrap();
    assert_eq!(reply["result"]["resumed"], true, "{reply}");
    assert_eq!(reply["result"]["mcpSessionId"], session_id.as_str());
    assert_eq!(
        h.pusher.closed(),
        [CONNECTION],
        "the old connection is closed"
    );
    assert_eq!(
        h.connections
            .get(second, 0)
            .await
            .unwrap()
            .unwrap()
            .session_id,
        session_id
    );

    let mut ready = message(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    ready.request_context.connection_id = Some(second.into());
    websocket::handle(&h.app, ready).await;
    let replayed = h.pusher.frames(second);
    assert!(
        replayed
            .iter()
            .any(|f| f.contains("notifications/resources/updated")
                && f.contains("prompt://code-review")),
        "the missed update is replayed: {replayed:?}"
    );
}
