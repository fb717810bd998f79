use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::ports::{SessionRecord, SessionStore, StoreResult};

/// Sessions in a map; expired records read as absent, like the DynamoDB store.
#[derive(Default)]
pub struct MemorySessionStore {
    records: Mutex<HashMap<String, SessionRecord>>,
}

impl MemorySessionStore {
    /// Drops records whose grace period ended (the map would otherwise grow with
    /// every session ever opened).
    pub fn prune_expired(&self, now: u64) {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, r| r.expires_at > now);
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn load(&self, session_id: &str, now: u64) -> StoreResult<Option<SessionRecord>> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        Ok(records
            .get(session_id)
            .filter(|r| r.expires_at > now)
            .cloned())
    }

    async fn save(&self, record: &SessionRecord) -> StoreResult<()> {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(record.session.id.clone(), record.clone());
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> StoreResult<()> {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(session_id);
        Ok(())
    }
}
