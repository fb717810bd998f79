//! `/health`, `/health/live` and `/metrics` of the embedded `serve`, end to
//! end on the real binary: the health report's shape and statuses, the
//! publisher catching up with a write, the request counter and histograms
//! after real MCP traffic (read back with an independent Prometheus parser),
//! and which endpoints stay open under `--auth required`.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use common::http::{call_tool, open_session, post_mcp, request};
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
fn health_and_liveness_stay_open_under_required_auth_and_metrics_needs_a_key() {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-prompts"))
        .args([
            "keys", "create", "--name", "scraper", "--role", "reader", "--data",
        ])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let key = String::from_utf8(out.stdout).unwrap();
    let bearer = format!("Bearer {}", key.lines().last().unwrap());
    let server = TestServer::start_with(Some(data.path()), &["--auth", "required"]);
    assert_eq!(
        request(&server.http_url, "GET", "/prompts", &[], None).status,
        401
    );
    assert_eq!(get(&server, "/health").0, 200);
    assert_eq!(get(&server, "/health/live").0, 200);
    assert_eq!(
        request(&server.http_url, "GET", "/metrics", &[], None).status,
        401,
        "/metrics is guarded like /prompts"
    );
    let with_key = request(
        &server.http_url,
        "GET",
        "/metrics",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(with_key.status, 200, "{with_key:?}");
    assert!(
        with_key.body.contains("mcp_prompts_requests"),
        "{with_key:?}"
    );
}

fn scrape(server: &TestServer) -> prometheus_parse::Scrape {
    let r = request(&server.http_url, "GET", "/metrics", &[], None);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.contains("openmetrics-text")),
        "{r:?}"
    );
    let lines = r.body.lines().map(|l| Ok(l.to_string()));
    prometheus_parse::Scrape::parse(lines).expect("a Prometheus text exposition")
}

/// A counter's or gauge's value (0 when the series does not exist yet).
fn scalar(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{name} is not a scalar: {other:?}"),
        })
        .sum()
}

/// How many observations a histogram holds (its `+Inf` bucket).
fn observations(scrape: &prometheus_parse::Scrape, name: &str) -> f64 {
    let buckets = scrape
        .samples
        .iter()
        .find_map(|s| match &s.value {
            prometheus_parse::Value::Histogram(b) if s.metric == name => Some(b),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no histogram {name}"));
    buckets
        .iter()
        .find(|b| b.less_than == f64::INFINITY)
        .map(|b| b.count)
        .expect("a +Inf bucket")
}

fn requests(scrape: &prometheus_parse::Scrape, method: &str, outcome: &str) -> f64 {
    scalar(
        scrape,
        "mcp_prompts_requests_total",
        &[("method", method), ("outcome", outcome)],
    )
}

#[test]
fn metrics_count_requests_by_method_and_outcome_and_time_renders_and_fan_outs() {
    let server = TestServer::start();
    let session = open_session(&server.http_url);
    let before = scrape(&server);
    let renders_before = observations(&before, "mcp_prompts_render_seconds");

    let args = json!({"code": "fn main() {}", "language": "rust"});
    for id in 0..4 {
        let got = post_mcp(
            &server.http_url,
            Some(&session),
            &json!({"jsonrpc": "2.0", "id": 100 + id, "method": "prompts/get",
                    "params": {"name": "code-review", "arguments": args}}),
        )
        .json();
        assert!(got["result"]["messages"].is_array(), "{got}");
    }
    let missing = post_mcp(
        &server.http_url,
        Some(&session),
        &json!({"jsonrpc": "2.0", "id": 200, "method": "prompts/get",
                "params": {"name": "no-such-prompt"}}),
    )
    .json();
    assert_eq!(missing["error"]["code"], -32602, "{missing}");
    for id in 0..3 {
        let applied = call_tool(
            &server.http_url,
            &session,
            300 + id,
            "apply_template",
            json!({"id": "code-review", "variables": args}),
        );
        assert!(applied["result"]["content"].is_array(), "{applied}");
    }

    let after = scrape(&server);
    let rose = |method: &str, outcome: &str| {
        requests(&after, method, outcome) - requests(&before, method, outcome)
    };
    assert_eq!(rose("prompts/get", "ok"), 4.0);
    assert_eq!(rose("prompts/get", "error"), 1.0);
    assert_eq!(rose("tools/call", "ok"), 3.0);
    assert_eq!(rose("tools/call", "error"), 0.0);
    assert_eq!(
        observations(&after, "mcp_prompts_render_seconds") - renders_before,
        7.0,
        "four prompts/get and three apply_template renders"
    );
    assert_eq!(scalar(&after, "mcp_prompts_http_sessions", &[]), 1.0);
    assert!(scalar(&after, "mcp_prompts_attached_sessions", &[]) >= 1.0);
    assert_eq!(
        scalar(&after, "mcp_prompts_websocket_connections", &[]),
        0.0
    );

    // A write is fanned out (to the open session): the fan-out histograms get
    // a sample and the publisher lag returns to 0.
    let fanouts_before = observations(&after, "mcp_prompts_fanout_seconds");
    let created = request(
        &server.http_url,
        "POST",
        "/prompts",
        &[("Content-Type", "application/json")],
        Some(&json!({"id": "metrics-probe", "name": "probe", "content": "hi"}).to_string()),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = scrape(&server);
        if observations(&now, "mcp_prompts_fanout_seconds") > fanouts_before
            && scalar(&now, "mcp_prompts_publisher_lag_changes", &[]) == 0.0
        {
            assert!(observations(&now, "mcp_prompts_fanout_sessions") > 0.0);
            break;
        }
        assert!(Instant::now() < deadline, "no fan-out was recorded");
        std::thread::sleep(Duration::from_millis(50));
    }
}
