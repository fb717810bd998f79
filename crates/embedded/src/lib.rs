//! The embedded adapter: everything the single-binary deployment keeps on disk.

mod change_log;
mod prompts;
mod rows;
mod schema;
mod store;

pub use store::EmbeddedStore;
