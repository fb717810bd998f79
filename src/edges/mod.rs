//! Edges: how the outside world reaches the engine (the local gateway, the CLI).

pub mod aws_gateway;
pub mod cli;
pub mod gateway;
pub mod http;
pub mod lambda;
pub mod stdio;
pub mod stdio_aws;
