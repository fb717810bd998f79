#![cfg(feature = "aws")]
//! The `s3sync` Lambda handler against moto: S3's object-created and
//! object-removed notifications (S3's event format, in SQS messages) sync that
//! key of the catalog prefix into the DynamoDB catalog; other buckets and keys
//! outside the prefix are ignored, a broken file is skipped without a retry,
//! and a message that is not an S3 event is reported for redelivery. Events
//! are applied in `s3.object.sequencer` order per key: an older or repeated
//! one changes nothing (the last applied sequencer is kept in DynamoDB).

mod aws_support;

use std::sync::Arc;

use aws_support::Moto;
use mcp_prompts::adapters::aws::ApiGatewayPusher;
use mcp_prompts::adapters::aws::catalog_files::{CatalogFiles, S3Location};
use mcp_prompts::adapters::aws::sdk::aws_lambda_events::sqs::SqsEvent;
use mcp_prompts::adapters::aws::sdk::aws_sdk_dynamodb::types::AttributeValue;
use mcp_prompts::adapters::aws::sdk::aws_sdk_s3::primitives::ByteStream;
use mcp_prompts::adapters::aws::sync_order::SyncOrder;
use mcp_prompts::domain::PromptId;
use mcp_prompts::edges::lambda::{LambdaApp, LambdaLimits, s3sync};
use mcp_prompts::engine::EngineConfig;
use serde_json::json;

const BUCKET: &str = "catalog-files";

/// An SQS batch whose messages carry S3 notifications (event name, bucket,
/// key, sequencer).
fn sqs(records: &[(&str, &str, &str, &str)]) -> SqsEvent {
    let messages: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(i, (event, bucket, key, sequencer))| {
            let s3 = json!({"Records": [{
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-12-03T07:00:00.000Z", "eventName": event,
                "userIdentity": {"principalId": "AWS:X"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {}, "s3": {"s3SchemaVersion": "1.0", "configurationId": "catalog",
                    "bucket": {"name": bucket, "ownerIdentity": {"principalId": "X"}, "arn": format!("arn:aws:s3:::{bucket}")},
                    "object": {"key": key, "size": 100, "eTag": "e", "sequencer": sequencer}}}]});
            json!({"messageId": format!("m{i}"), "receiptHandle": "r", "body": s3.to_string(),
                   "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                   "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:catalog", "awsRegion": "us-east-1"})
        })
        .collect();
    serde_json::from_value(json!({"Records": messages})).unwrap()
}

#[tokio::test]
async fn s3_notifications_sync_the_catalog_files_they_name() {
    let moto = Moto::start();
    moto.bootstrap_with(&["--no-seed"]);
    let clients = moto.clients().await;
    clients
        .s3()
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let put = |key: &'static str, body: String| {
        let clients = clients.clone();
        async move {
            clients
                .s3()
                .put_object()
                .bucket(BUCKET)
                .key(key)
                .body(ByteStream::from(body.into_bytes()))
                .send()
                .await
                .unwrap();
        }
    };
    put(
        "prompts/dev/from-s3.json",
        json!({"id": "from-s3", "name": "From S3", "content": "Hi {{who}}"}).to_string(),
    )
    .await;
    put("prompts/dev/broken.json", "{ not json".to_string()).await;
    put(
        "elsewhere/other.json",
        json!({"id": "other", "content": "x"}).to_string(),
    )
    .await;

    let pusher = Arc::new(ApiGatewayPusher::new(&clients, "http://127.0.0.1:9"));
    let (app, _) = LambdaApp::on_aws(
        &clients,
        &moto.settings(),
        pusher,
        EngineConfig::default(),
        LambdaLimits::default(),
    );
    let files = CatalogFiles::new(clients.clone());
    let source = S3Location::parse(&format!("s3://{BUCKET}/prompts")).unwrap();
    let order = SyncOrder::new(clients.clone(), moto.settings().prompts_table);
    let id = |s: &str| PromptId::parse(s).unwrap();

    let response = s3sync::handle(
        &app,
        &files,
        &source,
        &order,
        sqs(&[
            (
                "ObjectCreated:Put",
                BUCKET,
                "prompts/dev/from-s3.json",
                "01",
            ),
            ("ObjectCreated:Put", BUCKET, "prompts/dev/broken.json", "01"),
            ("ObjectCreated:Put", BUCKET, "elsewhere/other.json", "01"),
            (
                "ObjectCreated:Put",
                "another-bucket",
                "prompts/dev/x.json",
                "01",
            ),
        ]),
    )
    .await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a broken file is not retried"
    );
    let created = app.engine.catalog.get(&id("from-s3")).await.unwrap();
    assert_eq!(
        (created.version, created.category.as_deref()),
        (1, Some("dev"))
    );
    assert!(
        app.engine.catalog.get(&id("other")).await.is_err(),
        "outside the prefix: ignored"
    );

    put(
        "prompts/dev/from-s3.json",
        json!({"id": "from-s3", "name": "From S3", "content": "Hello {{who}}"}).to_string(),
    )
    .await;
    s3sync::handle(
        &app,
        &files,
        &source,
        &order,
        sqs(&[(
            "ObjectCreated:Put",
            BUCKET,
            "prompts/dev/from-s3.json",
            "02",
        )]),
    )
    .await;
    let updated = app.engine.catalog.get(&id("from-s3")).await.unwrap();
    assert_eq!(
        (updated.version, updated.content.as_str()),
        (2, "Hello {{who}}")
    );

    let response = s3sync::handle(
        &app,
        &files,
        &source,
        &order,
        sqs(&[(
            "ObjectRemoved:Delete",
            BUCKET,
            "prompts/dev/from-s3.json",
            "03",
        )]),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    assert!(
        app.engine.catalog.get(&id("from-s3")).await.is_err(),
        "a removed file deletes its prompt"
    );

    let mut garbage = sqs(&[(
        "ObjectCreated:Put",
        BUCKET,
        "prompts/dev/from-s3.json",
        "04",
    )]);
    garbage.records[0].body = Some("not an S3 event".into());
    let response = s3sync::handle(&app, &files, &source, &order, garbage).await;
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "redelivered, then parked in the DLQ"
    );
}

