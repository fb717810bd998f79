//! Connections in DynamoDB: per connection id a `CONN` item (its session) and one
//! `T#{topic}` item per topic it listens on, carrying the interest. The
//! `by-topic` index answers the fan-out's question "who listens on these
//! topics?" with one query per topic, never a scan. Every item has a `ttl`
//! (API Gateway ends connections after 2 h); reads skip expired ones.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use serde::{Deserialize, Serialize};

use super::config::AwsClients;
use super::items::{self, Item};
use super::schema::{self, CONNECTION_SK, PK, SK, TOPIC, TOPIC_INDEX, TTL};
use super::sdk_error;
use mcp_prompts_engine::domain::PromptId;
use mcp_prompts_engine::ports::{
    ConnectionRecord, ConnectionStore, ListenerPage, StoreError, StoreResult, Topic,
};
use mcp_prompts_engine::session::{CatalogFilter, Interest, Listener};

/// Pages read per topic query, at most (1 MB each).
const MAX_PAGES: usize = 100;
/// Unprocessed-item retries of one batch write.
const MAX_BATCH_RETRIES: usize = 5;

pub struct DynamoConnectionStore {
    clients: Arc<AwsClients>,
    table: String,
}

/// `Interest` as stored on a topic item (and carried by a fan-out shard).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredInterest {
    #[serde(default)]
    initialized: bool,
    #[serde(default)]
    list_changed: bool,
    #[serde(default)]
    subscriptions: Vec<PromptId>,
    #[serde(default)]
    catalog_events: Option<CatalogFilter>,
    #[serde(default)]
    listeners: Vec<Listener>,
}

impl From<&Interest> for StoredInterest {
    fn from(i: &Interest) -> Self {
        Self {
            initialized: i.initialized,
            list_changed: i.list_changed,
            subscriptions: i.subscriptions.iter().cloned().collect(),
            catalog_events: i.catalog_events.clone(),
            listeners: i.listeners.clone(),
        }
    }
}

impl From<StoredInterest> for Interest {
    fn from(s: StoredInterest) -> Self {
        Interest {
            initialized: s.initialized,
            list_changed: s.list_changed,
            subscriptions: s.subscriptions.into_iter().collect(),
            catalog_events: s.catalog_events,
            listeners: s.listeners,
        }
    }
}

impl DynamoConnectionStore {
    pub fn new(clients: Arc<AwsClients>, table: String) -> Self {
        Self { clients, table }
    }

    /// The sort keys of every item of a connection.
    async fn item_keys(&self, connection_id: &str) -> StoreResult<Vec<String>> {
        let out = self
            .clients
            .dynamodb()
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", items::s(connection_id))
            .projection_expression("#sk")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB Query connection", e))?;
        Ok(out
            .items()
            .iter()
            .filter_map(|i| items::get_s(i, SK).map(str::to_string))
            .collect())
    }

    /// `BatchWriteItem` in chunks of 25, retrying unprocessed items a few times.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> StoreResult<()> {
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            for attempt in 0..=MAX_BATCH_RETRIES {
                if pending.is_empty() {
                    break;
                }
                if attempt == MAX_BATCH_RETRIES {
                    return Err(StoreError::Backend(
                        "DynamoDB BatchWriteItem: items left unprocessed".into(),
                    ));
                }
                let out = self
                    .clients
                    .dynamodb()
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DynamoDB BatchWriteItem", e))?;
                pending = out
                    .unprocessed_items()
                    .and_then(|m| m.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                }
            }
        }
        Ok(())
    }

    /// One query page of a topic (`limit` items read before the TTL filter).
    async fn topic_page(
        &self,
        topic: &Topic,
        start: Option<Item>,
        limit: Option<usize>,
        now: u64,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let out = self
            .clients
            .dynamodb()
            .query()
            .table_name(&self.table)
            .index_name(TOPIC_INDEX)
            .key_condition_expression("#t = :t")
            .filter_expression("#ttl > :now")
            .expression_attribute_names("#t", TOPIC)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":t", items::s(topic.key()))
            .expression_attribute_values(":now", items::n(now))
            .set_limit(limit.map(|l| l.clamp(1, i32::MAX as usize) as i32))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB Query by-topic", e))?;
        Ok((out.items().to_vec(), out.last_evaluated_key().cloned()))
    }

    async fn listeners_of(&self, topic: &Topic, now: u64) -> StoreResult<Vec<Item>> {
        let mut found = Vec::new();
        let mut start = None;
        for _ in 0..MAX_PAGES {
            let (page, next) = self.topic_page(topic, start, None, now).await?;
            found.extend(page);
            start = next;
            if start.is_none() {
                break;
            }
        }
        Ok(found)
    }
}

