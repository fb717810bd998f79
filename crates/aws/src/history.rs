//! The change log's bounded history on DynamoDB: reading it (`changes_since`),
//! where it starts (`oldest_position`), and pruning it to its bounds.
//!
//! **Explicit deletes behind a floor, not a TTL.** `META` / `FLOOR` holds the
//! oldest position still kept. The pruner walks the log from its start, oldest
//! first, and stops at the first change that is within both bounds or not yet
//! published (it still carries `outbox_key`): what the sweeper has yet to send is
//! never pruned, and the kept history stays one contiguous run up to the head.
//! It moves the floor up *before* deleting, so a reader never trusts a position
//! that is already going; items below the floor that a throttled batch left
//! behind are deleted on the next call. Work per call is bounded
//! (`PRUNE_PAGES` × `PRUNE_PAGE` items). A DynamoDB TTL would cost no write
//! capacity, but it cannot enforce a count, deletes lazily (often days late)
//! and in no particular order, and cannot tell a published change from one the
//! outbox still owes: the history would have holes in the middle that a replay
//! could not detect, and a resume could be told `complete` when it is not. A
//! delete costs one write unit per change (the write transaction itself costs
//! several), which a prompt catalog's write rate makes negligible.

use std::time::Duration;

use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};

use super::items::{self, Item};
use super::outbox::{COMMITTED_MS, EVENT};
use super::prompt_store::DynamoPromptStore;
use super::schema::{self, CHANGES_PK, HEAD_PK, HISTORY_FLOOR_SK, OUTBOX_KEY};
use super::{sdk_error, unix_now_ms};
use mcp_prompts_engine::domain::ChangeEvent;
use mcp_prompts_engine::ports::{PromptStore, StoreError, StoreResult};

/// Change items examined per page, and pages per prune call.
const PRUNE_PAGE: i32 = 100;
const PRUNE_PAGES: usize = 10;
/// `BatchWriteItem` takes at most 25 requests.
const DELETE_BATCH: usize = 25;
/// Re-sends of a batch's unprocessed items before leaving them for the next call.
const MAX_BATCH_RETRIES: usize = 3;
/// One `changes_since` call reads at most this many pages (1 MB each).
const MAX_READ_PAGES: usize = 50;

/// How much change history is kept for replay: the newest `max_changes`, none
/// older than `max_age` (the embedded store's `--history-*` bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryBounds {
    pub max_changes: u64,
    pub max_age: Duration,
}

