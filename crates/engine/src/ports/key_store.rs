//! The key store port: API keys, shown once and kept only as a hash, each with a
//! name and a role.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::{Principal, Role};

/// A key as listed (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Stores a new key under `hash` (the key's SHA-256, hex); returns its id.
    async fn add(&self, id: &str, name: &str, role: Role, hash: &str) -> StoreResult<()>;
    /// The principal a live (unrevoked) key's hash belongs to.
    async fn find(&self, hash: &str) -> StoreResult<Option<Principal>>;
    async fn list(&self) -> StoreResult<Vec<KeyInfo>>;
    /// Revokes the key `id`; returns whether it existed and was live.
    async fn revoke(&self, id: &str) -> StoreResult<bool>;
}
