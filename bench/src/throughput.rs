//! `throughput`: N connections, each looping `prompts/get` with one request in
//! flight, for a fixed time.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::mcp::{self, Client, Frame};
use crate::open;
use crate::stats;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// ws://127.0.0.1:PORT/ws (loopback only).
    #[arg(long)]
    pub url: String,
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// Measured time, after the warm-up.
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Requests during the warm-up are sent but not counted.
    #[arg(long, default_value_t = 1)]
    pub warmup_secs: u64,
    /// The prompt to render; its required arguments are filled from prompts/list.
    #[arg(long, default_value = "code-review")]
    pub prompt: String,
    /// `prompts/get` (the benchmark) or `ping` (the transport's ceiling: same
    /// round trip, no catalog work).
    #[arg(long, default_value = "prompts/get", value_parser = ["prompts/get", "ping"])]
    pub method: String,
    /// The server's pid: adds its CPU time per request (from /proc) to the report.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

struct ConnResult {
    hist: hdrhistogram::Histogram<u64>,
    count: u64,
    errors: u64,
    first_error: Option<String>,
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    mcp::check_loopback(&a.url)?;
    if a.connections == 0 || a.duration_secs == 0 {
        bail!("--connections and --duration-secs must be positive");
    }
    open::raise_nofile();
    let mut setup = Client::open(&a.url)
        .await
        .context("opening the setup session")?;
    let params = if a.method == "ping" {
        setup.request("ping", json!({})).await?;
        println!(
            "throughput: ping, {} connection(s), {} s (+{} s warm-up)",
            a.connections, a.duration_secs, a.warmup_secs
        );
        json!({})
    } else {
        let arguments = mcp::arguments_for(&mut setup, &a.prompt).await?;
        let params = json!({"name": a.prompt, "arguments": arguments});
        let sample = setup.request("prompts/get", params.clone()).await?;
        let text_len = sample["messages"][0]["content"]["text"]
            .as_str()
            .map_or(0, str::len);
        println!(
            "throughput: prompts/get {} with {} ({} bytes rendered), {} connection(s), {} s (+{} s warm-up)",
            a.prompt, params["arguments"], text_len, a.connections, a.duration_secs, a.warmup_secs
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
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(a.warmup_secs);
    let end = measure_from + Duration::from_secs(a.duration_secs);
    let tasks: Vec<_> = opened
        .clients
        .into_iter()
        .map(|c| {
            let msg = Template::new(&a.method, &params_json);
            tokio::spawn(connection(c, msg, measure_from, end))
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let meter = crate::cpu::Meter::start(a.server_pid);
    let mut hist = stats::histogram();
    let (mut count, mut errors, mut first_error) = (0u64, 0u64, None);
    for t in tasks {
        let r = t.await?;
        hist.add(&r.hist)?;
        count += r.count;
        errors += r.errors;
        if first_error.is_none() {
            first_error = r.first_error;
        }
    }
    let usage = meter.stop();
    let rps = count as f64 / a.duration_secs as f64;
    println!(
        "  {:.0} requests/s ({} requests in {} s), errors: {}",
        rps, count, a.duration_secs, errors
    );
    println!("  latency: {}", stats::line(&hist));
    println!("  cpu: {}", usage.line(count, "request"));
    if let Some(e) = &first_error {
        println!("  first error: {e}");
    }
    let mut fields = json!({
        "method": a.method,
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

/// A request with everything but its id serialized once.
struct Template {
    head: String,
    tail: String,
}

impl Template {
    fn new(method: &str, params_json: &str) -> Self {
        Self {
            head: r#"{"jsonrpc":"2.0","id":"#.to_string(),
            tail: format!(r#","method":"{method}","params":{params_json}}}"#),
        }
    }

    fn with_id(&self, id: u64) -> String {
        let mut s = String::with_capacity(self.head.len() + self.tail.len() + 20);
        s.push_str(&self.head);
        s.push_str(&id.to_string());
        s.push_str(&self.tail);
        s
    }
}

async fn connection(
    mut c: Client,
    template: Template,
    measure_from: Instant,
    end: Instant,
) -> ConnResult {
    let mut r = ConnResult {
        hist: stats::histogram(),
        count: 0,
        errors: 0,
        first_error: None,
    };
    // Bounded by time and, as a backstop, by count.
    for _ in 0..50_000_000u64 {
        let sent_at = Instant::now();
        if sent_at >= end {
            break;
        }
        let id = c.next_id();
        let msg = template.with_id(id);
        if let Err(e) = c.ws.send(Message::text(msg)).await {
            r.errors += 1;
            r.first_error.get_or_insert_with(|| format!("send: {e}"));
            break;
        }
        let outcome = await_response(&mut c, id).await;
        let done = Instant::now();
        match outcome {
            Ok(true) => {
                if sent_at >= measure_from {
                    r.count += 1;
                    stats::record_us(&mut r.hist, (done - sent_at).as_micros() as u64);
                }
            }
            Ok(false) => {
                r.errors += 1;
            }
            Err(e) => {
                r.errors += 1;
                r.first_error.get_or_insert(e);
                break;
            }
        }
    }
    r
}

/// Reads until the response to `id`; `Ok(false)` for a JSON-RPC error.
async fn await_response(c: &mut Client, id: u64) -> Result<bool, String> {
    loop {
        let msg = tokio::time::timeout(mcp::IO_TIMEOUT, c.ws.next())
            .await
            .map_err(|_| format!("no response to request {id} within {:?}", mcp::IO_TIMEOUT))?;
        match msg {
            Some(Ok(Message::Text(t))) => {
                let f: Frame = serde_json::from_str(t.as_str())
                    .map_err(|e| format!("unparsable frame: {e}"))?;
                if f.method.is_none() && f.id == Some(id) {
                    return Ok(f.error.is_none());
                }
            }
            Some(Ok(Message::Close(cf))) => return Err(format!("server closed: {cf:?}")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("connection ended".into()),
        }
    }
}
