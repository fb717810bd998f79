#![cfg(feature = "aws")]
//! The DynamoDB/S3 prompt store against a local moto server, in-process: it
//! mirrors the embedded store's semantics (versions, latest pointer, labels,
//! deletes that keep history, a gapless change log), stays consistent under
//! concurrent writers, and keeps large templates in S3.

mod aws_support;

use mcp_prompts::adapters::aws::sdk::aws_sdk_dynamodb;
use std::sync::Arc;

use aws_support::Moto;
use mcp_prompts::adapters::aws::{AwsClients, AwsSettings, DynamoPromptStore, bootstrap};
use mcp_prompts::domain::{Label, PromptDraft, PromptId, PromptPatch};
use mcp_prompts::engine::{Catalog, CatalogError};
use mcp_prompts::ports::{ListQuery, PromptStore, SearchQuery, StoreError, SystemClock};

async fn setup(moto: &Moto) -> (Arc<AwsClients>, AwsSettings) {
    let clients = moto.clients().await;
    let settings = moto.settings();
    bootstrap::run(&clients, &settings)
        .await
        .expect("bootstrap");
    (clients, settings)
}

fn store(clients: &Arc<AwsClients>, settings: &AwsSettings) -> Arc<DynamoPromptStore> {
    Arc::new(DynamoPromptStore::new(
        clients.clone(),
        settings,
        Arc::new(SystemClock),
    ))
}

fn draft(v: serde_json::Value) -> PromptDraft {
    serde_json::from_value(v).unwrap()
}

fn id(s: &str) -> PromptId {
    PromptId::parse(s).unwrap()
}