impl Default for HistoryBounds {
    fn default() -> Self {
        Self {
            max_changes: 100_000,
            max_age: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl HistoryBounds {
    /// `MCP_PROMPTS_HISTORY_MAX_CHANGES` / `MCP_PROMPTS_HISTORY_MAX_AGE_SECS`
    /// (the Lambda sweeper has only its environment); absent means the default,
    /// anything else that is not a number is an error naming the variable.
    pub fn from_env() -> Result<Self, String> {
        let read = |name: &str| -> Result<Option<u64>, String> {
            match std::env::var(name) {
                Ok(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{name} must be a whole number, got '{v}'")),
                Err(_) => Ok(None),
            }
        };
        let d = Self::default();
        Ok(Self {
            max_changes: read("MCP_PROMPTS_HISTORY_MAX_CHANGES")?
                .unwrap_or(d.max_changes)
                .max(1),
            max_age: read("MCP_PROMPTS_HISTORY_MAX_AGE_SECS")?
                .map(Duration::from_secs)
                .unwrap_or(d.max_age),
        })
    }
}

impl DynamoPromptStore {
    /// Up to `limit` changes after `after`, in order, across as many pages as
    /// that takes (a page stops at 1 MB; a short answer means the end).
    pub(super) async fn read_changes(
        &self,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<ChangeEvent>> {
        let limit = limit.max(1);
        let mut out = Vec::new();
        let mut start = None;
        for _ in 0..MAX_READ_PAGES {
            let page = self
                .changes_query(after)
                .limit((limit - out.len()).min(1000) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Query changes", e))?;
            for i in page.items() {
                out.push(
                    serde_json::from_str(items::require_s(i, EVENT)?)
                        .map_err(|e| StoreError::Backend(format!("corrupt change item: {e}")))?,
                );
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() || out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The oldest position kept: the floor the pruner moved (1 if it never ran).
    /// One consistent read.
    pub(super) async fn history_floor(&self) -> StoreResult<u64> {
        let item = self
            .get_item(HEAD_PK.into(), HISTORY_FLOOR_SK.into())
            .await?;
        Ok(item
            .and_then(|i| items::get_n(&i, "position"))
            .unwrap_or(1)
            .max(1))
    }

    /// Drops changes beyond `bounds`, oldest first, never one still waiting to be
    /// published; returns how many were deleted. Bounded work per call: run it
    /// periodically (the local gateway does, the Lambda sweeper on its schedule).
    pub async fn prune_history(&self, bounds: HistoryBounds) -> StoreResult<usize> {
        let head = self.head_position().await?;
        let floor = self.history_floor().await?;
        let oldest_ms = unix_now_ms().saturating_sub(bounds.max_age.as_millis() as u64);
        let beyond = |i: &Item| {
            let position = items::get_n(i, "position").unwrap_or(0);
            let published = !i.contains_key(OUTBOX_KEY);
            let too_many = position + bounds.max_changes.max(1) <= head;
            let too_old = items::get_n(i, COMMITTED_MS).unwrap_or(0) < oldest_ms;
            published && (too_many || too_old)
        };
        let mut doomed: Vec<u64> = Vec::new();
        let mut new_floor = floor;
        let mut start = None;
        'pages: for _ in 0..PRUNE_PAGES {
            let page = self
                .changes_query(0)
                .projection_expression("#p, #c, #o")
                .expression_attribute_names("#p", "position")
                .expression_attribute_names("#c", COMMITTED_MS)
                .expression_attribute_names("#o", OUTBOX_KEY)
                .limit(PRUNE_PAGE)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Query changes", e))?;
            for i in page.items() {
                let position = items::require_n(i, "position")?;
                if position >= new_floor && !beyond(i) {
                    break 'pages;
                }
                new_floor = new_floor.max(position + 1);
                doomed.push(position);
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        if doomed.is_empty() {
            return Ok(0);
        }
        if new_floor > floor {
            self.raise_floor(new_floor).await?;
        }
        let mut deleted = 0;
        for chunk in doomed.chunks(DELETE_BATCH) {
            deleted += self.delete_changes(chunk).await?;
        }
        Ok(deleted)
    }

    /// Moves `META/FLOOR` up to `to` (never down: a concurrent pruner that got
    /// further wins).
    async fn raise_floor(&self, to: u64) -> StoreResult<()> {
        let sent = self
            .clients
            .dynamodb()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::key(HEAD_PK, HISTORY_FLOOR_SK)))
            .update_expression("SET #p = :to")
            .condition_expression("attribute_not_exists(#p) OR #p < :to")
            .expression_attribute_names("#p", "position")
            .expression_attribute_values(":to", items::n(to))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_error("DynamoDB UpdateItem history floor", e)),
        }
    }

    /// Deletes the change items at `positions` (≤ 25); returns how many went.
    /// Items a throttled batch leaves behind lie below the floor already and
    /// go on the next call.
    async fn delete_changes(&self, positions: &[u64]) -> StoreResult<usize> {
        let mut requests: Vec<WriteRequest> = positions
            .iter()
            .map(|p| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(items::key(CHANGES_PK, schema::change_sk(*p))))
                    .build()
                    .map_err(|e| sdk_error("build DeleteRequest", e))?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<StoreResult<_>>()?;
        let total = requests.len();
        for _ in 0..=MAX_BATCH_RETRIES {
            let out = self
                .clients
                .dynamodb()
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB BatchWriteItem changes", e))?;
            requests = out
                .unprocessed_items()
                .and_then(|u| u.get(&self.table))
                .cloned()
                .unwrap_or_default();
            if requests.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(total - requests.len())
    }

    fn changes_query(
        &self,
        after: u64,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.clients
            .dynamodb()
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk > :after")
            .expression_attribute_names("#pk", schema::PK)
            .expression_attribute_names("#sk", schema::SK)
            .expression_attribute_values(":pk", items::s(CHANGES_PK))
            .expression_attribute_values(":after", items::s(schema::change_sk(after)))
            .consistent_read(true)
    }
}
