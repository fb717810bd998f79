//! `mcp-prompts keys create|list|revoke`: API keys in the data folder, or with
//! `--backend aws` in the prompts table the Lambda authorizer reads. A new key
//! is printed once, alone on the last line of output; only its hash is kept.

use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use mcp_prompts_embedded::EmbeddedStore;
use mcp_prompts_engine::domain::Role;
use mcp_prompts_engine::ports::{KeyStore, SystemClock};

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key with a name and a role (reader, editor, admin); prints it once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[command(flatten)]
        data: DataArg,
    },
    /// List keys (never the keys themselves).
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Revoke a key by id; it stops working at once.
    Revoke {
        id: String,
        #[command(flatten)]
        data: DataArg,
    },
}

#[derive(Args, Debug)]
pub struct DataArg {
    /// The data folder (as for `serve`).
    #[arg(long, env = "MCP_PROMPTS_DATA")]
    pub data: Option<std::path::PathBuf>,
    /// Where the keys live: the data folder, or the AWS prompts table.
    #[arg(long, value_enum, env = "MCP_PROMPTS_BACKEND", default_value_t = crate::cli::Backend::Embedded)]
    pub backend: crate::cli::Backend,
    #[cfg(feature = "aws")]
    #[command(flatten)]
    pub aws: mcp_prompts_aws::lambda::AwsArgs,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).map_err(|e| e.to_string())
}

async fn open(data: &DataArg) -> anyhow::Result<Arc<dyn KeyStore>> {
    if data.backend == crate::cli::Backend::Aws {
        #[cfg(feature = "aws")]
        {
            let settings = data.aws.settings();
            let clients = Arc::new(mcp_prompts_aws::AwsClients::load(&settings).await);
            return Ok(Arc::new(mcp_prompts_aws::DynamoKeyStore::new(
                clients,
                settings.prompts_table,
                Arc::new(SystemClock),
            )));
        }
        #[cfg(not(feature = "aws"))]
        anyhow::bail!(crate::startup::NO_AWS);
    }
    let dir = data
        .data
        .clone()
        .unwrap_or_else(crate::cli::default_data_dir);
    let store = EmbeddedStore::open(&dir, Arc::new(SystemClock))
        .with_context(|| format!("opening the data folder {}", dir.display()))?;
    Ok(Arc::new(store))
}

pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create { name, role, data } => {
            anyhow::ensure!(!name.trim().is_empty(), "--name must not be empty");
            let store = open(&data).await?;
            // The name is the principal: sessions, budgets and the change log
            // know a caller by it, so two live keys may not share one.
            if let Some(taken) = store
                .list()
                .await?
                .into_iter()
                .find(|k| k.name == name && k.revoked_at.is_none())
            {
                anyhow::bail!(
                    "a live key named '{name}' exists ({}): revoke it first or pick another name",
                    taken.id
                );
            }
            let (id, key) = crate::auth::new_key();
            store
                .add(&id, &name, role, &crate::auth::hash(&key))
                .await?;
            println!("created key {id} '{name}' with role {}", role.as_str());
            println!("this is the only time the key is shown:");
            println!("{key}");
        }
        KeysCommand::List { data } => {
            let store = open(&data).await?;
            for k in store.list().await? {
                let state = k
                    .revoked_at
                    .map_or("live".to_string(), |at| format!("revoked {at}"));
                println!(
                    "{}\t{}\t{}\t{}\t{state}",
                    k.id,
                    k.name,
                    k.role.as_str(),
                    k.created_at
                );
            }
        }
        KeysCommand::Revoke { id, data } => {
            let store = open(&data).await?;
            anyhow::ensure!(store.revoke(&id).await?, "no live key with id '{id}'");
            println!("revoked key {id}");
        }
    }
    Ok(())
}