#[tokio::test]
async fn versions_labels_deletes_and_the_change_log_behave_like_the_embedded_store() {
    let moto = Moto::start();
    let (clients, settings) = setup(&moto).await;
    let store = store(&clients, &settings);
    let catalog = Catalog::new(store.clone(), Arc::new(SystemClock));

    let (p1, c1) = catalog
        .create(
            draft(
                serde_json::json!({"name": "Greeting", "content": "Hi {{who}}",
            "category": "Social", "tags": ["hello", "Warm"]}),
            ),
            "t",
        )
        .await
        .unwrap();
    assert_eq!((p1.version, c1.position), (1, 1));
    assert!(matches!(
        catalog
            .create(
                draft(serde_json::json!({"name": "Greeting", "content": "x"})),
                "t"
            )
            .await,
        Err(CatalogError::Store(StoreError::AlreadyExists(_)))
    ));
    let patch = PromptPatch {
        content: Some("Hello {{who}}".into()),
        ..Default::default()
    };
    let (p2, c2) = catalog
        .update(&p1.id, patch.clone(), Some(1), "t")
        .await
        .unwrap();
    assert_eq!((p2.version, c2.position), (2, 2));
    let stale = catalog
        .update(&p1.id, patch, Some(1), "t")
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            CatalogError::Store(StoreError::Conflict {
                expected: 1,
                current: 2,
                ..
            })
        ),
        "{stale}"
    );
    // The store itself refuses a stale expected version (the condition expression).
    let mut racing = p2.clone();
    racing.version = 3;
    assert!(matches!(
        store.update(&racing, 1, &pending()).await,
        Err(StoreError::Conflict { current: 2, .. })
    ));

    let label = Label::parse("production").unwrap();
    catalog.set_label(&p1.id, &label, 1, "t").await.unwrap();
    assert_eq!(
        store.labels(&p1.id).await.unwrap().get("production"),
        Some(&1)
    );
    assert!(matches!(
        catalog.set_label(&p1.id, &label, 9, "t").await,
        Err(CatalogError::Store(StoreError::NoSuchVersion {
            version: 9,
            ..
        }))
    ));

    // Listing by category (case-insensitive), tag, prefix; search.
    catalog
        .create(
            draft(
                serde_json::json!({"name": "Grocery List", "content": "eggs", "category": "home"}),
            ),
            "t",
        )
        .await
        .unwrap();
    let by_cat = store
        .list(&ListQuery {
            category: Some("social".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_cat.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["greeting"]
    );
    let by_tag = store
        .list(&ListQuery {
            tag: Some("warm".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_tag.len(), 1);
    let by_prefix = store
        .list(&ListQuery {
            id_prefix: Some("gr".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_prefix.len(), 2);
    let page = store
        .list(&ListQuery {
            after: Some(id("greeting")),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["grocery-list"]
    );
    let found = store
        .search(&SearchQuery {
            text: "hello".into(),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found[0].id.as_str(), "greeting");

    // Delete keeps history; re-creating continues the version numbers.
    let deleted = catalog.delete(&p1.id, Some(2), "t").await.unwrap();
    assert_eq!(deleted.version, 2);
    assert!(store.get(&p1.id).await.unwrap().is_none());
    assert_eq!(store.history(&p1.id).await.unwrap().len(), 2);
    assert_eq!(store.count_live().await.unwrap(), 1);
    let (again, _) = catalog
        .create(
            draft(serde_json::json!({"name": "Greeting", "content": "Back"})),
            "t",
        )
        .await
        .unwrap();
    assert_eq!(again.version, 3);

    let log = store.changes_since(0, 100).await.unwrap();
    let positions: Vec<u64> = log.iter().map(|c| c.position).collect();
    assert_eq!(
        positions,
        (1..=positions.len() as u64).collect::<Vec<_>>(),
        "gapless"
    );
    assert_eq!(store.head_position().await.unwrap(), positions.len() as u64);
    assert_eq!(store.changes_since(5, 100).await.unwrap()[0].position, 6);
}

fn pending() -> mcp_prompts::domain::PendingChange {
    mcp_prompts::domain::PendingChange {
        kind: mcp_prompts::domain::ChangeKind::Updated,
        actor: "t".into(),
        label: None,
    }
}

#[tokio::test]
async fn concurrent_writers_get_distinct_consecutive_positions() {
    let moto = Moto::start();
    let (clients, settings) = setup(&moto).await;
    let catalog = Arc::new(Catalog::new(
        store(&clients, &settings),
        Arc::new(SystemClock),
    ));
    let writers = (0..6).map(|i| {
        let catalog = catalog.clone();
        tokio::spawn(async move {
            let d = draft(serde_json::json!({"name": format!("Racer {i}"), "content": "go"}));
            catalog.create(d, "t").await.map(|(_, c)| c.position)
        })
    });
    let mut positions = Vec::new();
    for w in writers {
        positions.push(w.await.unwrap().expect("write succeeds despite contention"));
    }
    positions.sort();
    assert_eq!(positions, (1..=6).collect::<Vec<u64>>());
}

#[tokio::test]
async fn a_template_over_the_threshold_round_trips_through_s3() {
    let moto = Moto::start();
    let (clients, mut settings) = setup(&moto).await;
    settings.large_template_bytes = 1024;
    let store = store(&clients, &settings);
    let catalog = Catalog::new(store.clone(), Arc::new(SystemClock));
    let big = format!("{} {{{{topic}}}}", "lorem ipsum ".repeat(20_000));
    let (p, _) = catalog
        .create(
            draft(serde_json::json!({"name": "Big One", "content": big})),
            "t",
        )
        .await
        .unwrap();
    let objects = clients
        .s3()
        .list_objects_v2()
        .bucket(&settings.bucket)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = objects.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["templates/big-one/v1.hbs"]);
    let item = clients
        .dynamodb()
        .get_item()
        .table_name(&settings.prompts_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("P#big-one".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("LATEST".into()),
        )
        .send()
        .await
        .unwrap();
    let body = item.item().unwrap()["body"].as_s().unwrap();
    assert!(
        body.len() < 2048,
        "the item holds a pointer, not the template ({} bytes)",
        body.len()
    );
    let back = store.get(&p.id).await.unwrap().unwrap();
    assert_eq!(back.content, big);
    let rendered = catalog
        .render(
            &p.id,
            &mcp_prompts::engine::Selector::Latest,
            &serde_json::from_value(serde_json::json!({"topic": "S3"})).unwrap(),
        )
        .await
        .unwrap();
    assert!(rendered.text.ends_with(" S3"));
    assert_eq!(store.history(&p.id).await.unwrap()[0].content, big);
}

/// The bounded history: pruned oldest first to the count and age bounds, never
/// past a change the outbox has yet to publish, and `oldest_position` (what a
/// resume is judged by) moves with it.
#[tokio::test]
async fn the_history_is_pruned_to_its_bounds_but_never_past_an_unpublished_change() {
    use mcp_prompts::adapters::aws::HistoryBounds;
    use std::time::Duration;

    let moto = Moto::start();
    let (clients, settings) = setup(&moto).await;
    let store = store(&clients, &settings);
    let catalog = Catalog::new(store.clone(), Arc::new(SystemClock));
    // A writer whose SendMessage fails: its change stays in the outbox.
    let stuck = Catalog::new(
        self::store(
            &clients,
            &AwsSettings {
                queue_url: Some(format!("{}/123456789012/no-such-queue", moto.url)),
                ..settings.clone()
            },
        ),
        Arc::new(SystemClock),
    );
    let edit = |n: usize| PromptPatch {
        description: Some(format!("edit {n}")),
        ..Default::default()
    };
    let (p, _) = catalog
        .create(
            draft(serde_json::json!({"name": "Pruned", "content": "x"})),
            "t",
        )
        .await
        .unwrap();
    for n in 2..=6 {
        catalog.update(&p.id, edit(n), None, "t").await.unwrap();
    }
    stuck.update(&p.id, edit(7), None, "t").await.unwrap();
    for n in 8..=10 {
        catalog.update(&p.id, edit(n), None, "t").await.unwrap();
    }
    let positions = |changes: Vec<mcp_prompts::domain::ChangeEvent>| -> Vec<u64> {
        changes.iter().map(|c| c.position).collect()
    };
    assert_eq!(
        store.oldest_position().await.unwrap(),
        1,
        "nothing pruned yet"
    );
    let week = Duration::from_secs(7 * 24 * 3600);
    let keep_two = HistoryBounds {
        max_changes: 2,
        max_age: week,
    };
    assert_eq!(store.prune_history(keep_two).await.unwrap(), 6);
    assert_eq!(
        store.oldest_position().await.unwrap(),
        7,
        "stops at the unpublished change"
    );
    assert_eq!(
        positions(store.changes_since(0, 100).await.unwrap()),
        vec![7, 8, 9, 10]
    );
    assert_eq!(
        store.prune_history(keep_two).await.unwrap(),
        0,
        "idempotent"
    );

    // Once the sweeper has published it, pruning goes on to the count bound.
    let sweeper = self::store(
        &clients,
        &AwsSettings {
            outbox_grace: Duration::ZERO,
            ..settings.clone()
        },
    );
    assert_eq!(sweeper.outbox.sweep().await.unwrap(), 1);
    assert_eq!(store.prune_history(keep_two).await.unwrap(), 2);
    assert_eq!(store.oldest_position().await.unwrap(), 9);
    assert_eq!(
        positions(store.changes_since(0, 100).await.unwrap()),
        vec![9, 10]
    );
    assert_eq!(positions(store.changes_since(8, 1).await.unwrap()), vec![9]);

    // The age bound can empty the history; the floor then sits past the head.
    let no_age = HistoryBounds {
        max_changes: 100,
        max_age: Duration::ZERO,
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(store.prune_history(no_age).await.unwrap(), 2);
    assert_eq!(store.oldest_position().await.unwrap(), 11);
    assert_eq!(store.head_position().await.unwrap(), 10);
    assert!(store.changes_since(0, 100).await.unwrap().is_empty());
}
