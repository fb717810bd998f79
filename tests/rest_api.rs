//! The REST API end to end on the real binary: CRUD with versions as ETags,
//! conditional requests (412, 304), precise problem bodies for bad input (400
//! naming the field, 404, 409, 413, 415), pagination that stays stable while
//! others edit, rendering, history and labels, and MCP clients hearing REST
//! writes live.

mod common;

use std::time::Duration;

use common::TestServer;
use common::http::{HttpResponse, request};
use common::ws::{WsClient, events_opt_in};
use serde_json::{Value, json};

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn send(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> HttpResponse {
    let text = body.map(Value::to_string);
    request(&server.http_url, method, path, headers, text.as_deref())
}

fn problem(r: &HttpResponse, status: u16) -> Value {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{r:?}"
    );
    let p = r.json();
    assert_eq!(p["status"], status);
    assert!(p["type"].as_str().unwrap().contains("/problems/"), "{p}");
    assert!(!p["detail"].as_str().unwrap().is_empty(), "{p}");
    p
}

#[tokio::test]
async fn a_prompt_is_created_read_updated_and_deleted_with_versions_as_etags() {
    let server = TestServer::start();
    let draft = json!({"id": "greeting", "name": "Greeting", "content": "Hello {{name}}",
                       "tags": ["demo"], "category": "general"});
    let created = send(&server, "POST", "/prompts", &[JSON], Some(&draft));
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(created.header("location"), Some("/prompts/greeting"));
    assert_eq!(created.json()["variables"][0]["name"], "name");

    let read = send(&server, "GET", "/prompts/greeting", &[], None);
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["content"], "Hello {{name}}");
    let unchanged = send(
        &server,
        "GET",
        "/prompts/greeting",
        &[("If-None-Match", "\"1\"")],
        None,
    );
    assert_eq!(unchanged.status, 304);
    assert_eq!(unchanged.header("etag"), Some("\"1\""));

    let patch = json!({"description": "says hello"});
    let updated = send(
        &server,
        "PUT",
        "/prompts/greeting",
        &[JSON, ("If-Match", "\"1\"")],
        Some(&patch),
    );
    assert_eq!(updated.status, 200, "{updated:?}");
    assert_eq!(updated.header("etag"), Some("\"2\""));
    assert_eq!(
        updated.json()["content"],
        "Hello {{name}}",
        "absent fields are kept"
    );

    let stale = send(
        &server,
        "PUT",
        "/prompts/greeting",
        &[JSON, ("If-Match", "\"1\"")],
        Some(&patch),
    );
    let p = problem(&stale, 412);
    assert_eq!(p["currentVersion"], 2, "{p}");
    let stale_body = send(
        &server,
        "PUT",
        "/prompts/greeting",
        &[JSON],
        Some(&json!({"content": "x", "expectedVersion": 1})),
    );
    problem(&stale_body, 409);
    assert_eq!(
        send(&server, "GET", "/prompts/greeting", &[], None).json()["version"],
        2,
        "nothing was written"
    );

    let rendered = send(
        &server,
        "POST",
        "/prompts/greeting/apply",
        &[JSON],
        Some(&json!({"variables": {"name": "Ada"}})),
    );
    assert_eq!(rendered.status, 200, "{rendered:?}");
    assert_eq!(rendered.json()["content"], "Hello Ada");
    let missing = send(
        &server,
        "POST",
        "/prompts/greeting/apply",
        &[JSON],
        Some(&json!({})),
    );
    assert_eq!(problem(&missing, 400)["field"], "variables.name");

    let history = send(&server, "GET", "/prompts/greeting/versions", &[], None).json();
    assert_eq!(history["versions"].as_array().unwrap().len(), 2);
    let v1 = send(&server, "GET", "/prompts/greeting/versions/1", &[], None);
    assert_eq!(v1.header("etag"), Some("\"1\""));
    assert_ne!(
        v1.json()["description"],
        "says hello",
        "version 1 is as it was"
    );
    let label = send(
        &server,
        "PUT",
        "/prompts/greeting/labels/production",
        &[JSON],
        Some(&json!({"version": 1})),
    );
    assert_eq!(label.status, 200, "{label:?}");
    let labelled = send(
        &server,
        "POST",
        "/prompts/greeting/apply",
        &[JSON],
        Some(&json!({"label": "production", "variables": {"name": "B"}})),
    );
    assert_eq!(labelled.json()["version"], 1);

    problem(
        &send(
            &server,
            "DELETE",
            "/prompts/greeting",
            &[("If-Match", "\"1\"")],
            None,
        ),
        412,
    );
    let deleted = send(
        &server,
        "DELETE",
        "/prompts/greeting",
        &[("If-Match", "\"2\"")],
        None,
    );
    assert_eq!(deleted.status, 204, "{deleted:?}");
    problem(&send(&server, "GET", "/prompts/greeting", &[], None), 404);
    assert_eq!(
        send(&server, "GET", "/prompts/greeting/versions", &[], None).json()["versions"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "history is kept"
    );
}

