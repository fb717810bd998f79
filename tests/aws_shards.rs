//! The sharded fan-out against moto (DynamoDB topic index, SQS change and
//! shard queues with their redrive policy) and a real `@connections` stand-in
//! on 127.0.0.1 (`aws_support/standin.rs`): the change consumer pages the
//! index into shards, this test plays Lambda's SQS event source for the shard
//! queue (receive, hand the batch to the shard handler, delete what succeeded,
//! make failures visible again), and the stand-in tells who got what.
#![cfg(feature = "aws")]

mod aws_support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_support::Moto;
use aws_support::standin::{Behaviour, StandIn};
use futures_util::StreamExt;
use mcp_prompts::adapters::aws::bootstrap::{self, Bootstrapped};
use mcp_prompts::adapters::aws::sdk::aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use mcp_prompts::adapters::aws::sdk::aws_sdk_sqs;
use mcp_prompts::adapters::aws::sdk::aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, QueueAttributeName,
};
use mcp_prompts::adapters::aws::{ApiGatewayPusher, AwsClients, unix_now};
use mcp_prompts::domain::PromptId;
use mcp_prompts::edges::aws_gateway::sqs::sqs_event;
use mcp_prompts::edges::lambda::emf::Emf;
use mcp_prompts::edges::lambda::{FanoutSettings, LambdaApp, LambdaLimits, fanout, shard};
use mcp_prompts::engine::EngineConfig;
use mcp_prompts::engine::host::PostSettings;
use mcp_prompts::engine::session::{CatalogFilter, Interest};
use mcp_prompts::ports::PushOutcome;
use serde_json::{Value, json};

/// A change queue (or shard queue) drained for at most this long.
const DRAIN: Duration = Duration::from_secs(60);

struct Hub {
    _moto: Moto,
    clients: Arc<AwsClients>,
    boot: Bootstrapped,
    app: LambdaApp,
    standin: StandIn,
}

fn quick_retries() -> PostSettings {
    PostSettings {
        concurrency: 64,
        attempts: 3,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
    }
}

async fn hub(sharded: bool, fanout: FanoutSettings, behaviour: Behaviour) -> Hub {
    let moto = Moto::start();
    let clients = moto.clients().await;
    let boot = bootstrap::run(&clients, &moto.settings()).await.unwrap();
    let standin = StandIn::start(behaviour).await;
    let pusher = Arc::new(ApiGatewayPusher::new(&clients, &standin.url));
    let limits = LambdaLimits {
        fanout: FanoutSettings {
            shard_queue_url: sharded.then(|| boot.shard_queue_url.clone()),
            ..fanout
        },
        ..Default::default()
    };
    let (app, _) = LambdaApp::on_aws(
        &clients,
        &moto.settings(),
        pusher,
        EngineConfig::default(),
        limits,
    );
    Hub {
        _moto: moto,
        clients,
        boot,
        app,
        standin,
    }
}

fn list_listener() -> Interest {
    Interest {
        initialized: true,
        list_changed: true,
        ..Default::default()
    }
}

fn subscriber(prompt: &str) -> Interest {
    Interest {
        initialized: true,
        subscriptions: [PromptId::parse(prompt).unwrap()].into(),
        ..Default::default()
    }
}

fn everything(prompt: &str) -> Interest {
    Interest {
        catalog_events: Some(CatalogFilter::default()),
        list_changed: true,
        ..subscriber(prompt)
    }
}

async fn listen(app: &LambdaApp, who: &[(String, Interest)]) {
    let expires = unix_now() + 3600;
    futures_util::stream::iter(who)
        .map(|(id, interest)| async move {
            app.host
                .connections
                .set_interest(id, interest, expires)
                .await
                .unwrap()
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

fn change(position: u64, id: &str, tags: Vec<String>) -> Value {
    json!({"position": position, "id": id, "version": position + 1, "kind": "updated",
        "tags": tags, "actor": "t", "timestamp": "2026-01-01T00:00:00.000Z"})
}

fn change_event(changes: &[Value]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut m = SqsMessage::default();
            m.message_id = Some(format!("change-{i}"));
            m.body = Some(c.to_string());
            m
        })
        .collect();
    event
}

/// The methods each connection was posted, in order.
fn methods(standin: &StandIn) -> HashMap<String, Vec<String>> {
    standin
        .delivered()
        .into_iter()
        .map(|(id, frames)| {
            let methods = frames
                .iter()
                .map(|f| {
                    let v: Value = serde_json::from_slice(f).unwrap();
                    v["method"].as_str().unwrap().to_string()
                })
                .collect();
            (id, methods)
        })
        .collect()
}

async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes().cloned().unwrap_or_default();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    ]
    .iter()
    .filter_map(|k| attrs.get(k)?.parse::<u64>().ok())
    .sum()
}

