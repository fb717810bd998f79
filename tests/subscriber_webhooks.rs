//! Signed webhooks to catalog subscribers, end to end on the real binary with
//! a receiver on 127.0.0.1: registered over REST, every matching change is
//! POSTed as the catalog event JSON with a verifiable HMAC-SHA256 signature
//! and a stable delivery id, in log order; a receiver that fails is retried;
//! a change committed before a kill -9 of `serve` is delivered after the
//! restart; bad registrations get problems naming the field.

mod common;

use std::time::Duration;

use common::TestServer;
use common::http::request;
use common::receiver::{SECRET, start_receiver, until, verify};
use serde_json::{Value, json};

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn write(server: &TestServer, method: &str, path: &str, body: Value) {
    let r = request(
        &server.http_url,
        method,
        path,
        &[JSON],
        Some(&body.to_string()),
    );
    assert!(r.status < 300, "{method} {path}: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_a_subscriber_signed_in_order_and_survive_kill_9() {
    let (url, receiver) = start_receiver(false).await;
    let mut server = TestServer::start_with(None, &["--subscriber-allow-private"]);
    let r = request(
        &server.http_url,
        "POST",
        "/subscriptions",
        &[JSON],
        Some(&json!({"url": url, "secret": SECRET, "category": "hooks"}).to_string()),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let sub = r.json();
    assert!(
        sub.get("secret").is_none(),
        "the secret is never shown back: {sub}"
    );
    let id = sub["id"].as_str().unwrap().to_string();

    write(
        &server,
        "POST",
        "/prompts",
        json!({"id": "hooked", "name": "Hooked", "content": "v1", "category": "hooks"}),
    );
    write(
        &server,
        "POST",
        "/prompts",
        json!({"id": "elsewhere", "name": "Other", "content": "x", "category": "other"}),
    );
    write(&server, "PUT", "/prompts/hooked", json!({"content": "v2"}));
    until(&receiver, "two deliveries", |r| r.got.len() >= 2).await;
    {
        let r = receiver.lock().unwrap();
        let bodies: Vec<Value> = r
            .got
            .iter()
            .map(|(_, _, b)| serde_json::from_str(b).unwrap())
            .collect();
        let seen: Vec<(String, u64, String)> = bodies
            .iter()
            .map(|b| {
                (
                    b["id"].as_str().unwrap().to_string(),
                    b["version"].as_u64().unwrap(),
                    b["kind"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("hooked".into(), 1, "created".into()),
                ("hooked".into(), 2, "updated".into())
            ],
            "in order, filter applied"
        );
        for ((delivery, signature, body), b) in r.got.iter().zip(&bodies) {
            verify(signature, body);
            assert_eq!(
                delivery,
                &format!("{id}:{}", b["position"]),
                "delivery id = subscriber:position"
            );
            assert_eq!(b["uri"], "prompt://hooked");
        }
    }

    // The receiver goes down; a change is committed and its delivery keeps failing...
    receiver.lock().unwrap().failing = true;
    write(&server, "PUT", "/prompts/hooked", json!({"content": "v3"}));
    until(&receiver, "a failed attempt", |r| r.attempts >= 4).await;
    let status = request(
        &server.http_url,
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
    // ... then serve dies without a chance to clean up, and the receiver comes back.
    server.kill_and_restart();
    receiver.lock().unwrap().failing = false;
    until(&receiver, "the delivery after the restart", |r| {
        r.got.len() >= 3
    })
    .await;
    let (_, signature, body) = receiver.lock().unwrap().got[2].clone();
    verify(&signature, &body);
    let b: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (b["id"].as_str(), b["version"].as_u64()),
        (Some("hooked"), Some(3))
    );
    // Removing the subscriber stops its deliveries.
    let gone = request(
        &server.http_url,
        "DELETE",
        &format!("/subscriptions/{id}"),
        &[],
        None,
    );
    assert_eq!(gone.status, 204, "{gone:?}");
    write(&server, "PUT", "/prompts/hooked", json!({"content": "v4"}));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        receiver.lock().unwrap().got.len(),
        3,
        "no delivery after removal"
    );
    let list = request(&server.http_url, "GET", "/subscriptions", &[], None).json();
    assert_eq!(list["subscriptions"], json!([]));
}

#[tokio::test]
async fn bad_registrations_are_refused_naming_the_field() {
    let server = TestServer::start();
    let cases = [
        (
            json!({"url": "ftp://example.com/x", "secret": SECRET}),
            "url",
        ),
        (json!({"url": "https://", "secret": SECRET}), "url"),
        (
            json!({"url": "https://example.com/x", "secret": "short"}),
            "secret",
        ),
        (
            json!({"url": "https://example.com/x", "secret": SECRET, "category": ""}),
            "category",
        ),
        (json!({"url": "https://example.com/x"}), "secret"),
        (
            json!({"url": "http://127.0.0.1:9/x", "secret": SECRET}),
            "url",
        ),
        (
            json!({"url": "http://localhost:9/x", "secret": SECRET}),
            "url",
        ),
        (json!({"url": "http://[::1]:9/x", "secret": SECRET}), "url"),
        (
            json!({"url": "http://169.254.169.254/latest", "secret": SECRET}),
            "url",
        ),
        (json!({"url": "http://10.0.0.7/x", "secret": SECRET}), "url"),
    ];
    for (body, field) in cases {
        let r = request(
            &server.http_url,
            "POST",
            "/subscriptions",
            &[JSON],
            Some(&body.to_string()),
        );
        assert_eq!(r.status, 400, "{body}: {r:?}");
        let text = r.json().to_string();
        assert!(text.contains(field), "{body}: should name {field}: {text}");
    }
    let list = request(&server.http_url, "GET", "/subscriptions", &[], None).json();
    assert_eq!(list["subscriptions"], json!([]), "nothing registered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mcp_tools_register_list_and_remove_a_subscriber() {
    let (url, receiver) = start_receiver(false).await;
    let server = TestServer::start_with(None, &["--subscriber-allow-private"]);
    let (mut ws, _) = common::ws::WsClient::initialized(&server.ws_url, json!({})).await;
    let made = ws
        .call_tool(
            "subscribe_webhook",
            json!({"url": url, "secret": SECRET, "tag": "hooked"}),
        )
        .await;
    assert_eq!(made["isError"], false, "{made}");
    let id = made["structuredContent"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let short = ws
        .call_tool("subscribe_webhook", json!({"url": url, "secret": "short"}))
        .await;
    assert_eq!(short["isError"], true, "{short}");
    assert!(short.to_string().contains("secret"), "{short}");

    ws.call_tool(
        "create_prompt",
        json!({"id": "tagged", "name": "T", "content": "x", "tags": ["hooked"]}),
    )
    .await;
    until(&receiver, "the tagged change", |r| r.got.len() == 1).await;
    let listed = ws.call_tool("list_webhooks", json!({})).await;
    let subs = &listed["structuredContent"]["subscriptions"];
    assert_eq!(subs[0]["id"], id.as_str(), "{listed}");
    assert!(subs[0]["delivered"].as_u64().unwrap() > 0, "{listed}");
    assert!(subs[0].get("secret").is_none(), "{listed}");
    let removed = ws.call_tool("unsubscribe_webhook", json!({"id": id})).await;
    assert_eq!(removed["structuredContent"]["removed"], true, "{removed}");
    let again = ws.call_tool("unsubscribe_webhook", json!({"id": id})).await;
    assert_eq!(again["isError"], true, "{again}");
}

/// A change to a partial reaches the prompts that include it, on every channel:
/// `resources/updated` for a session subscribed to the includer, a catalog event
/// `dependency-changed` naming the partial, and a webhook delivery of the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_partial_notifies_the_prompts_that_include_it() {
    let (url, receiver) = start_receiver(false).await;
    let server = TestServer::start_with(None, &["--subscriber-allow-private"]);
    write(
        &server,
        "POST",
        "/prompts",
        json!({"id": "header", "name": "Header", "content": "Hello", "category": "parts"}),
    );
    write(
        &server,
        "POST",
        "/prompts",
        json!({"id": "page", "name": "Page", "content": "{{> header}} and the body", "category": "pages"}),
    );
    write(
        &server,
        "POST",
        "/prompts",
        json!({"id": "site", "name": "Site", "content": "{{> page}}!", "category": "pages"}),
    );
    let r = request(
        &server.http_url,
        "POST",
        "/subscriptions",
        &[JSON],
        Some(&json!({"url": url, "secret": SECRET, "category": "pages"}).to_string()),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let (mut ws, _) =
        common::ws::WsClient::initialized(&server.ws_url, common::ws::events_opt_in()).await;
    ws.request("resources/subscribe", json!({"uri": "prompt://site"}))
        .await;
    ws.notifications(Duration::from_millis(300)).await;

    write(
        &server,
        "PUT",
        "/prompts/header",
        json!({"content": "Howdy"}),
    );
    let heard = ws.notifications(Duration::from_millis(1000)).await;
    let updated: Vec<&Value> = heard
        .iter()
        .filter(|m| m["method"] == "notifications/resources/updated")
        .collect();
    assert!(
        updated
            .iter()
            .any(|m| m["params"]["uri"] == "prompt://site"),
        "the includer of an includer is told its output changed: {heard:?}"
    );
    let events: Vec<(String, String, Value)> = heard
        .iter()
        .filter(|m| m["method"] == "notifications/catalog/changed")
        .map(|m| {
            let p = &m["params"];
            (
                p["id"].as_str().unwrap().into(),
                p["kind"].as_str().unwrap().into(),
                p["partial"].clone(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("header".to_string(), "updated".to_string(), Value::Null),
            ("page".into(), "dependency-changed".into(), json!("header")),
            ("site".into(), "dependency-changed".into(), json!("header")),
        ],
        "the change, then who includes it, nearest first"
    );
    let listing = heard
        .iter()
        .filter(|m| m["method"] == "notifications/prompts/list_changed")
        .count();
    assert_eq!(listing, 1, "one listing change: the header's own update");

    until(&receiver, "the dependents' deliveries", |r| {
        r.got.len() >= 2
    })
    .await;
    let r = receiver.lock().unwrap();
    let got: Vec<(String, Value)> = r
        .got
        .iter()
        .map(|(_, _, b)| {
            let b: Value = serde_json::from_str(b).unwrap();
            (b["id"].as_str().unwrap().to_string(), b["kind"].clone())
        })
        .collect();
    assert_eq!(
        got,
        [
            ("page".to_string(), json!("dependency-changed")),
            ("site".to_string(), json!("dependency-changed"))
        ],
        "the subscriber (category pages) hears the includers, not the partial"
    );
    let ids: std::collections::BTreeSet<&String> = r.got.iter().map(|(d, _, _)| d).collect();
    assert_eq!(ids.len(), 2, "a delivery id per includer");
}

fn create_key(data: &std::path::Path, name: &str, role: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-prompts"))
        .args(["keys", "create", "--name", name, "--role", role, "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string()
}

/// A URL may carry a token: a reader sees it redacted (REST list and one,
/// `list_webhooks`), an editor whole; deliveries still go to the whole URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_sees_webhook_urls_redacted_and_an_editor_sees_them_whole() {
    let (url, receiver) = start_receiver(false).await;
    let url = format!("{url}?token=s3cret-in-query");
    let data = tempfile::tempdir().unwrap();
    let editor = create_key(data.path(), "hook-admin", "editor");
    let reader = create_key(data.path(), "dashboard", "reader");
    let server = TestServer::start_with(
        Some(data.path()),
        &["--auth", "required", "--subscriber-allow-private"],
    );
    let (as_editor, as_reader) = (format!("Bearer {editor}"), format!("Bearer {reader}"));
    let bearer = |b: &str| ("Authorization", b.to_string());
    let made = {
        let h = bearer(&as_editor);
        request(
            &server.http_url,
            "POST",
            "/subscriptions",
            &[JSON, (h.0, &h.1)],
            Some(&json!({"url": url, "secret": SECRET}).to_string()),
        )
    };
    assert_eq!(made.status, 201, "{made:?}");
    assert_eq!(
        made.json()["url"],
        url.as_str(),
        "the registrant sees it whole"
    );
    let id = made.json()["id"].as_str().unwrap().to_string();
    let redacted = url.replace("?token=s3cret-in-query", "?redacted");

    let get = |who: &str, path: &str| {
        let h = bearer(who);
        let r = request(&server.http_url, "GET", path, &[(h.0, &h.1)], None);
        assert_eq!(r.status, 200, "{r:?}");
        r
    };
    let one = format!("/subscriptions/{id}");
    let list = get(&as_reader, "/subscriptions");
    assert!(!list.body.contains("s3cret"), "{}", list.body);
    assert_eq!(list.json()["subscriptions"][0]["url"], redacted.as_str());
    assert_eq!(get(&as_reader, &one).json()["url"], redacted.as_str());
    assert_eq!(
        get(&as_editor, "/subscriptions").json()["subscriptions"][0]["url"],
        url.as_str()
    );
    assert_eq!(get(&as_editor, &one).json()["url"], url.as_str());

    for (key, want) in [(&reader, &redacted), (&editor, &url)] {
        let mut ws =
            common::ws::WsClient::initialized_with(&server.ws_url, &format!("mcp, mcp.auth.{key}"))
                .await;
        let listed = ws.call_tool("list_webhooks", json!({})).await;
        assert_eq!(listed["isError"], false, "{listed}");
        assert_eq!(
            listed["structuredContent"]["subscriptions"][0]["url"],
            want.as_str(),
            "{listed}"
        );
        if key == &reader {
            assert!(!listed.to_string().contains("s3cret"), "{listed}");
        }
    }

    let h = bearer(&as_editor);
    let r = request(
        &server.http_url,
        "POST",
        "/prompts",
        &[JSON, (h.0, &h.1)],
        Some(&json!({"id": "tokened", "name": "T", "content": "x"}).to_string()),
    );
    assert!(r.status < 300, "{r:?}");
    until(&receiver, "the delivery to the whole URL", |r| {
        r.got.len() == 1
    })
    .await;
}
