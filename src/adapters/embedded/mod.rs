//! The embedded adapter: everything the single-binary deployment keeps on disk.

mod schema;
mod store;

pub use store::EmbeddedStore;
