//! Realtime delivery for the local deployment: the connection registry (the
//! connection store, pusher and audience of the session host: `ports`) and the
//! publisher that tails the change log into the host's fan-out.

pub mod drop_signal;
mod ports;
pub mod publisher;
pub mod registry;

pub use publisher::{Publisher, PublisherConfig};
pub use registry::{Connection, Outgoing, Registry};
