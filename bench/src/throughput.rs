//! `throughput`: N connections, each looping `prompts/get` with one request in
//! flight, for a fixed time.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use crate::mcp::{self, Client};
use crate::open;
use crate::pipeline::{self, Template};
use crate::raw_ws;
use crate::stats;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// ws://127.0.0.1:PORT/ws (loopback only).
    #[arg(long)]
    pub url: String,
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    #[command(flatten)]
    pub load: crate::load::Load,
    /// The server's pid: adds its CPU time per request (from /proc) to the report.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// What the summary calls the server (`canned` for the calibration server).
    #[arg(long, default_value = "mcp-prompts")]
    pub label: String,
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    mcp::check_loopback(&a.url)?;
    if a.connections == 0 || a.load.duration_secs == 0 {
        bail!("--connections and --duration-secs must be positive");
    }
    open::raise_nofile();
    let mut setup = Client::open(&a.url)
        .await
        .context("opening the setup session")?;
    let params = if a.load.method == "ping" {
        setup.request("ping", json!({})).await?;
        println!(
            "throughput: ping, {} connection(s), {} s (+{} s warm-up)",
            a.connections, a.load.duration_secs, a.load.warmup_secs
        );
        json!({})
    } else {
        let arguments = mcp::arguments_for(&mut setup, &a.load.prompt).await?;
        let params = json!({"name": a.load.prompt, "arguments": arguments});
        let sample = setup.request("prompts/get", params.clone()).await?;
        let text_len = sample["messages"][0]["content"]["text"]
            .as_str()
            .map_or(0, str::len);
        println!(
            "throughput: prompts/get {} with {} ({} bytes rendered), {} connection(s), {} s (+{} s warm-up)",
            a.load.prompt,
            params["arguments"],
            text_len,
            a.connections,
            a.load.duration_secs,
            a.load.warmup_secs
        );
        params
    };
    drop(setup);

    let opened = open::open_sessions(&a.url, a.connections, 200).await;
    opened.report(a.connections);
    if opened.clients.is_empty() {
        bail!("no connection could be opened");
    }
    let params_json = params.to_string();
    let mut sockets = Vec::with_capacity(opened.clients.len());
    for c in opened.clients {
        sockets.push(raw_ws::into_mio(c)?);
    }
    let template = Template::new(&a.load.method, &params_json);
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(a.load.warmup_secs);
    let end = measure_from + Duration::from_secs(a.load.duration_secs);
    let server_pid = a.server_pid;
    let driver = std::thread::spawn(move || {
        pipeline::run(sockets, &template, measure_from, end, server_pid)
    });
    let outcome = tokio::task::spawn_blocking(move || driver.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the request loop panicked"))?;
    let (hist, count, errors, first_error) = (
        outcome.hist,
        outcome.count,
        outcome.errors,
        outcome.first_error,
    );
    let usage = outcome
        .usage
        .ok_or_else(|| anyhow::anyhow!("the run ended before the warm-up did"))?;
    let rps = count as f64 / a.load.duration_secs as f64;
    println!(
        "  {:.0} requests/s ({} requests in {} s), errors: {}",
        rps, count, a.load.duration_secs, errors
    );
    println!("  latency: {}", stats::line(&hist));
    println!("  cpu: {}", usage.line(count, "request"));
    if let Some(e) = &first_error {
        println!("  first error: {e}");
    }
    let mut fields = json!({
        "method": a.load.method,
        "server": a.label,
        "connections": a.connections,
        "requests_per_s": rps.round() as u64,
        "requests": count,
        "errors": errors,
    });
    fields["latency"] = stats::summary(&hist);
    fields["cpu"] = usage.json(count);
    stats::result("throughput", fields);
    Ok(())
}
