//! `POST /webhooks/github` end to end: a push signed with the webhook secret
//! syncs the catalog files it touched from the catalog source folder (created,
//! updated, deleted when removed), and MCP clients hear it; a wrong or missing
//! signature is 401 and changes nothing; a replayed delivery is ignored; paths
//! that leave the folder are skipped; `ping` is answered.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::TestServer;
use common::http::{HttpResponse, request};
use common::ws::WsClient;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "It's a Secret to Everybody";

fn signature(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn deliver(
    server: &TestServer,
    event: &str,
    delivery: &str,
    body: &str,
    sig: Option<&str>,
) -> HttpResponse {
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", delivery),
    ];
    if let Some(sig) = sig {
        headers.push(("X-Hub-Signature-256", sig));
    }
    request(
        &server.http_url,
        "POST",
        "/webhooks/github",
        &headers,
        Some(body),
    )
}

fn push(added: &[&str], modified: &[&str], removed: &[&str]) -> String {
    json!({"ref": "refs/heads/main", "commits": [
        {"id": "c1", "added": added, "modified": modified, "removed": removed}
    ]})
    .to_string()
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn get(server: &TestServer, id: &str) -> Option<Value> {
    let r = request(
        &server.http_url,
        "GET",
        &format!("/prompts/{id}"),
        &[],
        None,
    );
    (r.status == 200).then(|| serde_json::from_str(&r.body).unwrap())
}

/// Waits (bounded) until the prompt `id` satisfies `ok`.
fn wait_for(server: &TestServer, id: &str, ok: impl Fn(Option<&Value>) -> bool) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = get(server, id);
        if ok(got.as_ref()) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "prompt {id} never got there: {got:?}\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn server(source: &Path) -> TestServer {
    TestServer::start_with(
        None,
        &[
            "--github-webhook-secret",
            SECRET,
            "--catalog-source",
            source.to_str().unwrap(),
            "--github-path-prefix",
            "catalog",
        ],
    )
}

const GREETING: &str = r#"{"id": "hook-greeting", "name": "Greeting", "content": "Hello {{name}}", "variables": [{"name": "name", "required": true}]}"#;

#[tokio::test]
async fn a_signed_push_syncs_the_files_it_touched_and_clients_hear_it() {
    let source = tempfile::tempdir().unwrap();
    let root = source.path();
    let server = server(root);
    let (mut watcher, _) = WsClient::initialized(&server.ws_url, json!({})).await;

    assert_eq!(
        deliver(
            &server,
            "ping",
            "d-ping",
            r#"{"zen": "Keep it logically awesome."}"#,
            Some(&signature(
                SECRET,
                r#"{"zen": "Keep it logically awesome."}"#
            ))
        )
        .status,
        200
    );

    write(root, "general/hook-greeting.json", GREETING);
    write(root, "notes.md", "not in the catalog prefix");
    let body = push(
        &["catalog/general/hook-greeting.json", "README.md"],
        &[],
        &[],
    );
    let r = deliver(
        &server,
        "push",
        "d-1",
        &body,
        Some(&signature(SECRET, &body)),
    );
    assert_eq!(r.status, 202, "{r:?}");
    let queued: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        queued["queued"], 1,
        "the path outside catalog/ is ignored: {queued}"
    );
    let created = wait_for(&server, "hook-greeting", |p| p.is_some()).unwrap();
    assert_eq!(created["category"], "general", "category from the folder");
    assert_eq!(created["version"], 1);
    let heard = watcher
        .wait_for(
            "notifications/prompts/list_changed",
            Duration::from_secs(10),
        )
        .await;
    assert!(heard.is_some(), "MCP clients hear a webhook sync");

    // A replay of the same delivery is acknowledged and ignored, even after the file changed.
    write(
        root,
        "general/hook-greeting.json",
        &GREETING.replace("Hello", "Hi"),
    );
    let replay = deliver(
        &server,
        "push",
        "d-1",
        &body,
        Some(&signature(SECRET, &body)),
    );
    assert_eq!(replay.status, 200, "{replay:?}");
    assert!(replay.body.contains("\"duplicate\":true"), "{replay:?}");
    // A new delivery of a modification updates it (a version, not a replacement).
    let body = push(&[], &["catalog/general/hook-greeting.json"], &[]);
    assert_eq!(
        deliver(
            &server,
            "push",
            "d-2",
            &body,
            Some(&signature(SECRET, &body))
        )
        .status,
        202
    );
    let updated = wait_for(&server, "hook-greeting", |p| {
        p.is_some_and(|p| p["version"] == 2)
    })
    .unwrap();
    assert!(
        updated["content"].as_str().unwrap().starts_with("Hi"),
        "{updated}"
    );

    // Removing the file deletes the prompt.
    std::fs::remove_file(root.join("general/hook-greeting.json")).unwrap();
    let body = push(&[], &[], &["catalog/general/hook-greeting.json"]);
    assert_eq!(
        deliver(
            &server,
            "push",
            "d-3",
            &body,
            Some(&signature(SECRET, &body))
        )
        .status,
        202
    );
    wait_for(&server, "hook-greeting", |p| p.is_none());
}

#[tokio::test]
async fn unsigned_wrongly_signed_or_escaping_pushes_change_nothing() {
    let source = tempfile::tempdir().unwrap();
    let root = source.path();
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "stolen.json",
        &GREETING.replace("hook-greeting", "stolen"),
    );
    write(root, "general/hook-greeting.json", GREETING);
    let server = server(root);

    let body = push(&["catalog/general/hook-greeting.json"], &[], &[]);
    let missing = deliver(&server, "push", "d-a", &body, None);
    assert_eq!(missing.status, 401, "{missing:?}");
    assert!(missing.body.contains("X-Hub-Signature-256"), "{missing:?}");
    let wrong = deliver(
        &server,
        "push",
        "d-b",
        &body,
        Some(&signature("another secret", &body)),
    );
    assert_eq!(wrong.status, 401);
    let tampered = deliver(
        &server,
        "push",
        "d-c",
        &body.replace("main", "evil"),
        Some(&signature(SECRET, &body)),
    );
    assert_eq!(tampered.status, 401, "the signature covers the body");
    let garbage = deliver(&server, "push", "d-d", &body, Some("sha256=zz"));
    assert_eq!(garbage.status, 401);

    // Paths that climb out of the folder are refused; the rest of the push goes in.
    let escape = format!(
        "catalog/../../{}/stolen.json",
        outside.path().file_name().unwrap().to_str().unwrap()
    );
    let body = push(
        &[
            &escape,
            "catalog/general/hook-greeting.json",
            "catalog/.git/config",
        ],
        &[],
        &[],
    );
    let r = deliver(
        &server,
        "push",
        "d-e",
        &body,
        Some(&signature(SECRET, &body)),
    );
    assert_eq!(r.status, 202, "{r:?}");
    wait_for(&server, "hook-greeting", |p| p.is_some());
    assert!(
        get(&server, "stolen").is_none(),
        "nothing outside the catalog folder is read"
    );
    assert!(
        server
            .output()
            .contains("not a relative path inside the catalog"),
        "the refusal is logged: {}",
        server.output()
    );
    // The unsigned delivery ids were not remembered: signed, they go through.
    let body = push(&[], &["catalog/general/hook-greeting.json"], &[]);
    let late = deliver(
        &server,
        "push",
        "d-a",
        &body,
        Some(&signature(SECRET, &body)),
    );
    assert_eq!(late.status, 202, "{late:?}");
}
