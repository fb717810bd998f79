//! Realtime delivery for the local deployment: the connection registry (the
//! pusher) and the publisher that tails the change log into the fan-out.

pub mod drop_signal;
pub mod publisher;
pub mod registry;

pub use publisher::{Publisher, PublisherConfig};
pub use registry::{Connection, Outgoing, Registry};
