#![cfg(feature = "aws")]
//! The DynamoDB store's batch write path (imports) against moto: groups of
//! prompts in one `TransactWriteItems` each with one head move, the same
//! refusals as the single writes and the embedded batch, a gapless change log
//! next to concurrent single writers, every change published, and large
//! templates in S3.

mod aws_support;

use std::sync::Arc;

use aws_support::Moto;
use mcp_prompts::adapters::aws::outbox::pending_count;
use mcp_prompts::adapters::aws::{AwsClients, AwsSettings, DynamoPromptStore, bootstrap};
use mcp_prompts::domain::{ChangeKind, PromptDraft, PromptId};
use mcp_prompts::engine::Catalog;
use mcp_prompts::engine::import::{BatchWrite, BatchWriter};
use mcp_prompts::ports::{PromptStore, StoreError, SystemClock};

async fn setup(moto: &Moto) -> (Arc<AwsClients>, AwsSettings, Arc<DynamoPromptStore>) {
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
    (clients, settings, store)
}

fn id(s: &str) -> PromptId {
    PromptId::parse(s).unwrap()
}

fn item(name: &str, content: &str, expected: Option<u64>) -> BatchWrite {
    let prompt = PromptDraft {
        id: Some(name.into()),
        name: name.into(),
        content: content.into(),
        ..Default::default()
    }
    .into_prompt(0, "", "")
    .unwrap();
    let includes = prompt.template_facts().partials;
    BatchWrite::new(prompt, expected, includes, "import:test")
}

fn transactions(clients: &AwsClients) -> u64 {
    clients
        .calls
        .snapshot()
        .get("DynamoDB.TransactWriteItems")
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_batch_is_written_in_groups_with_exact_refusals_and_a_gapless_published_log() {
    let moto = Moto::start();
    let (clients, settings, store) = setup(&moto).await;
    let catalog = Catalog::new(store.clone(), Arc::new(SystemClock));
    for name in ["base", "old"] {
        catalog
            .create(
                serde_json::from_value(
                    serde_json::json!({"id": name, "name": name, "content": name}),
                )
                .unwrap(),
                "seed",
            )
            .await
            .unwrap();
    }
    catalog.delete(&id("old"), Some(1), "seed").await.unwrap();
    let before = store.head_position().await.unwrap();
    assert_eq!(before, 3);

    let mut batch: Vec<BatchWrite> = (0..70)
        .map(|i| {
            let content = match i % 5 {
                0 => format!("p{i} {{{{> base}}}}"),
                1 if i > 1 => format!("p{i} {{{{> p00}}}}"),
                _ => format!("p{i}"),
            };
            item(&format!("p{i:02}"), &content, None)
        })
        .collect();
    batch.push(item("base", "again", None)); // 70: live already
    batch.push(item("base", "base v2", Some(1))); // 71: an update
    batch.push(item("ghost", "x", Some(1))); // 72: nothing to update
    batch.push(item("p00", "stale", Some(5))); // 73: p00 is at 1
    batch.push(item("old", "back", None)); // 74: recreated after its delete
    batch.push(item("q", "{{> nowhere}}", None)); // 75: a missing include
    batch.push(item("r", "{{> s}}", None)); // 76: includes a later prompt
    batch.push(item("s", "s", None)); // 77
    let count = batch.len();
    clients.calls.reset();
    let results = store.write_batch(batch).await.expect("the batch");
    assert_eq!(results.len(), count);

    for (i, r) in results.iter().enumerate().take(70) {
        let event = r.as_ref().unwrap_or_else(|e| panic!("p{i:02}: {e}"));
        assert_eq!((event.version, event.kind), (1, ChangeKind::Created));
    }
    assert!(matches!(&results[70], Err(StoreError::AlreadyExists(p)) if p.as_str() == "base"));
    assert_eq!(results[71].as_ref().unwrap().version, 2);
    assert!(matches!(&results[72], Err(StoreError::NotFound(p)) if p.as_str() == "ghost"));
    assert!(
        matches!(&results[73], Err(StoreError::Conflict { id, expected: 5, current: 1 }) if id.as_str() == "p00"),
        "{:?}",
        results[73]
    );
    assert_eq!(results[74].as_ref().unwrap().version, 2);
    assert!(matches!(&results[75], Err(StoreError::NotFound(p)) if p.as_str() == "nowhere"));
    assert!(matches!(&results[76], Err(StoreError::NotFound(p)) if p.as_str() == "s"));
    assert_eq!(results[77].as_ref().unwrap().version, 1);

    // 73 written in groups of at most 32 (a repeated id starts a new group):
    // a handful of transactions, not one per prompt.
    let written: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(written.len(), 73);
    let calls = transactions(&clients);
    assert!(
        (3..=6).contains(&calls),
        "{calls} TransactWriteItems for 73 prompts"
    );

    // The log: consecutive positions after the seed, in batch order, each the
    // stored version; the head moved by exactly the written count.
    let head = store.head_position().await.unwrap();
    assert_eq!(head, before + 73);
    let log = store.changes_since(before, 500).await.unwrap();
    let positions: Vec<u64> = log.iter().map(|c| c.position).collect();
    assert_eq!(positions, (before + 1..=head).collect::<Vec<_>>());
    for (change, event) in log.iter().zip(&written) {
        assert_eq!((&change.id, change.version), (&event.id, event.version));
        assert_eq!(change.actor, "import:test");
        let stored = store.get_version(&change.id, change.version).await.unwrap();
        assert!(
            stored.is_some(),
            "{} v{} is stored",
            change.id,
            change.version
        );
    }
    // Refused prompts changed nothing.
    assert_eq!(
        store.get(&id("base")).await.unwrap().unwrap().content,
        "base v2"
    );
    assert!(store.get(&id("ghost")).await.unwrap().is_none());
    assert!(store.get(&id("q")).await.unwrap().is_none());
    assert_eq!(store.history(&id("p00")).await.unwrap().len(), 1);
    assert_eq!(
        store.get(&id("old")).await.unwrap().unwrap().content,
        "back"
    );
    assert_eq!(store.count_live().await.unwrap(), 73);

    // Every change was published (the outbox is empty) and reached the queue.
    assert_eq!(
        pending_count(&clients, &settings.prompts_table)
            .await
            .unwrap(),
        0
    );
    let url = store.outbox.queue_url().await.unwrap();
    let mut queued = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let out = clients
            .sqs()
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if out.messages().is_empty() && queued.len() >= head as usize {
            break;
        }
        for m in out.messages() {
            let event: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            queued.insert(event["position"].as_u64().unwrap());
        }
    }
    assert_eq!(queued, (1..=head).collect());
}

