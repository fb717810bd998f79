//! Issue 17.4: generated bad requests at every REST write endpoint (`POST
//! /prompts`, `PUT`/`DELETE /prompts/{id}`, `POST …/apply`, `PUT
//! …/labels/{label}`, and methods the routes do not have), sent in process
//! through the gateway's real router (`Gateway::router`, `oneshot`: no socket)
//! over a real embedded store. Whatever arrives, the API does not panic,
//! answers a 4xx (never 5xx) with an `application/problem+json` body whose
//! `status`, `type` and `field` name the problem, and writes nothing.
//!
//! `REST_FUZZ_CASES=N` changes the number of cases (default 100,000).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use mcp_prompts_embedded::EmbeddedStore;
use mcp_prompts_engine::domain::{Label, PromptId};
use mcp_prompts_engine::ports::{ListQuery, SystemClock};
use mcp_prompts_engine::realtime::Registry;
use mcp_prompts_engine::{Catalog, Engine, EngineConfig};
use mcp_prompts_server::gateway::{Gateway, Limits};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

#[path = "fuzz_rest/cases.rs"]
mod cases;

use cases::{Case, MAX_BODY, MAX_TEMPLATE, any_case};

async fn send(router: &Router, case: &Case) -> (u16, Option<String>, Vec<u8>) {
    let mut request = Request::builder()
        .method(case.method.clone())
        .uri(&case.path);
    if let Some(media) = &case.content_type {
        request = request.header(
            header::CONTENT_TYPE,
            HeaderValue::from_bytes(media).unwrap(),
        );
    }
    if let Some(tag) = &case.if_match {
        request = request.header(header::IF_MATCH, tag);
    }
    let request = request.body(Body::from(case.body.clone())).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, media, body.to_vec())
}

fn check(case: &Case, status: u16, media: Option<&str>, body: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(body);
    let show = || {
        format!(
            "{status} {media:?} {text} for {} {}",
            case.method, case.path
        )
    };
    if !(400..500).contains(&status) {
        return Err(format!("not a 4xx: {}", show()));
    }
    if media != Some("application/problem+json") {
        return Err(format!("not a problem body: {}", show()));
    }
    let problem: Value = serde_json::from_slice(body).map_err(|e| format!("{e}: {}", show()))?;
    let kind = problem["type"]
        .as_str()
        .and_then(|t| t.strip_prefix("https://mcp-prompts.dev/problems/"))
        .ok_or_else(|| format!("no problem type: {}", show()))?;
    let named = problem["status"] == status
        && problem["title"].is_string()
        && problem["detail"].as_str().is_some_and(|d| !d.is_empty());
    if !named {
        return Err(format!("incomplete problem: {}", show()));
    }
    let e = &case.expect;
    if status != e.status || !e.kinds.contains(&kind) {
        return Err(format!(
            "expected {} {:?}, got {}",
            e.status,
            e.kinds,
            show()
        ));
    }
    if let Some(field) = &e.field
        && !problem["field"]
            .as_str()
            .is_some_and(|f| f.starts_with(field.as_str()))
    {
        return Err(format!("expected field {field}: {}", show()));
    }
    Ok(())
}

/// What a write would change: the change-log head, the live prompts with
/// their versions, the seed's history and labels.
async fn store_state(catalog: &Catalog) -> String {
    let head = catalog.store().head_position().await.unwrap();
    let query = ListQuery {
        category: None,
        tag: None,
        id_prefix: None,
        after: None,
        limit: 1000,
    };
    let (prompts, _) = catalog.list(query).await.unwrap();
    let live: Vec<(String, u64, String)> = prompts
        .iter()
        .map(|p| (p.id.to_string(), p.version, p.content.clone()))
        .collect();
    let (versions, labels) = catalog
        .history(&PromptId::parse("seed").unwrap())
        .await
        .unwrap();
    format!("{head} {live:?} {} {labels:?}", versions.len())
}

