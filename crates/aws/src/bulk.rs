//! The batch write path for imports on DynamoDB ([`BatchWriter`]): a group of
//! up to [`GROUP_PROMPTS`] prompts per `TransactWriteItems`, taking as many
//! consecutive change-log positions with one head move, instead of one
//! transaction (and one contended move of `META/HEAD`) per prompt
//! (ARCHITECTURE.md, "Write contention", way out 1).
//!
//! A group is planned from one read of its pointers, its includes and the
//! head (consistent `TransactGetItems`, 25 items each). Refusals (the id is live, a stale or missing version, an
//! include that is not live) are decided there and never enter the
//! transaction, so one refused prompt does not stop the others. The
//! transaction writes each accepted prompt's version item, its pointer under
//! the version it was read at, and its change item (the outbox entry); checks
//! that every include written outside the group is still live; and moves the
//! head by the group's count. A cancelled transaction (another writer moved the
//! head or a pointer in between) is read and planned again, bounded, so every
//! refusal is still exact.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;

use super::items::{self, Item};
use super::outbox::Outbox;
use super::prompt_store::DynamoPromptStore;
use super::schema::{self, LATEST};
use super::sdk_error;
use super::transact::{Condition, MAX_ATTEMPTS, contention_backoff, gave_up};
use mcp_prompts_engine::domain::{ChangeEvent, Prompt, PromptId};
use mcp_prompts_engine::import::{BatchWrite, BatchWriter};
use mcp_prompts_engine::ports::{StoreError, StoreResult};

/// Prompts per transaction: three items each (version, pointer, change) plus
/// the head leave room in `TransactWriteItems`' 100 for a few include checks.
pub const GROUP_PROMPTS: usize = 32;
const MAX_TRANSACT_ITEMS: usize = 100;
/// Estimated item bytes per transaction, below its 4 MB.
const GROUP_BYTES: usize = 3 * 1024 * 1024;
/// Items per `TransactGetItems` of a group's read.
const READ_CHUNK: usize = 25;

/// A prompt accepted by a group's plan, with what its items need.
struct Accepted {
    /// Index in the batch.
    at: usize,
    prompt: Prompt,
    condition: Condition,
}

#[async_trait]
impl BatchWriter for DynamoPromptStore {
    async fn write_batch(
        &self,
        items: Vec<BatchWrite>,
    ) -> StoreResult<Vec<StoreResult<ChangeEvent>>> {
        let mut results: Vec<Option<StoreResult<ChangeEvent>>> =
            items.iter().map(|_| None).collect();
        let threshold = self.blobs.threshold;
        for group in groups(&items, threshold) {
            let written = self.write_group(&items, group, &mut results).await;
            self.outbox.publish_all(&written).await;
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(StoreError::Backend("not written".into()))))
            .collect())
    }
}

/// Splits the batch into groups (indexes in order) that fit one transaction:
/// no id twice (a transaction touches an item once; a repeated id starts the
/// next group, which then sees the first write), at most [`GROUP_PROMPTS`],
/// room for every include check, and under [`GROUP_BYTES`].
fn groups(items: &[BatchWrite], threshold: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut group: Vec<usize> = Vec::new();
    let mut ids: HashSet<&PromptId> = HashSet::new();
    let mut includes: HashSet<&PromptId> = HashSet::new();
    let mut bytes = 0;
    for (i, item) in items.iter().enumerate() {
        let size = estimated_bytes(&item.prompt, threshold);
        let mut with: HashSet<&PromptId> = includes.clone();
        with.extend(item.includes.iter());
        let full = group.len() >= GROUP_PROMPTS
            || ids.contains(&item.prompt.id)
            || 3 * (group.len() + 1) + with.len() + 1 > MAX_TRANSACT_ITEMS
            || bytes + size > GROUP_BYTES;
        if full && !group.is_empty() {
            out.push(std::mem::take(&mut group));
            ids.clear();
            includes.clear();
            bytes = 0;
        }
        group.push(i);
        ids.insert(&item.prompt.id);
        includes.extend(item.includes.iter());
        bytes += size;
    }
    if !group.is_empty() {
        out.push(group);
    }
    out
}

