//! Webhooks the hub receives. `github`: a push to the repository that keeps the
//! catalog files syncs the files it touched from the catalog source folder
//! (`sync`), through the same catalog as every other write, so MCP clients
//! hear each change.

#[cfg(feature = "aws")]
pub mod aws;
pub mod github;
mod sync;

pub use github::{DeliveryLog, GithubWebhook, PushSink, QueueRefusal, WebhookSettings};
pub use sync::SyncJob;
