//! Small helpers to build and read DynamoDB items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use mcp_prompts_engine::ports::StoreError;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([
        (super::schema::PK.to_string(), s(pk)),
        (super::schema::SK.to_string(), s(sk)),
    ])
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub fn get_n(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub fn get_bool(item: &Item, name: &str) -> Option<bool> {
    item.get(name).and_then(|v| v.as_bool().ok()).copied()
}

pub fn require_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    get_s(item, name).ok_or_else(|| corrupt(name))
}

pub fn require_n(item: &Item, name: &str) -> Result<u64, StoreError> {
    get_n(item, name).ok_or_else(|| corrupt(name))
}

pub fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt item: missing or invalid '{what}'"))
}

/// An item with a TTL in the past is gone, whether or not DynamoDB deleted it yet.
pub fn expired(item: &Item, now: u64) -> bool {
    get_n(item, super::schema::TTL).is_some_and(|ttl| ttl <= now)
}

/// Every item of partition `pk`, page by page, consistent (for the small
/// partitions: API keys, webhook subscribers); `what` names it in errors.
pub async fn query_partition(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
    what: &str,
) -> Result<Vec<Item>, StoreError> {
    let mut out = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let page = dynamodb
            .query()
            .table_name(table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", super::schema::PK)
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| super::sdk_error(&format!("DynamoDB Query {what}"), e))?;
        out.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(out),
        }
    }
}
