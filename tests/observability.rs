//! `/health`, `/health/live` (and `/metrics`) of the embedded `serve`, end to
//! end on the real binary: the health report's shape and statuses, the
//! publisher catching up with a write, and which of them stay open under
//! `--auth required`.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use common::http::request;
use serde_json::{Value, json};

fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let r = request(&server.http_url, "GET", path, &[], None);
    (r.status, r.json())
}

#[test]
fn health_reports_the_store_and_the_publisher_and_live_touches_nothing() {
    let server = TestServer::start();
    let (status, body) = get(&server, "/health");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["backend"], "embedded");
    assert!(
        body["version"].as_str().is_some_and(|v| !v.is_empty()),
        "{body}"
    );
    let store = &body["checks"]["store"];
    assert_eq!(store["status"], "ok", "{body}");
    assert!(store["latencyMs"].as_f64().unwrap() >= 0.0, "{body}");
    assert!(store.get("detail").is_none(), "{body}");
    let publisher = &body["checks"]["publisher"];
    assert_eq!(publisher["status"], "ok", "{body}");
    assert!(publisher["lagChanges"].is_u64(), "{body}");
    assert!(publisher["latencyMs"].as_f64().unwrap() >= 0.0, "{body}");

    // A write moves the change-log head; the publisher delivers it and the lag
    // returns to 0.
    let created = request(
        &server.http_url,
        "POST",
        "/prompts",
        &[("Content-Type", "application/json")],
        Some(&json!({"id": "health-probe", "name": "probe", "content": "hi"}).to_string()),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = get(&server, "/health");
        if body["checks"]["publisher"]["lagChanges"] == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the publisher never caught up: {body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    assert_eq!(get(&server, "/health/live"), (200, json!({"status": "ok"})));
}

#[test]
fn health_and_liveness_stay_open_under_required_auth() {
    let server = TestServer::start_with(None, &["--auth", "required"]);
    assert_eq!(
        request(&server.http_url, "GET", "/prompts", &[], None).status,
        401
    );
    assert_eq!(get(&server, "/health").0, 200);
    assert_eq!(get(&server, "/health/live").0, 200);
}