/// S3 delivers at least once and in any order: per key, only an event newer
/// (by `s3.object.sequencer`) than the last applied one changes the catalog.
#[tokio::test]
async fn events_apply_in_sequencer_order_and_a_repeat_or_a_late_one_changes_nothing() {
    let moto = Moto::start();
    moto.bootstrap_with(&["--no-seed"]);
    let clients = moto.clients().await;
    clients
        .s3()
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    const KEY: &str = "prompts/dev/ordered.json";
    let put = |content: &'static str| {
        let clients = clients.clone();
        async move {
            let body = json!({"id": "ordered", "name": "Ordered", "content": content}).to_string();
            clients
                .s3()
                .put_object()
                .bucket(BUCKET)
                .key(KEY)
                .body(ByteStream::from(body.into_bytes()))
                .send()
                .await
                .unwrap();
        }
    };
    let pusher = Arc::new(ApiGatewayPusher::new(&clients, "http://127.0.0.1:9"));
    let (app, _) = LambdaApp::on_aws(
        &clients,
        &moto.settings(),
        pusher,
        EngineConfig::default(),
        LambdaLimits::default(),
    );
    let files = CatalogFiles::new(clients.clone());
    let source = S3Location::parse(&format!("s3://{BUCKET}/prompts")).unwrap();
    let table = moto.settings().prompts_table;
    let order = SyncOrder::new(clients.clone(), table.clone());
    let id = PromptId::parse("ordered").unwrap();
    let event = |name: &'static str, sequencer: &'static str| {
        let (app, files, source, order) = (&app, &files, &source, &order);
        async move {
            let response = s3sync::handle(
                app,
                files,
                source,
                order,
                sqs(&[(name, BUCKET, KEY, sequencer)]),
            )
            .await;
            assert!(
                response.batch_item_failures.is_empty(),
                "{name} {sequencer}: not a failure"
            );
        }
    };
    let latest = || async {
        app.engine
            .catalog
            .get(&id)
            .await
            .ok()
            .map(|p| (p.version, p.content.clone()))
    };
    let versions = || async { app.engine.catalog.history(&id).await.unwrap().0.len() };

    put("v1").await;
    event("ObjectCreated:Put", "0055AED6DCD90281E5").await;
    assert_eq!(latest().await, Some((1, "v1".to_string())));

    // A removal older than the applied creation arrives late: the prompt stays.
    event("ObjectRemoved:Delete", "0055AED6DCD90281E4").await;
    assert_eq!(
        latest().await,
        Some((1, "v1".to_string())),
        "a late removal deletes nothing"
    );

    // The creation again (and with other padding and case): a no-op, even
    // though the object has changed since (its own event comes later).
    put("v2").await;
    event("ObjectCreated:Put", "0055AED6DCD90281E5").await;
    event("ObjectCreated:Put", "55aed6dcd90281e5").await;
    assert_eq!(
        latest().await,
        Some((1, "v1".to_string())),
        "a repeat makes no version"
    );
    assert_eq!(versions().await, 1);

    event("ObjectCreated:Put", "0055AED6DCD90281E6").await;
    assert_eq!(
        latest().await,
        Some((2, "v2".to_string())),
        "the newer event applies"
    );

    // In order: the removal after the creation deletes it, history kept.
    clients
        .s3()
        .delete_object()
        .bucket(BUCKET)
        .key(KEY)
        .send()
        .await
        .unwrap();
    event("ObjectRemoved:Delete", "0055AED6DCD90281F0").await;
    assert_eq!(latest().await, None, "the removal deletes the prompt");
    assert_eq!(versions().await, 2, "its history is kept");
    // The creation before it, repeated after it: still deleted.
    event("ObjectCreated:Put", "0055AED6DCD90281E6").await;
    assert_eq!(latest().await, None);

    let stored = clients
        .dynamodb()
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("S3#{BUCKET}/{KEY}")))
        .key("sk", AttributeValue::S("SEQUENCER".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.item().unwrap()["sequencer"].as_s().unwrap(),
        &format!("{:0>64}", "55AED6DCD90281F0"),
        "the last applied sequencer, padded"
    );

    // A record without a valid sequencer fails its message, changing nothing.
    put("v3").await;
    for bad in ["", "not-hex"] {
        let response = s3sync::handle(
            &app,
            &files,
            &source,
            &order,
            sqs(&[("ObjectCreated:Put", BUCKET, KEY, bad)]),
        )
        .await;
        assert_eq!(response.batch_item_failures.len(), 1, "sequencer '{bad}'");
    }
    let mut missing = sqs(&[("ObjectCreated:Put", BUCKET, KEY, "FF")]);
    let mut body: serde_json::Value =
        serde_json::from_str(missing.records[0].body.as_deref().unwrap()).unwrap();
    body["Records"][0]["s3"]["object"]
        .as_object_mut()
        .unwrap()
        .remove("sequencer");
    missing.records[0].body = Some(body.to_string());
    let response = s3sync::handle(&app, &files, &source, &order, missing).await;
    assert_eq!(response.batch_item_failures.len(), 1, "no sequencer");
    assert_eq!(latest().await, None, "nothing was applied");
    assert_eq!(versions().await, 2);
}
