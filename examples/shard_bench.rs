//! The sharded fan-out, measured (`bash bench/shards.sh`; not part of the test
//! suite). Starts a moto server and a `@connections` stand-in on 127.0.0.1
//! (injected latency per post), then for each connection count N:
//!
//! - `plan`: N listeners written to the DynamoDB topic index (moto), one change
//!   handed to the change consumer, which pages the index into shards on the
//!   shard queue; k shard consumers (each its own app: its own pace, pusher
//!   and connection pool, like a Lambda instance) drain it. Commit → last post.
//! - `shards`: the same N connections as shard messages sent straight to the
//!   shard queue (no index: moto pages a 100k GSI far slower than DynamoDB),
//!   drained by k consumers. Send → last post, posts/s per shard invocation.
//!
//! Every wait is bounded; the process kills moto when it ends.

#[path = "../tests/aws_support/moto_server.rs"]
mod moto_server;
#[path = "../tests/aws_support/standin.rs"]
mod standin;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::StreamExt;
use mcp_prompts::adapters::aws::bootstrap::{self, Bootstrapped};
use mcp_prompts::adapters::aws::sdk::aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use mcp_prompts::adapters::aws::shards::{ShardBuilder, ShardTarget};
use mcp_prompts::adapters::aws::{ApiGatewayPusher, AwsClients, AwsSettings, unix_now};
use mcp_prompts::domain::{ChangeEvent, PromptId};
use mcp_prompts::edges::lambda::{FanoutSettings, LambdaApp, LambdaLimits, fanout, shard};
use mcp_prompts::engine::EngineConfig;
use mcp_prompts::engine::host::PostSettings;
use mcp_prompts::engine::session::Interest;
use moto_server::Moto;
use standin::{Behaviour, StandIn};

#[derive(Parser, Debug)]
struct Args {
    /// Connection counts for the `shards` runs.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    connections: Vec<usize>,
    /// Connections for the `plan` run (seeded into moto's topic index; 0: skip).
    #[arg(long, default_value_t = 10000)]
    plan_connections: usize,
    /// Parallel shard consumers (k), each run once.
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    consumers: Vec<usize>,
    /// Injected latency per post at the stand-in.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    #[arg(long, default_value_t = 1000)]
    shard_size: usize,
    /// Posts in flight per consumer.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Posts/s across all consumers (0: unpaced, the machinery's ceiling).
    #[arg(long, default_value_t = 0)]
    budget: u64,
    /// Frames per connection: 1 (a `resources/updated` subscriber) or 2 (the
    /// `list_changed` pair).
    #[arg(long, default_value_t = 1)]
    frames: usize,
    /// Skip the reference run (the stand-in's own ceiling: 0 ms latency, 1 consumer).
    #[arg(long)]
    no_reference: bool,
}

fn interest(frames: usize) -> Interest {
    Interest {
        initialized: true,
        list_changed: frames >= 2,
        subscriptions: if frames >= 2 {
            Default::default()
        } else {
            [PromptId::parse("p1").unwrap()].into()
        },
        ..Default::default()
    }
}

fn change(position: u64) -> ChangeEvent {
    serde_json::from_value(
        serde_json::json!({"position": position, "id": "p1", "version": 2,
        "kind": "updated", "tags": [], "actor": "bench", "timestamp": "2026-01-01T00:00:00.000Z"}),
    )
    .unwrap()
}

struct Run {
    clients: Arc<AwsClients>,
    settings: AwsSettings,
    boot: Bootstrapped,
}

impl Run {
    fn app(&self, args: &Args, standin: &StandIn, consumers: usize) -> LambdaApp {
        let pusher = Arc::new(ApiGatewayPusher::new(&self.clients, &standin.url));
        let limits = LambdaLimits {
            fanout: FanoutSettings {
                post: PostSettings {
                    concurrency: args.concurrency,
                    ..PostSettings::default()
                },
                budget: args.budget as f64,
                consumers,
                shard_size: args.shard_size,
                shard_queue_url: Some(self.boot.shard_queue_url.clone()),
            },
            ..Default::default()
        };
        LambdaApp::on_aws(
            &self.clients,
            &self.settings,
            pusher,
            EngineConfig::default(),
            limits,
        )
        .0
    }
}

/// What k consumers did until `expected` connections were posted.
struct Drained {
    invocations: usize,
    /// Sum over invocations of frames / handling time.
    rates: Vec<f64>,
}

