//! `mcp-prompts aws bootstrap`: creates the tables, bucket and queues
//! (idempotently) and seeds an empty prompts table with the starter catalog.

use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};

use mcp_prompts_aws::lambda::AwsArgs;
use mcp_prompts_aws::{AwsClients, DynamoPromptStore, bootstrap::run};
use mcp_prompts_engine::Catalog;
use mcp_prompts_engine::ports::SystemClock;

#[derive(Subcommand, Debug)]
pub enum AwsCommand {
    /// Create the DynamoDB tables (indexes, TTL), the S3 bucket, and the SQS queue
    /// with its dead-letter queue (maxReceiveCount 3), idempotently; seed an empty
    /// prompts table with the starter catalog.
    Bootstrap(BootstrapArgs),
}

#[derive(Args, Debug)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Do not seed the starter catalog.
    #[arg(long)]
    pub no_seed: bool,
}

pub async fn bootstrap(command: AwsCommand) -> anyhow::Result<()> {
    let AwsCommand::Bootstrap(args) = command;
    let settings = args.aws.settings();
    let clients = Arc::new(AwsClients::load(&settings).await);
    let done = run(&clients, &settings).await?;
    for what in &done.created {
        println!("created  {what}");
    }
    for what in &done.existing {
        println!("exists   {what}");
    }
    println!("queue    {}", done.queue_url);
    println!("dlq      {}", done.dead_letter_queue_url);
    println!(
        "shards   {}  (MCP_PROMPTS_SHARD_QUEUE_URL for the sharded fan-out)",
        done.shard_queue_url
    );
    println!("shard dlq {}", done.shard_dead_letter_queue_url);
    println!(
        "imports  {}  (MCP_PROMPTS_IMPORT_QUEUE_URL for bulk import jobs)",
        done.import_queue_url
    );
    println!("import dlq {}", done.import_dead_letter_queue_url);
    println!(
        "webhooks {}  (MCP_PROMPTS_WEBHOOK_QUEUE_URL for webhook subscribers)",
        done.webhook_queue_url
    );
    println!("webhook dlq {}", done.webhook_dead_letter_queue_url);
    if !args.no_seed {
        let clock = Arc::new(SystemClock);
        let store = Arc::new(DynamoPromptStore::new(clients, &settings, clock.clone()));
        let catalog = Catalog::new(store, clock);
        let seeded = mcp_prompts_engine::seed::seed_if_empty(&catalog)
            .await
            .context("seeding the starter catalog")?;
        println!("seeded   {seeded} prompts");
    }
    Ok(())
}
