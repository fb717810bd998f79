//! Issue 18.4: how many writes per second one prompts table takes when every
//! write moves the one `META/HEAD` item (`bash bench/shards.sh --writers`, or
//! `cargo run --release --features aws --example head_contention`). W writers
//! each create distinct prompts (no version conflicts: only the head is
//! shared) through the catalog on moto; it prints writes/s and
//! `TransactWriteItems` calls per write (a lost head race is retried). Then
//! the same through the store's batch path (`BatchWriter`, what bulk imports
//! use): each writer one `write_batch` of its prompts, 32 per transaction.

#[path = "../tests/aws_support/moto_server.rs"]
mod moto_server;

use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use mcp_prompts::adapters::aws::metrics::CallCounter;
use mcp_prompts::adapters::aws::{DynamoPromptStore, bootstrap};
use mcp_prompts::domain::PromptDraft;
use mcp_prompts::engine::Catalog;
use mcp_prompts::engine::import::{BatchWrite, BatchWriter};
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
    /// Prompts per writer on the batch path (0: skip it).
    #[arg(long, default_value_t = 320)]
    batch_writes: usize,
}

fn batch_item(id: &str) -> BatchWrite {
    let draft: PromptDraft =
        serde_json::from_value(json!({"id": id, "name": id, "content": "x"})).expect("a draft");
    BatchWrite::new(
        draft.into_prompt(0, "", "").expect("a prompt"),
        None,
        Vec::new(),
        "bench",
    )
}

/// One create through the catalog (the same path a `create_prompt` takes).
async fn create(catalog: &Catalog, id: &str) -> bool {
    let draft: PromptDraft =
        serde_json::from_value(json!({"id": id, "name": id, "content": "x"})).expect("a draft");
    catalog.create(draft, "bench").await.is_ok()
}

/// A fresh moto and table per row: moto's transactions cost more as its table
/// grows (it snapshots the table), so rows on one table would not compare.
struct Fresh {
    _moto: Moto,
    calls: Arc<CallCounter>,
    store: Arc<DynamoPromptStore>,
    catalog: Arc<Catalog>,
}

async fn fresh() -> Fresh {
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
    clients.calls.reset();
    Fresh {
        _moto: moto,
        calls: clients.calls.clone(),
        catalog: Arc::new(Catalog::new(store.clone(), Arc::new(SystemClock))),
        store,
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    println!("| path | writers | writes | failed | writes/s | TransactWriteItems per write |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for &w in &args.writers {
        let run = fresh().await;
        let started = Instant::now();
        let tasks: Vec<_> = (0..w)
            .map(|i| {
                let (catalog, writes) = (run.catalog.clone(), args.writes);
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
        print_row("single", w, w * args.writes, ok, took, &run.calls);
    }
    if args.batch_writes == 0 {
        return;
    }
    for &w in &args.writers {
        let run = fresh().await;
        let started = Instant::now();
        let tasks: Vec<_> = (0..w)
            .map(|i| {
                let (store, writes) = (run.store.clone(), args.batch_writes);
                tokio::spawn(async move {
                    let items = (0..writes)
                        .map(|n| batch_item(&format!("b{w}-{i}-{n}")))
                        .collect();
                    let results = store.write_batch(items).await.expect("a batch");
                    results.iter().filter(|r| r.is_ok()).count()
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            ok += t.await.unwrap_or(0);
        }
        let took = started.elapsed().as_secs_f64();
        print_row("batch", w, w * args.batch_writes, ok, took, &run.calls);
    }
}

fn print_row(path: &str, w: usize, tried: usize, ok: usize, took: f64, calls: &CallCounter) {
    let transactions = calls
        .snapshot()
        .into_iter()
        .filter(|(k, _)| k.contains("TransactWriteItems"))
        .map(|(_, n)| n)
        .sum::<u64>();
    println!(
        "| {path} | {w} | {ok} | {} | {:.0} | {:.3} |",
        tried - ok,
        ok as f64 / took,
        transactions as f64 / ok.max(1) as f64
    );
}
