//! Issue 18.4: how many writes per second one prompts table takes when every
//! write moves the one `META/HEAD` item (`bash bench/shards.sh --writers`, or
//! `cargo run --release --features aws --example head_contention`). W writers
//! each create distinct prompts (no version conflicts: only the head is
//! shared) through the catalog on moto; it prints writes/s and
//! `TransactWriteItems` calls per write (a lost head race is retried).

#[path = "../tests/aws_support/moto_server.rs"]
mod moto_server;

use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use mcp_prompts::adapters::aws::{DynamoPromptStore, bootstrap};
use mcp_prompts::domain::PromptDraft;
use mcp_prompts::engine::Catalog;
use mcp_prompts::ports::SystemClock;
use moto_server::Moto;
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

/// One create through the catalog (the same path a `create_prompt` takes).
async fn create(catalog: &Catalog, id: &str) -> bool {
    let draft: PromptDraft =
        serde_json::from_value(json!({"id": id, "name": id, "content": "x"})).expect("a draft");
    catalog.create(draft, "bench").await.is_ok()
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
    println!("| writers | writes | failed | writes/s | TransactWriteItems per write |");
    println!("| --- | --- | --- | --- | --- |");
    for &w in &args.writers {
        clients.calls.reset();
        let started = Instant::now();
        let tasks: Vec<_> = (0..w)
            .map(|i| {
                let (catalog, writes) = (catalog.clone(), args.writes);
                tokio::spawn(async move {
                    let mut ok = 0;
                    for n in 0..writes {
                        ok += usize::from(create(&catalog, &format!("w{w}-{i}-{n}")).await);
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
