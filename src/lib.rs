//! mcp-prompts: a realtime prompt hub.
//!
//! People and programs keep a catalog of prompts (handlebars templates with
//! arguments, categories, tags, every edit a version); MCP clients list, render,
//! search and edit them, and hear about changes as they happen.
//!
//! This package is the binaries (`mcp-prompts`, and `mcp-prompts-lambda` with
//! the `aws` feature) and a facade over the workspace's crates, which show the
//! architecture (see `ARCHITECTURE.md`) and let the compiler keep its direction:
//! - `mcp-prompts-domain` ([`domain`]): prompts, versions, templates, session
//!   state. Pure.
//! - `mcp-prompts-engine` ([`engine`], [`ports`], [`realtime`]): MCP dispatch,
//!   the catalog, fan-out planning, and the ports it needs.
//! - `mcp-prompts-embedded` ([`adapters::embedded`]): SQLite in a data folder.
//! - `mcp-prompts-aws` ([`adapters::aws`], [`edges::lambda`]; feature `aws`):
//!   DynamoDB, S3, SQS, API Gateway, and the Lambda handlers.
//! - `mcp-prompts-auth` ([`auth`]): API keys and OIDC JWTs, one check for
//!   every door and the Lambda authorizer.
//! - `mcp-prompts-server` ([`edges`], [`startup`]): the local gateway, stdio, CLI.

pub use mcp_prompts_auth as auth;
pub use mcp_prompts_domain as domain;
pub use mcp_prompts_engine as engine;
pub use mcp_prompts_engine::{ports, realtime, seed, telemetry};
pub use mcp_prompts_server::startup;

pub mod adapters {
    //! Implementations of the ports.
    #[cfg(feature = "aws")]
    pub use mcp_prompts_aws as aws;
    pub use mcp_prompts_embedded as embedded;
    pub use mcp_prompts_engine::memory;
}

pub mod edges {
    //! How the outside world reaches the engine.
    #[cfg(feature = "aws")]
    pub use mcp_prompts_aws::lambda;
    #[cfg(feature = "aws")]
    pub use mcp_prompts_server::{aws_gateway, lambda_rest};
    pub use mcp_prompts_server::{
        catalog_cli, cli, gateway, http, keys_cli, metrics, stdio, subscribers,
    };
}
