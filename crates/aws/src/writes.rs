//! Writes to the DynamoDB prompt store. Each is one `TransactWriteItems` that
//! (1) writes the version item, (2) moves the latest pointer under a condition on
//! its current version (optimistic concurrency), (3) moves the change-log head
//! from the position it was read at to the next (a condition: two writers can
//! never take the same position, and positions have no gaps), and (4) puts the
//! change item, which is also the outbox entry. Then the change is published.
//!
//! A cancelled transaction is diagnosed by re-reading the pointer: a stale
//! version or a vanished prompt becomes the precise error; otherwise another
//! writer took the head first and the write is retried (bounded).

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::items::{self, Item};
use super::outbox::Outbox;
use super::prompt_store::{DynamoPromptStore, decode_body};
use super::schema::{self, CATEGORY_KEY, LATEST, LIVE_KEY};
use super::sdk_error;
use super::transact::{Condition, MAX_ATTEMPTS, contention_backoff, gave_up};
use mcp_prompts_engine::domain::{ChangeEvent, Label, PendingChange, Prompt, PromptId};
use mcp_prompts_engine::ports::{StoreError, StoreResult};

/// The latest pointer as a write reads it.
struct Pointer {
    version: u64,
    live: bool,
    item: Item,
}

/// What a write wants to do, given the pointer and head it read.
enum Plan {
    /// Items to write (the head and change items are added), and the event
    /// fields (id, version, category, tags).
    Write(Vec<TransactWriteItem>, EventFields),
    Refuse(StoreError),
}

struct EventFields {
    id: PromptId,
    version: u64,
    category: Option<String>,
    tags: Vec<String>,
}