/// k consumers, each with its own app, fed by its own poller (batch size 1,
/// as the stack configures the shard function) until `expected` connections
/// were posted or the deadline passes. The poller receives the next shard
/// while the consumer posts, and deletes a handled one in the background:
/// Lambda's SQS event source polls and deletes outside the function, so its
/// round trips are not part of an invocation's time.
async fn drain(run: &Run, apps: Vec<LambdaApp>, expected: usize, deadline: Instant) -> Drained {
    let posted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let results = futures_util::future::join_all(apps.into_iter().map(|app| {
        let (posted, sqs, url) = (
            posted.clone(),
            run.clients.sqs().clone(),
            run.boot.shard_queue_url.clone(),
        );
        async move {
            let (next, mut shards) = tokio::sync::mpsc::channel::<SqsMessage>(1);
            let done = tokio_util::sync::CancellationToken::new();
            let poller = tokio::spawn({
                let (sqs, url, done) = (sqs.clone(), url.clone(), done.clone());
                async move {
                    // A receive is never cut short: moto would still take a
                    // message for the dropped request and hide it for the
                    // visibility timeout. What arrives after the end (or finds
                    // the consumer gone) is made visible again.
                    while !done.is_cancelled() && Instant::now() < deadline {
                        let received = sqs
                            .receive_message()
                            .queue_url(&url)
                            .max_number_of_messages(1)
                            .wait_time_seconds(1)
                            .send()
                            .await;
                        let Ok(out) = received else { continue };
                        for m in out.messages() {
                            let mut record = SqsMessage::default();
                            record.message_id = m.message_id().map(str::to_string);
                            record.body = m.body().map(str::to_string);
                            record.receipt_handle = m.receipt_handle().map(str::to_string);
                            if done.is_cancelled() || next.send(record).await.is_err() {
                                release(&sqs, &url, m.receipt_handle()).await;
                            }
                        }
                    }
                }
            });
            let mut rates = Vec::new();
            let mut deletes = Vec::new();
            while posted.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
                // Short waits: another consumer may post the last shard.
                let record =
                    match tokio::time::timeout(Duration::from_millis(50), shards.recv()).await {
                        Ok(Some(record)) => record,
                        Ok(None) => break,
                        Err(_) => continue,
                    };
                let receipt = record.receipt_handle.clone().unwrap_or_default();
                let mut event = SqsEvent::default();
                event.records = vec![record];
                let started = Instant::now();
                let (_, stats) = shard::handle_with_stats(&app, event).await;
                rates.push(stats.frames as f64 / started.elapsed().as_secs_f64());
                posted.fetch_add(stats.connections, Ordering::Relaxed);
                let (sqs, url) = (sqs.clone(), url.clone());
                deletes.push(tokio::spawn(async move {
                    let _ = sqs
                        .delete_message()
                        .queue_url(&url)
                        .receipt_handle(receipt)
                        .send()
                        .await;
                }));
            }
            done.cancel();
            shards.close();
            while let Some(unhandled) = shards.recv().await {
                release(&sqs, &url, unhandled.receipt_handle.as_deref()).await;
            }
            let _ = poller.await;
            for d in deletes {
                let _ = d.await;
            }
            rates
        }
    }))
    .await;
    let rates: Vec<f64> = results.into_iter().flatten().collect();
    Drained {
        invocations: rates.len(),
        rates,
    }
}

