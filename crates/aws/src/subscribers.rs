//! Webhook subscribers on DynamoDB, in the prompts table: one item per
//! subscriber under the partition `SUBSCRIBERS` with sort key `S#{id}`
//! (`url`, `secret`, `category`, `tag`, `created_at`, `start_after`), which
//! also carries how its deliveries stand when they are failing
//! (`failed_attempts`, `last_error`, `next_attempt_ms`), so every Lambda
//! instance sees it. Where its deliveries stand is its change-log cursor,
//! `CURSOR` / `subscriber:{id}` (the `ChangeCursor` of the prompt store, the
//! consumer name the embedded store uses too). Subscribers are few (at most
//! 100), so listing them is one query of that partition.
//!
//! [`WebhookQueue`] is the small "deliveries" SQS queue whose messages only
//! say "look for something to deliver": the fan-out consumer sends one per
//! batch, the delivery handler one (delayed) when a retry is due or a backlog
//! is left, the sweeper one per run (the backstop for a lost one).

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::ReturnValue;

use super::config::AwsClients;
use super::items::{self, Item};
use super::schema::{CURSOR_PK, PK, SUBSCRIBERS_PK, subscriber_sk};
use super::{error_chain, sdk_error};
use mcp_prompts_engine::ports::{StoreResult, Subscriber, SubscriberStore, subscriber_cursor};
use mcp_prompts_engine::session::CatalogFilter;

const URL: &str = "url";
const SECRET: &str = "secret";
const CATEGORY: &str = "category";
const TAG: &str = "tag";
const CREATED: &str = "created_at";
const START_AFTER: &str = "start_after";
const FAILED: &str = "failed_attempts";
const LAST_ERROR: &str = "last_error";
const NEXT_ATTEMPT: &str = "next_attempt_ms";
/// The id, without the `S#` of the sort key.
const ID: &str = "id";
/// Bytes of a delivery error kept in the item.
const MAX_ERROR: usize = 1024;

/// How a subscriber's deliveries stand when the last attempt failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryState {
    /// Failed attempts at the change being delivered now (0: none failing).
    pub failed_attempts: u32,
    pub last_error: Option<String>,
    /// No attempt before this time (unix ms).
    pub next_attempt_ms: Option<u64>,
}

pub struct DynamoSubscriberStore {
    clients: Arc<AwsClients>,
    table: String,
}

impl DynamoSubscriberStore {
    pub fn new(clients: Arc<AwsClients>, table: String) -> Self {
        Self { clients, table }
    }

    /// Every subscriber with how its deliveries stand, oldest first.
    pub async fn with_states(&self) -> StoreResult<Vec<(Subscriber, DeliveryState)>> {
        let mut out = items::query_partition(
            self.clients.dynamodb(),
            &self.table,
            SUBSCRIBERS_PK,
            "subscribers",
        )
        .await?
        .iter()
        .map(read)
        .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by(|(a, _), (b, _)| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(out)
    }

    /// Notes a failed attempt; false if the subscriber is gone meanwhile.
    pub async fn record_failure(&self, id: &str, state: &DeliveryState) -> StoreResult<bool> {
        let error: String = state
            .last_error
            .as_deref()
            .unwrap_or_default()
            .chars()
            .take(MAX_ERROR)
            .collect();
        let sent = self
            .state_update(id)
            .update_expression("SET #f = :f, #e = :e, #n = :n")
            .expression_attribute_values(":f", items::n(u64::from(state.failed_attempts)))
            .expression_attribute_values(":e", items::s(error))
            .expression_attribute_values(":n", items::n(state.next_attempt_ms.unwrap_or(0)))
            .send()
            .await;
        gone_is_false(sent.map(|_| ()), "DynamoDB UpdateItem subscriber (failure)")
    }

    /// Its deliveries succeed again: the failure attributes go.
    pub async fn clear_failure(&self, id: &str) -> StoreResult<bool> {
        let sent = self
            .state_update(id)
            .update_expression("REMOVE #f, #e, #n")
            .send()
            .await;
        gone_is_false(
            sent.map(|_| ()),
            "DynamoDB UpdateItem subscriber (recovered)",
        )
    }

    /// An update of the delivery state attributes (`#f`, `#e`, `#n`) of an
    /// existing subscriber's item.
    fn state_update(&self, id: &str) -> UpdateItemFluentBuilder {
        self.clients
            .dynamodb()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::key(SUBSCRIBERS_PK, subscriber_sk(id))))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#f", FAILED)
            .expression_attribute_names("#e", LAST_ERROR)
            .expression_attribute_names("#n", NEXT_ATTEMPT)
    }

    async fn delete(&self, item: Item, what: &str) -> StoreResult<bool> {
        let out = self
            .clients
            .dynamodb()
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| sdk_error(what, e))?;
        Ok(out.attributes().is_some_and(|a| !a.is_empty()))
    }
}

