use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::ports::{ConnectionRecord, ConnectionStore, StoreResult, Topic};
use crate::session::Interest;

/// Connections and their interests in maps; expired records read as absent.
#[derive(Default)]
pub struct MemoryConnectionStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    records: HashMap<String, ConnectionRecord>,
    interests: HashMap<String, Interest>,
}

impl MemoryConnectionStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl ConnectionStore for MemoryConnectionStore {
    async fn put(&self, record: &ConnectionRecord) -> StoreResult<()> {
        self.lock()
            .records
            .insert(record.connection_id.clone(), record.clone());
        Ok(())
    }

    async fn get(&self, connection_id: &str, now: u64) -> StoreResult<Option<ConnectionRecord>> {
        Ok(self
            .lock()
            .records
            .get(connection_id)
            .filter(|r| r.expires_at > now)
            .cloned())
    }

    async fn set_interest(
        &self,
        connection_id: &str,
        interest: &Interest,
        _expires_at: u64,
    ) -> StoreResult<()> {
        self.lock()
            .interests
            .insert(connection_id.to_string(), interest.clone());
        Ok(())
    }

    async fn delete(&self, connection_id: &str) -> StoreResult<()> {
        let mut inner = self.lock();
        inner.records.remove(connection_id);
        inner.interests.remove(connection_id);
        Ok(())
    }

    async fn listeners(&self, topics: &[Topic], now: u64) -> StoreResult<Vec<(String, Interest)>> {
        let inner = self.lock();
        let mut out: Vec<(String, Interest)> = inner
            .interests
            .iter()
            .filter(|(id, _)| inner.records.get(*id).is_some_and(|r| r.expires_at > now))
            .filter(|(_, i)| Topic::of_interest(i).iter().any(|t| topics.contains(t)))
            .map(|(id, i)| (id.clone(), i.clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}
