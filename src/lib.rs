//! mcp-prompts: a realtime prompt hub.
//!
//! People and programs keep a catalog of prompts (handlebars templates with
//! arguments, categories, tags, every edit a version); MCP clients list, render,
//! search and edit them, and hear about changes as they happen.
//!
//! The crate is laid out as ports and adapters (see `ARCHITECTURE.md`):
//! - [`domain`]: prompts, versions, labels, template analysis. Pure.
//! - [`ports`]: the traits the engine needs (prompt store, clock).
//! - [`engine`]: MCP session state machine, JSON-RPC dispatch, the catalog service.
//! - [`adapters`]: the embedded SQLite store; DynamoDB/S3/SQS/API Gateway (`aws`);
//!   in-memory session/connection stores and pusher for tests (`memory`).
//! - [`realtime`]: local connection registry and change publisher (fan-out).
//! - [`edges`]: the local gateway (WebSocket), the Lambda entry points, the local
//!   API Gateway stand-in (`serve --backend aws`) and the command line.

pub mod adapters;
pub mod domain;
pub mod edges;
pub mod engine;
pub mod ports;
pub mod realtime;
pub mod seed;
pub mod startup;
pub mod telemetry;
