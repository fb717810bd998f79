#![cfg(feature = "aws")]
//! The Lambda handlers' CloudWatch Embedded Metric Format lines, end to end:
//! the `mcp-prompts-lambda` binary runs as it does on Lambda (its
//! `lambda_runtime` loop polling a stand-in of the Lambda Runtime API on
//! 127.0.0.1), against moto (DynamoDB, SQS) and the `@connections` stand-in
//! (410 for one connection, 429 for every other post). Its stdout is read as
//! CloudWatch Logs reads it: every line must be an EMF document that fits the
//! specification's structure (checked with a JSON Schema of it plus the rules
//! a schema cannot say: every declared metric and dimension is a top-level
//! member, numbers and strings), exactly one per invocation, and the numbers
//! must be what happened: the JSON-RPC requests and errors sent, the render,
//! the connections and frames the stand-in accepted, the 410s and 429s it
//! answered, a lag within the time the test measured around the write. The
//! functions run in turn: `websocket`, `fanout` (the change the write queued
//! in SQS), `http`, `authorizer`, `sweeper`.

mod aws_support;

use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_support::Moto;
use aws_support::standin::{Behaviour, StandIn};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mcp_prompts::adapters::aws::bootstrap;
use mcp_prompts::adapters::aws::sdk::aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use mcp_prompts::edges::aws_gateway::sqs::sqs_event;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(30);

// ---- a stand-in of the Lambda Runtime API (`/2018-06-01/runtime/...`)

#[derive(Default)]
struct Queue {
    pending: Mutex<VecDeque<(String, String)>>,
    ready: Notify,
}

struct RuntimeApi {
    /// `host:port`, as `AWS_LAMBDA_RUNTIME_API` names it.
    addr: String,
    queue: Arc<Queue>,
    answers: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Result<Value, String>)>>,
    next_id: AtomicU64,
    stop: CancellationToken,
}

type Answers = mpsc::UnboundedSender<(String, Result<Value, String>)>;

async fn next_invocation(State((queue, _)): State<(Arc<Queue>, Answers)>) -> Response {
    loop {
        let popped = queue.pending.lock().unwrap().pop_front();
        if let Some((id, body)) = popped {
            let deadline = now_ms() + 60_000;
            return (
                [
                    ("lambda-runtime-aws-request-id", id),
                    ("lambda-runtime-deadline-ms", deadline.to_string()),
                    (
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:test".to_string(),
                    ),
                    ("content-type", "application/json".to_string()),
                ],
                body,
            )
                .into_response();
        }
        // `notify_one` keeps a permit when nobody waits: no wake-up is lost.
        queue.ready.notified().await;
    }
}

async fn invocation_response(
    State((_, answers)): State<(Arc<Queue>, Answers)>,
    Path(id): Path<String>,
    body: Bytes,
) -> &'static str {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = answers.send((id, Ok(value)));
    "{}"
}

async fn invocation_error(
    State((_, answers)): State<(Arc<Queue>, Answers)>,
    Path(id): Path<String>,
    body: Bytes,
) -> &'static str {
    let _ = answers.send((id, Err(String::from_utf8_lossy(&body).into_owned())));
    "{}"
}

async fn init_error(
    State((_, answers)): State<(Arc<Queue>, Answers)>,
    body: Bytes,
) -> &'static str {
    let _ = answers.send((
        "init".into(),
        Err(String::from_utf8_lossy(&body).into_owned()),
    ));
    "{}"
}