/// What one worker saw.
struct Part {
    ran: u32,
    by_status: BTreeMap<u16, u32>,
    result: Result<(), String>,
}

/// `cases` generated requests, one at a time, on the calling thread.
fn run_part(rt: &Runtime, router: &Router, catalog: &Catalog, baseline: &str, cases: u32) -> Part {
    let ran = RefCell::new(0u32);
    let by_status = RefCell::new(BTreeMap::new());
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    });
    let result = runner.run(&any_case(), |case| {
        *ran.borrow_mut() += 1;
        let (status, media, body) = rt.block_on(send(router, &case));
        *by_status.borrow_mut().entry(status).or_default() += 1;
        check(&case, status, media.as_deref(), &body).map_err(TestCaseError::fail)?;
        if ran.borrow().is_multiple_of(1_000) {
            let state = rt.block_on(store_state(catalog));
            prop_assert_eq!(state.as_str(), baseline, "the store changed");
        }
        Ok(())
    });
    Part {
        ran: ran.into_inner(),
        by_status: by_status.into_inner(),
        result: result.map_err(|e| e.to_string()),
    }
}

#[test]
fn generated_bad_requests_get_a_problem_and_change_nothing() {
    let cases: u32 = std::env::var("REST_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (router, catalog, baseline) = rt.block_on(async {
        let clock = Arc::new(SystemClock);
        let store = Arc::new(EmbeddedStore::open(dir.path(), clock.clone()).unwrap());
        let limits = mcp_prompts_engine::catalog::Limits {
            max_template_bytes: MAX_TEMPLATE,
            ..Default::default()
        };
        let catalog = Arc::new(Catalog::new(store.clone(), clock).with_limits(limits));
        let draft = serde_json::from_value(json!({"id": "seed", "name": "Seed",
            "content": "Hello {{name}}", "isTemplate": true}))
        .unwrap();
        catalog.create(draft, "test").await.unwrap();
        let patch = serde_json::from_value(json!({"description": "second"})).unwrap();
        let id = PromptId::parse("seed").unwrap();
        catalog.update(&id, patch, Some(1), "test").await.unwrap();
        catalog
            .set_label(&id, &Label::parse("prod").unwrap(), 1, "test")
            .await
            .unwrap();
        let engine = Arc::new(Engine::new(catalog.clone(), EngineConfig::default()));
        let registry = Arc::new(Registry::new(8));
        let host =
            mcp_prompts_server::startup::local_host(engine, store, &registry, Default::default());
        let limits = Limits {
            max_ws_message: MAX_BODY,
            ..Limits::default()
        };
        let gateway = Gateway::new(host, registry, CancellationToken::new(), limits, None);
        let baseline = store_state(&catalog).await;
        (gateway.router(), catalog, baseline)
    });
    assert!(baseline.contains("\"seed\", 2"), "{baseline}");
    // A debug build spends its time in the router, not the generator: the
    // cases are split over a few threads sharing the router and the store.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 4) as u32;
    let started = std::time::Instant::now();
    let parts: Vec<Part> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| run_part(&rt, &router, &catalog, &baseline, cases.div_ceil(threads)))
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let ran: u32 = parts.iter().map(|p| p.ran).sum();
    let mut by_status = BTreeMap::<u16, u32>::new();
    for (status, n) in parts.iter().flat_map(|p| &p.by_status) {
        *by_status.entry(*status).or_default() += n;
    }
    println!(
        "rest fuzz: {ran} generated requests on {threads} threads in {:?}, by status {by_status:?}",
        started.elapsed()
    );
    for part in &parts {
        if let Err(e) = &part.result {
            panic!("{e}");
        }
    }
    assert!(ran >= cases, "{ran} < {cases}");
    assert_eq!(
        rt.block_on(store_state(&catalog)),
        baseline,
        "the store changed"
    );
}
