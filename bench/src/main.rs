//! `loadgen`: a load generator for `mcp-prompts serve` over WebSocket.
//!
//! Loopback targets only; every loop is bounded in count and time.
//!   loadgen throughput --url ws://127.0.0.1:PORT/ws --connections 64 --duration-secs 10
//!   loadgen fanout     --url ... --sessions 1000 [--rate 100 --duration-secs 10]
//!   loadgen memory     --url ... --sessions 1000 --pid PID
//!   loadgen resume     --url ... --changes 1000
//!   loadgen stdio      --server target/release/mcp-prompts --in-flight 64
//!   loadgen http       --url http://127.0.0.1:PORT/mcp --in-flight 64

mod cpu;
mod fanout;
mod http;
mod listeners;
mod load;
mod mcp;
mod memory;
mod open;
mod pipeline;
mod raw_ws;
mod resume;
mod stats;
mod stdio;
mod summary;
mod throughput;

use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "loadgen",
    about = "Load generator for mcp-prompts (loopback only)"
)]
struct Cli {
    /// Tokio worker threads of the load generator. The server shares the same
    /// cores, so fewer threads here leave more CPU to the server.
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// prompts/get request rate and latency, one request in flight per connection.
    Throughput(throughput::Args),
    /// Time from a committed change to each session's notifications/prompts/list_changed.
    Fanout(fanout::Args),
    /// Server RSS per idle initialized session.
    Memory(memory::Args),
    /// Markdown table of the RESULT lines of earlier runs.
    Summarize(summary::Args),
    /// Reconnect → last replayed notification, after N changes missed.
    Resume(resume::Args),
    /// prompts/get pipelined over stdio of an `mcp-prompts stdio` it starts.
    Stdio(stdio::Args),
    /// prompts/get over Streamable HTTP: one session, concurrent keep-alive POSTs.
    Http(http::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Summarize(a) = cli.command {
        return summary::run(a);
    }
    if let Command::Stdio(a) = cli.command {
        return stdio::run(a);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // Hard ceiling on any run, whatever its arguments.
        let budget = match &cli.command {
            Command::Throughput(a) => a.load.duration_secs + a.load.warmup_secs + 120,
            Command::Fanout(a) => a.duration_secs + 180,
            Command::Memory(_) => 180,
            Command::Resume(a) => 2 * a.wait_secs + 600,
            Command::Http(a) => a.load.duration_secs + a.load.warmup_secs + 120,
            Command::Summarize(_) | Command::Stdio(_) => 0,
        };
        let run = async {
            match cli.command {
                Command::Throughput(a) => throughput::run(a).await,
                Command::Fanout(a) => fanout::run(a).await,
                Command::Memory(a) => memory::run(a).await,
                Command::Resume(a) => resume::run(a).await,
                Command::Http(a) => http::run(a).await,
                Command::Summarize(_) | Command::Stdio(_) => Ok(()),
            }
        };
        match tokio::time::timeout(Duration::from_secs(budget), run).await {
            Ok(r) => r,
            Err(_) => anyhow::bail!("run exceeded its time budget of {budget} s"),
        }
    })?;
    // Dropping thousands of sockets with the runtime is quick; don't wait for
    // close handshakes.
    std::process::exit(0);
}
