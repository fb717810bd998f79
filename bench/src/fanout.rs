//! `fanout`: N initialized sessions listen; an editor session changes a prompt
//! with `tools/call update_prompt`; every session should receive
//! `notifications/prompts/list_changed`. Measures change → receipt per session.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::listeners::{Board, Listeners, start_listeners};
use crate::mcp::{self, Client};
use crate::open;
use crate::stats;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// ws://127.0.0.1:PORT/ws (loopback only).
    #[arg(long)]
    pub url: String,
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// Number of changes, one after the other (ignored with --rate).
    #[arg(long, default_value_t = 1)]
    pub changes: usize,
    /// Changes per second, for --duration-secs (a sustained edit stream).
    #[arg(long)]
    pub rate: Option<u32>,
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// The prompt the editor updates (it must exist).
    #[arg(long, default_value = "code-review")]
    pub prompt: String,
    /// How many handshakes may be in progress at once while opening sessions.
    #[arg(long, default_value_t = 200)]
    pub open_concurrency: usize,
    /// How long to wait for every session to hear about the last change.
    #[arg(long, default_value_t = 5000)]
    pub wait_ms: u64,
    /// The server's pid: adds its CPU time per notified session (from /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// What the summary calls the server (`canned` for the calibration server).
    #[arg(long, default_value = "mcp-prompts")]
    pub label: String,
}

/// One editor change: when it was sent, when its response arrived, and the
/// change-log position the server announced for it (when it logs at info).
#[derive(Clone, Copy, Debug)]
struct Change {
    sent_ns: u64,
    resp_ns: u64,
    position: Option<u64>,
}

async fn change(
    editor: &mut Client,
    board: &Board,
    prompt: &str,
    n: u64,
) -> anyhow::Result<Change> {
    let mut position = None;
    let sent_ns = board.now_ns();
    let result = editor
        .request_with(
            "tools/call",
            json!({"name": "update_prompt", "arguments": {"id": prompt, "description": format!("bench {n}")}}),
            |text| {
                // notifications/message from the catalog logger carries the position.
                if let Ok(v) = serde_json::from_str::<Value>(text)
                    && v["method"] == "notifications/message"
                    && let Some(p) = v["params"]["data"]["position"].as_u64()
                {
                    position = Some(p);
                }
            },
        )
        .await?;
    let resp_ns = board.now_ns();
    if result["isError"].as_bool().unwrap_or(false) {
        bail!("update_prompt failed: {}", result["content"]);
    }
    Ok(Change {
        sent_ns,
        resp_ns,
        position,
    })
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    mcp::check_loopback(&a.url)?;
    if a.sessions == 0 {
        bail!("--sessions must be positive");
    }
    let nofile = open::raise_nofile();
    if (nofile as usize) < a.sessions + 64 {
        eprintln!(
            "warning: RLIMIT_NOFILE is {nofile}, fewer than the {} sessions need",
            a.sessions
        );
    }
    println!(
        "fanout: {} sessions, editor updates '{}' {}",
        a.sessions,
        a.prompt,
        match a.rate {
            Some(r) => format!("{r}/s for {} s", a.duration_secs),
            None => format!("{} time(s)", a.changes),
        }
    );
    let listeners = start_listeners(&a.url, a.sessions, a.open_concurrency).await?;
    let board = listeners.board.clone();
    let mut editor = Client::open(&a.url)
        .await
        .context("opening the editor session")?;
    // Ask for the catalog log so each change's position is known; optional.
    let _ = editor
        .request("logging/setLevel", json!({"level": "info"}))
        .await;
    // Let every listener reach its read loop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stray = board.frames.load(Ordering::Relaxed);
    if stray > 0 {
        println!("  note: {stray} list_changed frame(s) arrived before the first change");
    }

    match a.rate {
        None => single(a, listeners, &mut editor).await,
        Some(rate) => sustained(a, rate, listeners, &mut editor).await,
    }
}

