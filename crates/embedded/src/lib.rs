//! The embedded adapter: everything the single-binary deployment keeps on disk:
//! prompts, versions, labels, the change log (the outbox), publisher cursors and
//! MCP sessions, in one SQLite file.

mod change_log;
mod keys;
mod prompts;
mod rows;
mod schema;
mod sessions;
mod store;

pub use store::EmbeddedStore;
