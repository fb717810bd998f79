//! Webhooks the hub receives. `github`: a push to the repository that keeps the
//! catalog files syncs the files it touched from the catalog source folder
//! (`sync`), through the same catalog as every other write, so MCP clients
//! hear each change.

pub mod github;
mod sync;

pub use github::{GithubWebhook, WebhookSettings};
