//! A write transaction: its items (the version, the latest pointer under its
//! condition, the head move, the change item, a liveness check) and sending it,
//! where a cancelled transaction means "read again". Kept apart from
//! `writes.rs` and `bulk.rs`, which decide what to write.

use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Get, Put, TransactGetItem, TransactWriteItem,
};

use super::items::{self, Item};
use super::prompt_store::DynamoPromptStore;
use super::schema::{self, CATEGORY_KEY, ID, LATEST, LIVE_KEY, LIVE_VALUE};
use super::sdk_error;
use mcp_prompts_engine::domain::{Prompt, PromptId};
use mcp_prompts_engine::ports::{StoreError, StoreResult};

/// Tries of a write (read, plan, transact) before it gives up on contention.
pub(super) const MAX_ATTEMPTS: u32 = 8;

/// Room left in a 400 KB item for keys and attributes besides the body.
const MAX_BODY_BYTES: usize = 350 * 1024;

/// What the latest pointer must look like for a put to go through.
pub(super) enum Condition {
    Absent,
    At { version: u64, live: bool },
}

impl DynamoPromptStore {
    /// Sends one write transaction. `Ok(false)`: cancelled (another writer
    /// moved the head or a pointer first); the caller reads again after
    /// [`contention_backoff`].
    pub(super) async fn transact(&self, writes: Vec<TransactWriteItem>) -> StoreResult<bool> {
        let sent = self
            .clients
            .dynamodb()
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) if is_cancelled(&e) => Ok(false),
            Err(e) => Err(sdk_error("DynamoDB TransactWriteItems", e)),
        }
    }

    /// A consistent read of one item inside a `TransactGetItems`.
    pub(super) fn transact_get(&self, key: Item) -> StoreResult<TransactGetItem> {
        let get = Get::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .build()
            .map_err(|e| sdk_error("build Get", e))?;
        Ok(TransactGetItem::builder().get(get).build())
    }

    /// "This prompt is still live": a label's target, a batch's include
    /// written before its group.
    pub(super) fn live_check(&self, id: &PromptId) -> StoreResult<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(items::key(schema::prompt_pk(id.as_str()), LATEST)))
            .condition_expression("#live = :true")
            .expression_attribute_names("#live", "live")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .build()
            .map_err(|e| sdk_error("build ConditionCheck", e))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    pub(super) fn head_move(&self, head: u64) -> StoreResult<TransactWriteItem> {
        self.head_move_by(head, 1)
    }

    /// Moves the head from `head` (as read) by `count` positions: a batch
    /// write takes `count` consecutive positions in one move.
    pub(super) fn head_move_by(&self, head: u64, count: u64) -> StoreResult<TransactWriteItem> {
        let mut item = items::key(schema::HEAD_PK, schema::HEAD_SK);
        item.insert("position".into(), items::n(head + count));
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        put = if head == 0 {
            put.condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", schema::PK)
        } else {
            put.condition_expression("#p = :p")
                .expression_attribute_names("#p", "position")
                .expression_attribute_values(":p", items::n(head))
        };
        let put = put.build().map_err(|e| sdk_error("build Put", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(super) fn put_plain(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        TransactWriteItem::builder()
            .put(put.build().expect("table and item are set"))
            .build()
    }

    /// A put that must not overwrite (versions and change items are immutable).
    pub(super) fn put_new(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", schema::PK);
        TransactWriteItem::builder()
            .put(put.build().expect("table and item are set"))
            .build()
    }

    /// A pointer put under `condition`: `attribute_not_exists` for a first
    /// version, else "still at version `:v`" with `live` as given.
    pub(super) fn put_conditional(&self, item: Item, condition: Condition) -> TransactWriteItem {
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = match condition {
            Condition::Absent => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", schema::PK),
            Condition::At { version, live } => put
                .condition_expression("#v = :v AND #live = :live")
                .expression_attribute_names("#v", "version")
                .expression_attribute_names("#live", "live")
                .expression_attribute_values(":v", items::n(version))
                .expression_attribute_values(":live", AttributeValue::Bool(live)),
        };
        TransactWriteItem::builder()
            .put(put.build().expect("table and item are set"))
            .build()
    }

    pub(super) fn version_item(&self, stored: &Prompt, blob: Option<&str>) -> StoreResult<Item> {
        let mut item = items::key(
            schema::prompt_pk(stored.id.as_str()),
            schema::version_sk(stored.version),
        );
        item.insert(ID.into(), items::s(stored.id.as_str()));
        item.insert("version".into(), items::n(stored.version));
        item.insert("body".into(), items::s(body(stored)?));
        if let Some(key) = blob {
            item.insert("blob".into(), items::s(key));
        }
        Ok(item)
    }

    pub(super) fn pointer_item(&self, stored: &Prompt, blob: Option<&str>) -> StoreResult<Item> {
        let mut item = self.version_item(stored, blob)?;
        item.insert(schema::SK.into(), items::s(LATEST));
        item.insert("live".into(), AttributeValue::Bool(true));
        item.insert(LIVE_KEY.into(), items::s(LIVE_VALUE));
        if let Some(c) = &stored.category {
            item.insert(CATEGORY_KEY.into(), items::s(c.to_lowercase()));
        }
        Ok(item)
    }
}

fn body(stored: &Prompt) -> StoreResult<String> {
    let json = serde_json::to_string(stored).map_err(|e| StoreError::Backend(e.to_string()))?;
    if json.len() > MAX_BODY_BYTES {
        return Err(StoreError::Backend(format!(
            "prompt '{}' is {} bytes without its template, over the {} bytes a DynamoDB item can hold",
            stored.id,
            json.len(),
            MAX_BODY_BYTES
        )));
    }
    Ok(json)
}

/// The wait before attempt `attempt + 1` of a cancelled write (5 ms doubling).
pub(super) async fn contention_backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(5u64 << attempt.min(6))).await;
}

/// What a write that lost every attempt answers.
pub(super) fn gave_up() -> StoreError {
    StoreError::Backend(format!(
        "too much write contention on the change log: gave up after {MAX_ATTEMPTS} attempts"
    ))
}

fn is_cancelled<R>(e: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>) -> bool {
    matches!(
        e.as_service_error(),
        Some(TransactWriteItemsError::TransactionCanceledException(_))
            | Some(TransactWriteItemsError::TransactionInProgressException(_))
    )
}
