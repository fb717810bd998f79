//! In-memory implementations of the session, connection and pusher ports: what
//! the Lambda handlers' unit tests run against, no AWS needed.

mod connections;
mod pusher;
mod sessions;

pub use connections::MemoryConnectionStore;
pub use pusher::RecordingPusher;
pub use sessions::MemorySessionStore;