/// Lambda's SQS event source for the shard queue, until it is empty.
async fn drain_shards(hub: &Hub) -> shard::ShardStats {
    let sqs = hub.clients.sqs();
    let url = &hub.boot.shard_queue_url;
    let mut total = shard::ShardStats::default();
    let deadline = Instant::now() + DRAIN;
    loop {
        assert!(Instant::now() < deadline, "the shard queue did not drain");
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = out.messages().to_vec();
        if messages.is_empty() {
            if queue_depth(sqs, url).await == 0 {
                return total;
            }
            continue;
        }
        let (response, stats) = shard::handle_with_stats(&hub.app, sqs_event(&messages, url)).await;
        total.shards += stats.shards;
        total.connections += stats.connections;
        total.frames += stats.frames;
        total.retried += stats.retried;
        total.throttled += stats.throttled;
        let failed: HashSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let mut done = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let handle = m.receipt_handle().unwrap();
            if failed.contains(m.message_id().unwrap()) {
                sqs.change_message_visibility()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            } else {
                done.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .unwrap(),
                );
            }
        }
        if !done.is_empty() {
            sqs.delete_message_batch()
                .queue_url(url)
                .set_entries(Some(done))
                .send()
                .await
                .unwrap();
        }
    }
}

/// Every message body waiting in a queue.
async fn bodies(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut found = Vec::new();
    for _ in 0..5 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if out.messages().is_empty() {
            break;
        }
        found.extend(
            out.messages()
                .iter()
                .filter_map(|m| m.body().map(str::to_string)),
        );
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_cover_every_listener_exactly_once_while_connections_come_and_go() {
    let settings = FanoutSettings {
        post: quick_retries(),
        budget: 0.0,
        shard_size: 40,
        ..Default::default()
    };
    let hub = hub(true, settings, Behaviour::default()).await;
    // Three kinds of listener over three topics, many on more than one.
    let mut stable = Vec::new();
    for i in 0..300 {
        let interest = match i % 3 {
            0 => list_listener(),
            1 => subscriber("p1"),
            _ => everything("p1"),
        };
        stable.push((format!("stable{i:03}"), interest));
    }
    let leaving: Vec<_> = (0..60)
        .map(|i| (format!("leaving{i:02}"), everything("p1")))
        .collect();
    listen(&hub.app, &stable).await;
    listen(&hub.app, &leaving).await;
    let arriving: Vec<_> = (0..60)
        .map(|i| (format!("arriving{i:02}"), everything("p1")))
        .collect();
    // Connections come and go while the index is paged into shards.
    let churn = async {
        for ((gone, _), new) in leaving.iter().zip(&arriving) {
            hub.app.host.connections.delete(gone).await.unwrap();
            listen(&hub.app, std::slice::from_ref(new)).await;
        }
    };
    let event = change_event(&[change(1, "p1", vec![])]);
    let ((response, planned), ()) = tokio::join!(fanout::handle_with_stats(&hub.app, event), churn);
    assert!(response.batch_item_failures.is_empty());
    assert!(planned.shards >= 300 / 40, "{planned:?}");
    let posted = drain_shards(&hub).await;
    assert_eq!(posted.shards, planned.shards);
    let got = methods(&hub.standin);
    let expected = |interest: &Interest| -> Vec<&str> {
        let mut m = Vec::new();
        if interest.list_changed {
            m.extend([
                "notifications/prompts/list_changed",
                "notifications/resources/list_changed",
            ]);
        }
        if !interest.subscriptions.is_empty() {
            m.push("notifications/resources/updated");
        }
        if interest.catalog_events.is_some() {
            m.push("notifications/catalog/changed");
        }
        m
    };
    for (id, interest) in &stable {
        assert_eq!(
            got.get(id)
                .map(|v| v.iter().map(String::as_str).collect::<Vec<_>>()),
            Some(expected(interest)),
            "{id} hears the change exactly once"
        );
    }
    // Those that came or went meanwhile hear it once or not at all, never twice.
    for (id, interest) in leaving.iter().chain(&arriving) {
        if let Some(m) = got.get(id) {
            assert_eq!(m, &expected(interest), "{id}");
        }
    }
    assert_eq!(
        got.len(),
        planned.connections,
        "every planned connection was posted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_connection_is_retried_alone_and_its_shard_parked_in_the_dlq() {
    let settings = FanoutSettings {
        post: quick_retries(),
        budget: 0.0,
        shard_size: 25,
        ..Default::default()
    };
    let behaviour = Behaviour {
        failing: ["bad07".to_string()].into(),
        gone: ["gone03".to_string()].into(),
        ..Default::default()
    };
    let hub = hub(true, settings, behaviour).await;
    let mut who: Vec<_> = (0..60)
        .map(|i| (format!("ok{i:02}"), list_listener()))
        .collect();
    who.push(("bad07".into(), list_listener()));
    who.push(("gone03".into(), list_listener()));
    listen(&hub.app, &who).await;
    // A poison record next to the good shards: it fails alone.
    let sqs = hub.clients.sqs();
    sqs.send_message()
        .queue_url(&hub.boot.shard_queue_url)
        .message_body("not a shard")
        .send()
        .await
        .unwrap();
    let (response, planned) =
        fanout::handle_with_stats(&hub.app, change_event(&[change(5, "p1", vec![])])).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(planned.connections, 62);
    let posted = drain_shards(&hub).await;
    let got = methods(&hub.standin);
    for i in 0..60 {
        assert_eq!(
            got[&format!("ok{i:02}")].len(),
            2,
            "ok{i:02}: the pair, once"
        );
    }
    assert!(!got.contains_key("bad07"));
    assert!(posted.retried >= 1, "{posted:?}");
    let parked = bodies(sqs, &hub.boot.shard_dead_letter_queue_url).await;
    assert_eq!(
        parked.len(),
        2,
        "the poison record and the failing shard: {parked:?}"
    );
    assert!(parked.contains(&"not a shard".to_string()));
    let failing: Value =
        serde_json::from_str(parked.iter().find(|b| b.starts_with('{')).unwrap()).unwrap();
    let targets: Vec<&str> = failing["to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["c"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        vec!["bad07"],
        "the parked shard holds only the failing connection"
    );
    assert!(
        hub.app
            .host
            .connections
            .get("gone03", unix_now())
            .await
            .unwrap()
            .is_none()
            && hub
                .app
                .host
                .connections
                .listeners(&[mcp_prompts::ports::Topic::ListChanged], unix_now())
                .await
                .unwrap()
                .iter()
                .all(|(id, _)| id != "gone03"),
        "a gone connection is forgotten"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_endpoint_loses_nothing_and_stays_within_the_budget() {
    let budget = 150.0;
    let settings = FanoutSettings {
        post: quick_retries(),
        budget,
        consumers: 1,
        shard_size: 50,
        ..Default::default()
    };
    // The endpoint allows less than the budget (an account throttle below
    // the setting): the 429s must slow the fan-out down, and lose nothing.
    let behaviour = Behaviour {
        throttle_above: 100,
        ..Default::default()
    };
    let mut hub = hub(true, settings, behaviour).await;
    let (emf, lines) = Emf::buffer();
    hub.app.emf = emf;
    let who: Vec<_> = (0..120)
        .map(|i| (format!("c{i:03}"), list_listener()))
        .collect();
    listen(&hub.app, &who).await;
    let (_, planned) =
        fanout::handle_with_stats(&hub.app, change_event(&[change(2, "p1", vec![])])).await;
    assert_eq!(planned.connections, 120);
    let posted = drain_shards(&hub).await;
    let got = methods(&hub.standin);
    for (id, _) in &who {
        assert_eq!(
            got.get(id).map(Vec::len),
            Some(2),
            "{id}: the pair exactly once, whatever was throttled"
        );
    }
    let record = hub.standin.record();
    let throttled = record.throttled.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        throttled > 0 && posted.throttled as u64 == throttled,
        "{posted:?}"
    );
    assert!(hub.app.poster.pace.cuts() > 0, "429s slowed the pace down");
    // The EMF lines say the same: one per invocation, summed per handler.
    let text = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
    let docs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sum = |handler: &str, metric: &str| -> f64 {
        docs.iter()
            .filter(|d| d["Handler"] == handler)
            .map(|d| d[metric].as_f64().unwrap_or(0.0))
            .sum()
    };
    let of = |handler: &str| docs.iter().filter(|d| d["Handler"] == handler).count();
    assert_eq!(of("fanout"), 1, "{text}");
    assert_eq!(
        sum("fanout", "FanoutConnections"),
        120.0,
        "paged into shards: {text}"
    );
    assert_eq!(sum("fanout", "FanoutPosts"), 0.0, "the shards post: {text}");
    assert_eq!(sum("shard", "Requests"), posted.shards as f64, "{text}");
    assert_eq!(sum("shard", "Errors"), 0.0, "{text}");
    assert_eq!(sum("shard", "FanoutConnections"), 120.0, "{text}");
    assert_eq!(
        sum("shard", "FanoutPosts"),
        240.0,
        "the pair to each: {text}"
    );
    assert_eq!(sum("shard", "PostThrottled"), throttled as f64, "{text}");
    assert!(
        docs.iter()
            .filter(|d| d["Handler"] == "shard")
            .all(|d| d["FanoutLagMs"].as_f64().is_some_and(|ms| ms >= 0.0)),
        "{text}"
    );
    // Posts (throttled ones too) in any second stay within the budget; a
    // slower machine only lowers this.
    let peak = hub.standin.peak_posts(Duration::from_secs(1));
    assert!(
        peak as f64 <= budget * 1.1 + 2.0,
        "{peak} posts in one second over a budget of {budget}/s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_a_failing_connection_fails_nobody_else_and_frames_fit_api_gateway() {
    let settings = FanoutSettings {
        post: quick_retries(),
        budget: 0.0,
        ..Default::default()
    };
    let behaviour = Behaviour {
        failing: ["bad".to_string()].into(),
        ..Default::default()
    };
    let hub = hub(false, settings, behaviour).await;
    let mut who: Vec<_> = (0..20)
        .map(|i| (format!("ok{i:02}"), everything("big")))
        .collect();
    who.push(("bad".into(), list_listener()));
    listen(&hub.app, &who).await;
    // A catalog event over 32 KB (a huge tag list) next to a normal one.
    let tags: Vec<String> = (0..4000).map(|i| format!("tag-{i}")).collect();
    let event = change_event(&[change(3, "big", tags), change(4, "small", vec![])]);
    let (response, stats) = fanout::handle_with_stats(&hub.app, event).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "one failing connection does not redeliver the change to the others"
    );
    assert_eq!((stats.connections, stats.failed), (20, 1), "{stats:?}");
    let delivered = hub.standin.delivered();
    for i in 0..20 {
        let frames = &delivered[&format!("ok{i:02}")];
        assert!(frames.iter().all(|f| f.len() <= 32 * 1024));
        let methods: Vec<Value> = frames
            .iter()
            .map(|f| serde_json::from_slice::<Value>(f).unwrap())
            .map(|v| json!([v["method"], v["params"]["_meta"]["position"]]))
            .collect();
        assert_eq!(
            methods,
            vec![
                json!(["notifications/prompts/list_changed", 4]),
                json!(["notifications/resources/list_changed", 4]),
                json!(["notifications/resources/updated", 3]),
                json!(["notifications/resources/updated", 3]),
                json!(["notifications/catalog/changed", 4]),
            ],
            "the oversized event became a fetch hint (resources/updated of its prompt)"
        );
    }
    // A message over 128 KB never leaves the hub.
    let posts_before = hub
        .standin
        .record()
        .posts
        .load(std::sync::atomic::Ordering::Relaxed);
    let huge = bytes::Bytes::from(vec![b' '; 128 * 1024 + 1]);
    let outcome = hub.app.pusher.push("ok00", huge).await;
    assert!(matches!(outcome, PushOutcome::Failed(_)), "{outcome:?}");
    assert_eq!(
        hub.standin
            .record()
            .posts
            .load(std::sync::atomic::Ordering::Relaxed),
        posts_before
    );
}
