//! Issue 17.3 and 17.8: many sessions at once on one engine and store.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mcp_prompts_engine::catalog::Limits;
use serde_json::{Value, json};
use support::{Hub, hub, hub_with, is_error, tool_text};

/// 20 writers × 50 `update_prompt`s on one prompt, each naming the version
/// it read: every accepted write is a distinct version, every refused one is
/// the conflict error, and the history has exactly 1 + accepted versions.
#[test]
fn concurrent_writers_with_expected_version_never_lose_an_update() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let hub = Arc::new(hub());
        let mut s = hub.session("setup").await;
        assert!(!is_error(&hub.create(&mut s, "shared", "v0").await));
        let writers: Vec<_> = (0..20)
            .map(|w| {
                let hub = hub.clone();
                tokio::spawn(async move { writer(&hub, w).await })
            })
            .collect();
        let mut accepted = Vec::new();
        let mut refused = 0;
        for w in writers {
            let (a, r) = w.await.unwrap();
            accepted.extend(a);
            refused += r;
        }
        let history = hub
            .tool(&mut s, "prompt_history", json!({"id": "shared"}))
            .await;
        let versions: Vec<u64> = history["structuredContent"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_u64().unwrap())
            .collect();
        let mut sorted = accepted.clone();
        sorted.sort_unstable();
        sorted.dedup();
        println!(
            "concurrency: {} accepted, {refused} refused of 1000; final version {}",
            accepted.len(),
            versions.last().unwrap()
        );
        assert_eq!(sorted.len(), accepted.len(), "a version was accepted twice");
        assert_eq!(accepted.len() + refused, 1000);
        assert_eq!(versions.len(), 1 + accepted.len());
        assert_eq!(*versions.last().unwrap(), 1 + accepted.len() as u64);
        assert_eq!(versions, (1..=versions.len() as u64).collect::<Vec<_>>());
        assert!(sorted.iter().all(|v| versions.contains(v)));
        // Reads see the final version (no stale cache entry survives the race).
        let latest = hub
            .tool(&mut s, "get_prompt", json!({"id": "shared"}))
            .await;
        assert_eq!(
            latest["structuredContent"]["version"],
            *versions.last().unwrap()
        );
    });
}

/// One writer: 50 read-then-update rounds. Returns (accepted versions, refused).
async fn writer(hub: &Hub, w: usize) -> (Vec<u64>, usize) {
    let mut s = hub.session(&format!("writer-{w}")).await;
    let (mut accepted, mut refused) = (Vec::new(), 0);
    for i in 0..50 {
        let got = hub
            .tool(&mut s, "get_prompt", json!({"id": "shared"}))
            .await;
        let read = got["structuredContent"]["version"].as_u64().unwrap();
        let result = hub
            .tool(
                &mut s,
                "update_prompt",
                json!({"id": "shared", "expectedVersion": read, "content": format!("v {w}-{i}")}),
            )
            .await;
        if is_error(&result) {
            let message = tool_text(&result);
            assert!(
                message.starts_with(&format!(
                    "version conflict on prompt 'shared': expected version {read}, current version is "
                )),
                "{message}"
            );
            refused += 1;
        } else {
            accepted.push(result["structuredContent"]["version"].as_u64().unwrap());
        }
    }
    (accepted, refused)
}

/// A save whose template analysis takes seconds runs on the blocking pool:
/// on a runtime with a single async worker, another session keeps getting its
/// `ping` and `prompts/list` answered, every 20 ms, all through the save.
#[test]
fn a_heavy_save_does_not_stall_other_sessions() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // 70k uses: under the 1 MiB message limit, seconds of analysis in debug.
        let hub = Arc::new(hub_with(Limits {
            max_template_bytes: 8 << 20,
            max_output_bytes: 64 << 20,
            ..Limits::default()
        }));
        let mut other = hub.session("other").await;
        let done = Arc::new(AtomicBool::new(false));
        let (writer, finished) = (hub.clone(), done.clone());
        let save = tokio::spawn(async move {
            let mut s = writer.session("writer").await;
            let started = Instant::now();
            let content = "{{topic}} and ".repeat(70_000);
            let result = writer.create(&mut s, "heavy", &content).await;
            finished.store(true, Ordering::SeqCst);
            (result, started.elapsed())
        });
        let prober = hub.clone();
        // Each probe is timed from before its 20 ms sleep: a task waiting for
        // a busy worker wakes late, and that counts.
        let (worst, probes) = tokio::spawn(async move {
            let (mut worst, mut probes) = (Duration::ZERO, 0);
            while !done.load(Ordering::SeqCst) {
                let t = Instant::now();
                tokio::time::sleep(Duration::from_millis(20)).await;
                for method in ["ping", "prompts/list"] {
                    let reply: Value = prober.call(&mut other, method, json!({})).await;
                    assert!(reply.get("result").is_some(), "{reply}");
                }
                worst = worst.max(t.elapsed() - Duration::from_millis(20));
                probes += 1;
            }
            (worst, probes)
        })
        .await
        .unwrap();
        let (result, save_took) = save.await.unwrap();
        assert_eq!(result["structuredContent"]["version"], 1, "{result:.300}");
        println!(
            "heavy save took {save_took:?}; {probes} probes of another session, the slowest answered {worst:?} late"
        );
        assert!(save_took > Duration::from_millis(500), "the save was not heavy");
        assert!(worst < Duration::from_secs(1), "{worst:?} while a save was in progress");
    });
}