impl DynamoPromptStore {
    pub(super) async fn write_create(
        &self,
        prompt: &Prompt,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent> {
        let (stored, blob) = self.blobs.offload(prompt).await?;
        let version_item = self.version_item(&stored, blob.as_deref())?;
        let pointer_item = self.pointer_item(&stored, blob.as_deref())?;
        self.commit(&prompt.id, change, |pointer| {
            let last = match pointer {
                Some(p) if p.live => {
                    return Plan::Refuse(StoreError::AlreadyExists(prompt.id.clone()));
                }
                Some(p) => p.version,
                None => 0,
            };
            if prompt.version != last + 1 {
                return Plan::Refuse(StoreError::Conflict {
                    id: prompt.id.clone(),
                    expected: prompt.version.saturating_sub(1),
                    current: last,
                });
            }
            let condition = if last == 0 {
                Condition::Absent
            } else {
                Condition::At {
                    version: last,
                    live: false,
                }
            };
            Plan::Write(
                vec![
                    self.put_new(version_item.clone()),
                    self.put_conditional(pointer_item.clone(), condition),
                ],
                fields(prompt),
            )
        })
        .await
    }

    pub(super) async fn write_update(
        &self,
        prompt: &Prompt,
        expected: u64,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent> {
        let (stored, blob) = self.blobs.offload(prompt).await?;
        let version_item = self.version_item(&stored, blob.as_deref())?;
        let pointer_item = self.pointer_item(&stored, blob.as_deref())?;
        self.commit(&prompt.id, change, |pointer| {
            match pointer {
                Some(p) if p.live && p.version == expected && prompt.version == expected + 1 => {}
                Some(p) if p.live => {
                    return Plan::Refuse(StoreError::Conflict {
                        id: prompt.id.clone(),
                        expected,
                        current: p.version,
                    });
                }
                _ => return Plan::Refuse(StoreError::NotFound(prompt.id.clone())),
            }
            let condition = Condition::At {
                version: expected,
                live: true,
            };
            Plan::Write(
                vec![
                    self.put_new(version_item.clone()),
                    self.put_conditional(pointer_item.clone(), condition),
                ],
                fields(prompt),
            )
        })
        .await
    }

    pub(super) async fn write_delete(
        &self,
        id: &PromptId,
        expected: u64,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent> {
        self.commit(id, change, |pointer| {
            let p = match pointer {
                Some(p) if p.live && p.version == expected => p,
                Some(p) if p.live => {
                    return Plan::Refuse(StoreError::Conflict {
                        id: id.clone(),
                        expected,
                        current: p.version,
                    });
                }
                _ => return Plan::Refuse(StoreError::NotFound(id.clone())),
            };
            let current = match decode_body(&p.item) {
                Ok(c) => c,
                Err(e) => return Plan::Refuse(e),
            };
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(items::key(schema::prompt_pk(id.as_str()), LATEST)))
                .update_expression("SET #live = :false REMOVE #lk, #ck")
                .condition_expression("#v = :v AND #live = :true")
                .expression_attribute_names("#live", "live")
                .expression_attribute_names("#v", "version")
                .expression_attribute_names("#lk", LIVE_KEY)
                .expression_attribute_names("#ck", CATEGORY_KEY)
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":v", items::n(expected))
                .build();
            match update {
                Ok(u) => Plan::Write(
                    vec![TransactWriteItem::builder().update(u).build()],
                    EventFields {
                        version: expected,
                        ..fields(&current)
                    },
                ),
                Err(e) => Plan::Refuse(sdk_error("build Update", e)),
            }
        })
        .await
    }

    pub(super) async fn write_label(
        &self,
        id: &PromptId,
        label: &Label,
        version: u64,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent> {
        let target = self
            .get_item(schema::prompt_pk(id.as_str()), schema::version_sk(version))
            .await?;
        let mut label_item = items::key(
            schema::prompt_pk(id.as_str()),
            schema::label_sk(label.as_str()),
        );
        label_item.insert("version".into(), items::n(version));
        label_item.insert("updated_at".into(), items::s(self.clock.now_rfc3339()));
        self.commit(id, change, |pointer| {
            if !pointer.is_some_and(|p| p.live) {
                return Plan::Refuse(StoreError::NotFound(id.clone()));
            }
            let Some(target) = &target else {
                return Plan::Refuse(StoreError::NoSuchVersion {
                    id: id.clone(),
                    version,
                });
            };
            let labelled = match decode_body(target) {
                Ok(p) => p,
                Err(e) => return Plan::Refuse(e),
            };
            match self.live_check(id) {
                Ok(check) => Plan::Write(
                    vec![check, self.put_plain(label_item.clone())],
                    EventFields {
                        version,
                        ..fields(&labelled)
                    },
                ),
                Err(e) => Plan::Refuse(e),
            }
        })
        .await
    }

    /// Reads pointer and head, plans, and commits with the head move and change
    /// item; retries when another writer moved the head first.
    async fn commit(
        &self,
        id: &PromptId,
        change: &PendingChange,
        plan: impl Fn(Option<&Pointer>) -> Plan,
    ) -> StoreResult<ChangeEvent> {
        for attempt in 0..MAX_ATTEMPTS {
            let (pointer, head) = self.read_pointer_and_head(id).await?;
            let (mut writes, f) = match plan(pointer.as_ref()) {
                Plan::Write(w, f) => (w, f),
                Plan::Refuse(e) => return Err(e),
            };
            let event = ChangeEvent {
                position: head + 1,
                id: f.id,
                version: f.version,
                kind: change.kind,
                category: f.category,
                tags: f.tags,
                actor: change.actor.clone(),
                timestamp: self.clock.now_rfc3339(),
                label: change.label.clone(),
                partial: None,
            };
            writes.push(self.head_move(head)?);
            writes.push(self.put_new(Outbox::pending_item(&event)?));
            if self.transact(writes).await? {
                self.outbox.publish(&event).await;
                return Ok(event);
            }
            tracing::debug!(
                attempt,
                position = head + 1,
                "write transaction cancelled; re-reading"
            );
            contention_backoff(attempt).await;
        }
        Err(gave_up())
    }

    /// One consistent `TransactGetItems` for the pointer and the head.
    async fn read_pointer_and_head(&self, id: &PromptId) -> StoreResult<(Option<Pointer>, u64)> {
        let out = self
            .clients
            .dynamodb()
            .transact_get_items()
            .transact_items(self.transact_get(items::key(schema::prompt_pk(id.as_str()), LATEST))?)
            .transact_items(self.transact_get(items::key(schema::HEAD_PK, schema::HEAD_SK))?)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB TransactGetItems", e))?;
        let responses = out.responses();
        let item = |i: usize| responses.get(i).and_then(|r| r.item()).cloned();
        let pointer = item(0).map(|item| Pointer {
            version: items::get_n(&item, "version").unwrap_or(0),
            live: items::get_bool(&item, "live") == Some(true),
            item,
        });
        let head = item(1)
            .and_then(|i| items::get_n(&i, "position"))
            .unwrap_or(0);
        Ok((pointer, head))
    }
}

fn fields(p: &Prompt) -> EventFields {
    EventFields {
        id: p.id.clone(),
        version: p.version,
        category: p.category.clone(),
        tags: p.tags.clone(),
    }
}
