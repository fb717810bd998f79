//! The options every request-rate subcommand shares (`throughput`, `http`,
//! `stdio`): how long to measure and which request to send.

#[derive(clap::Args, Debug)]
pub struct Load {
    /// Measured time, after the warm-up.
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Requests during the warm-up are sent but not counted.
    #[arg(long, default_value_t = 1)]
    pub warmup_secs: u64,
    /// The prompt to render; its required arguments are filled from prompts/list.
    #[arg(long, default_value = "code-review")]
    pub prompt: String,
    /// `prompts/get` (the benchmark) or `ping` (the transport's ceiling: the
    /// same round trip, no catalog work).
    #[arg(long, default_value = "prompts/get", value_parser = ["prompts/get", "ping"])]
    pub method: String,
}