/// One change at a time (`--changes` of them), each waited for.
async fn single(a: Args, listeners: Listeners, editor: &mut Client) -> anyhow::Result<()> {
    let board = listeners.board.clone();
    let n = listeners.opened;
    let mut changes = Vec::new();
    let meter = crate::cpu::Meter::start(a.server_pid);
    for k in 0..a.changes.clamp(1, 1000) {
        let c = change(editor, &board, &a.prompt, k as u64).await?;
        let heard = board
            .wait_all_since(c.sent_ns, Duration::from_millis(a.wait_ms))
            .await;
        changes.push((c, heard));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let usage = meter.stop();
    let receipts = listeners.finish().await?;

    let mut from_resp = stats::histogram();
    let mut from_send = stats::histogram();
    let mut before_resp = 0u64;
    let mut spread_max = 0u64;
    for (k, (c, heard)) in changes.iter().enumerate() {
        let window_end = changes
            .get(k + 1)
            .map_or(u64::MAX, |(next, _)| next.sent_ns);
        let (mut first, mut last) = (u64::MAX, 0u64);
        for rs in &receipts {
            if let Some(r) = rs
                .iter()
                .find(|r| r.t_ns >= c.sent_ns && r.t_ns < window_end)
            {
                if r.t_ns < c.resp_ns {
                    before_resp += 1;
                }
                stats::record_us(&mut from_resp, r.t_ns.saturating_sub(c.resp_ns) / 1000);
                stats::record_us(&mut from_send, (r.t_ns - c.sent_ns) / 1000);
                first = first.min(r.t_ns);
                last = last.max(r.t_ns);
            }
        }
        if last >= first {
            spread_max = spread_max.max(last - first);
        }
        println!(
            "  change {k}: response after {:.3} ms, position {}, heard by {heard}/{n} sessions",
            (c.resp_ns - c.sent_ns) as f64 / 1e6,
            c.position.map_or("?".into(), |p| p.to_string()),
        );
    }
    let total_frames: usize = receipts.iter().map(Vec::len).sum();
    let heard_all = changes.iter().map(|(_, h)| *h).min().unwrap_or(0);
    println!(
        "  latency from the editor's response: {}",
        stats::line(&from_resp)
    );
    println!(
        "  latency from the editor's request:  {}",
        stats::line(&from_send)
    );
    println!(
        "  received by {heard_all}/{} sessions ({} of them before the editor's response); first-to-last spread {:.3} ms; {} list_changed frames in all",
        a.sessions,
        before_resp,
        spread_max as f64 / 1e6,
        total_frames
    );
    let notified = (n * changes.len()) as u64;
    println!("  cpu: {}", usage.line(notified, "session notified"));
    let mut fields = json!({
        "sessions": a.sessions,
        "changes": changes.len(),
        "received": heard_all,
        "before_response": before_resp,
        "server": a.label,
        "spread_ms": stats::round3(spread_max as f64 / 1e6),
    });
    fields["from_response"] = stats::summary(&from_resp);
    fields["from_request"] = stats::summary(&from_send);
    fields["cpu"] = usage.json(notified);
    stats::result("fanout", fields);
    Ok(())
}

/// `rate` changes per second for `duration_secs`.
async fn sustained(
    a: Args,
    rate: u32,
    listeners: Listeners,
    editor: &mut Client,
) -> anyhow::Result<()> {
    let board = listeners.board.clone();
    let n = listeners.opened;
    let rate = rate.clamp(1, 10_000);
    let planned = rate as u64 * a.duration_secs;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Changes are made for exactly --duration-secs; a server slower than the rate
    // shows up as a lower achieved rate.
    let deadline = Instant::now() + Duration::from_secs(a.duration_secs);
    let mut changes: Vec<Change> = Vec::with_capacity(planned as usize);
    let mut editor_ms = stats::histogram();
    let meter = crate::cpu::Meter::start(a.server_pid);
    for k in 0..planned {
        ticker.tick().await;
        if Instant::now() >= deadline {
            break;
        }
        let c = change(editor, &board, &a.prompt, k).await?;
        stats::record_us(&mut editor_ms, (c.resp_ns - c.sent_ns) / 1000);
        changes.push(c);
    }
    let elapsed = changes
        .last()
        .map_or(0, |c| c.resp_ns)
        .saturating_sub(changes.first().map_or(0, |c| c.sent_ns));
    let last_sent = changes.last().map_or(0, |c| c.sent_ns);
    let heard = board
        .wait_all_since(last_sent, Duration::from_millis(a.wait_ms))
        .await;
    let usage = meter.stop();
    let receipts = listeners.finish().await?;

    // Time-based: for each change and session, the first list_changed received
    // after the change's response.
    let mut by_time = stats::histogram();
    let mut unmatched_time = 0u64;
    // Position-based (when positions are known): the first list_changed whose
    // position covers the change; arrivals before the response count as 0.
    let mut by_position = stats::histogram();
    let mut unmatched_position = 0u64;
    let positions_known = changes.iter().all(|c| c.position.is_some());
    for rs in &receipts {
        let mut i = 0;
        for c in &changes {
            while i < rs.len() && rs[i].t_ns < c.resp_ns {
                i += 1;
            }
            match rs.get(i) {
                Some(r) => stats::record_us(&mut by_time, (r.t_ns - c.resp_ns) / 1000),
                None => unmatched_time += 1,
            }
        }
        if positions_known {
            let mut j = 0;
            for c in &changes {
                let p = c.position.unwrap_or(0);
                while j < rs.len() && rs[j].position.is_none_or(|rp| rp < p) {
                    j += 1;
                }
                match rs.get(j) {
                    Some(r) => {
                        stats::record_us(&mut by_position, r.t_ns.saturating_sub(c.resp_ns) / 1000)
                    }
                    None => unmatched_position += 1,
                }
            }
        }
    }
    let total_frames: usize = receipts.iter().map(Vec::len).sum();
    let per_session = total_frames as f64 / n as f64;
    let achieved = changes.len() as f64 / (elapsed as f64 / 1e9).max(1e-9);
    println!(
        "  {} changes in {:.2} s ({:.1}/s); editor round trip {}",
        changes.len(),
        elapsed as f64 / 1e9,
        achieved,
        stats::line(&editor_ms)
    );
    println!(
        "  change → next list_changed per session (from response): {}; unmatched {}",
        stats::line(&by_time),
        unmatched_time
    );
    if positions_known {
        println!(
            "  change → first list_changed covering its position:     {}; unmatched {}",
            stats::line(&by_position),
            unmatched_position
        );
    }
    println!(
        "  list_changed frames per session: {:.1} on average for {} changes (coalescing ratio {:.2}); {heard}/{n} sessions heard the last change",
        per_session,
        changes.len(),
        per_session / changes.len().max(1) as f64
    );
    println!("  cpu: {}", usage.line(changes.len() as u64, "change"));
    let mut fields = json!({
        "sessions": a.sessions,
        "rate": rate,
        "changes": changes.len(),
        "changes_per_s": stats::round3(achieved),
        "frames_per_session": stats::round3(per_session),
        "heard_last": heard,
        "unmatched": unmatched_time,
    });
    fields["from_response"] = stats::summary(&by_time);
    if positions_known {
        fields["by_position"] = stats::summary(&by_position);
    }
    fields["editor_round_trip"] = stats::summary(&editor_ms);
    fields["cpu"] = usage.json(changes.len() as u64);
    stats::result("fanout_rate", fields);
    Ok(())
}
