//! Edges: how the outside world reaches the engine (the local gateway, the CLI).

pub mod cli;
pub mod gateway;
