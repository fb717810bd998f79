//! `memory`: server RSS growth per idle initialized session.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::json;

use crate::listeners;
use crate::mcp;
use crate::open;
use crate::stats;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// ws://127.0.0.1:PORT/ws (loopback only).
    #[arg(long)]
    pub url: String,
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// The server's process id (its /proc/PID/status is read).
    #[arg(long)]
    pub pid: u32,
    /// How long the sessions stay idle before the second reading.
    #[arg(long, default_value_t = 2)]
    pub settle_secs: u64,
    #[arg(long, default_value_t = 200)]
    pub open_concurrency: usize,
}

/// VmRSS of `pid`, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line")
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    mcp::check_loopback(&a.url)?;
    if a.sessions == 0 {
        bail!("--sessions must be positive");
    }
    open::raise_nofile();
    let before = rss_kib(a.pid)?;
    println!(
        "memory: {} idle sessions; server pid {} VmRSS before {} KiB",
        a.sessions, a.pid, before
    );
    let listeners = listeners::start_listeners(&a.url, a.sessions, a.open_concurrency).await?;
    tokio::time::sleep(Duration::from_secs(a.settle_secs.min(60))).await;
    let after = rss_kib(a.pid)?;
    let n = listeners.opened;
    let closed = listeners
        .board
        .closed
        .load(std::sync::atomic::Ordering::Relaxed);
    let per = (after as f64 - before as f64) / n as f64;
    println!(
        "  VmRSS after {} s: {} KiB; delta {} KiB; {:.2} KiB per session ({} closed meanwhile)",
        a.settle_secs,
        after,
        after as i64 - before as i64,
        per,
        closed
    );
    stats::result(
        "memory",
        json!({
            "sessions": n,
            "rss_before_kib": before,
            "rss_after_kib": after,
            "kib_per_session": stats::round3(per),
        }),
    );
    let _ = listeners.finish().await;
    Ok(())
}
