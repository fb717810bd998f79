//! Bulk import jobs over REST on the real binary: `POST /imports` queues a
//! catalog (202 + `Location`), `GET /imports/{id}` polls it to its summary;
//! live MCP sessions hear one `list_changed` for the whole job while catalog
//! event subscribers get every change, in order; bad bodies get problems and
//! queue nothing. (The MCP tool with progress: `sdk_clients.rs`.)

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use common::http::{HttpResponse, request};
use common::ws::{WsClient, events_opt_in};
use serde_json::{Value, json};

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn post(server: &TestServer, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
    request(&server.http_url, "POST", "/imports", headers, Some(body))
}

fn files(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            json!({
                "path": format!("team-{}/job-{i}.md", i % 4),
                "content": format!("---\nid: job-{i}\nname: Job {i}\n---\nSummarize {{{{thing}}}} number {i}\n"),
            })
        })
        .collect()
}

/// Polls a job until it is done or failed (bounded).
fn finished(server: &TestServer, location: &str) -> Value {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let r = request(&server.http_url, "GET", location, &[], None);
        assert_eq!(r.status, 200, "{r:?}");
        let status = r.json();
        if status["state"] == "done" || status["state"] == "failed" {
            return status;
        }
        assert!(Instant::now() < until, "job still {status}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn a_rest_import_job_notifies_every_change_but_one_listing_change() {
    const COUNT: usize = 1100;
    let server = TestServer::start();
    let (mut events, _) = WsClient::initialized(&server.ws_url, events_opt_in()).await;
    let body = json!({ "files": files(COUNT) }).to_string();
    let r = post(&server, &body, &[JSON]);
    assert_eq!(r.status, 202, "{r:?}");
    let queued = r.json();
    let job = queued["jobId"].as_str().expect("jobId").to_string();
    let location = r.header("location").expect("Location").to_string();
    assert_eq!(location, format!("/imports/{job}"));
    let status = finished(&server, &location);
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["created"], COUNT, "{status}");
    assert_eq!(
        (status["failed"].clone(), status["settled"].clone()),
        (json!(0), json!(COUNT))
    );

    let heard = events.notifications(Duration::from_millis(1500)).await;
    let changes: Vec<&Value> = heard
        .iter()
        .filter(|m| m["method"] == "notifications/catalog/changed")
        .collect();
    assert_eq!(
        changes.len(),
        COUNT,
        "one catalog event per imported prompt"
    );
    assert!(
        changes
            .iter()
            .all(|c| c["params"]["actor"] == format!("import:{job}")),
        "events name the job as their actor"
    );
    let positions: Vec<u64> = changes
        .iter()
        .map(|c| c["params"]["position"].as_u64().unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "events in log order"
    );
    let listing = heard
        .iter()
        .filter(|m| m["method"] == "notifications/prompts/list_changed")
        .count();
    assert_eq!(listing, 1, "one list_changed for the whole job");
    let team = request(&server.http_url, "GET", "/prompts/job-5", &[], None).json();
    assert_eq!(
        team["category"], "team-1",
        "the category comes from the folder"
    );

    // Re-importing writes nothing and says nothing.
    let again = post(&server, &body, &[JSON]);
    let status = finished(&server, again.header("location").unwrap());
    assert_eq!(
        (status["unchanged"].clone(), status["created"].clone()),
        (json!(COUNT), json!(0))
    );
    let quiet = events.notifications(Duration::from_millis(500)).await;
    assert!(
        quiet.is_empty(),
        "an unchanged re-import notifies nobody: {quiet:?}"
    );

    let recent = request(&server.http_url, "GET", "/imports", &[], None).json();
    let ids: Vec<&str> = recent["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["jobId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{recent}");
    assert_eq!(ids[1], job, "newest first");
}

/// (body, headers, expected status, what the problem must name)
type BadCase<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);

#[test]
fn bad_import_bodies_get_problems_and_queue_nothing() {
    let server = TestServer::start();
    let cases: [BadCase; 5] = [
        (r#"{"files": []}"#, &[JSON], 400, "files"),
        (
            r#"{"files": [{"path": " ", "content": "x"}]}"#,
            &[JSON],
            400,
            "files/0/path",
        ),
        (r#"{"files": [{"path": "a.md"}]}"#, &[JSON], 400, "content"),
        (r#"{"files": "a.md"}"#, &[JSON], 400, "files"),
        (
            r#"{"files": []}"#,
            &[("Content-Type", "text/plain")],
            415,
            "",
        ),
    ];
    for (body, headers, status, names) in cases {
        let r = post(&server, body, headers);
        assert_eq!(r.status, status, "{body}: {r:?}");
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        let text = r.json().to_string();
        assert!(
            text.contains(names),
            "{body}: the problem should name {names}: {text}"
        );
    }
    let recent = request(&server.http_url, "GET", "/imports", &[], None).json();
    assert_eq!(recent["jobs"], json!([]), "nothing was queued");
    let unknown = request(&server.http_url, "GET", "/imports/nope", &[], None);
    assert_eq!(unknown.status, 404, "{unknown:?}");
}
