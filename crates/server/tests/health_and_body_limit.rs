//! `/health` reports the store's real state, and `/mcp` answers a body over
//! the hard cap with the documented JSON-RPC error, not axum's plain text.

use std::path::Path;
use std::sync::Arc;

use mcp_prompts_embedded::EmbeddedStore;
use mcp_prompts_engine::ports::SystemClock;
use mcp_prompts_engine::realtime::Registry;
use mcp_prompts_engine::{Catalog, Engine, EngineConfig};
use mcp_prompts_server::gateway::{Gateway, Limits};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Serves a gateway on port 0 over the store in `dir`; returns its address.
async fn spawn_app(dir: &Path, limits: Limits) -> (String, CancellationToken) {
    let clock = Arc::new(SystemClock);
    let store = Arc::new(EmbeddedStore::open(dir, clock.clone()).unwrap());
    let catalog = Arc::new(Catalog::new(store.clone(), clock));
    let engine = Arc::new(Engine::new(catalog, EngineConfig::default()));
    let registry = Arc::new(Registry::new(8));
    let host = mcp_prompts_server::startup::local_host(
        engine,
        store,
        &registry,
        mcp_prompts_engine::host::HostSettings::default(),
    );
    let shutdown = CancellationToken::new();
    let gw = Gateway::new(host, registry, shutdown.clone(), limits, None);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(gw.serve(listener));
    (addr, shutdown)
}

/// One HTTP/1.1 exchange; (status, content type, body).
async fn http(addr: &str, head: &str, body: &[u8]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may refuse before reading a large body.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = headers
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

async fn get_health(addr: &str) -> (u16, Value) {
    let head = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let (status, _, body) = http(addr, &head, b"").await;
    (status, serde_json::from_str(&body).unwrap())
}

/// Writes prompts, closes the store (checkpointing the WAL into the file).
async fn fill(dir: &Path) {
    let clock = Arc::new(SystemClock);
    let store = Arc::new(EmbeddedStore::open(dir, clock.clone()).unwrap());
    let catalog = Catalog::new(store, clock);
    for i in 0..200 {
        let draft = serde_json::from_value(json!({
            "id": format!("p{i}"), "name": format!("p{i}"), "content": "x".repeat(2000),
        }))
        .unwrap();
        catalog.create(draft, "test").await.unwrap();
    }
}

/// Overwrites every page but the first (the schema) and the last with garbage.
fn corrupt(dir: &Path) {
    let path = dir.join("prompts.db");
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    assert!(len > 64 * 1024, "{len}");
    for b in &mut bytes[8192..len - 4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, bytes).unwrap();
}

#[tokio::test]
async fn health_reads_the_store_and_is_503_when_its_pages_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path()).await;
    let (addr, shutdown) = spawn_app(dir.path(), Limits::default()).await;
    let (status, body) = get_health(&addr).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["store"]["status"], "ok");
    assert!(body["checks"]["store"]["latencyMs"].as_f64().unwrap() >= 0.0);
    // Corrupted under the running hub: its next health call sees it.
    corrupt(dir.path());
    let (status, body) = get_health(&addr).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "fail");
    assert_eq!(body["checks"]["store"]["status"], "fail");
    assert!(
        body["checks"]["store"]["detail"]
            .as_str()
            .unwrap()
            .contains("malformed"),
        "{body}"
    );
    shutdown.cancel();
}

#[tokio::test]
async fn a_corrupt_database_is_refused_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path()).await;
    corrupt(dir.path());
    let err = EmbeddedStore::open(dir.path(), Arc::new(SystemClock))
        .err()
        .expect("a corrupt database is refused");
    let message = err.to_string();
    assert!(message.contains("is corrupt"), "{message}");
}

#[tokio::test]
async fn a_body_over_the_hard_cap_is_a_json_rpc_error() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_ws_message: 4096,
        ..Limits::default()
    };
    let (addr, shutdown) = spawn_app(dir.path(), limits).await;
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(8000)
    );
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (status, content_type, reply) = http(&addr, &head, body.as_bytes()).await;
    assert_eq!(status, 413, "{reply}");
    assert_eq!(content_type, "application/json");
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(
        reply,
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600,
            "message": "request body exceeds the limit of 4096 bytes"}})
    );
    shutdown.cancel();
}
