#![cfg(feature = "aws")]
//! Signed webhooks to catalog subscribers on the AWS column, against moto.
//! End to end on `serve --backend aws` with a receiver on 127.0.0.1:
//! registered over REST, prompts written over REST and MCP reach it in log
//! order with a verifiable HMAC-SHA256 signature and a stable delivery id; a
//! receiver that fails gets the change after a retry (the failure shown in
//! the status); a change whose delivery was pending when the gateway got a
//! kill -9 is delivered by the restarted one; the MCP tools list and remove.
//! In-process: the DynamoDB subscriber store (items, delivery state, cursor
//! removal, no resurrection) and a delivery pass that waits out its
//! persisted backoff.

mod aws_support;
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_support::{Gateway, Moto};
use common::http::request;
use common::receiver::{Receiver, SECRET, Shared, start_receiver, until_within, verify};
use common::ws::WsClient;
use mcp_prompts::adapters::aws::sdk::aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use mcp_prompts::adapters::aws::subscribers::DeliveryState;
use mcp_prompts::adapters::aws::{ApiGatewayPusher, DynamoPromptStore, DynamoSubscriberStore};
use mcp_prompts::edges::lambda::{LambdaApp, LambdaLimits, fanout};
use mcp_prompts::edges::subscribers::aws::attach;
use mcp_prompts::engine::EngineConfig;
use mcp_prompts::engine::session::CatalogFilter;
use mcp_prompts::ports::{
    ChangeCursor, Subscriber, SubscriberStore, Subscriptions, subscriber_cursor,
};
use serde_json::{Value, json};

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn write(gw: &Gateway, method: &str, path: &str, body: Value) {
    let r = request(&gw.http_url, method, path, &[JSON], Some(&body.to_string()));
    assert!(r.status < 300, "{method} {path}: {r:?}\n{}", gw.output());
}

/// Waits (bounded) until `done` holds for the receiver.
async fn until(r: &Shared, what: &str, gw: Option<&Gateway>, done: impl Fn(&Receiver) -> bool) {
    let context = || gw.map(Gateway::output).unwrap_or_default();
    until_within(r, what, Duration::from_secs(40), context, done).await
}

