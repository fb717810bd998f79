#![cfg(feature = "aws")]
//! The resume scenarios (`tests/resume/mod.rs`) on the AWS column, end to end
//! through `serve --backend aws` against moto, plus what only API Gateway
//! does: the forced maximum-duration cut in the middle of a burst. (The TypeScript SDK client, which knows nothing
//! of resumption, runs against this backend in `aws_gateway.rs`.)

mod aws_support;
mod common;
mod resume;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_support::{Gateway, Moto};
use common::ws::{WsClient, events_opt_in};
use mcp_prompts::adapters::aws::DynamoPromptStore;
use mcp_prompts::domain::PromptId;
use mcp_prompts::engine::Catalog;
use mcp_prompts::ports::{PromptStore, SystemClock};
use resume::{Hub, WAIT, event_positions};
use serde_json::json;

/// How long "nothing more arrives" must last: the fan-out goes through SQS.
const QUIET: Duration = Duration::from_millis(1500);

/// moto with the seeded catalog, and the gateway. The seeding's 27 change
/// messages are purged from the queue first, so no late fan-out of them
/// reaches a test's clients.
async fn start(extra: &[&str]) -> (Moto, Gateway) {
    let moto = Moto::start();
    moto.bootstrap();
    let sqs = moto.clients().await.sqs().clone();
    let queue = sqs.get_queue_url().queue_name("mcp-prompts-changes");
    let url = queue.send().await.unwrap().queue_url().unwrap().to_string();
    sqs.purge_queue().queue_url(url).send().await.unwrap();
    let gateway = Gateway::start(&moto, extra);
    (moto, gateway)
}

async fn store_of(moto: &Moto) -> Arc<DynamoPromptStore> {
    Arc::new(DynamoPromptStore::new(
        moto.clients().await,
        &moto.settings(),
        Arc::new(SystemClock),
    ))
}

async fn hub(extra: &[&str]) -> Hub {
    let (moto, gw) = start(extra).await;
    Hub {
        ws_url: gw.ws_url.clone(),
        store: store_of(&moto).await,
        quiet: QUIET,
        _keep: Box::new((moto, gw)),
    }
}

#[tokio::test]
async fn a_subscriber_that_was_away_gets_exactly_what_it_missed_in_order() {
    resume::a_subscriber_that_was_away_gets_exactly_what_it_missed_in_order(hub(&[]).await).await;
}

#[tokio::test]
async fn without_last_position_nothing_missed_is_lost() {
    resume::without_last_position_nothing_missed_is_lost(hub(&[]).await).await;
}

#[tokio::test]
async fn a_second_connection_for_the_same_session_closes_the_first_with_1000() {
    resume::a_second_connection_for_the_same_session_closes_the_first_with_1000(hub(&[]).await)
        .await;
}

#[tokio::test]
async fn unknown_and_expired_session_ids_get_fresh_sessions() {
    resume::unknown_and_expired_session_ids_get_fresh_sessions(
        hub(&["--session-grace-secs", "1"]).await,
    )
    .await;
}

#[tokio::test]
async fn a_position_older_than_the_history_is_reported_as_truncated() {
    let h = hub(&["--history-max-changes", "5", "--history-prune-secs", "1"]).await;
    resume::a_position_older_than_the_history_is_reported_as_truncated(h).await;
}

/// The highest position up to which every position from `first` was seen.
fn contiguous_upto(seen: &[u64], first: u64) -> u64 {
    let mut upto = first - 1;
    while seen.contains(&(upto + 1)) {
        upto += 1;
    }
    upto
}

#[tokio::test]
async fn the_maximum_duration_cut_in_the_middle_of_a_burst_loses_nothing() {
    let (moto, gw) = start(&["--max-connection-secs", "3"]).await;
    let store = store_of(&moto).await;
    let h = Hub {
        ws_url: gw.ws_url.clone(),
        store: store.clone(),
        quiet: QUIET,
        _keep: Box::new(()),
    };
    let start_head = store.head_position().await.unwrap();
    let opened = Instant::now();
    let (mut sub, first) = WsClient::initialized(&gw.ws_url, events_opt_in()).await;
    let session_id = first["mcpSessionId"].as_str().unwrap().to_string();

    // Another writer (as another Lambda would) makes a burst spanning the cut.
    const BURST: u64 = 100;
    let catalog = Catalog::new(store.clone(), Arc::new(SystemClock));
    let writer = tokio::spawn(async move {
        for n in 0..BURST {
            let id = PromptId::parse(if n % 2 == 0 {
                "bug-report"
            } else {
                "code-review"
            })
            .unwrap();
            let patch =
                serde_json::from_value(json!({"description": format!("burst {n}")})).unwrap();
            catalog.update(&id, patch, None, "burst").await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let first_burst = start_head + 1;
    let last_burst = start_head + BURST;

    let mut connections: Vec<Vec<u64>> = Vec::new();
    let mut resumed_from: Vec<u64> = Vec::new();
    let mut seen: Vec<u64> = Vec::new();
    let mut closes = Vec::new();
    loop {
        let got = h.until_position(&mut sub, last_burst).await;
        let positions = event_positions(&got);
        seen.extend(&positions);
        connections.push(positions);
        if (first_burst..=last_burst).all(|p| seen.contains(&p)) {
            break;
        }
        let close = sub.closed(WAIT).await.expect("cut by the gateway");
        closes.push((u16::from(close.code), opened.elapsed()));
        assert!(connections.len() <= 10, "too many cuts: {connections:?}");
        let resume_from = contiguous_upto(&seen, first_burst);
        let (next, result) = WsClient::initialized(
            &gw.ws_url,
            json!({"mcpSessionId": session_id, "lastPosition": resume_from}),
        )
        .await;
        assert_eq!(result["resumed"], true, "{result}");
        assert_eq!(result["replay"], "complete");
        resumed_from.push(resume_from);
        sub = next;
    }
    writer.await.unwrap();

    assert!(!closes.is_empty(), "the burst outlived no cut");
    assert!(
        closes.iter().all(|(code, _)| *code == 1001),
        "API Gateway's cut is 1001: {closes:?}"
    );
    assert!(
        closes[0].1 >= Duration::from_secs(3),
        "not before the maximum duration: {closes:?}"
    );
    let before_cut = &connections[0];
    assert!(
        !before_cut.is_empty() && !before_cut.contains(&last_burst),
        "the cut came in the middle of the burst: {connections:?}"
    );
    let mut all = seen.clone();
    all.sort_unstable();
    all.dedup();
    let expected: Vec<u64> = (first_burst..=last_burst).collect();
    assert_eq!(all, expected, "every change of the burst arrived");
    // Delivery is at least once: a change committed while a resume records its
    // interest may come by replay and live. But nothing the client had already
    // acknowledged (`lastPosition`) is sent again.
    for (positions, from) in connections[1..].iter().zip(&resumed_from) {
        assert!(
            positions.iter().all(|p| p > from),
            "a resumed connection repeated what was seen before {from}: {connections:?}"
        );
    }
}

/// The official Python SDK 1.x, unmodified, resumes with extra `initialize` params.
#[test]
fn python_sdk_client_resumes_and_gets_exactly_what_it_missed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_moto, gw) = runtime.block_on(start(&[]));
    resume::python_sdk_client_resumes(&gw.ws_url, &["2"], || gw.output());
}
