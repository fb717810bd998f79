//! Issue 17.6 (3a): 20 concurrent writers × 50 updates on one prompt through
//! the REST API of a real `mcp-prompts serve` over HTTP on 127.0.0.1. Each
//! round reads the prompt and writes naming the version it read: half the
//! writers with `If-Match` (a stale one is 412), half with `expectedVersion`
//! in the body (409). Every accepted write is a distinct version in the
//! history, every refused one names the current version, and the final
//! version is 1 + the accepted count.

mod common;

use common::TestServer;
use common::http::request;
use serde_json::{Value, json};

const JSON: (&str, &str) = ("Content-Type", "application/json");
const WRITERS: usize = 20;
const ROUNDS: usize = 50;

/// One writer's rounds: (accepted versions, refused count).
fn writer(base: &str, w: usize) -> (Vec<u64>, usize) {
    let (mut accepted, mut refused) = (Vec::new(), 0);
    let if_match = w.is_multiple_of(2);
    for i in 0..ROUNDS {
        let read = request(base, "GET", "/prompts/shared", &[], None);
        assert_eq!(read.status, 200, "{read:?}");
        let version = read.json()["version"].as_u64().unwrap();
        assert_eq!(read.header("etag"), Some(format!("\"{version}\"").as_str()));
        let tag = format!("\"{version}\"");
        let mut body = json!({"content": format!("v {w}-{i}")});
        let mut headers = vec![JSON];
        if if_match {
            headers.push(("If-Match", &tag));
        } else {
            body["expectedVersion"] = json!(version);
        }
        let r = request(
            base,
            "PUT",
            "/prompts/shared",
            &headers,
            Some(&body.to_string()),
        );
        match r.status {
            200 => {
                let written = r.json();
                assert_eq!(written["content"], format!("v {w}-{i}"));
                accepted.push(written["version"].as_u64().unwrap());
            }
            409 | 412 => {
                assert_eq!(r.status, if if_match { 412 } else { 409 }, "{r:?}");
                assert_eq!(r.header("content-type"), Some("application/problem+json"));
                let current = r.json()["currentVersion"].as_u64().unwrap();
                assert!(current > version, "refused at {version}, current {current}");
                refused += 1;
            }
            _ => panic!("writer {w} round {i}: {r:?}"),
        }
    }
    (accepted, refused)
}

#[test]
fn concurrent_rest_writers_with_preconditions_never_lose_an_update() {
    let server = TestServer::start();
    let base = server.http_url.clone();
    let draft = json!({"id": "shared", "name": "Shared", "content": "v0"});
    let created = request(&base, "POST", "/prompts", &[JSON], Some(&draft.to_string()));
    assert_eq!(created.status, 201, "{created:?}");

    let results: Vec<(Vec<u64>, usize)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let base = base.as_str();
                s.spawn(move || writer(base, w))
            })
            .collect();
        workers.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut accepted: Vec<u64> = results.iter().flat_map(|(a, _)| a.clone()).collect();
    let refused: usize = results.iter().map(|(_, r)| r).sum();

    let history = request(&base, "GET", "/prompts/shared/versions", &[], None);
    assert_eq!(history.status, 200, "{history:?}");
    let versions: Vec<u64> = history.json()["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().or_else(|| v["version"].as_u64()).unwrap())
        .collect();
    let mut versions_sorted = versions.clone();
    versions_sorted.sort_unstable();
    let final_version = request(&base, "GET", "/prompts/shared", &[], None).json()["version"]
        .as_u64()
        .unwrap();
    println!(
        "rest concurrency: {} accepted, {refused} refused of {}; final version {final_version}",
        accepted.len(),
        WRITERS * ROUNDS
    );
    assert_eq!(accepted.len() + refused, WRITERS * ROUNDS);
    assert!(!accepted.is_empty());
    accepted.sort_unstable();
    let distinct = {
        let mut d = accepted.clone();
        d.dedup();
        d.len()
    };
    assert_eq!(distinct, accepted.len(), "a version was accepted twice");
    assert_eq!(final_version, 1 + accepted.len() as u64);
    assert_eq!(versions_sorted, (1..=final_version).collect::<Vec<_>>());
    assert_eq!(accepted, (2..=final_version).collect::<Vec<_>>());
    // Each accepted write's content is the one stored at its version.
    let last = request(
        &base,
        "GET",
        &format!("/prompts/shared/versions/{final_version}"),
        &[],
        None,
    );
    assert_eq!(last.status, 200, "{last:?}");
    let content: Value = last.json()["content"].clone();
    assert!(content.as_str().unwrap().starts_with("v "), "{content}");
}
