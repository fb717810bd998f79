//! `http`: `prompts/get` over Streamable HTTP at `/mcp`: one session, a fixed
//! number of POSTs in flight (one per worker, each on its own keep-alive
//! connection from a shared pool), for a fixed time.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::{mcp, stats};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// http://127.0.0.1:PORT/mcp (loopback only).
    #[arg(long)]
    pub url: String,
    /// Requests in flight (concurrent POSTs).
    #[arg(long, default_value_t = 64)]
    pub in_flight: usize,
    #[command(flatten)]
    pub load: crate::load::Load,
    /// The server's pid: adds its CPU time per request (from /proc) to the report.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// One session's client: the pool, the URL and the session id.
#[derive(Clone)]
struct Session {
    client: HttpClient,
    url: hyper::Uri,
    id: Option<String>,
}

impl Session {
    /// POSTs one JSON-RPC message; returns the status and the body.
    async fn post(&self, body: String) -> anyhow::Result<(u16, Bytes, Option<String>)> {
        let mut req = Request::post(self.url.clone())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", mcp::PROTOCOL_VERSION);
        if let Some(id) = &self.id {
            req = req.header("mcp-session-id", id);
        }
        let resp = tokio::time::timeout(
            mcp::IO_TIMEOUT,
            self.client.request(req.body(Full::new(Bytes::from(body)))?),
        )
        .await
        .context("no response in time")??;
        let status = resp.status().as_u16();
        let session = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body, session))
    }

    async fn request(&self, id: u64, method: &str, params: Value) -> anyhow::Result<Value> {
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let (status, body, _) = self.post(msg.to_string()).await?;
        let reply: Value = serde_json::from_slice(&body)
            .with_context(|| format!("{method}: {status} {}", String::from_utf8_lossy(&body)))?;
        if let Some(e) = reply.get("error") {
            bail!("{method} failed: {e}");
        }
        Ok(reply["result"].clone())
    }
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let rest = a
        .url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("only http:// URLs are supported, got {}", a.url))?;
    mcp::check_loopback(&format!("ws://{rest}"))?;
    if a.in_flight == 0 || a.load.duration_secs == 0 {
        bail!("--in-flight and --duration-secs must be positive");
    }
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(a.in_flight)
        .build(connector);
    let mut session = Session {
        client,
        url: a.url.parse()?,
        id: None,
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": mcp::PROTOCOL_VERSION, "capabilities": {},
        "clientInfo": {"name": "mcp-prompts-loadgen", "version": env!("CARGO_PKG_VERSION")}}});
    let (status, body, id) = session.post(init.to_string()).await?;
    session.id = Some(id.ok_or_else(|| {
        anyhow!(
            "initialize gave no Mcp-Session-Id ({status}): {}",
            String::from_utf8_lossy(&body)
        )
    })?);
    let (status, _, _) = session
        .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string())
        .await?;
    if status != 202 {
        bail!("notifications/initialized: HTTP {status}");
    }
    let params = if a.load.method == "ping" {
        session.request(2, "ping", json!({})).await?;
        println!("http: ping, one session");
        json!({})
    } else {
        params_for(&session, &a.load.prompt).await?
    };
    println!(
        "  {} in flight, {} s (+{} s warm-up)",
        a.in_flight, a.load.duration_secs, a.load.warmup_secs
    );
    let params_json = params.to_string();
    let method = a.load.method.clone();

    let start = Instant::now();
    let measure_from = start + Duration::from_secs(a.load.warmup_secs);
    let end = measure_from + Duration::from_secs(a.load.duration_secs);
    let workers: Vec<_> = (0..a.in_flight)
        .map(|w| {
            let session = session.clone();
            let tail = format!(r#","method":"{method}","params":{params_json}}}"#);
            tokio::spawn(async move {
                let mut hist = stats::histogram();
                let (mut count, mut errors, mut first_error) = (0u64, 0u64, None::<String>);
                for n in 0..50_000_000u64 {
                    let sent_at = Instant::now();
                    if sent_at >= end {
                        break;
                    }
                    let id = (w as u64) << 32 | n;
                    let body = format!(r#"{{"jsonrpc":"2.0","id":{id}{tail}"#);
                    let ok = match session.post(body).await {
                        Ok((200, body, _)) => body.windows(9).any(|b| b == br#""result":"#),
                        Ok((status, body, _)) => {
                            first_error.get_or_insert_with(|| {
                                format!("HTTP {status}: {}", String::from_utf8_lossy(&body))
                            });
                            false
                        }
                        Err(e) => {
                            first_error.get_or_insert_with(|| e.to_string());
                            errors += 1;
                            break;
                        }
                    };
                    if sent_at >= measure_from {
                        count += 1;
                        errors += u64::from(!ok);
                        stats::record_us(&mut hist, sent_at.elapsed().as_micros() as u64);
                    }
                }
                (hist, count, errors, first_error)
            })
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let meter = crate::cpu::Meter::start(a.server_pid);
    let mut hist = stats::histogram();
    let (mut count, mut errors, mut first_error) = (0u64, 0u64, None);
    for w in workers {
        let (h, c, e, f) = w.await?;
        hist.add(&h)?;
        count += c;
        errors += e;
        first_error = first_error.or(f);
    }
    let usage = meter.stop();
    let rps = count as f64 / a.load.duration_secs as f64;
    println!(
        "  {rps:.0} requests/s ({count} requests in {} s), errors: {errors}",
        a.load.duration_secs
    );
    println!("  latency: {}", stats::line(&hist));
    println!("  cpu: {}", usage.line(count, "request"));
    if let Some(e) = &first_error {
        println!("  first error: {e}");
    }
    let mut fields = json!({
        "transport": "http",
        "method": a.load.method,
        "in_flight": a.in_flight,
        "requests_per_s": rps.round() as u64,
        "requests": count,
        "errors": errors,
    });
    fields["latency"] = stats::summary(&hist);
    fields["cpu"] = usage.json(count);
    stats::result("pipelined", fields);
    Ok(())
}

/// The prompt's required arguments (from prompts/list), checked by one render.
async fn params_for(session: &Session, prompt: &str) -> anyhow::Result<Value> {
    let mut cursor: Option<String> = None;
    for page_id in 10..1000 {
        let params = cursor.as_ref().map_or(json!({}), |c| json!({"cursor": c}));
        let page = session.request(page_id, "prompts/list", params).await?;
        let found = page["prompts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == prompt);
        if let Some(p) = found {
            let params = json!({"name": prompt, "arguments": mcp::required_arguments(p)});
            let sample = session.request(2, "prompts/get", params.clone()).await?;
            let text_len = sample["messages"][0]["content"]["text"]
                .as_str()
                .map_or(0, str::len);
            println!(
                "http: prompts/get {prompt} with {} ({text_len} bytes rendered), one session",
                params["arguments"]
            );
            return Ok(params);
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    bail!("prompt '{prompt}' is not in prompts/list")
}