/// The deliveries queue URL `aws bootstrap` printed.
fn webhook_queue(bootstrap: &str) -> String {
    bootstrap
        .lines()
        .find_map(|l| l.strip_prefix("webhooks "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("bootstrap prints the webhook queue")
        .to_string()
}

/// (id, version, kind) of each acknowledged delivery.
fn seen(r: &Receiver) -> Vec<(String, u64, String)> {
    r.got
        .iter()
        .map(|(_, _, b)| {
            let b: Value = serde_json::from_str(b).unwrap();
            (
                b["id"].as_str().unwrap().to_string(),
                b["version"].as_u64().unwrap(),
                b["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_a_subscriber_on_aws_signed_in_order_after_retries_and_kill_9() {
    let (url, receiver) = start_receiver(false).await;
    let moto = Moto::start();
    let queue = webhook_queue(&moto.bootstrap_with(&["--no-seed"]));
    let args = [
        "--no-seed",
        "--webhook-queue-url",
        queue.as_str(),
        "--subscriber-allow-private",
    ];
    let gw = Gateway::start(&moto, &args);

    // Bad input changes nothing and names the field.
    let bad = request(
        &gw.http_url,
        "POST",
        "/subscriptions",
        &[JSON],
        Some(&json!({"url": url, "secret": "short"}).to_string()),
    );
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(bad.body.contains("secret"), "{bad:?}");

    let r = request(
        &gw.http_url,
        "POST",
        "/subscriptions",
        &[JSON],
        Some(&json!({"url": url, "secret": SECRET, "category": "hooks"}).to_string()),
    );
    assert_eq!(r.status, 201, "{r:?}\n{}", gw.output());
    let sub = r.json();
    assert!(sub.get("secret").is_none(), "never shown back: {sub}");
    let id = sub["id"].as_str().unwrap().to_string();
    let list = request(&gw.http_url, "GET", "/subscriptions", &[], None).json();
    assert_eq!(list["subscriptions"].as_array().unwrap().len(), 1, "{list}");

    // REST and MCP writes; one outside the filter.
    write(
        &gw,
        "POST",
        "/prompts",
        json!({"id": "hooked", "name": "Hooked", "content": "v1", "category": "hooks"}),
    );
    write(
        &gw,
        "POST",
        "/prompts",
        json!({"id": "elsewhere", "name": "Other", "content": "x", "category": "other"}),
    );
    let mut ws = WsClient::initialized(&gw.ws_url, json!({})).await.0;
    let updated = ws
        .call_tool(
            "update_prompt",
            json!({"id": "hooked", "content": "v2", "expectedVersion": 1}),
        )
        .await;
    assert_eq!(updated["isError"], false, "{updated}");
    until(&receiver, "two deliveries", Some(&gw), |r| r.got.len() >= 2).await;
    {
        let r = receiver.lock().unwrap();
        assert_eq!(
            seen(&r),
            [
                ("hooked".into(), 1, "created".into()),
                ("hooked".into(), 2, "updated".into())
            ],
            "in order, filter applied"
        );
        for (delivery, signature, body) in &r.got {
            verify(signature, body);
            let b: Value = serde_json::from_str(body).unwrap();
            assert_eq!(delivery, &format!("{id}:{}", b["position"]));
            assert_eq!(b["uri"], "prompt://hooked");
        }
    }

    // The receiver fails: the change is retried with backoff, the failure shown...
    receiver.lock().unwrap().failing = true;
    write(&gw, "PUT", "/prompts/hooked", json!({"content": "v3"}));
    until(&receiver, "two failed attempts", Some(&gw), |r| {
        r.attempts >= 4
    })
    .await;
    let status = request(
        &gw.http_url,
        "GET",
        &format!("/subscriptions/{id}"),
        &[],
        None,
    )
    .json();
    assert!(status["failedAttempts"].as_u64().unwrap() >= 1, "{status}");
    assert!(
        status["lastError"].as_str().unwrap().contains("503"),
        "{status}"
    );
    // ... and delivered once it answers again.
    receiver.lock().unwrap().failing = false;
    until(&receiver, "the retried delivery", Some(&gw), |r| {
        r.got.len() >= 3
    })
    .await;
    assert_eq!(
        seen(&receiver.lock().unwrap())[2],
        ("hooked".into(), 3, "updated".into())
    );
    // The status is cleared just after the acknowledged POST.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = request(
            &gw.http_url,
            "GET",
            &format!("/subscriptions/{id}"),
            &[],
            None,
        )
        .json();
        if status["failedAttempts"] == 0 && status.get("lastError").is_none() {
            assert!(status["delivered"].as_u64().unwrap() >= 4, "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the failure stays shown: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A change committed while its delivery fails; then kill -9, the receiver
    // comes back, and a new gateway delivers it.
    receiver.lock().unwrap().failing = true;
    let before = receiver.lock().unwrap().attempts;
    let v4 = ws
        .call_tool(
            "update_prompt",
            json!({"id": "hooked", "content": "v4", "expectedVersion": 3}),
        )
        .await;
    assert_eq!(v4["isError"], false, "{v4}");
    until(&receiver, "a failed attempt at v4", Some(&gw), |r| {
        r.attempts > before
    })
    .await;
    drop(ws);
    drop(gw); // SIGKILL: no chance to clean up.
    receiver.lock().unwrap().failing = false;
    assert_eq!(
        receiver.lock().unwrap().got.len(),
        3,
        "v4 not delivered yet"
    );
    let gw = Gateway::start(&moto, &args);
    until(
        &receiver,
        "the delivery after the restart",
        Some(&gw),
        |r| r.got.len() >= 4,
    )
    .await;
    {
        let r = receiver.lock().unwrap();
        assert_eq!(seen(&r)[3], ("hooked".into(), 4, "updated".into()));
        let (_, signature, body) = &r.got[3];
        verify(signature, body);
    }

    // The MCP tools on the restarted gateway: list, then remove.
    let mut ws = WsClient::initialized(&gw.ws_url, json!({})).await.0;
    let listed = ws.call_tool("list_webhooks", json!({})).await;
    let subs = &listed["structuredContent"]["subscriptions"];
    assert_eq!(subs[0]["id"], id.as_str(), "{listed}");
    assert!(subs[0]["delivered"].as_u64().unwrap() >= 5, "{listed}");
    assert!(subs[0].get("secret").is_none(), "{listed}");
    let removed = ws.call_tool("unsubscribe_webhook", json!({"id": id})).await;
    assert_eq!(removed["structuredContent"]["removed"], true, "{removed}");
    let again = ws.call_tool("unsubscribe_webhook", json!({"id": id})).await;
    assert_eq!(again["isError"], true, "{again}");
    write(&gw, "PUT", "/prompts/hooked", json!({"content": "v5"}));
    tokio::time::sleep(Duration::from_millis(4000)).await;
    assert_eq!(
        receiver.lock().unwrap().got.len(),
        4,
        "nothing after removal"
    );
    let list = request(&gw.http_url, "GET", "/subscriptions", &[], None).json();
    assert_eq!(list["subscriptions"], json!([]));

    // subscribe_webhook over MCP registers too (tag filter).
    let made = ws
        .call_tool(
            "subscribe_webhook",
            json!({"url": url, "secret": SECRET, "tag": "t"}),
        )
        .await;
    assert_eq!(made["isError"], false, "{made}");
    ws.call_tool(
        "create_prompt",
        json!({"id": "tagged", "name": "T", "content": "x", "tags": ["t"]}),
    )
    .await;
    until(&receiver, "the tagged change", Some(&gw), |r| {
        r.got.len() == 5
    })
    .await;
    assert_eq!(seen(&receiver.lock().unwrap())[4].0, "tagged");
}

/// The nudges on the deliveries queue within a few seconds (taken off it).
async fn nudges(clients: &mcp_prompts::adapters::aws::AwsClients, queue: &str) -> Vec<String> {
    let out = clients
        .sqs()
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    let mut why = Vec::new();
    for m in out.messages() {
        let body: Value = serde_json::from_str(m.body().unwrap()).unwrap();
        why.push(body["nudge"].as_str().unwrap().to_string());
        clients
            .sqs()
            .delete_message()
            .queue_url(queue)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    why
}

fn subscriber(id: &str, created_at: &str) -> Subscriber {
    Subscriber {
        id: id.into(),
        url: "https://hooks.example.com/x?token=t".into(),
        secret: SECRET.into(),
        filter: CatalogFilter {
            category: Some("c".into()),
            tag: None,
        },
        created_at: created_at.into(),
        start_after: 7,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_subscriber_store_and_a_pass_that_waits_out_its_backoff() {
    let moto = Moto::start();
    let queue = webhook_queue(&moto.bootstrap_with(&["--no-seed"]));
    let clients = moto.clients().await;
    let table = "mcp-prompts-prompts".to_string();
    let store = DynamoSubscriberStore::new(clients.clone(), table.clone());

    let (a, b) = (
        subscriber("a", "2026-12-04T10:00:01Z"),
        subscriber("b", "2026-12-04T10:00:00Z"),
    );
    store.add_subscriber(&a).await.unwrap();
    store.add_subscriber(&b).await.unwrap();
    assert!(
        store.add_subscriber(&a).await.is_err(),
        "an id is never overwritten"
    );
    let all = store.subscribers().await.unwrap();
    assert_eq!(
        all,
        vec![b.clone(), a.clone()],
        "registration order, every field back"
    );

    let failing = DeliveryState {
        failed_attempts: 3,
        last_error: Some("POST https://hooks.example.com/x?redacted: HTTP 503".into()),
        next_attempt_ms: Some(1_234),
    };
    assert!(store.record_failure("a", &failing).await.unwrap());
    let states = store.with_states().await.unwrap();
    assert_eq!(states[1], (a.clone(), failing.clone()));
    assert_eq!(states[0].1, DeliveryState::default());
    assert!(store.clear_failure("a").await.unwrap());
    assert_eq!(
        store.with_states().await.unwrap()[1].1,
        DeliveryState::default()
    );

    // Removing one drops its cursor; a late failure note does not bring it back.
    let prompts = DynamoPromptStore::new(
        clients.clone(),
        &moto.settings(),
        Arc::new(mcp_prompts::ports::SystemClock),
    );
    prompts.save(&subscriber_cursor("a"), 9).await.unwrap();
    assert!(store.remove_subscriber("a").await.unwrap());
    assert!(!store.remove_subscriber("a").await.unwrap());
    assert_eq!(prompts.load(&subscriber_cursor("a")).await.unwrap(), None);
    assert!(!store.record_failure("a", &failing).await.unwrap());
    assert!(!store.clear_failure("a").await.unwrap());
    assert_eq!(store.subscribers().await.unwrap(), vec![b.clone()]);
    assert!(store.remove_subscriber("b").await.unwrap());

    // A pass on the app: a failure persists its backoff, the next pass waits
    // it out without a POST, the one after delivers.
    let (url, receiver) = start_receiver(false).await;
    let limits = LambdaLimits {
        webhook_queue_url: Some(queue.clone()),
        ..LambdaLimits::default()
    };
    let pusher = Arc::new(ApiGatewayPusher::new(&clients, "http://127.0.0.1:9"));
    let (app, prompts) = LambdaApp::on_aws(
        &clients,
        &moto.settings(),
        pusher,
        EngineConfig::default(),
        limits,
    );
    let hooks = attach(&app, &prompts, true).expect("a deliveries queue turns them on");
    let made = hooks
        .register(&url, SECRET, CatalogFilter::default())
        .await
        .unwrap();
    receiver.lock().unwrap().failing = true;
    let (_, change) = app
        .engine
        .catalog
        .create(
            serde_json::from_value(json!({"id": "p", "name": "P", "content": "x"})).unwrap(),
            "test",
        )
        .await
        .unwrap();
    // The fan-out consumer nudges the deliveries once for its batch.
    let mut record = SqsMessage::default();
    record.message_id = Some("m1".into());
    record.body = Some(serde_json::to_string(&change).unwrap());
    let mut batch = SqsEvent::default();
    batch.records = vec![record];
    let answer = fanout::handle(&app, batch).await;
    assert!(answer.batch_item_failures.is_empty());
    assert_eq!(
        nudges(&clients, &queue).await,
        ["changes"],
        "one nudge per batch"
    );

    let first = hooks.pass().await.unwrap();
    assert_eq!((first.delivered, first.failed), (0, 1), "{first:?}");
    let wait = first.retry_in.expect("a retry is due");
    assert!(
        wait >= Duration::from_millis(900) && wait <= Duration::from_millis(2100),
        "{wait:?}"
    );
    let (_, state) = hooks.store().with_states().await.unwrap().remove(0);
    assert_eq!(state.failed_attempts, 1);
    assert!(state.last_error.unwrap().contains("503"));
    assert!(state.next_attempt_ms.is_some());
    receiver.lock().unwrap().failing = false;
    let early = hooks.pass().await.unwrap();
    assert_eq!(early.delivered, 0, "waits out its backoff: {early:?}");
    assert_eq!(receiver.lock().unwrap().attempts, 1, "no POST meanwhile");
    // The handler, in the same state, nudges itself for the retry (delayed).
    let answer = hooks.handle(&app, SqsEvent::default(), true).await;
    assert!(answer.batch_item_failures.is_empty());
    assert_eq!(receiver.lock().unwrap().attempts, 1, "still waiting");
    assert_eq!(nudges(&clients, &queue).await, ["retry"]);
    tokio::time::sleep(wait).await;
    let late = hooks.pass().await.unwrap();
    assert_eq!(
        (late.delivered, late.failed, late.retry_in),
        (1, 0, None),
        "{late:?}"
    );
    let listed = hooks.list().await.unwrap();
    assert_eq!(listed[0].subscriber.id, made.id);
    assert_eq!(
        (listed[0].failed_attempts, listed[0].last_error.clone()),
        (0, None)
    );
    assert!(listed[0].delivered > made.start_after);
    let again = hooks.pass().await.unwrap();
    assert_eq!(again.delivered, 0, "nothing twice: {again:?}");
    assert_eq!(receiver.lock().unwrap().got.len(), 1);
}
