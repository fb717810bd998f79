//! The command line: `mcp-prompts serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "mcp-prompts", version, about = "A realtime MCP prompt hub", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the hub: MCP over WebSocket at /ws, health at /health.
    Serve(ServeArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on (HOST:PORT; port 0 picks a free one).
    #[arg(long, env = "MCP_PROMPTS_ADDR", default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    /// Data folder holding the embedded database (created and seeded with the
    /// starter catalog when empty). Default: the user's data dir, e.g.
    /// ~/.local/share/mcp-prompts.
    #[arg(long, env = "MCP_PROMPTS_DATA")]
    pub data: Option<PathBuf>,
    /// Default page size for prompts/list, resources/list and list_prompts.
    #[arg(long, default_value_t = 50)]
    pub page_size: usize,
    /// Largest JSON-RPC message accepted, in bytes; larger ones get an error.
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Coalescing window for change notifications, in milliseconds: a burst of
    /// changes within it reaches each session as one list_changed.
    #[arg(long, default_value_t = 50)]
    pub coalesce_ms: u64,
    /// Frames queued for one connection before it counts as not reading and is
    /// closed (code 1008).
    #[arg(long, default_value_t = 1024)]
    pub send_queue: usize,
    /// Seconds of silence after which a WebSocket is pinged.
    #[arg(long, default_value_t = 30)]
    pub ping_secs: u64,
    /// Do not seed an empty data folder with the starter catalog.
    #[arg(long)]
    pub no_seed: bool,
}

impl ServeArgs {
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(|| {
            dirs::data_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join("mcp-prompts")
        })
    }
}
