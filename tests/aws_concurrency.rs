#![cfg(feature = "aws")]
//! Issue 17.6 (3b): 20 concurrent writers × 50 `update_prompt`s with
//! `expectedVersion` on one prompt, through MCP (`Engine::handle_text`) on the
//! DynamoDB store of a local moto server (127.0.0.1): the same contract as
//! `crates/embedded/tests/concurrency.rs` on SQLite. Every accepted write is a
//! distinct version, every refused one is the conflict error, the history has
//! exactly 1 + accepted versions, and the change log has one change per write.

mod aws_support;

use std::sync::Arc;

use aws_support::Moto;
use mcp_prompts::adapters::aws::{DynamoPromptStore, bootstrap};
use mcp_prompts::engine::{Catalog, Engine, EngineConfig, Session};
use mcp_prompts::ports::{PromptStore, SystemClock};
use serde_json::{Value, json};

const WRITERS: usize = 20;
const ROUNDS: usize = 50;

async fn session(engine: &Engine, name: &str) -> Session {
    let mut session = Session::new(name);
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": name, "version": "0"}}});
    engine.handle_text(&mut session, &init.to_string()).await;
    engine
        .handle_text(
            &mut session,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        )
        .await;
    session
}

/// `tools/call`; the tool's result (with `isError`).
async fn tool(engine: &Engine, session: &mut Session, name: &str, arguments: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": name, "arguments": arguments}});
    let frames = engine.handle_text(session, &request.to_string()).await;
    let reply: Value = serde_json::from_str(frames.last().expect("a reply")).unwrap();
    reply["result"].clone()
}

/// One writer: read-then-update rounds. Returns (accepted versions, refused).
async fn writer(engine: &Engine, w: usize) -> (Vec<u64>, usize) {
    let mut s = session(engine, &format!("writer-{w}")).await;
    let (mut accepted, mut refused) = (Vec::new(), 0);
    for i in 0..ROUNDS {
        let got = tool(engine, &mut s, "get_prompt", json!({"id": "shared"})).await;
        let read = got["structuredContent"]["version"].as_u64().unwrap();
        let result = tool(
            engine,
            &mut s,
            "update_prompt",
            json!({"id": "shared", "expectedVersion": read, "content": format!("v {w}-{i}")}),
        )
        .await;
        if result["isError"] == json!(true) {
            let message = result["content"][0]["text"].as_str().unwrap_or_default();
            assert!(
                message.starts_with(&format!(
                    "version conflict on prompt 'shared': expected version {read}, current version is "
                )),
                "{message}"
            );
            refused += 1;
        } else {
            accepted.push(result["structuredContent"]["version"].as_u64().unwrap());
        }
    }
    (accepted, refused)
}

#[test]
fn concurrent_mcp_writers_on_dynamodb_never_lose_an_update() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let moto = Moto::start();
    rt.block_on(async {
        let clients = moto.clients().await;
        let settings = moto.settings();
        bootstrap::run(&clients, &settings)
            .await
            .expect("bootstrap");
        let store = Arc::new(DynamoPromptStore::new(
            clients,
            &settings,
            Arc::new(SystemClock),
        ));
        let catalog = Arc::new(Catalog::new(store.clone(), Arc::new(SystemClock)));
        let engine = Arc::new(Engine::new(catalog, EngineConfig::default()));
        let mut s = session(&engine, "setup").await;
        let created = tool(
            &engine,
            &mut s,
            "create_prompt",
            json!({"id": "shared", "name": "shared", "content": "v0"}),
        )
        .await;
        assert_ne!(created["isError"], json!(true), "{created}");
        let head_before = store.head_position().await.unwrap();

        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let engine = engine.clone();
                tokio::spawn(async move { writer(&engine, w).await })
            })
            .collect();
        let (mut accepted, mut refused) = (Vec::new(), 0);
        for w in writers {
            let (a, r) = w.await.unwrap();
            accepted.extend(a);
            refused += r;
        }
        let history = tool(&engine, &mut s, "prompt_history", json!({"id": "shared"})).await;
        let versions: Vec<u64> = history["structuredContent"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_u64().unwrap())
            .collect();
        println!(
            "aws concurrency: {} accepted, {refused} refused of {}; final version {}",
            accepted.len(),
            WRITERS * ROUNDS,
            versions.iter().max().unwrap()
        );
        accepted.sort_unstable();
        let mut distinct = accepted.clone();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            accepted.len(),
            "a version was accepted twice"
        );
        assert_eq!(accepted.len() + refused, WRITERS * ROUNDS);
        let mut sorted = versions.clone();
        sorted.sort_unstable();
        let last = 1 + accepted.len() as u64;
        assert_eq!(sorted, (1..=last).collect::<Vec<_>>());
        assert_eq!(accepted, (2..=last).collect::<Vec<_>>());
        // One change in the log per accepted write, none for a refused one.
        let head_after = store.head_position().await.unwrap();
        assert_eq!(head_after - head_before, accepted.len() as u64);
        let latest = tool(&engine, &mut s, "get_prompt", json!({"id": "shared"})).await;
        assert_eq!(latest["structuredContent"]["version"], last);
    });
}
