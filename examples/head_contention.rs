//! Issue 18.4: how many writes per second one prompts table takes when every
//! write moves the one `META/HEAD` item (`bash bench/shards.sh --writers`, or
//! `cargo run --release --features aws --example head_contention`). W writers
//! each create distinct prompts (no version conflicts: only the head is
//! shared) through the catalog on moto; it prints writes/s and
//! `TransactWriteItems` calls per write (a lost head race is retried).

#[path = "bench_support/moto.rs"]
mod moto;

use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use mcp_prompts::adapters::aws::{DynamoPromptStore, bootstrap};
use mcp_prompts::engine::{Catalog, Engine, EngineConfig, Session};
use mcp_prompts::ports::SystemClock;
use moto::Moto;
use serde_json::json;

#[derive(Parser, Debug)]
struct Args {
    /// Concurrent writers, each count run once.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    writers: Vec<usize>,
    /// Writes per writer.
    #[arg(long, default_value_t = 40)]
    writes: usize,
}

async fn create(engine: &Engine, session: &mut Session, id: &str) -> bool {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "create_prompt", "arguments": {"id": id, "name": id, "content": "x"}}});
    let frames = engine.handle_text(session, &request.to_string()).await;
    let reply: serde_json::Value =
        serde_json::from_str(frames.last().map(String::as_str).unwrap_or("{}")).unwrap_or_default();
    reply["result"]["isError"] != json!(true)
}

async fn session(engine: &Engine, name: &str) -> Session {
    let mut s = Session::new(name);
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": name, "version": "0"}}});
    engine.handle_text(&mut s, &init.to_string()).await;
    engine
        .handle_text(
            &mut s,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        )
        .await;
    s
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let moto = Moto::start();
    let clients = moto.clients().await;
    let settings = moto.settings();
    bootstrap::run(&clients, &settings)
        .await
        .expect("bootstrap");
    let store = Arc::new(DynamoPromptStore::new(
        clients.clone(),
        &settings,
        Arc::new(SystemClock),
    ));
    let catalog = Arc::new(Catalog::new(store, Arc::new(SystemClock)));
    let engine = Arc::new(Engine::new(catalog, EngineConfig::default()));
    println!("| writers | writes | failed | writes/s | TransactWriteItems per write |");
    println!("| --- | --- | --- | --- | --- |");
    for &w in &args.writers {
        clients.calls.reset();
        let started = Instant::now();
        let tasks: Vec<_> = (0..w)
            .map(|i| {
                let (engine, writes) = (engine.clone(), args.writes);
                tokio::spawn(async move {
                    let mut s = session(&engine, &format!("w{i}")).await;
                    let mut ok = 0;
                    for n in 0..writes {
                        ok += usize::from(create(&engine, &mut s, &format!("w{w}-{i}-{n}")).await);
                    }
                    ok
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            ok += t.await.unwrap_or(0);
        }
        let took = started.elapsed().as_secs_f64();
        let transactions = clients
            .calls
            .snapshot()
            .into_iter()
            .filter(|(k, _)| k.contains("TransactWriteItems"))
            .map(|(_, n)| n)
            .sum::<u64>();
        println!(
            "| {w} | {ok} | {} | {:.0} | {:.2} |",
            w * args.writes - ok,
            ok as f64 / took,
            transactions as f64 / ok.max(1) as f64
        );
    }
}
