//! `stdio`: starts `mcp-prompts stdio` itself and keeps a fixed number of
//! `prompts/get` requests in flight on its stdin for a fixed time.
//!
//! One thread, the way an event-loop client (Node) drives a child process: write
//! the window, then for every chunk read from stdout, account for each reply and
//! write as many new requests as replies arrived, in one write. The window is at
//! most ~64 × 200 bytes, far below the pipe's capacity, so writes never block
//! while the server reads. A watchdog kills the child if the run overstays its
//! budget, which ends any blocked read.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};

use crate::stats;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The mcp-prompts binary to start.
    #[arg(long, default_value = "target/release/mcp-prompts")]
    pub server: PathBuf,
    /// Data folder for the server (default: a fresh temporary folder, seeded).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Requests kept in flight.
    #[arg(long, default_value_t = 64)]
    pub in_flight: usize,
    #[command(flatten)]
    pub load: crate::load::Load,
}

/// Slots for send times, indexed by id: far more than the window.
const SLOTS: usize = 1 << 16;
const READ_BUFFER: usize = 256 * 1024;

pub fn run(a: Args) -> anyhow::Result<()> {
    if a.in_flight == 0 || a.in_flight > SLOTS / 2 || a.load.duration_secs == 0 {
        bail!(
            "--in-flight must be 1..{} and --duration-secs positive",
            SLOTS / 2
        );
    }
    let temp = match &a.data {
        Some(_) => None,
        None => Some(TempDir::new()?),
    };
    let data = a
        .data
        .clone()
        .or_else(|| temp.as_ref().map(|t| t.0.clone()))
        .expect("a data folder");
    let mut child = Command::new(&a.server)
        .args(["stdio", "--data"])
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", a.server.display()))?;
    let pid = child.id();
    let stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let child = std::sync::Arc::new(std::sync::Mutex::new(child));
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let budget = Duration::from_secs(a.load.duration_secs + a.load.warmup_secs + 60);
    let watchdog = {
        let child = child.clone();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(budget) {
                let _ = child.lock().map(|mut c| c.kill());
            }
        })
    };
    let result = drive(&a, stdin, stdout, pid);
    drop(done);
    let _ = watchdog.join();
    if let Ok(mut c) = child.lock() {
        let _ = c.kill();
        let _ = c.wait();
    }
    drop(temp);
    result
}

fn drive(a: &Args, mut stdin: ChildStdin, stdout: ChildStdout, pid: u32) -> anyhow::Result<()> {
    let mut stdout = BufReader::with_capacity(READ_BUFFER, stdout);
    let params = setup(a, &mut stdin, &mut stdout)?;
    let template = Template::new(&a.load.method, &params.to_string());

    let mut sent_at = vec![Instant::now(); SLOTS];
    let mut out = Vec::with_capacity(a.in_flight * 256);
    let mut next_id = 100u64;
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(a.load.warmup_secs);
    let end = measure_from + Duration::from_secs(a.load.duration_secs);
    let mut send = |n: usize, out: &mut Vec<u8>, sent_at: &mut [Instant], next_id: &mut u64| {
        out.clear();
        let now = Instant::now();
        for _ in 0..n {
            *next_id += 1;
            template.write(out, *next_id);
            sent_at[*next_id as usize % SLOTS] = now;
        }
        stdin.write_all(out)
    };
    send(a.in_flight, &mut out, &mut sent_at, &mut next_id)?;
    let mut in_flight = a.in_flight;
    let mut hist = stats::histogram();
    let (mut count, mut errors, mut first_error) = (0u64, 0u64, None::<String>);
    let mut meter = None;
    let mut usage = None;
    let mut pending = Vec::new();
    while in_flight > 0 {
        let buf = stdout.fill_buf().context("reading stdout")?;
        if buf.is_empty() {
            bail!("the server closed stdout with {in_flight} requests in flight");
        }
        let now = Instant::now();
        let mut replies = 0;
        let mut consumed = 0;
        let mut lines = buf;
        while let Some(pos) = lines.iter().position(|b| *b == b'\n') {
            let line = if pending.is_empty() {
                &lines[..pos]
            } else {
                pending.extend_from_slice(&lines[..pos]);
                &pending[..]
            };
            if let Some((id, ok)) = reply_of(line) {
                replies += 1;
                let at = sent_at[id as usize % SLOTS];
                if at >= measure_from && at < end {
                    count += 1;
                    stats::record_us(&mut hist, (now - at).as_micros() as u64);
                }
                if !ok {
                    errors += 1;
                    first_error.get_or_insert_with(|| String::from_utf8_lossy(line).into_owned());
                }
            }
            pending.clear();
            consumed += pos + 1;
            lines = &lines[pos + 1..];
        }
        pending.extend_from_slice(lines);
        consumed += lines.len();
        stdout.consume(consumed);
        in_flight -= replies;
        if meter.is_none() && now >= measure_from {
            meter = Some(crate::cpu::Meter::start(Some(pid)));
        }
        if now < end {
            send(replies, &mut out, &mut sent_at, &mut next_id)?;
            in_flight += replies;
        } else if usage.is_none() {
            usage = meter.as_ref().map(crate::cpu::Meter::stop);
        }
    }
    report(a, count, errors, first_error, &hist, usage);
    Ok(())
}

