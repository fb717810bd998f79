//! The doors of the local deployment: the gateway (`/ws` WebSocket, `/mcp`
//! Streamable HTTP, `/prompts…` REST, `/health`, the web UI), stdio, and the
//! command line that starts them ([`startup`] wires ports to the engine);
//! [`catalog_cli`] imports and exports catalog files; [`webhooks`] syncs them
//! on a GitHub push. With the `aws` feature
//! also the local API Gateway stand-in (`serve --backend aws`), `stdio
//! --backend aws` and `aws bootstrap`.

pub mod auth;
#[cfg(feature = "aws")]
pub mod aws_gateway;
pub mod catalog_cli;
pub mod cli;
pub mod gateway;
pub mod http;
pub mod keys_cli;
#[cfg(feature = "aws")]
pub mod lambda_rest;
pub mod metrics;
pub mod per_principal;
pub mod rest;
pub mod startup;
pub mod stdio;
#[cfg(feature = "aws")]
pub mod stdio_aws;
pub mod subscribers;
pub mod webhooks;