/// The version and pointer items hold the prompt's JSON each, without a
/// template that goes to S3.
fn estimated_bytes(prompt: &Prompt, threshold: usize) -> usize {
    let json = serde_json::to_vec(prompt).map_or(0, |j| j.len());
    let offloaded = if prompt.content.len() > threshold {
        prompt.content.len()
    } else {
        0
    };
    2 * json.saturating_sub(offloaded) + 1024
}

impl DynamoPromptStore {
    /// Writes one group; returns the changes it committed (to publish).
    async fn write_group(
        &self,
        items: &[BatchWrite],
        mut pending: Vec<usize>,
        results: &mut [Option<StoreResult<ChangeEvent>>],
    ) -> Vec<ChangeEvent> {
        for attempt in 0..MAX_ATTEMPTS {
            let read = match self.read_group(items, &pending).await {
                Ok(r) => r,
                Err(e) => return fail_all(&pending, results, e),
            };
            let accepted = plan(items, &pending, &read, &self.clock.now_rfc3339(), results);
            pending = accepted.iter().map(|a| a.at).collect();
            if accepted.is_empty() {
                return Vec::new();
            }
            let (writes, events) = match self.group_items(items, accepted, &read).await {
                Ok(w) => w,
                Err(GroupError::Prompt(at, e)) => {
                    // A template that could not go to S3 fails alone; the rest
                    // is planned again without it.
                    results[at] = Some(Err(e));
                    pending.retain(|&i| i != at);
                    continue;
                }
                Err(GroupError::Group(e)) => return fail_all(&pending, results, e),
            };
            match self.transact(writes).await {
                Ok(true) => {
                    for (event, &at) in events.iter().zip(&pending) {
                        results[at] = Some(Ok(event.clone()));
                    }
                    return events;
                }
                Ok(false) => {
                    tracing::debug!(
                        attempt,
                        prompts = pending.len(),
                        "batch transaction cancelled; re-reading"
                    );
                    contention_backoff(attempt).await;
                }
                Err(e) => return fail_all(&pending, results, e),
            }
        }
        fail_all(&pending, results, gave_up())
    }

    /// The group's pointers, its includes and the head, read consistently.
    async fn read_group(&self, items: &[BatchWrite], pending: &[usize]) -> StoreResult<GroupRead> {
        let mut ids: Vec<&PromptId> = Vec::new();
        let mut seen = HashSet::new();
        for &i in pending {
            let item = &items[i];
            for id in std::iter::once(&item.prompt.id).chain(&item.includes) {
                if seen.insert(id) {
                    ids.push(id);
                }
            }
        }
        let mut gets = vec![self.transact_get(items::key(schema::HEAD_PK, schema::HEAD_SK))?];
        for id in &ids {
            gets.push(self.transact_get(items::key(schema::prompt_pk(id.as_str()), LATEST))?);
        }
        // Chunks of 25, the limit moto keeps (DynamoDB takes 100). Each is
        // consistent; a change between them only fails the transaction's
        // conditions, and the group is read again.
        let reads = gets.chunks(READ_CHUNK).map(|chunk| {
            self.clients
                .dynamodb()
                .transact_get_items()
                .set_transact_items(Some(chunk.to_vec()))
                .send()
        });
        let mut found: Vec<Option<Item>> = Vec::with_capacity(gets.len());
        for out in futures_util::future::join_all(reads).await {
            let out = out.map_err(|e| sdk_error("DynamoDB TransactGetItems", e))?;
            found.extend(out.responses().iter().map(|r| r.item().cloned()));
        }
        let item = |i: usize| found.get(i).and_then(Option::as_ref);
        let head = item(0)
            .and_then(|i| items::get_n(i, "position"))
            .unwrap_or(0);
        let pointers = ids
            .iter()
            .enumerate()
            .filter_map(|(n, id)| {
                let found = item(n + 1)?;
                Some((
                    (*id).clone(),
                    (
                        items::get_n(found, "version").unwrap_or(0),
                        items::get_bool(found, "live") == Some(true),
                    ),
                ))
            })
            .collect();
        Ok(GroupRead { head, pointers })
    }