fn report(
    a: &Args,
    count: u64,
    errors: u64,
    first_error: Option<String>,
    hist: &hdrhistogram::Histogram<u64>,
    usage: Option<crate::cpu::Usage>,
) {
    let rps = count as f64 / a.load.duration_secs as f64;
    println!(
        "  {rps:.0} requests/s ({count} requests in {} s), errors: {errors}",
        a.load.duration_secs
    );
    println!("  latency: {}", stats::line(hist));
    let mut fields = json!({
        "transport": "stdio",
        "method": a.load.method,
        "in_flight": a.in_flight,
        "requests_per_s": rps.round() as u64,
        "requests": count,
        "errors": errors,
    });
    if let Some(u) = usage {
        println!("  cpu: {}", u.line(count, "request"));
        fields["cpu"] = u.json(count);
    }
    if let Some(e) = first_error {
        println!("  first error: {e}");
    }
    fields["latency"] = stats::summary(hist);
    stats::result("pipelined", fields);
}

/// `(id, succeeded)` of a response; `None` for notifications. The common shape
/// (`{"jsonrpc":"2.0","id":N,"result"...`) is read without a JSON parse, so the
/// load generator's own cost stays small; anything else is parsed.
fn reply_of(line: &[u8]) -> Option<(u64, bool)> {
    const HEAD: &[u8] = br#"{"jsonrpc":"2.0","id":"#;
    if let Some(rest) = line.strip_prefix(HEAD) {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 {
            let id = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
            let tail = &rest[digits..];
            if tail.starts_with(br#","result":"#) {
                return Some((id, true));
            }
            if tail.starts_with(br#","error":"#) {
                return Some((id, false));
            }
        }
    }
    let v: Value = serde_json::from_slice(line).ok()?;
    if v.get("method").is_some() {
        return None;
    }
    Some((v["id"].as_u64()?, v.get("error").is_none()))
}

/// A request with everything but its id serialized once.
struct Template {
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Template {
    fn new(method: &str, params_json: &str) -> Self {
        Self {
            head: br#"{"jsonrpc":"2.0","id":"#.to_vec(),
            tail: format!(",\"method\":\"{method}\",\"params\":{params_json}}}\n").into_bytes(),
        }
    }

    fn write(&self, out: &mut Vec<u8>, id: u64) {
        out.extend_from_slice(&self.head);
        let _ = write!(out, "{id}");
        out.extend_from_slice(&self.tail);
    }
}

/// Sends one request and reads lines until its response; returns the result.
fn request(
    stdin: &mut ChildStdin,
    stdout: &mut BufReader<ChildStdout>,
    id: u64,
    method: &str,
    params: Value,
) -> anyhow::Result<Value> {
    let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    stdin.write_all(format!("{msg}\n").as_bytes())?;
    let mut line = String::new();
    for _ in 0..10_000 {
        line.clear();
        if stdout.read_line(&mut line)? == 0 {
            bail!("{method}: the server closed stdout");
        }
        let v: Value = serde_json::from_str(&line).with_context(|| format!("stdout: {line}"))?;
        if v.get("method").is_none() && v["id"] == id {
            if let Some(e) = v.get("error") {
                bail!("{method} failed: {e}");
            }
            return Ok(v["result"].clone());
        }
    }
    bail!("{method}: no response")
}

/// Initializes and works out the request's params (the prompt's required
/// arguments, from prompts/list), checking one render.
fn setup(
    a: &Args,
    stdin: &mut ChildStdin,
    stdout: &mut BufReader<ChildStdout>,
) -> anyhow::Result<Value> {
    let init = request(
        stdin,
        stdout,
        1,
        "initialize",
        json!({"protocolVersion": crate::mcp::PROTOCOL_VERSION, "capabilities": {},
               "clientInfo": {"name": "mcp-prompts-loadgen", "version": env!("CARGO_PKG_VERSION")}}),
    )?;
    if init.get("protocolVersion").is_none() {
        bail!("initialize returned no protocolVersion: {init}");
    }
    stdin.write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")?;
    if a.load.method == "ping" {
        request(stdin, stdout, 2, "ping", json!({}))?;
        println!(
            "stdio: ping, {} in flight, {} s (+{} s warm-up)",
            a.in_flight, a.load.duration_secs, a.load.warmup_secs
        );
        return Ok(json!({}));
    }
    let mut cursor: Option<String> = None;
    let mut arguments = None;
    for page_id in 10..1000 {
        let params = cursor.as_ref().map_or(json!({}), |c| json!({"cursor": c}));
        let page = request(stdin, stdout, page_id, "prompts/list", params)?;
        if let Some(p) = page["prompts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == a.load.prompt.as_str())
        {
            arguments = Some(crate::mcp::required_arguments(p));
            break;
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let arguments =
        arguments.ok_or_else(|| anyhow!("prompt '{}' is not in prompts/list", a.load.prompt))?;
    let params = json!({"name": a.load.prompt, "arguments": arguments});
    let sample = request(stdin, stdout, 3, "prompts/get", params.clone())?;
    let text_len = sample["messages"][0]["content"]["text"]
        .as_str()
        .map_or(0, str::len);
    println!(
        "stdio: prompts/get {} with {} ({text_len} bytes rendered), {} in flight, {} s (+{} s warm-up)",
        a.load.prompt, params["arguments"], a.in_flight, a.load.duration_secs, a.load.warmup_secs
    );
    Ok(params)
}

/// A folder under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("loadgen-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
