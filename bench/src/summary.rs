//! `summarize`: turns the `RESULT {...}` lines of a run into a markdown table.

use std::io::BufRead;

use serde_json::Value;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A file holding loadgen output (RESULT lines); `-` for standard input.
    pub file: String,
}

fn f(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::Null => "-".into(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn lat(v: &Value) -> String {
    format!(
        "p50 {} / p99 {} / max {}",
        f(v, "p50_ms"),
        f(v, "p99_ms"),
        f(v, "max_ms")
    )
}

/// Server CPU per unit of work and how long each side waited for a CPU.
fn cpu(r: &Value, unit: &str) -> String {
    let c = &r["cpu"];
    let mut out = String::new();
    if c["server"].is_object() {
        out.push_str(&format!(
            "; server CPU {} µs/{unit}, waited {} ms for a CPU",
            f(&c["server"], "cpu_us_per_unit"),
            f(&c["server"], "runqueue_wait_ms")
        ));
    }
    if c["loadgen"].is_object() {
        out.push_str(&format!(
            "; loadgen CPU {} µs/{unit}, waited {} ms",
            f(&c["loadgen"], "cpu_us_per_unit"),
            f(&c["loadgen"], "runqueue_wait_ms")
        ));
    }
    out
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let reader: Box<dyn BufRead> = if a.file == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(std::fs::File::open(&a.file)?))
    };
    println!("| benchmark | figure | latency (ms) | notes |");
    println!("| --- | --- | --- | --- |");
    let mut last_open = None;
    for line in reader.lines().take(10_000) {
        let line = line?;
        let Some(json) = line.strip_prefix("RESULT ") else {
            continue;
        };
        let r: Value = match serde_json::from_str(json) {
            Ok(v) => v,
            Err(_) => continue,
        };
        match r["bench"].as_str().unwrap_or("") {
            "open" => last_open = Some(r),
            "throughput" => println!(
                "| throughput `{}`, {} conn, {} | {} req/s | {} | errors {}{} |",
                r["method"].as_str().unwrap_or("prompts/get"),
                f(&r, "connections"),
                r["server"].as_str().unwrap_or("mcp-prompts"),
                f(&r, "requests_per_s"),
                lat(&r["latency"]),
                f(&r, "errors"),
                cpu(&r, "request")
            ),
            "fanout" => {
                let open = last_open.take().map_or(String::new(), |o| {
                    format!("; opened in {} s", f(&o, "seconds"))
                });
                println!(
                    "| fan-out, {} sessions, {} change(s), {} | received {}/{} | {} (from response); {} (from request) | spread {} ms{}{} |",
                    f(&r, "sessions"),
                    f(&r, "changes"),
                    r["server"].as_str().unwrap_or("mcp-prompts"),
                    f(&r, "received"),
                    f(&r, "sessions"),
                    lat(&r["from_response"]),
                    lat(&r["from_request"]),
                    f(&r, "spread_ms"),
                    open,
                    cpu(&r, "session")
                )
            }
            "fanout_rate" => println!(
                "| fan-out, {} sessions, {}/s | {} changes ({}/s); {} list_changed per session | {} (change response → next list_changed) | editor round trip {}; heard last {}{} |",
                f(&r, "sessions"),
                f(&r, "rate"),
                f(&r, "changes"),
                f(&r, "changes_per_s"),
                f(&r, "frames_per_session"),
                lat(&r["from_response"]),
                lat(&r["editor_round_trip"]),
                f(&r, "heard_last"),
                cpu(&r, "change")
            ),
            "pipelined" => println!(
                "| `{}` over {}, {} in flight | {} req/s | {} | errors {}{} |",
                r["method"].as_str().unwrap_or("prompts/get"),
                r["transport"].as_str().unwrap_or("?"),
                f(&r, "in_flight"),
                f(&r, "requests_per_s"),
                lat(&r["latency"]),
                f(&r, "errors"),
                cpu(&r, "request")
            ),
            "memory" => {
                last_open = None;
                println!(
                    "| memory, {} idle sessions | {} KiB per session | | VmRSS {} → {} KiB |",
                    f(&r, "sessions"),
                    f(&r, "kib_per_session"),
                    f(&r, "rss_before_kib"),
                    f(&r, "rss_after_kib")
                )
            }
            _ => {}
        }
    }
    Ok(())
}
