#![cfg(feature = "aws")]
//! The REST API as the Lambda `http` handler, against moto: API Gateway HTTP
//! API events (payload 2.0) through `lambda_http` into the same router the
//! local gateway serves, on the DynamoDB store: reads, conditional writes
//! (412 when stale), problem bodies, and the authorizer's caller (a reader
//! gets 403 for a write); the execute-api `Host` passes the origin guard;
//! `/openapi.json` is served there too; `/subscriptions` answers 501 without a
//! deliveries queue and works with one.

mod aws_support;

use std::sync::Arc;

use aws_support::Moto;
use mcp_prompts::adapters::aws::ApiGatewayPusher;
use mcp_prompts::edges::aws_gateway::health::Dependencies;
use mcp_prompts::edges::lambda::{ImportSettings, LambdaApp, LambdaLimits};
use mcp_prompts::edges::lambda_rest;
use mcp_prompts::engine::EngineConfig;
use serde_json::{Value, json};
use tower::ServiceExt;

/// An HTTP API payload 2.0 event, as API Gateway sends it to the function.
fn event(
    method: &str,
    path: &str,
    headers: Value,
    body: Option<&str>,
    authorizer: Option<Value>,
) -> String {
    let mut context = json!({
        "accountId": "123456789012", "apiId": "abc", "domainName": "abc.execute-api.eu-west-1.amazonaws.com",
        "domainPrefix": "abc", "requestId": "r1", "routeKey": "$default", "stage": "prod",
        "time": "03/Dec/2026:07:00:00 +0000", "timeEpoch": 0,
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "203.0.113.7", "userAgent": "test"}});
    if let Some(lambda) = authorizer {
        context["authorizer"] = json!({"lambda": lambda});
    }
    let mut headers = headers;
    headers["host"] = json!("abc.execute-api.eu-west-1.amazonaws.com");
    json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
           "headers": headers, "requestContext": context, "body": body, "isBase64Encoded": false})
    .to_string()
}