#[tokio::test]
async fn a_batch_and_single_writers_at_once_keep_one_gapless_log() {
    let moto = Moto::start();
    let (_clients, _settings, store) = setup(&moto).await;
    let catalog = Arc::new(Catalog::new(store.clone(), Arc::new(SystemClock)));
    let batch: Vec<BatchWrite> = (0..64)
        .map(|i| item(&format!("b{i:02}"), "batch", None))
        .collect();
    let singles = (0..2).map(|w| {
        let catalog = catalog.clone();
        tokio::spawn(async move {
            let mut accepted = Vec::new();
            for i in 0..8 {
                let name = format!("w{w}-{i}");
                let draft = serde_json::from_value(
                    serde_json::json!({"id": name, "name": name, "content": "single"}),
                )
                .unwrap();
                match catalog.create(draft, "single").await {
                    Ok((p, change)) => accepted.push((p.id, change.position)),
                    Err(e) => assert!(e.to_string().contains("write contention"), "{e}"),
                }
            }
            accepted
        })
    });
    let (results, singles) = tokio::join!(
        store.write_batch(batch),
        futures_util::future::join_all(singles)
    );
    let results = results.expect("the batch");
    let mut accepted: Vec<(PromptId, u64)> = singles.into_iter().flat_map(|s| s.unwrap()).collect();
    for r in &results {
        match r {
            Ok(event) => accepted.push((event.id.clone(), event.position)),
            Err(e) => assert!(e.to_string().contains("write contention"), "{e}"),
        }
    }
    assert!(
        results.iter().filter(|r| r.is_ok()).count() >= 32,
        "the batch got most of its groups in"
    );
    accepted.sort_by_key(|(_, p)| *p);
    let head = store.head_position().await.unwrap();
    assert_eq!(
        head,
        accepted.len() as u64,
        "one position per accepted write"
    );
    let log = store.changes_since(0, 500).await.unwrap();
    let logged: Vec<(PromptId, u64)> = log.iter().map(|c| (c.id.clone(), c.position)).collect();
    assert_eq!(
        logged, accepted,
        "every accepted write once, at its own position, no gaps"
    );
    assert_eq!(store.count_live().await.unwrap(), head);
}

#[tokio::test]
async fn a_large_template_in_a_batch_goes_to_s3_and_reads_back_whole() {
    let moto = Moto::start();
    let (clients, settings, store) = setup(&moto).await;
    let large = "x".repeat(settings.large_template_bytes + 1000);
    let results = store
        .write_batch(vec![item("large", &large, None), item("small", "s", None)])
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    let read = store.get(&id("large")).await.unwrap().unwrap();
    assert_eq!(read.content.len(), large.len());
    let objects = clients
        .s3()
        .list_objects_v2()
        .bucket(&settings.bucket)
        .prefix("templates/large/")
        .send()
        .await
        .unwrap();
    assert_eq!(objects.contents().len(), 1, "the template is one S3 object");
}
