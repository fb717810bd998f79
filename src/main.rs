use clap::Parser;
use mcp_prompts::edges::catalog_cli;
use mcp_prompts::edges::cli::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    mcp_prompts::telemetry::init();
    match cli.command {
        Command::Serve(args) => mcp_prompts::startup::serve(*args).await,
        Command::Stdio(args) => mcp_prompts::startup::stdio(args).await,
        Command::Import(args) => std::process::exit(catalog_cli::import(args).await),
        Command::Export(args) => std::process::exit(catalog_cli::export(args).await),
        #[cfg(feature = "aws")]
        Command::Sync(args) => std::process::exit(catalog_cli::sync::sync(args).await),
        Command::Keys(command) => mcp_prompts::edges::keys_cli::run(command).await,
        #[cfg(feature = "aws")]
        Command::Aws(command) => mcp_prompts::edges::aws_gateway::bootstrap(command).await,
    }
}
