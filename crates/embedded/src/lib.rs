//! The embedded adapter: everything the single-binary deployment keeps on disk.
//! `bulk` adds the batch write path imports use ([`mcp_prompts_engine::import::BatchWriter`]).

mod bulk;
mod change_log;
mod prompts;
mod rows;
mod schema;
mod store;

pub use store::EmbeddedStore;
