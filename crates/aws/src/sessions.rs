//! MCP sessions in DynamoDB: one item per session id, the `SessionRecord` as JSON,
//! the attached `connection` and a `ttl`. DynamoDB deletes expired items lazily
//! (within days), so a read treats an item past its `ttl` as absent.

use std::sync::Arc;

use async_trait::async_trait;

use super::config::AwsClients;
use super::items;
use super::schema::{SESSION_ID, TTL};
use super::sdk_error;
use mcp_prompts_engine::ports::{SessionRecord, SessionStore, StoreError, StoreResult};

/// Attribute naming the connection a session is attached to.
const CONNECTION: &str = "connection";

pub struct DynamoSessionStore {
    clients: Arc<AwsClients>,
    table: String,
}

impl DynamoSessionStore {
    pub fn new(clients: Arc<AwsClients>, table: String) -> Self {
        Self { clients, table }
    }

    fn key(session_id: &str) -> items::Item {
        items::Item::from([(SESSION_ID.to_string(), items::s(session_id))])
    }

    /// The record as JSON, its `ttl`, and the attached connection (if any) as a
    /// top-level attribute that conditional writes can test.
    fn item(record: &SessionRecord) -> StoreResult<items::Item> {
        let json = serde_json::to_string(record).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut item = Self::key(&record.session.id);
        item.insert("record".into(), items::s(json));
        item.insert(TTL.into(), items::n(record.expires_at));
        if let Some(c) = &record.connection_id {
            item.insert(CONNECTION.into(), items::s(c.clone()));
        }
        Ok(item)
    }
}

#[async_trait]
impl SessionStore for DynamoSessionStore {
    async fn load(&self, session_id: &str, now: u64) -> StoreResult<Option<SessionRecord>> {
        let out = self
            .clients
            .dynamodb()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(session_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem session", e))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        if items::expired(item, now) {
            return Ok(None);
        }
        let record: SessionRecord = serde_json::from_str(items::require_s(item, "record")?)
            .map_err(|e| StoreError::Backend(format!("corrupt session item: {e}")))?;
        Ok((record.expires_at > now).then_some(record))
    }

    async fn save(&self, record: &SessionRecord) -> StoreResult<()> {
        self.clients
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(record)?))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB PutItem session", e))?;
        Ok(())
    }

    /// A conditional put on the `connection` attribute: a resume on another
    /// connection (another Lambda invocation) that got there first wins.
    async fn detach(
        &self,
        record: &SessionRecord,
        connection_id: &str,
        _now: u64,
    ) -> StoreResult<bool> {
        let sent = self
            .clients
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(record)?))
            .condition_expression("#c = :c")
            .expression_attribute_names("#c", CONNECTION)
            .expression_attribute_values(":c", items::s(connection_id))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error("DynamoDB PutItem session (detach)", e)),
        }
    }

    async fn delete(&self, session_id: &str) -> StoreResult<()> {
        self.clients
            .dynamodb()
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(session_id)))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB DeleteItem session", e))?;
        Ok(())
    }
}