    /// The transaction's items and the events they commit, in group order.
    async fn group_items(
        &self,
        items: &[BatchWrite],
        accepted: Vec<Accepted>,
        read: &GroupRead,
    ) -> Result<(Vec<TransactWriteItem>, Vec<ChangeEvent>), GroupError> {
        let now = self.clock.now_rfc3339();
        let written: HashSet<&PromptId> = accepted.iter().map(|a| &items[a.at].prompt.id).collect();
        let mut checks: Vec<&PromptId> = Vec::new();
        let mut writes = Vec::with_capacity(3 * accepted.len() + 1);
        let mut events = Vec::with_capacity(accepted.len());
        let count = accepted.len() as u64;
        for (n, a) in accepted.into_iter().enumerate() {
            let item = &items[a.at];
            for include in &item.includes {
                if !written.contains(include) && !checks.contains(&include) {
                    checks.push(include);
                }
            }
            let failed = |e| GroupError::Prompt(a.at, e);
            let (stored, blob) = self.blobs.offload(&a.prompt).await.map_err(failed)?;
            let version = self
                .version_item(&stored, blob.as_deref())
                .map_err(failed)?;
            let pointer = self
                .pointer_item(&stored, blob.as_deref())
                .map_err(failed)?;
            let event = ChangeEvent {
                position: read.head + 1 + n as u64,
                id: a.prompt.id.clone(),
                version: a.prompt.version,
                kind: item.change.kind,
                category: a.prompt.category.clone(),
                tags: a.prompt.tags.clone(),
                actor: item.change.actor.clone(),
                timestamp: now.clone(),
                label: item.change.label.clone(),
                partial: None,
            };
            writes.push(self.put_new(version));
            writes.push(self.put_conditional(pointer, a.condition));
            writes.push(self.put_new(Outbox::pending_item(&event).map_err(failed)?));
            events.push(event);
        }
        for include in checks {
            writes.push(self.live_check(include).map_err(GroupError::Group)?);
        }
        writes.push(
            self.head_move_by(read.head, count)
                .map_err(GroupError::Group)?,
        );
        Ok((writes, events))
    }
}

/// What a group's read found: the head and each pointer's (version, live).
struct GroupRead {
    head: u64,
    pointers: HashMap<PromptId, (u64, bool)>,
}

enum GroupError {
    /// One prompt cannot be written (its template did not reach S3).
    Prompt(usize, StoreError),
    /// The transaction cannot be built.
    Group(StoreError),
}

/// Decides each pending prompt from the read, as the single writes and the
/// embedded batch do: refusals go to `results`, the rest is returned in order
/// with its version, timestamps and pointer condition.
fn plan(
    items: &[BatchWrite],
    pending: &[usize],
    read: &GroupRead,
    now: &str,
    results: &mut [Option<StoreResult<ChangeEvent>>],
) -> Vec<Accepted> {
    let mut accepted: Vec<Accepted> = Vec::new();
    let mut written: HashSet<&PromptId> = HashSet::new();
    for &at in pending {
        let item = &items[at];
        let mut prompt = item.prompt.clone();
        let pointer = read.pointers.get(&prompt.id).copied();
        let condition = match (pointer, item.expected) {
            (Some((_, true)), None) => {
                results[at] = Some(Err(StoreError::AlreadyExists(prompt.id)));
                continue;
            }
            (last, None) => {
                let last = last.map_or(0, |(v, _)| v);
                prompt.version = last + 1;
                prompt.created_at = now.to_string();
                if last == 0 {
                    Condition::Absent
                } else {
                    Condition::At {
                        version: last,
                        live: false,
                    }
                }
            }
            (Some((current, true)), Some(expected)) if current == expected => {
                prompt.version = current + 1;
                Condition::At {
                    version: current,
                    live: true,
                }
            }
            (Some((current, true)), Some(expected)) => {
                results[at] = Some(Err(StoreError::Conflict {
                    id: prompt.id,
                    expected,
                    current,
                }));
                continue;
            }
            (_, Some(_)) => {
                results[at] = Some(Err(StoreError::NotFound(prompt.id)));
                continue;
            }
        };
        let missing = item.includes.iter().find(|included| {
            !written.contains(included)
                && read.pointers.get(*included).is_none_or(|&(_, live)| !live)
        });
        if let Some(missing) = missing {
            results[at] = Some(Err(StoreError::NotFound(missing.clone())));
            continue;
        }
        prompt.updated_at = now.to_string();
        written.insert(&item.prompt.id);
        accepted.push(Accepted {
            at,
            prompt,
            condition,
        });
    }
    accepted
}

