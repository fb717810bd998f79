//! API keys in DynamoDB: one item per key in the prompts table, under the
//! partition `KEYS` with sort key `H#{sha256}`, so the authorizer's check is a
//! single consistent `GetItem` and `keys list` one query. Keys are few (an
//! admin makes them), so revoking by id may scan that one partition.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::config::AwsClients;
use super::items::{self, Item};
use super::schema::{KEYS_PK, PK, SK, key_sk};
use super::sdk_error;
use mcp_prompts_engine::domain::{Principal, Role};
use mcp_prompts_engine::ports::{Clock, KeyInfo, KeyStore, StoreError, StoreResult};

const ID: &str = "key_id";
const NAME: &str = "name";
const ROLE: &str = "role";
const CREATED: &str = "created_at";
const REVOKED: &str = "revoked_at";

pub struct DynamoKeyStore {
    clients: Arc<AwsClients>,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoKeyStore {
    pub fn new(clients: Arc<AwsClients>, table: String, clock: Arc<dyn Clock>) -> Self {
        Self {
            clients,
            table,
            clock,
        }
    }

    /// Every key item, page by page (the partition is small, but unbounded pages
    /// are never assumed).
    async fn all(&self) -> StoreResult<Vec<Item>> {
        items::query_partition(self.clients.dynamodb(), &self.table, KEYS_PK, "keys").await
    }
}

fn role_of(item: &Item) -> StoreResult<Role> {
    Role::parse(items::require_s(item, ROLE)?)
        .map_err(|e| StoreError::Backend(format!("corrupt key item: {e}")))
}

#[async_trait]
impl KeyStore for DynamoKeyStore {
    async fn add(&self, id: &str, name: &str, role: Role, hash: &str) -> StoreResult<()> {
        let mut item = items::key(KEYS_PK, key_sk(hash));
        item.insert(ID.into(), items::s(id));
        item.insert(NAME.into(), items::s(name));
        item.insert(ROLE.into(), items::s(role.as_str()));
        item.insert(CREATED.into(), items::s(self.clock.now_rfc3339()));
        self.clients
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // A hash collision (or a replayed add) never overwrites a key.
            .condition_expression("attribute_not_exists(#sk)")
            .expression_attribute_names("#sk", SK)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB PutItem key", e))?;
        Ok(())
    }

    async fn find(&self, hash: &str) -> StoreResult<Option<Principal>> {
        let out = self
            .clients
            .dynamodb()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key(KEYS_PK, key_sk(hash))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem key", e))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        if item.contains_key(REVOKED) {
            return Ok(None);
        }
        Ok(Some(Principal {
            name: items::require_s(item, NAME)?.to_string(),
            role: role_of(item)?,
        }))
    }

    async fn list(&self) -> StoreResult<Vec<KeyInfo>> {
        let mut keys = self
            .all()
            .await?
            .iter()
            .map(|item| {
                Ok(KeyInfo {
                    id: items::require_s(item, ID)?.to_string(),
                    name: items::require_s(item, NAME)?.to_string(),
                    role: role_of(item)?,
                    created_at: items::require_s(item, CREATED)?.to_string(),
                    revoked_at: items::get_s(item, REVOKED).map(str::to_string),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        keys.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(keys)
    }

    async fn revoke(&self, id: &str) -> StoreResult<bool> {
        let all = self.all().await?;
        let Some(item) = all.iter().find(|i| items::get_s(i, ID) == Some(id)) else {
            return Ok(false);
        };
        let key = Item::from([
            (PK.to_string(), item[PK].clone()),
            (SK.to_string(), item[SK].clone()),
        ]);
        let sent = self
            .clients
            .dynamodb()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET #r = :now")
            .condition_expression("attribute_exists(#sk) AND attribute_not_exists(#r)")
            .expression_attribute_names("#r", REVOKED)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":now", AttributeValue::S(self.clock.now_rfc3339()))
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
            Err(e) => Err(sdk_error("DynamoDB UpdateItem key (revoke)", e)),
        }
    }
}
