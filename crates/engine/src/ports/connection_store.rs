//! The connection store port: which connection ids are open, which session each
//! points at, and who listens for what. The Lambda fan-out has no memory of its
//! own, so it asks this store "who wants a change to prompt X?" (a query by topic)
//! instead of walking every connection.

use async_trait::async_trait;

use super::StoreResult;
use bytes::Bytes;

use crate::domain::{ChangeEvent, Interest, PromptId};

/// One open connection, pointing at the session it speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRecord {
    pub connection_id: String,
    pub session_id: String,
    /// Unix seconds.
    pub connected_at: u64,
    /// Unix seconds after which the record is gone (API Gateway closes every
    /// connection after 2 h; TTL deletion may lag, so readers filter).
    pub expires_at: u64,
}

/// What a connection can listen for; one index entry per topic it wants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// `prompts/list_changed` and `resources/list_changed`.
    ListChanged,
    /// `resources/updated` for one prompt.
    Prompt(PromptId),
    /// `notifications/catalog/changed` (filtered by the interest itself).
    CatalogEvents,
}

impl Topic {
    pub fn key(&self) -> String {
        match self {
            Topic::ListChanged => "list".to_string(),
            Topic::Prompt(id) => format!("prompt:{id}"),
            Topic::CatalogEvents => "events".to_string(),
        }
    }

    /// The topics an interest listens on: a handshake-era session once
    /// initialized, plus every open `subscriptions/listen` stream.
    pub fn of_interest(interest: &Interest) -> Vec<Topic> {
        let mut topics = Vec::new();
        if interest.initialized {
            if interest.list_changed {
                topics.push(Topic::ListChanged);
            }
            topics.extend(interest.subscriptions.iter().cloned().map(Topic::Prompt));
            if interest.catalog_events.is_some() {
                topics.push(Topic::CatalogEvents);
            }
        }
        for l in &interest.listeners {
            if l.prompts_list_changed || l.resources_list_changed {
                topics.push(Topic::ListChanged);
            }
            topics.extend(l.resource_subscriptions.iter().cloned().map(Topic::Prompt));
            if l.catalog_events.is_some() {
                topics.push(Topic::CatalogEvents);
            }
        }
        topics.sort();
        topics.dedup();
        topics
    }

    /// The topics a batch of changes can reach: a superset of who gets frames;
    /// `Delivery::frames_for` makes the exact choice per connection.
    pub fn of_changes(changes: &[ChangeEvent]) -> Vec<Topic> {
        if changes.is_empty() {
            return Vec::new();
        }
        let mut topics = vec![Topic::CatalogEvents];
        if changes.iter().any(|c| c.kind.changes_listing()) {
            topics.push(Topic::ListChanged);
        }
        let mut ids: Vec<&PromptId> = changes.iter().map(|c| &c.id).collect();
        ids.sort();
        ids.dedup();
        topics.extend(ids.into_iter().cloned().map(Topic::Prompt));
        topics
    }
}

/// One page of a topic's listeners.
#[derive(Debug, Default)]
pub struct ListenerPage {
    pub listeners: Vec<(String, Interest)>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<String>,
}

impl ListenerPage {
    /// A page of `limit` from up to `limit + 1` listeners sorted by id: the
    /// extra one only tells that there is more.
    fn cut(mut listeners: Vec<(String, Interest)>, limit: usize) -> Self {
        let more = listeners.len() > limit;
        listeners.truncate(limit);
        let next = more
            .then(|| listeners.last().map(|(id, _)| id.clone()))
            .flatten();
        Self { listeners, next }
    }
}

#[async_trait]
pub trait ConnectionStore: Send + Sync + 'static {
    async fn put(&self, record: &ConnectionRecord) -> StoreResult<()>;
    /// The connection, unless unknown or expired (`now` in unix seconds).
    async fn get(&self, connection_id: &str, now: u64) -> StoreResult<Option<ConnectionRecord>>;
    /// Replaces what the connection listens for.
    async fn set_interest(
        &self,
        connection_id: &str,
        interest: &Interest,
        expires_at: u64,
    ) -> StoreResult<()>;
    /// Forgets the connection and everything it listened for.
    async fn delete(&self, connection_id: &str) -> StoreResult<()>;
    /// Every unexpired connection listening on any of `topics`, once each, with
    /// its interest.
    async fn listeners(&self, topics: &[Topic], now: u64) -> StoreResult<Vec<(String, Interest)>>;

    /// One page of the connections listening on `topic` (unexpired), after
    /// the opaque cursor `after`, and the cursor of the next page if there is
    /// one. The sharded fan-out walks a topic page by page, so no invocation
    /// holds more than a page of interests. The default pages the whole answer
    /// of `listeners` by connection id, `limit` at a time.
    async fn listeners_page(
        &self,
        topic: &Topic,
        after: Option<&str>,
        limit: usize,
        now: u64,
    ) -> StoreResult<ListenerPage> {
        let mut all = self.listeners(std::slice::from_ref(topic), now).await?;
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let listeners: Vec<(String, Interest)> = all
            .into_iter()
            .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a))
            .take(limit.max(1) + 1)
            .collect();
        Ok(ListenerPage::cut(listeners, limit.max(1)))
    }

    /// The newest change position this connection has been brought up to, where
    /// the store tracks it (the local registry does; API Gateway connections do
    /// not, and the session's saved position stands in).
    fn seen(&self, _connection_id: &str) -> Option<u64> {
        None
    }

    /// Starts holding live frames for the connection back while its replay is
    /// read, so they follow the replay instead of overtaking it. A store whose
    /// fan-out runs elsewhere (AWS) needs no hold: interest is recorded before
    /// the replay is read, so a change is replayed or fanned out, maybe both.
    fn begin_catch_up(&self, _connection_id: &str) {}

    /// Ends a catch-up: the live frames held back meanwhile that the replay (up
    /// to `upto`) did not cover, in order.
    fn finish_catch_up(&self, _connection_id: &str, _upto: u64) -> Vec<Bytes> {
        Vec::new()
    }
}