/// Every still-pending prompt of the group gets `error`; nothing was written.
fn fail_all(
    pending: &[usize],
    results: &mut [Option<StoreResult<ChangeEvent>>],
    error: StoreError,
) -> Vec<ChangeEvent> {
    for &at in pending {
        results[at] = Some(Err(error.clone()));
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_prompts_engine::domain::PromptDraft;

    fn item(id: &str, content: &str) -> BatchWrite {
        let prompt = PromptDraft {
            id: Some(id.into()),
            name: id.into(),
            content: content.into(),
            ..Default::default()
        }
        .into_prompt(0, "", "")
        .unwrap();
        let includes = prompt.template_facts().partials;
        BatchWrite::new(prompt, None, includes, "t")
    }

    fn sizes(groups: &[Vec<usize>]) -> Vec<usize> {
        groups.iter().map(Vec::len).collect()
    }

    #[test]
    fn groups_hold_at_most_32_prompts_and_never_one_id_twice() {
        let items: Vec<BatchWrite> = (0..70).map(|i| item(&format!("p{i}"), "x")).collect();
        assert_eq!(sizes(&groups(&items, 1 << 16)), vec![32, 32, 6]);

        let items = vec![
            item("a", "1"),
            item("b", "2"),
            item("a", "3"),
            item("c", "4"),
        ];
        assert_eq!(groups(&items, 1 << 16), vec![vec![0, 1], vec![2, 3]]);
    }

    #[test]
    fn include_checks_and_bytes_make_room_in_the_transaction() {
        // Each prompt includes two partials of its own: 3 items + 2 checks.
        let items: Vec<BatchWrite> = (0..40)
            .map(|i| item(&format!("p{i}"), &format!("{{{{> a{i}}}}} {{{{> b{i}}}}}")))
            .collect();
        let g = groups(&items, 1 << 16);
        for group in &g {
            let checks: HashSet<&PromptId> =
                group.iter().flat_map(|&i| &items[i].includes).collect();
            assert!(
                3 * group.len() + checks.len() < MAX_TRANSACT_ITEMS,
                "room for the head"
            );
        }
        assert_eq!(sizes(&g), vec![19, 19, 2]);

        // 100 KB templates kept in the items (threshold above them): 2 copies
        // each, so a group stays under GROUP_BYTES; offloaded, they do not count.
        let big = "y".repeat(100 * 1024);
        let items: Vec<BatchWrite> = (0..64).map(|i| item(&format!("p{i}"), &big)).collect();
        let kept = groups(&items, 1 << 20);
        assert!(kept.len() > 2, "{:?}", sizes(&kept));
        for group in &kept {
            let bytes: usize = group
                .iter()
                .map(|&i| estimated_bytes(&items[i].prompt, 1 << 20))
                .sum();
            assert!(bytes <= GROUP_BYTES);
        }
        assert_eq!(sizes(&groups(&items, 1024)), vec![32, 32]);
    }
}
