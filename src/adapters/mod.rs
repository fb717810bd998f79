//! Adapters: implementations of the ports. `embedded` is the default deployment
//! (SQLite in a data folder).

pub mod embedded;
