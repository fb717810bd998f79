#![cfg(feature = "aws")]
//! The `s3sync` Lambda handler against moto: S3's object-created and
//! object-removed notifications (S3's event format, in SQS messages) sync that
//! key of the catalog prefix into the DynamoDB catalog; other buckets and keys
//! outside the prefix are ignored, a broken file is skipped without a retry,
//! and a message that is not an S3 event is reported for redelivery.

mod aws_support;

use std::sync::Arc;

use aws_support::Moto;
use mcp_prompts::adapters::aws::ApiGatewayPusher;
use mcp_prompts::adapters::aws::catalog_files::{CatalogFiles, S3Location};
use mcp_prompts::adapters::aws::sdk::aws_lambda_events::sqs::SqsEvent;
use mcp_prompts::adapters::aws::sdk::aws_sdk_s3::primitives::ByteStream;
use mcp_prompts::domain::PromptId;
use mcp_prompts::edges::lambda::{LambdaApp, LambdaLimits, s3sync};
use mcp_prompts::engine::EngineConfig;
use serde_json::json;

const BUCKET: &str = "catalog-files";

/// An SQS batch whose messages carry S3 notifications (event name, bucket, key).
fn sqs(records: &[(&str, &str, &str)]) -> SqsEvent {
    let messages: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(i, (event, bucket, key))| {
            let s3 = json!({"Records": [{
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-12-03T07:00:00.000Z", "eventName": event,
                "userIdentity": {"principalId": "AWS:X"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {}, "s3": {"s3SchemaVersion": "1.0", "configurationId": "catalog",
                    "bucket": {"name": bucket, "ownerIdentity": {"principalId": "X"}, "arn": format!("arn:aws:s3:::{bucket}")},
                    "object": {"key": key, "size": 100, "eTag": "e", "sequencer": "00"}}}]});
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
    let id = |s: &str| PromptId::parse(s).unwrap();

    let response = s3sync::handle(
        &app,
        &files,
        &source,
        sqs(&[
            ("ObjectCreated:Put", BUCKET, "prompts/dev/from-s3.json"),
            ("ObjectCreated:Put", BUCKET, "prompts/dev/broken.json"),
            ("ObjectCreated:Put", BUCKET, "elsewhere/other.json"),
            ("ObjectCreated:Put", "another-bucket", "prompts/dev/x.json"),
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
        sqs(&[("ObjectCreated:Put", BUCKET, "prompts/dev/from-s3.json")]),
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
        sqs(&[("ObjectRemoved:Delete", BUCKET, "prompts/dev/from-s3.json")]),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    assert!(
        app.engine.catalog.get(&id("from-s3")).await.is_err(),
        "a removed file deletes its prompt"
    );

    let mut garbage = sqs(&[("ObjectCreated:Put", BUCKET, "prompts/dev/from-s3.json")]);
    garbage.records[0].body = Some("not an S3 event".into());
    let response = s3sync::handle(&app, &files, &source, garbage).await;
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "redelivered, then parked in the DLQ"
    );
}