/// Makes a received shard visible again at once (it was not handled).
async fn release(
    sqs: &mcp_prompts::adapters::aws::sdk::aws_sdk_sqs::Client,
    url: &str,
    receipt: Option<&str>,
) {
    let _ = sqs
        .change_message_visibility()
        .queue_url(url)
        .receipt_handle(receipt.unwrap_or_default())
        .visibility_timeout(0)
        .send()
        .await;
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn report(label: &str, n: usize, k: usize, standin: &StandIn, took: Duration, mut d: Drained) {
    let frames: usize = standin.delivered().values().map(Vec::len).sum();
    println!(
        "| {label} | {n} | {k} | {frames} | {} | {:.0} | {:.2} s | {:.0} |",
        d.invocations,
        median(&mut d.rates),
        took.as_secs_f64(),
        frames as f64 / took.as_secs_f64(),
    );
}

/// Shards of `n` connections straight onto the shard queue, drained by k consumers.
async fn shards_run(run: &Run, args: &Args, n: usize, k: usize, latency: Duration) {
    let standin = StandIn::start(Behaviour {
        latency,
        ..Default::default()
    })
    .await;
    let apps: Vec<LambdaApp> = (0..k).map(|_| run.app(args, &standin, k)).collect();
    let interest = interest(args.frames);
    let mut builder = ShardBuilder::new(&[change(1)], 0, args.shard_size);
    let mut bodies: Vec<String> = (0..n)
        .filter_map(|i| builder.push(&ShardTarget::new(format!("conn{i:07}"), &interest)))
        .collect();
    bodies.extend(builder.finish());
    let started = Instant::now();
    let queue = apps[0].shards.clone().unwrap();
    let (sent, drained) = tokio::join!(
        queue.send_all(bodies),
        drain(run, apps, n, started + Duration::from_secs(300))
    );
    sent.expect("send the shards");
    let last = Duration::from_millis(standin.record().last_delivered_ms.load(Ordering::Relaxed))
        .saturating_sub(Duration::from_millis(standin.now_ms()) - started.elapsed());
    let label = format!("shards, {} ms", latency.as_millis());
    report(&label, n, k, &standin, last, drained);
}

/// N listeners in moto's topic index, one change through the change consumer.
async fn plan_run(run: &Run, args: &Args, n: usize, k: usize) {
    let standin = StandIn::start(Behaviour {
        latency: Duration::from_millis(args.latency_ms),
        ..Default::default()
    })
    .await;
    let apps: Vec<LambdaApp> = (0..k).map(|_| run.app(args, &standin, k)).collect();
    let seeding = Instant::now();
    let interest = interest(args.frames);
    let expires = unix_now() + 3600;
    let store = &apps[0].host.connections;
    futures_util::stream::iter(0..n)
        .map(|i| {
            let interest = &interest;
            async move {
                store
                    .set_interest(&format!("plan{i:07}"), interest, expires)
                    .await
                    .expect("seed a listener")
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    eprintln!(
        "seeded {n} listeners in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let body = serde_json::to_string(&change(2)).unwrap();
    let mut record = SqsMessage::default();
    record.message_id = Some("change".into());
    record.body = Some(body);
    let mut event = SqsEvent::default();
    event.records = vec![record];
    let started = Instant::now();
    let planner = run.app(args, &standin, k);
    let (planned, drained) = tokio::join!(
        async {
            let (_, stats) = fanout::handle_with_stats(&planner, event).await;
            eprintln!(
                "planned {} connections into {} shards in {:.2} s",
                stats.connections,
                stats.shards,
                started.elapsed().as_secs_f64()
            );
            stats
        },
        drain(run, apps, n, started + Duration::from_secs(300))
    );
    let last = Duration::from_millis(standin.record().last_delivered_ms.load(Ordering::Relaxed))
        .saturating_sub(Duration::from_millis(standin.now_ms()) - started.elapsed());
    assert_eq!(planned.connections, n);
    report(
        &format!("plan + shards, {} ms", args.latency_ms),
        n,
        k,
        &standin,
        last,
        drained,
    );
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let moto = Moto::start();
    let clients = moto.clients().await;
    let settings = moto.settings();
    let boot = bootstrap::run(&clients, &settings)
        .await
        .expect("bootstrap");
    let run = Run {
        clients,
        settings,
        boot,
    };
    println!(
        "shard size {}, {} posts in flight per consumer, budget {}, {} frame(s) per connection",
        args.shard_size,
        args.concurrency,
        if args.budget == 0 {
            "unpaced".to_string()
        } else {
            format!("{}/s", args.budget)
        },
        args.frames
    );
    println!();
    println!(
        "| run | N | k | frames posted | shard invocations | median posts/s per invocation | commit → last post | posts/s overall |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let latency = Duration::from_millis(args.latency_ms);
    if !args.no_reference {
        shards_run(&run, &args, 10_000, 1, Duration::ZERO).await;
    }
    for &n in &args.connections {
        for &k in &args.consumers {
            shards_run(&run, &args, n, k, latency).await;
        }
    }
    if args.plan_connections > 0 {
        let k = *args.consumers.last().unwrap_or(&1);
        plan_run(&run, &args, args.plan_connections, k).await;
    }
    drop(moto);
}
