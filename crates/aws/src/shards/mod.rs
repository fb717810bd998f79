//! Sharded fan-out: the change consumer turns a batch of changes into shard
//! messages (each: the changes and up to `shard_size` listening connections
//! with their interest, cut down to what the changes touch), sent to a shard
//! queue; many shard consumer invocations then post in parallel, and a
//! connection that keeps failing is retried in a shard of its own.
//!
//! - [`message`]: the shard message, built under SQS's size limit.
//! - [`queue`]: `SendMessage` to the shard queue, bounded in flight.
//! - [`planner`]: the `Audience` that pages the topic index into shards.

pub mod message;
pub mod planner;
pub mod queue;

pub use message::{ShardBuilder, ShardMessage, ShardTarget};
pub use planner::ShardingAudience;
pub use queue::ShardQueue;