/// A topic item's connection id and interest.
fn listener(item: &Item) -> StoreResult<Option<(String, Interest)>> {
    let Some(id) = items::get_s(item, PK) else {
        return Ok(None);
    };
    let stored: StoredInterest = serde_json::from_str(items::require_s(item, "interest")?)
        .map_err(|e| StoreError::Backend(format!("corrupt topic item: {e}")))?;
    Ok(Some((id.to_string(), stored.into())))
}

/// A query's `LastEvaluatedKey` (string attributes only: the table and index
/// keys) as an opaque cursor, and back.
fn encode_cursor(key: &Item) -> String {
    let plain: BTreeMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_s().ok()?.as_str())))
        .collect();
    serde_json::to_string(&plain).unwrap_or_default()
}

fn decode_cursor(cursor: &str) -> StoreResult<Item> {
    let plain: BTreeMap<String, String> = serde_json::from_str(cursor)
        .map_err(|e| StoreError::Backend(format!("not a listener cursor: {e}")))?;
    Ok(plain.into_iter().map(|(k, v)| (k, items::s(v))).collect())
}

fn delete_request(connection_id: &str, sk: &str) -> StoreResult<WriteRequest> {
    let del = DeleteRequest::builder()
        .set_key(Some(items::key(connection_id, sk)))
        .build()
        .map_err(|e| sdk_error("build DeleteRequest", e))?;
    Ok(WriteRequest::builder().delete_request(del).build())
}

fn put_request(item: Item) -> StoreResult<WriteRequest> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| sdk_error("build PutRequest", e))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

#[async_trait]
impl ConnectionStore for DynamoConnectionStore {
    async fn put(&self, record: &ConnectionRecord) -> StoreResult<()> {
        let mut item = items::key(&record.connection_id, CONNECTION_SK);
        item.insert("session_id".into(), items::s(&record.session_id));
        item.insert("connected_at".into(), items::n(record.connected_at));
        item.insert(TTL.into(), items::n(record.expires_at));
        self.clients
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB PutItem connection", e))?;
        Ok(())
    }

    async fn get(&self, connection_id: &str, now: u64) -> StoreResult<Option<ConnectionRecord>> {
        let out = self
            .clients
            .dynamodb()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key(connection_id, CONNECTION_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem connection", e))?;
        let Some(item) = out.item().filter(|i| !items::expired(i, now)) else {
            return Ok(None);
        };
        Ok(Some(ConnectionRecord {
            connection_id: connection_id.to_string(),
            session_id: items::require_s(item, "session_id")?.to_string(),
            connected_at: items::get_n(item, "connected_at").unwrap_or(0),
            expires_at: items::get_n(item, TTL).unwrap_or(0),
        }))
    }

    async fn set_interest(
        &self,
        connection_id: &str,
        interest: &Interest,
        expires_at: u64,
    ) -> StoreResult<()> {
        let wanted: BTreeSet<String> = Topic::of_interest(interest)
            .iter()
            .map(|t| schema::topic_sk(&t.key()))
            .collect();
        let json = serde_json::to_string(&StoredInterest::from(interest))
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut requests = Vec::new();
        for sk in self.item_keys(connection_id).await? {
            if sk != CONNECTION_SK && !wanted.contains(&sk) {
                requests.push(delete_request(connection_id, &sk)?);
            }
        }
        for sk in &wanted {
            let mut item = items::key(connection_id, sk.as_str());
            item.insert(TOPIC.into(), items::s(sk.trim_start_matches("T#")));
            item.insert("interest".into(), items::s(json.clone()));
            item.insert(TTL.into(), items::n(expires_at));
            requests.push(put_request(item)?);
        }
        self.batch_write(requests).await
    }

    async fn delete(&self, connection_id: &str) -> StoreResult<()> {
        let requests = self
            .item_keys(connection_id)
            .await?
            .iter()
            .map(|sk| delete_request(connection_id, sk))
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_write(requests).await
    }

    async fn listeners(&self, topics: &[Topic], now: u64) -> StoreResult<Vec<(String, Interest)>> {
        let mut found: BTreeMap<String, Interest> = BTreeMap::new();
        for topic in topics {
            for item in self.listeners_of(topic, now).await? {
                if let Some((id, interest)) = listener(&item)? {
                    found.entry(id).or_insert(interest);
                }
            }
        }
        Ok(found.into_iter().collect())
    }

    async fn listeners_page(
        &self,
        topic: &Topic,
        after: Option<&str>,
        limit: usize,
        now: u64,
    ) -> StoreResult<ListenerPage> {
        let start = after.map(decode_cursor).transpose()?;
        let (page, next) = self.topic_page(topic, start, Some(limit), now).await?;
        let listeners = page
            .iter()
            .map(listener)
            .filter_map(Result::transpose)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(ListenerPage {
            listeners,
            next: next.as_ref().map(encode_cursor),
        })
    }
}
