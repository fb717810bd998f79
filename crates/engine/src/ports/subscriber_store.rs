//! Services registered to receive every committed change by HTTP POST (signed
//! webhooks to catalog subscribers), and the hub's way to manage them from a
//! door (REST, an MCP tool) without knowing how they are delivered.

use async_trait::async_trait;
use serde::Serialize;

use super::StoreResult;
use crate::session::CatalogFilter;

/// A registered receiver. The secret signs each delivery and is never shown
/// again after registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscriber {
    pub id: String,
    pub url: String,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub secret: String,
    pub filter: CatalogFilter,
    pub created_at: String,
    /// Changes after this change-log position are delivered (the head when
    /// it registered: a new subscriber does not get the whole history).
    pub start_after: u64,
}

#[async_trait]
pub trait SubscriberStore: Send + Sync + 'static {
    async fn add_subscriber(&self, subscriber: &Subscriber) -> StoreResult<()>;
    async fn subscribers(&self) -> StoreResult<Vec<Subscriber>>;
    /// Removes it (and where its deliveries stood); whether it existed.
    async fn remove_subscriber(&self, id: &str) -> StoreResult<bool>;
}

/// A subscriber and how its deliveries stand, as doors show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriberStatus {
    #[serde(flatten)]
    pub subscriber: Subscriber,
    /// The newest change-log position delivered (acknowledged with a 2xx).
    pub delivered: u64,
    /// Failed attempts at the change being delivered now.
    pub failed_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What a door asks of the subscriber deliveries.
#[async_trait]
pub trait Subscriptions: Send + Sync + 'static {
    /// Registers `url`; `Err` names what is wrong with the request.
    async fn register(
        &self,
        url: &str,
        secret: &str,
        filter: CatalogFilter,
    ) -> Result<Subscriber, SubscribeError>;
    async fn list(&self) -> Result<Vec<SubscriberStatus>, SubscribeError>;
    async fn remove(&self, id: &str) -> Result<bool, SubscribeError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// The request names a bad field: (field, why).
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    #[error("{0} subscribers are registered, the limit: remove one first")]
    Full(usize),
    #[error("store: {0}")]
    Store(#[from] super::StoreError),
}