#[tokio::test]
async fn bad_input_gets_a_problem_naming_it_and_changes_nothing() {
    let server = TestServer::start_with(None, &["--max-message-bytes", "20000"]);
    let before = send(&server, "GET", "/prompts?limit=500", &[], None).json()["prompts"]
        .as_array()
        .unwrap()
        .len();
    let wrong_type = send(
        &server,
        "POST",
        "/prompts",
        &[JSON],
        Some(&json!({"name": "x", "content": "y", "tags": ["a", 5]})),
    );
    assert_eq!(problem(&wrong_type, 400)["field"], "tags[1]");
    let missing = send(
        &server,
        "POST",
        "/prompts",
        &[JSON],
        Some(&json!({"content": "y"})),
    );
    assert_eq!(problem(&missing, 400)["field"], "name");
    let bad_template = send(
        &server,
        "POST",
        "/prompts",
        &[JSON],
        Some(&json!({"name": "t", "content": "{{#if x}}open"})),
    );
    let p = problem(&bad_template, 400);
    assert_eq!(p["field"], "content");
    assert!(p["detail"].as_str().unwrap().contains("syntax"), "{p}");
    let malformed = request(
        &server.http_url,
        "POST",
        "/prompts",
        &[JSON],
        Some("{\"name\": "),
    );
    problem(&malformed, 400);
    let text = request(
        &server.http_url,
        "POST",
        "/prompts",
        &[("Content-Type", "text/plain")],
        Some("hi"),
    );
    problem(&text, 415);
    let huge = json!({"name": "big", "content": "x".repeat(200_000)});
    problem(
        &send(&server, "POST", "/prompts", &[JSON], Some(&huge)),
        413,
    );
    problem(
        &send(&server, "GET", "/prompts/Not%20An%20Id", &[], None),
        400,
    );
    problem(&send(&server, "GET", "/prompts?limit=abc", &[], None), 400);
    problem(
        &send(&server, "GET", "/prompts?cursor=forged", &[], None),
        400,
    );
    problem(
        &send(&server, "GET", "/prompts/code-review/versions/0", &[], None),
        400,
    );
    let dup = send(
        &server,
        "POST",
        "/prompts",
        &[JSON],
        Some(&json!({"id": "code-review", "name": "x", "content": "y"})),
    );
    problem(&dup, 409);
    let after = send(&server, "GET", "/prompts?limit=500", &[], None).json()["prompts"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "no bad request wrote anything");
}

#[tokio::test]
async fn pages_stay_stable_while_others_edit_and_filters_and_search_work() {
    let server = TestServer::start();
    let first = send(&server, "GET", "/prompts?limit=10", &[], None).json();
    let page1: Vec<String> = first["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(page1.len(), 10);
    // Someone creates a prompt that sorts before the cursor, another deletes one on page 1.
    send(
        &server,
        "POST",
        "/prompts",
        &[JSON],
        Some(&json!({"id": "aaa-first", "name": "A", "content": "a"})),
    );
    send(
        &server,
        "DELETE",
        &format!("/prompts/{}", page1[0]),
        &[],
        None,
    );
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = send(
        &server,
        "GET",
        &format!("/prompts?limit=10&cursor={cursor}"),
        &[],
        None,
    )
    .json();
    let page2: Vec<&str> = second["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(
        page2.iter().all(|id| *id > page1[9].as_str()),
        "the next page continues after the cursor: {page2:?}"
    );
    assert!(
        !page2.iter().any(|id| page1.iter().any(|p| p == id)),
        "no repeats"
    );
    let dev = send(
        &server,
        "GET",
        "/prompts?category=development&limit=100",
        &[],
        None,
    )
    .json();
    assert!(
        dev["prompts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["category"] == "development")
    );
    let search = send(&server, "GET", "/prompts?q=sql", &[], None).json();
    assert!(
        !search["prompts"].as_array().unwrap().is_empty(),
        "{search}"
    );
}

#[tokio::test]
async fn mcp_clients_hear_rest_writes_live() {
    let server = TestServer::start();
    let (mut ws, _) = WsClient::initialized(&server.ws_url, events_opt_in()).await;
    ws.request(
        "resources/subscribe",
        json!({"uri": "prompt://code-review"}),
    )
    .await;
    let r = send(
        &server,
        "PUT",
        "/prompts/code-review",
        &[JSON],
        Some(&json!({"description": "via REST"})),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let updated = ws
        .wait_for("notifications/resources/updated", Duration::from_secs(5))
        .await
        .expect("resources/updated");
    assert_eq!(updated["params"]["uri"], "prompt://code-review");
    let event = ws
        .wait_for("notifications/catalog/changed", Duration::from_secs(5))
        .await
        .expect("catalog event");
    assert_eq!(event["params"]["actor"], "rest");
}

#[tokio::test]
async fn cross_site_requests_are_refused() {
    let server = TestServer::start();
    let r = send(
        &server,
        "DELETE",
        "/prompts/code-review",
        &[("Origin", "https://evil.example")],
        None,
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(
        send(&server, "GET", "/prompts/code-review", &[], None).status,
        200,
        "not deleted"
    );
}
