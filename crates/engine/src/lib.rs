//! The hub core. It never sees a socket, an HTTP request or a Lambda event:
//! edges hand it text and get frames back.
//!
//! - [`dispatch`]: one JSON-RPC message in, frames out ([`Engine`]); one file
//!   per MCP method family under [`methods`], tools under [`tools`].
//! - [`catalog`]: the only way to edit (versions, optimistic concurrency, cache);
//!   [`renderer`] and [`text_plan`] render templates.
//! - [`host`]: the session host, every door's session behaviour written once:
//!   connect, a message as a typed turn, resume/takeover/replay, disconnect,
//!   fan-out.
//! - [`import`]: applying a catalog read from files (create, update, unchanged);
//!   [`jobs`]: bulk imports queued and written in batches, with progress.
//! - [`fanout`]: which notifications a batch of changes produces for whom;
//!   [`replay`]: what a reconnecting session missed.
//! - [`ports`]: the traits the core needs from outside (stores, pusher, clock);
//!   [`memory`]: in-memory implementations for tests.
//! - [`realtime`]: the local connection registry and change publisher.
//! - [`subprotocol`]: WebSocket subprotocol negotiation, shared by every
//!   WebSocket door.

pub use mcp_prompts_domain as domain;

pub mod catalog;
pub mod cursor;
pub mod dispatch;
pub mod fanout;
pub mod host;
pub mod import;
pub mod jobs;
pub mod json_write;
pub mod jsonrpc;
pub mod memory;
pub mod methods;
pub mod metrics;
pub mod modern;
pub mod ports;
pub mod protocol;
pub mod realtime;
pub mod renderer;
pub mod replay;
pub mod seed;
pub mod session;
pub mod shape;
pub mod static_resources;
pub mod subprotocol;
pub mod telemetry;
pub mod text_plan;
pub mod tools;

pub use catalog::{Catalog, CatalogError, Selector};
pub use dispatch::{Engine, EngineConfig};
pub use session::Session;