/// A conditional update on an item that no longer exists is `Ok(false)`.
fn gone_is_false(
    sent: Result<(), aws_sdk_dynamodb::error::SdkError<UpdateItemError>>,
    what: &str,
) -> StoreResult<bool> {
    match sent {
        Ok(()) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(sdk_error(what, e)),
    }
}

fn read(item: &Item) -> StoreResult<(Subscriber, DeliveryState)> {
    let opt = |name| items::get_s(item, name).map(str::to_string);
    let subscriber = Subscriber {
        id: items::require_s(item, ID)?.to_string(),
        url: items::require_s(item, URL)?.to_string(),
        secret: items::require_s(item, SECRET)?.to_string(),
        filter: CatalogFilter {
            category: opt(CATEGORY),
            tag: opt(TAG),
        },
        created_at: items::require_s(item, CREATED)?.to_string(),
        start_after: items::require_n(item, START_AFTER)?,
    };
    let state = DeliveryState {
        failed_attempts: items::get_n(item, FAILED).unwrap_or(0) as u32,
        last_error: opt(LAST_ERROR).filter(|e| !e.is_empty()),
        next_attempt_ms: items::get_n(item, NEXT_ATTEMPT).filter(|n| *n > 0),
    };
    Ok((subscriber, state))
}

#[async_trait]
impl SubscriberStore for DynamoSubscriberStore {
    async fn add_subscriber(&self, s: &Subscriber) -> StoreResult<()> {
        let mut item = items::key(SUBSCRIBERS_PK, subscriber_sk(&s.id));
        item.insert(ID.into(), items::s(&s.id));
        item.insert(URL.into(), items::s(&s.url));
        item.insert(SECRET.into(), items::s(&s.secret));
        if let Some(c) = &s.filter.category {
            item.insert(CATEGORY.into(), items::s(c));
        }
        if let Some(t) = &s.filter.tag {
            item.insert(TAG.into(), items::s(t));
        }
        item.insert(CREATED.into(), items::s(&s.created_at));
        item.insert(START_AFTER.into(), items::n(s.start_after));
        self.clients
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // A fresh id; a replayed add never overwrites one.
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB PutItem subscriber", e))?;
        Ok(())
    }

    async fn subscribers(&self) -> StoreResult<Vec<Subscriber>> {
        Ok(self
            .with_states()
            .await?
            .into_iter()
            .map(|(s, _)| s)
            .collect())
    }

    async fn remove_subscriber(&self, id: &str) -> StoreResult<bool> {
        let existed = self
            .delete(
                items::key(SUBSCRIBERS_PK, subscriber_sk(id)),
                "DynamoDB DeleteItem subscriber",
            )
            .await?;
        self.delete(
            items::key(CURSOR_PK, subscriber_cursor(id)),
            "DynamoDB DeleteItem subscriber cursor",
        )
        .await?;
        Ok(existed)
    }
}

/// The deliveries queue (`MCP_PROMPTS_WEBHOOK_QUEUE_URL`): a message is a
/// nudge for the `webhooks` handler, whatever its body.
pub struct WebhookQueue {
    clients: Arc<AwsClients>,
    pub url: String,
}

/// SQS delays a message by 15 minutes at most.
pub const MAX_NUDGE_DELAY_SECS: u64 = 900;

impl WebhookQueue {
    pub fn new(clients: Arc<AwsClients>, url: String) -> Self {
        Self { clients, url }
    }

    /// Asks for a delivery pass in `delay_secs` (at most 900); a failure is
    /// logged only: the next commit, the sweeper or the retry nudges again.
    pub async fn nudge(&self, delay_secs: u64, why: &str) {
        let sent = self
            .clients
            .sqs()
            .send_message()
            .queue_url(&self.url)
            .delay_seconds(delay_secs.min(MAX_NUDGE_DELAY_SECS) as i32)
            .message_body(serde_json::json!({ "nudge": why }).to_string())
            .send()
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %error_chain(&e), why, "cannot nudge the webhook deliveries");
        }
    }
}