async fn call(router: &lambda_rest::Service, event: String) -> (u16, axum::http::HeaderMap, Value) {
    let request = lambda_http::request::from_str(&event).expect("an HTTP API event");
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

#[tokio::test]
async fn the_http_handler_serves_rest_on_dynamodb_with_the_authorizer_s_caller() {
    let moto = Moto::start();
    moto.bootstrap();
    let clients = moto.clients().await;
    let pusher = Arc::new(ApiGatewayPusher::new(&clients, "http://127.0.0.1:9"));
    let (app, store) = LambdaApp::on_aws(
        &clients,
        &moto.settings(),
        pusher,
        EngineConfig::default(),
        LambdaLimits::default(),
    );
    let router = lambda_rest::service(Arc::new(app), Arc::new(Dependencies { store }), None);
    let editor = Some(json!({"principal": "ci", "role": "editor"}));
    let reader = Some(json!({"principal": "dash", "role": "reader"}));

    let (status, headers, body) = call(
        &router,
        event(
            "GET",
            "/prompts/code-review",
            json!({}),
            None,
            reader.clone(),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], "code-review");
    let etag = headers["etag"].to_str().unwrap().to_string();

    let patch = r#"{"description": "via the http Lambda"}"#;
    let (status, _, body) = call(
        &router,
        event(
            "PUT",
            "/prompts/code-review",
            json!({"content-type": "application/json", "if-match": etag}),
            Some(patch),
            reader,
        ),
    )
    .await;
    assert_eq!(status, 403, "a reader may not write: {body}");

    let (status, headers, body) = call(
        &router,
        event(
            "PUT",
            "/prompts/code-review",
            json!({"content-type": "application/json", "if-match": etag}),
            Some(patch),
            editor.clone(),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["description"], "via the http Lambda");
    assert_ne!(headers["etag"].to_str().unwrap(), etag, "a new version");

    let (status, _, body) = call(
        &router,
        event(
            "PUT",
            "/prompts/code-review",
            json!({"content-type": "application/json", "if-match": etag}),
            Some(patch),
            editor.clone(),
        ),
    )
    .await;
    assert_eq!(status, 412, "the old ETag is stale: {body}");
    assert_eq!(body["status"], 412, "a problem body: {body}");

    let (status, _, body) = call(
        &router,
        event(
            "POST",
            "/prompts",
            json!({"content-type": "application/json"}),
            Some("{\"id\": 7}"),
            editor,
        ),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) =
        call(&router, event("GET", "/health/live", json!({}), None, None)).await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, _, _) = call(
        &router,
        event("GET", "/prod/health/live", json!({}), None, None),
    )
    .await;
    assert_eq!(status, 200, "a rawPath that names the stage works too");
    let (status, _, doc) = call(
        &router,
        event("GET", "/openapi.json", json!({}), None, None),
    )
    .await;
    assert_eq!(status, 200, "the same router serves its OpenAPI document");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/prompts/{id}"]["put"].is_object(), "{doc}");
}

/// `POST /imports` on the http Lambda, with an import queue: the job is
/// recorded in DynamoDB and its first batch queued; `GET /imports[/{id}]`
/// read it back (the batches themselves: tests/aws_import_jobs.rs).
#[tokio::test]
async fn the_http_handler_queues_bulk_import_jobs() {
    let moto = Moto::start();
    let queue = aws_support::import_queue(&moto.bootstrap_with(&["--no-seed"]));
    let clients = moto.clients().await;
    let pusher = Arc::new(ApiGatewayPusher::new(&clients, "http://127.0.0.1:9"));
    let limits = LambdaLimits {
        imports: ImportSettings {
            queue_url: Some(queue.clone()),
            ..ImportSettings::default()
        },
        ..LambdaLimits::default()
    };
    let (app, store) = LambdaApp::on_aws(
        &clients,
        &moto.settings(),
        pusher,
        EngineConfig::default(),
        limits,
    );
    let router = lambda_rest::service(Arc::new(app), Arc::new(Dependencies { store }), None);
    let editor = Some(json!({"principal": "ci", "role": "editor"}));
    let body = json!({"files": [
        {"path": "dev/one.md", "content": "---\nid: one\nname: One\n---\nHi {{who}}\n"},
        {"path": "dev/two.json", "content": "{\"id\": \"two\", \"content\": \"Yo\"}"},
    ]})
    .to_string();
    let json_type = json!({"content-type": "application/json"});
    let (status, headers, job) = call(
        &router,
        event(
            "POST",
            "/imports",
            json_type.clone(),
            Some(&body),
            editor.clone(),
        ),
    )
    .await;
    assert_eq!(status, 202, "{job}");
    let id = job["jobId"].as_str().unwrap().to_string();
    assert_eq!(
        headers["location"].to_str().unwrap(),
        format!("/imports/{id}")
    );
    assert_eq!(
        (job["state"].as_str(), job["total"].as_u64()),
        (Some("queued"), Some(2))
    );

    let (status, _, got) = call(
        &router,
        event(
            "GET",
            &format!("/imports/{id}"),
            json!({}),
            None,
            editor.clone(),
        ),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got, job, "the record reads back as submitted");
    let (status, _, list) = call(
        &router,
        event("GET", "/imports", json!({}), None, editor.clone()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["jobs"][0]["jobId"], id.as_str());
    let (status, _, missing) = call(
        &router,
        event("GET", "/imports/nope", json!({}), None, editor.clone()),
    )
    .await;
    assert_eq!(status, 404, "{missing}");

    let queued = clients
        .sqs()
        .receive_message()
        .queue_url(&queue)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = queued.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(
        bodies,
        [json!({"importBatch": {"job": id, "batch": 0}}).to_string()]
    );

    let empty = json!({"files": []}).to_string();
    let (status, _, problem) = call(
        &router,
        event("POST", "/imports", json_type, Some(&empty), editor),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["field"], "files");
}

/// `/subscriptions` through the `http` handler: 501 without a deliveries
/// queue; with one (as `lambda_rest::run` attaches it from
/// `MCP_PROMPTS_WEBHOOK_QUEUE_URL`) an editor registers and lists, a reader
/// may not register, and the subscriber is in DynamoDB for the `webhooks`
/// handler of any instance.
#[tokio::test]
async fn the_http_handler_serves_subscriptions_when_a_deliveries_queue_is_set() {
    let moto = Moto::start();
    let printed = moto.bootstrap_with(&["--no-seed"]);
    let queue = printed
        .lines()
        .find_map(|l| l.strip_prefix("webhooks "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("bootstrap prints the webhook queue")
        .to_string();
    let clients = moto.clients().await;
    let editor = Some(json!({"principal": "ci", "role": "editor"}));
    let reader = Some(json!({"principal": "dash", "role": "reader"}));
    let body = r#"{"url": "https://hooks.example.com/x?token=t", "secret": "a-long-enough-webhook-secret"}"#;
    let json_type = json!({"content-type": "application/json"});
    for queue_url in [None, Some(queue)] {
        let configured = queue_url.is_some();
        let pusher = Arc::new(ApiGatewayPusher::new(&clients, "http://127.0.0.1:9"));
        let (app, store) = LambdaApp::on_aws(
            &clients,
            &moto.settings(),
            pusher,
            EngineConfig::default(),
            LambdaLimits {
                webhook_queue_url: queue_url,
                ..LambdaLimits::default()
            },
        );
        // A public name would be resolved: allow private so no DNS is needed.
        mcp_prompts::edges::subscribers::aws::attach(&app, &store, true);
        let router = lambda_rest::service(Arc::new(app), Arc::new(Dependencies { store }), None);
        let (status, _, answer) = call(
            &router,
            event(
                "POST",
                "/subscriptions",
                json_type.clone(),
                Some(body),
                editor.clone(),
            ),
        )
        .await;
        if !configured {
            assert_eq!(status, 501, "no deliveries queue: {answer}");
            continue;
        }
        assert_eq!(status, 201, "{answer}");
        let id = answer["id"].as_str().unwrap().to_string();
        let (status, _, answer) = call(
            &router,
            event(
                "POST",
                "/subscriptions",
                json_type.clone(),
                Some(body),
                reader.clone(),
            ),
        )
        .await;
        assert_eq!(status, 403, "a reader may not register: {answer}");
        let (status, _, list) = call(
            &router,
            event("GET", "/subscriptions", json!({}), None, reader.clone()),
        )
        .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["subscriptions"].as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list["subscriptions"][0]["id"], id.as_str());
        assert_eq!(
            list["subscriptions"][0]["url"], "https://hooks.example.com/x?redacted",
            "a reader sees it redacted"
        );
        let (status, _, _) = call(
            &router,
            event(
                "DELETE",
                &format!("/subscriptions/{id}"),
                json!({}),
                None,
                editor.clone(),
            ),
        )
        .await;
        assert_eq!(status, 204);
    }
}
