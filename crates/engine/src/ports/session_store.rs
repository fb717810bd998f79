//! The session store port: MCP sessions outlive their connections, so their state
//! lives here between connections (memory locally, DynamoDB with a TTL on AWS).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreResult;
use crate::domain::Session;

/// A session as stored: its state, the connection it is attached to (if any), the
/// newest change position it was sent, and when it expires once detached.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    pub session: Session,
    pub connection_id: Option<String>,
    pub last_position: u64,
    /// Unix seconds after which a detached session is gone (TTL deletion may lag:
    /// readers must treat an expired record as absent).
    pub expires_at: u64,
}

#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// The session, unless unknown or expired (`now` in unix seconds).
    async fn load(&self, session_id: &str, now: u64) -> StoreResult<Option<SessionRecord>>;
    async fn save(&self, record: &SessionRecord) -> StoreResult<()>;
    async fn delete(&self, session_id: &str) -> StoreResult<()>;
    /// Saves `record` (detached) only if the stored session is still attached to
    /// `connection_id`, so a late `$disconnect` cannot undo a resume that already
    /// moved the session to a new connection. Returns whether it saved. Stores
    /// shared between processes override this with a conditional write.
    async fn detach(
        &self,
        record: &SessionRecord,
        connection_id: &str,
        now: u64,
    ) -> StoreResult<bool> {
        match self.load(&record.session.id, now).await? {
            Some(stored) if stored.connection_id.as_deref() == Some(connection_id) => {
                self.save(record).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
