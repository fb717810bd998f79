//! The embedded adapter: everything the single-binary deployment keeps on disk:
//! prompts, versions, labels, the change log (the outbox), publisher cursors,
//! MCP sessions and API keys, in one SQLite file. `bulk` adds the batch write path imports use ([`mcp_prompts_engine::import::BatchWriter`]).

mod bulk;
mod change_log;
mod keys;
mod prompts;
mod rows;
mod schema;
mod sessions;
mod store;
pub mod subscribers;

pub use store::EmbeddedStore;