impl RuntimeApi {
    async fn start() -> RuntimeApi {
        let queue = Arc::new(Queue::default());
        let (tx, rx) = mpsc::unbounded_channel();
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state((queue.clone(), tx));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = CancellationToken::new();
        let until = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { until.cancelled().await })
                .await
        });
        RuntimeApi {
            addr,
            queue,
            answers: tokio::sync::Mutex::new(rx),
            next_id: AtomicU64::new(1),
            stop,
        }
    }

    /// Hands the function one event and waits for its answer.
    async fn invoke(&self, event: &Value) -> Result<Value, String> {
        let id = format!("req-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        self.queue
            .pending
            .lock()
            .unwrap()
            .push_back((id.clone(), event.to_string()));
        self.queue.ready.notify_one();
        let mut answers = self.answers.lock().await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, answers.recv()).await {
                Ok(Some((got, answer))) if got == id || got == "init" => return answer,
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return Err(format!("no answer to {id} within {WAIT:?}")),
            }
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

// ---- the Lambda binary, one process per function

struct Lambda {
    api: RuntimeApi,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    invocations: AtomicU64,
}

fn pump(pipe: impl Read + Send + 'static, mut sink: impl FnMut(String) + Send + 'static) {
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            sink(line);
        }
    });
}

impl Lambda {
    async fn start(moto: &Moto, handler: &str, connections_url: &str) -> Lambda {
        let api = RuntimeApi::start().await;
        let mut child = moto
            .command(env!("CARGO_BIN_EXE_mcp-prompts-lambda"))
            .env("MCP_PROMPTS_HANDLER", handler)
            .env("MCP_PROMPTS_CONNECTIONS_URL", connections_url)
            .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("mcp-prompts-{handler}"))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mcp-prompts-lambda");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let out = stdout.clone();
        pump(child.stdout.take().unwrap(), move |l| {
            out.lock().unwrap().push(l)
        });
        let err = stderr.clone();
        pump(child.stderr.take().unwrap(), move |l| {
            let mut e = err.lock().unwrap();
            e.push_str(&l);
            e.push('\n');
        });
        Lambda {
            api,
            child,
            stdout,
            stderr,
            invocations: AtomicU64::new(0),
        }
    }

    async fn invoke(&self, event: &Value) -> Value {
        match self.try_invoke(event).await {
            Ok(v) => v,
            Err(e) => panic!(
                "invocation failed: {e}\nstderr:\n{}",
                self.stderr.lock().unwrap()
            ),
        }
    }

    /// The function's answer, or the error it reported to the runtime.
    async fn try_invoke(&self, event: &Value) -> Result<Value, String> {
        self.invocations.fetch_add(1, Ordering::Relaxed);
        self.api.invoke(event).await
    }

    /// Every stdout line so far, once there is one per invocation (and a
    /// moment more, so a second line of an invocation would show).
    fn lines(&self) -> Vec<String> {
        let want = self.invocations.load(Ordering::Relaxed) as usize;
        let deadline = Instant::now() + WAIT;
        while self.stdout.lock().unwrap().len() < want && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        thread::sleep(Duration::from_millis(200));
        let lines = self.stdout.lock().unwrap().clone();
        assert_eq!(
            lines.len(),
            want,
            "one stdout line per invocation: {lines:#?}\nstderr:\n{}",
            self.stderr.lock().unwrap()
        );
        lines
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

// ---- the EMF specification's structure

/// The specification's structure as a JSON Schema: the `_aws` metadata, its
/// millisecond timestamp, and the metric directives (namespace, dimension
/// sets, metric definitions with CloudWatch's units).
fn emf_schema() -> Value {
    let units = [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["_aws"],
        "properties": {
            "_aws": {
                "type": "object",
                "required": ["Timestamp", "CloudWatchMetrics"],
                "properties": {
                    "Timestamp": {"type": "integer", "minimum": 0},
                    "CloudWatchMetrics": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["Namespace", "Dimensions", "Metrics"],
                            "properties": {
                                "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                                "Dimensions": {
                                    "type": "array",
                                    "items": {
                                        "type": "array",
                                        "maxItems": 30,
                                        "items": {"type": "string", "minLength": 1, "maxLength": 250}
                                    }
                                },
                                "Metrics": {
                                    "type": "array",
                                    "maxItems": 100,
                                    "items": {
                                        "type": "object",
                                        "required": ["Name"],
                                        "properties": {
                                            "Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                            "Unit": {"enum": units},
                                            "StorageResolution": {"enum": [1, 60]}
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// One stdout line, checked as an EMF document of our namespace and
/// `Handler` dimension; returns it.
fn emf(line: &str, handler: &str) -> Value {
    let doc: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let validator = jsonschema::validator_for(&emf_schema()).expect("the EMF schema compiles");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{line}: {errors:?}");
    let ts = doc["_aws"]["Timestamp"].as_u64().unwrap();
    assert!(
        ts.abs_diff(now_ms()) < 120_000,
        "a millisecond timestamp of now: {line}"
    );
    for directive in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
        assert_eq!(directive["Namespace"], "McpPrompts", "{line}");
        assert_eq!(directive["Dimensions"], json!([["Handler"]]), "{line}");
        for set in directive["Dimensions"].as_array().unwrap() {
            for d in set.as_array().unwrap() {
                let d = d.as_str().unwrap();
                assert!(
                    doc[d].is_string(),
                    "dimension {d} is a string member: {line}"
                );
            }
        }
        let mut seen = HashSet::new();
        for m in directive["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(seen.insert(name), "{name} declared once: {line}");
            assert!(
                doc[name].is_number(),
                "metric {name} is a number member: {line}"
            );
            let unit = if name.ends_with("Ms") {
                "Milliseconds"
            } else {
                "Count"
            };
            assert_eq!(m["Unit"], unit, "{name}'s unit: {line}");
        }
    }
    assert_eq!(doc["Handler"], handler, "{line}");
    doc
}

/// A metric's value, 0 if the line does not carry it.
fn n(doc: &Value, name: &str) -> f64 {
    doc[name].as_f64().unwrap_or(0.0)
}

// ---- events

fn fixture(name: &str) -> ApiGatewayWebsocketProxyRequest {
    let path = format!("{}/tests/fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn ws_connect(connection: &str) -> Value {
    let mut e = fixture("connect.json");
    e.request_context.connection_id = Some(connection.into());
    serde_json::to_value(e).unwrap()
}

fn ws_message(connection: &str, body: Value) -> Value {
    let mut e = fixture("default_initialize.json");
    e.request_context.connection_id = Some(connection.into());
    e.body = Some(body.to_string());
    serde_json::to_value(e).unwrap()
}

/// The JSON-RPC reply in a route response.
fn reply(response: &Value) -> Value {
    assert_eq!(response["statusCode"], 200, "{response}");
    match response["body"].as_str() {
        Some(text) if !text.is_empty() => serde_json::from_str(text).unwrap(),
        _ => Value::Null,
    }
}

/// An HTTP API payload 2.0 event with an editor admitted by the authorizer.
fn http_event(method: &str, path: &str, body: Option<Value>) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com", "content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc", "requestId": "r1", "routeKey": "$default", "stage": "$default",
            "time": "03/Dec/2026:07:00:00 +0000", "timeEpoch": 0,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "test"},
            "authorizer": {"lambda": {"principal": "ci", "role": "editor"}}
        },
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_binary_writes_one_emf_line_per_invocation_with_the_real_counts() {
    let moto = Moto::start();
    let clients = moto.clients().await;
    let settings = moto.settings();
    bootstrap::run(&clients, &settings)
        .await
        .expect("bootstrap");
    let gone: HashSet<String> = ["c3".to_string()].into();
    let standin = StandIn::start(Behaviour {
        gone: gone.clone(),
        ..Default::default()
    })
    .await;

    // websocket: four clients connect and initialize; c1 writes, renders and
    // sends a method that does not exist.
    let ws = Lambda::start(&moto, "websocket", &standin.url).await;
    let mut expected: Vec<(f64, f64)> = Vec::new(); // (Requests, Errors) per invocation
    let clients_ids = ["c1", "c2", "c3", "c4"];
    for c in clients_ids {
        let r = ws.invoke(&ws_connect(c)).await;
        assert_eq!(r["statusCode"], 200, "{r}");
        expected.push((0.0, 0.0));
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": c, "version": "1"}}});
        assert!(reply(&ws.invoke(&ws_message(c, init)).await)["result"].is_object());
        expected.push((1.0, 0.0));
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(
            reply(&ws.invoke(&ws_message(c, initialized)).await),
            Value::Null
        );
        expected.push((0.0, 0.0));
    }
    let before_write = now_ms();
    let create = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "create_prompt", "arguments": {"id": "emf-greeting", "name": "Emf Greeting", "content": "Hello {{who}}"}}});
    let created = reply(&ws.invoke(&ws_message("c1", create)).await);
    assert!(created["result"].is_object(), "{created}");
    assert_ne!(created["result"]["isError"], true, "{created}");
    expected.push((1.0, 0.0));
    let get = json!({"jsonrpc": "2.0", "id": 3, "method": "prompts/get",
        "params": {"name": "emf-greeting", "arguments": {"who": "metrics"}}});
    let got = reply(&ws.invoke(&ws_message("c1", get)).await);
    assert_eq!(
        got["result"]["messages"][0]["content"]["text"], "Hello metrics",
        "{got}"
    );
    expected.push((1.0, 0.0));
    let bad = json!({"jsonrpc": "2.0", "id": 4, "method": "no/such/method"});
    assert!(reply(&ws.invoke(&ws_message("c1", bad)).await)["error"].is_object());
    expected.push((1.0, 1.0));

    let lines = ws.lines();
    let docs: Vec<Value> = lines.iter().map(|l| emf(l, "websocket")).collect();
    let counts: Vec<(f64, f64)> = docs
        .iter()
        .map(|d| (n(d, "Requests"), n(d, "Errors")))
        .collect();
    assert_eq!(
        counts, expected,
        "(Requests, Errors) of each invocation: {lines:#?}"
    );
    let sent_requests = expected.iter().map(|(r, _)| r).sum::<f64>();
    assert_eq!(
        docs.iter().map(|d| n(d, "Requests")).sum::<f64>(),
        sent_requests
    );
    for d in &docs {
        assert_eq!((n(d, "Gone410"), n(d, "PostThrottled")), (0.0, 0.0), "{d}");
        assert!(d.get("FanoutPosts").is_none(), "{d}");
    }
    let rendered: Vec<usize> = (0..docs.len())
        .filter(|&i| docs[i].get("RenderMs").is_some())
        .collect();
    assert_eq!(
        rendered,
        [docs.len() - 2],
        "only prompts/get rendered: {lines:#?}"
    );
    let render_ms = n(&docs[docs.len() - 2], "RenderMs");
    assert!((0.0..10_000.0).contains(&render_ms), "{render_ms}");
    assert!(standin.delivered().is_empty(), "nothing was pushed yet");

    // fanout: the change message the write queued, posted to the four
    // listeners: c3 is gone (410) and every other post is answered 429 once.
    standin.set(Behaviour {
        gone,
        throttle_every: 2,
        ..Default::default()
    });
    let url = clients
        .sqs()
        .get_queue_url()
        .queue_name(&settings.queue)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let mut messages = Vec::new();
    let deadline = Instant::now() + WAIT;
    while messages.is_empty() && Instant::now() < deadline {
        let received = clients
            .sqs()
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        messages.extend(received.messages().iter().cloned());
    }
    assert_eq!(messages.len(), 1, "the write's change message");
    let event = serde_json::to_value(sqs_event(&messages, &url)).unwrap();
    let fanout = Lambda::start(&moto, "fanout", &standin.url).await;
    let answer = fanout.invoke(&event).await;
    let after_fanout = now_ms();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");

    let lines = fanout.lines();
    let doc = emf(&lines[0], "fanout");
    let delivered = standin.delivered();
    let frames: usize = delivered.values().map(Vec::len).sum();
    let record = standin.record();
    let throttled = record.throttled.load(Ordering::Relaxed);
    let mut reached: Vec<&String> = delivered.keys().collect();
    reached.sort();
    assert_eq!(reached, ["c1", "c2", "c4"], "the stand-in's view");
    assert_eq!(n(&doc, "Requests"), 1.0, "one SQS record: {doc}");
    assert_eq!(n(&doc, "Errors"), 0.0, "{doc}");
    assert_eq!(n(&doc, "FanoutConnections"), 3.0, "{doc}");
    assert_eq!(n(&doc, "FanoutPosts"), frames as f64, "{doc}");
    assert_eq!(n(&doc, "Gone410"), 1.0, "{doc}");
    // Four connections, c3's one post among them: post 2 or 4 was answered 429.
    assert!(throttled > 0, "the stand-in throttled a post");
    assert_eq!(n(&doc, "PostThrottled"), throttled as f64, "{doc}");
    let lag = n(&doc, "FanoutLagMs");
    let window = (after_fanout - before_write) as f64;
    assert!(
        doc["FanoutLagMs"].is_number() && (0.0..=window + 5.0).contains(&lag),
        "lag {lag} ms within the {window} ms from the write to the fan-out's end: {doc}"
    );

    // http: a read, a render, a miss (404 is not an error).
    let http = Lambda::start(&moto, "http", &standin.url).await;
    let r = http
        .invoke(&http_event("GET", "/prompts/emf-greeting", None))
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let r = http
        .invoke(&http_event(
            "POST",
            "/prompts/emf-greeting/apply",
            Some(json!({"variables": {"who": "rest"}})),
        ))
        .await;
    assert_eq!(r["statusCode"], 200, "{r}");
    let r = http.invoke(&http_event("GET", "/prompts/nope", None)).await;
    assert_eq!(r["statusCode"], 404, "{r}");
    let lines = http.lines();
    let docs: Vec<Value> = lines.iter().map(|l| emf(l, "http")).collect();
    let counts: Vec<(f64, f64, bool)> = docs
        .iter()
        .map(|d| {
            (
                n(d, "Requests"),
                n(d, "Errors"),
                d.get("RenderMs").is_some(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [(1.0, 0.0, false), (1.0, 0.0, true), (1.0, 0.0, false)],
        "{lines:#?}"
    );

    // authorizer: a request without a credential is refused (not an error);
    // an event it cannot read fails the invocation (an error).
    let authorizer = Lambda::start(&moto, "authorizer", &standin.url).await;
    let mut anonymous = http_event("GET", "/prompts", None);
    anonymous["routeArn"] =
        json!("arn:aws:execute-api:us-east-1:123456789012:abc/$default/GET/prompts");
    anonymous["identitySource"] = json!([]);
    let r = authorizer.invoke(&anonymous).await;
    assert_eq!(r["isAuthorized"], false, "{r}");
    let garbled = json!({"version": "2.0", "headers": "not a map"});
    assert!(authorizer.try_invoke(&garbled).await.is_err());
    let lines = authorizer.lines();
    let counts: Vec<(f64, f64)> = lines
        .iter()
        .map(|l| emf(l, "authorizer"))
        .map(|d| (n(&d, "Requests"), n(&d, "Errors")))
        .collect();
    assert_eq!(counts, [(1.0, 0.0), (1.0, 1.0)], "{lines:#?}");

    // sweeper: one scheduled run.
    let sweeper = Lambda::start(&moto, "sweeper", &standin.url).await;
    let r = sweeper.invoke(&json!({"source": "aws.events"})).await;
    assert!(r["published"].is_number(), "{r}");
    let lines = sweeper.lines();
    let d = emf(&lines[0], "sweeper");
    assert_eq!((n(&d, "Requests"), n(&d, "Errors")), (1.0, 0.0), "{d}");
}
