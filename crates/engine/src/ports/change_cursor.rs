//! Where a change-log consumer left off, so a restart resumes there.

use async_trait::async_trait;

use super::StoreResult;

#[async_trait]
pub trait ChangeCursor: Send + Sync + 'static {
    async fn load(&self, consumer: &str) -> StoreResult<Option<u64>>;
    async fn save(&self, consumer: &str, position: u64) -> StoreResult<()>;
}
