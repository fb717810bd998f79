#![cfg(feature = "aws")]
//! The GitHub webhook on the Lambda `http` handler, against moto: a signed
//! push is answered 202 and becomes a message on the catalog events queue
//! (nothing syncs in the background of a frozen Lambda); `s3sync` then reads
//! each pushed path from the catalog's S3 prefix (present: imported, gone: its
//! prompt deleted). A replayed delivery id is refused through DynamoDB, and a
//! wrong or missing signature is 401 with nothing queued.

mod aws_support;

use std::sync::Arc;

use aws_support::Moto;
use hmac::{Hmac, KeyInit, Mac};
use mcp_prompts::adapters::aws::ApiGatewayPusher;
use mcp_prompts::adapters::aws::catalog_files::{CatalogFiles, S3Location};
use mcp_prompts::adapters::aws::sdk::aws_lambda_events::sqs::SqsEvent;
use mcp_prompts::adapters::aws::sdk::aws_sdk_s3::primitives::ByteStream;
use mcp_prompts::adapters::aws::sync_order::SyncOrder;
use mcp_prompts::domain::{PromptDraft, PromptId};
use mcp_prompts::edges::aws_gateway::health::Dependencies;
use mcp_prompts::edges::lambda::{LambdaApp, LambdaLimits, s3sync};
use mcp_prompts::edges::lambda_rest;
use mcp_prompts::engine::EngineConfig;
use serde_json::{Value, json};
use sha2::Sha256;
use tower::ServiceExt;

const BUCKET: &str = "catalog-repo";
const SECRET: &str = "hook-secret";

fn signature(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A payload 2.0 `POST /webhooks/github` event.
fn delivery(id: &str, body: &str, signature: Option<String>) -> String {
    let mut headers = json!({
        "host": "abc.execute-api.eu-west-1.amazonaws.com",
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": id,
    });
    if let Some(sig) = signature {
        headers["x-hub-signature-256"] = json!(sig);
    }
    json!({"version": "2.0", "routeKey": "$default", "rawPath": "/webhooks/github", "rawQueryString": "",
           "headers": headers, "body": body, "isBase64Encoded": false,
           "requestContext": {"accountId": "123456789012", "apiId": "abc",
               "domainName": "abc.execute-api.eu-west-1.amazonaws.com", "domainPrefix": "abc",
               "requestId": "r1", "routeKey": "$default", "stage": "$default",
               "time": "03/Dec/2026:07:00:00 +0000", "timeEpoch": 0,
               "http": {"method": "POST", "path": "/webhooks/github", "protocol": "HTTP/1.1",
                        "sourceIp": "140.82.112.1", "userAgent": "GitHub-Hookshot/1"}}})
    .to_string()
}

async fn call(router: &lambda_rest::Service, event: String) -> (u16, Value) {
    let request = lambda_http::request::from_str(&event).expect("an HTTP API event");
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_signed_push_on_lambda_is_queued_and_synced_by_s3sync() {
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
    let queue_url = clients
        .sqs()
        .create_queue()
        .queue_name("catalog-events")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    clients
        .s3()
        .put_object()
        .bucket(BUCKET)
        .key("catalog/dev/hooked.md")
        .body(ByteStream::from(
            b"---\nname: Hooked\n---\nReview {{code}}\n".to_vec(),
        ))
        .send()
        .await
        .unwrap();
    let pusher = Arc::new(ApiGatewayPusher::new(&clients, "http://127.0.0.1:9"));
    let (app, store) = LambdaApp::on_aws(
        &clients,
        &moto.settings(),
        pusher,
        EngineConfig::default(),
        LambdaLimits::default(),
    );
    let app = Arc::new(app);
    let id = |s: &str| PromptId::parse(s).unwrap();
    // A prompt whose file the push removes.
    let draft: PromptDraft = serde_json::from_value(
        json!({"id": "gone", "name": "Gone", "content": "x", "category": "dev"}),
    )
    .unwrap();
    app.engine.catalog.create(draft, "test").await.unwrap();

    let webhook = lambda_rest::aws_webhook(&store, SECRET, "repo/catalog", queue_url.clone());
    let router = lambda_rest::service(app.clone(), Arc::new(Dependencies { store }), Some(webhook));
    let push = json!({"ref": "refs/heads/main", "commits": [
        {"added": ["repo/catalog/dev/hooked.md"], "modified": [], "removed": ["repo/catalog/dev/gone.json"]},
        {"added": ["README.md", "repo/catalog/../secrets.json"], "modified": [], "removed": []}]})
    .to_string();

    let (status, body) = call(&router, delivery("d-1", &push, Some(signature("tampered")))).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = call(&router, delivery("d-1", &push, None)).await;
    assert_eq!(status, 401, "{body}");
    let receive = || async {
        clients
            .sqs()
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
    };
    assert!(
        receive().await.is_empty(),
        "a refused delivery queues nothing"
    );

    let (status, body) = call(&router, delivery("d-1", &push, Some(signature(&push)))).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["queued"], 3,
        "the catalog's paths (the one leaving it is queued and refused by s3sync): {body}"
    );
    let (status, body) = call(&router, delivery("d-1", &push, Some(signature(&push)))).await;
    assert_eq!(
        (status, body["duplicate"].clone()),
        (200, json!(true)),
        "a replay: {body}"
    );

    let messages = receive().await;
    assert_eq!(
        messages.len(),
        1,
        "one message for the push (the replay added none)"
    );
    let records: Vec<Value> = messages
        .iter()
        .map(|m| json!({"messageId": m.message_id(), "receiptHandle": "r", "body": m.body(),
                        "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:catalog-events", "awsRegion": "us-east-1"}))
        .collect();
    let event: SqsEvent = serde_json::from_value(json!({"Records": records})).unwrap();
    let files = CatalogFiles::new(clients.clone());
    let source = S3Location::parse(&format!("s3://{BUCKET}/catalog")).unwrap();
    let order = SyncOrder::new(clients.clone(), moto.settings().prompts_table);
    let response = s3sync::handle(&app, &files, &source, &order, event).await;
    assert!(response.batch_item_failures.is_empty());
    let hooked = app.engine.catalog.get(&id("hooked")).await.unwrap();
    assert_eq!(
        (hooked.category.as_deref(), hooked.content.as_str()),
        (Some("dev"), "Review {{code}}")
    );
    assert!(
        app.engine.catalog.get(&id("gone")).await.is_err(),
        "a removed file deletes its prompt"
    );
    assert!(
        app.engine.catalog.get(&id("secrets")).await.is_err(),
        "a path leaving the catalog is not read"
    );
}
