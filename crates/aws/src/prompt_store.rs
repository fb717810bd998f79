//! The DynamoDB prompt store: reads here, writes in `writes.rs`. Item layout in
//! `schema.rs`. Semantics mirror the embedded SQLite store: every version kept,
//! a latest pointer that a delete marks not-live (history stays), labels, and a
//! gapless change log whose positions only grow.
//!
//! Listing reads the sparse `live` / `by-category` indexes (id order, keyset
//! pages). Search has no full-text index here: it reads the live index and ranks
//! in memory with the embedded store's field weights, fine for catalogs of a few
//! thousand prompts (beyond that, an OpenSearch adapter would go behind the port).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::Select;

use super::blobs::TemplateBlobs;
use super::config::{AwsClients, AwsSettings};
use super::items::{self, Item};
use super::outbox::Outbox;
use super::schema::{self, CATEGORY_INDEX, CATEGORY_KEY, ID, LATEST, LIVE_INDEX};
use super::sdk_error;
use mcp_prompts_engine::domain::{ChangeEvent, Label, PendingChange, Prompt, PromptId};
use mcp_prompts_engine::ports::{
    ChangeCursor, Clock, ListQuery, PromptStore, SearchQuery, StoreError, StoreResult,
};

/// Upper bound on pages read by one call, so no request loops without end.
const MAX_PAGES: usize = 200;

pub struct DynamoPromptStore {
    pub(super) clients: Arc<AwsClients>,
    pub(super) table: String,
    pub(super) blobs: TemplateBlobs,
    pub outbox: Outbox,
    pub(super) clock: Arc<dyn Clock>,
}

impl DynamoPromptStore {
    pub fn new(clients: Arc<AwsClients>, settings: &AwsSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            blobs: TemplateBlobs::new(
                clients.clone(),
                settings.bucket.clone(),
                settings.large_template_bytes,
            ),
            outbox: Outbox::new(clients.clone(), settings),
            table: settings.prompts_table.clone(),
            clients,
            clock,
        }
    }

    /// The SDK clients (health probes reuse them).
    pub fn clients(&self) -> &Arc<AwsClients> {
        &self.clients
    }

    /// The prompts table (other items share it: API keys, webhook deliveries).
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The bucket large templates live in.
    pub fn bucket(&self) -> &str {
        self.blobs.bucket()
    }

    pub(super) async fn get_item(&self, pk: String, sk: String) -> StoreResult<Option<Item>> {
        let out = self
            .clients
            .dynamodb()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem", e))?;
        Ok(out.item().cloned())
    }

    /// Decodes a version or pointer item, fetching an offloaded template.
    pub(super) async fn decode(&self, item: &Item) -> StoreResult<Prompt> {
        let mut prompt = decode_body(item)?;
        if let Some(key) = items::get_s(item, "blob") {
            self.blobs.restore(&mut prompt, key).await?;
        }
        Ok(prompt)
    }

    async fn decode_all(&self, found: &[Item]) -> StoreResult<Vec<Prompt>> {
        let mut out = Vec::with_capacity(found.len());
        for item in found {
            out.push(self.decode(item).await?);
        }
        Ok(out)
    }

    /// Runs `query` page after page (bounded), collecting items until `enough`
    /// says stop.
    async fn query_pages(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        mut enough: impl FnMut(&[Item]) -> bool,
    ) -> StoreResult<Vec<Item>> {
        let mut found = Vec::new();
        let mut start = None;
        for _ in 0..MAX_PAGES {
            let out = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Query", e))?;
            found.extend(out.items().iter().cloned());
            start = out.last_evaluated_key().cloned();
            if start.is_none() || enough(&found) {
                break;
            }
        }
        Ok(found)
    }

    /// Live pointer items in id order, from the category index when filtered.
    fn live_query(
        &self,
        category: Option<&str>,
        from: &str,
        inclusive: bool,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (index, key, value) = match category {
            Some(c) => (CATEGORY_INDEX, CATEGORY_KEY, c.to_lowercase()),
            None => (LIVE_INDEX, schema::LIVE_KEY, schema::LIVE_VALUE.to_string()),
        };
        let op = if inclusive { ">=" } else { ">" };
        let query = self
            .clients
            .dynamodb()
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_names("#k", key)
            .expression_attribute_values(":k", items::s(value));
        // Key attributes cannot be compared with an empty string.
        if from.is_empty() {
            return query.key_condition_expression("#k = :k");
        }
        query
            .key_condition_expression(format!("#k = :k AND #id {op} :from"))
            .expression_attribute_names("#id", ID)
            .expression_attribute_values(":from", items::s(from))
    }

    async fn prompt_items(&self, id: &PromptId, prefix: &str) -> StoreResult<Vec<Item>> {
        let query = self
            .clients
            .dynamodb()
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", schema::PK)
            .expression_attribute_names("#sk", schema::SK)
            .expression_attribute_values(":pk", items::s(schema::prompt_pk(id.as_str())))
            .expression_attribute_values(":prefix", items::s(prefix))
            .consistent_read(true);
        self.query_pages(query, |_| false).await
    }
}

pub(super) fn decode_body(item: &Item) -> StoreResult<Prompt> {
    serde_json::from_str(items::require_s(item, "body")?)
        .map_err(|e| StoreError::Backend(format!("corrupt prompt item: {e}")))
}

fn has_tag(p: &Prompt, tag: Option<&str>) -> bool {
    tag.is_none_or(|t| p.tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
}

/// Weighted prefix matches, the embedded store's bm25 weights (name 10, tags 6,
/// description 4, content 1); 0 means no match.
fn score(p: &Prompt, words: &[String]) -> u32 {
    let hits = |text: &str, weight: u32| -> u32 {
        let tokens: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase)
            .collect();
        words
            .iter()
            .map(|w| weight * tokens.iter().filter(|t| t.starts_with(w.as_str())).count() as u32)
            .sum()
    };
    hits(&p.name, 10) + hits(&p.tags.join(" "), 6) + hits(&p.description, 4) + hits(&p.content, 1)
}

#[async_trait]
impl PromptStore for DynamoPromptStore {
    async fn get(&self, id: &PromptId) -> StoreResult<Option<Prompt>> {
        match self
            .get_item(schema::prompt_pk(id.as_str()), LATEST.into())
            .await?
        {
            Some(item) if items::get_bool(&item, "live") == Some(true) => {
                Ok(Some(self.decode(&item).await?))
            }
            _ => Ok(None),
        }
    }

    async fn get_version(&self, id: &PromptId, version: u64) -> StoreResult<Option<Prompt>> {
        let item = self
            .get_item(schema::prompt_pk(id.as_str()), schema::version_sk(version))
            .await?;
        match item {
            Some(item) => Ok(Some(self.decode(&item).await?)),
            None => Ok(None),
        }
    }

    async fn list(&self, q: &ListQuery) -> StoreResult<Vec<Prompt>> {
        let after = q.after.as_ref().map(|a| a.to_string()).unwrap_or_default();
        let prefix = q.id_prefix.clone().unwrap_or_default();
        let (from, inclusive) = if !prefix.is_empty() && prefix > after {
            (prefix.clone(), true)
        } else {
            (after, false)
        };
        let limit = q.limit.max(1);
        let tag = q.tag.clone();
        let wanted = |i: &Item| {
            let body_ok = decode_body(i).is_ok_and(|p| has_tag(&p, tag.as_deref()));
            body_ok && items::get_s(i, ID).is_some_and(|id| id.starts_with(prefix.as_str()))
        };
        let query = self
            .live_query(q.category.as_deref(), &from, inclusive)
            .limit(limit.clamp(10, 500) as i32);
        let found = self
            .query_pages(query, |found| {
                let past_prefix = found
                    .last()
                    .and_then(|i| items::get_s(i, ID))
                    .is_some_and(|id| !id.starts_with(prefix.as_str()));
                past_prefix || found.iter().filter(|i| wanted(i)).count() >= limit
            })
            .await?;
        let page: Vec<Item> = found.into_iter().filter(wanted).take(limit).collect();
        self.decode_all(&page).await
    }

    async fn search(&self, q: &SearchQuery) -> StoreResult<Vec<Prompt>> {
        let words: Vec<String> = q
            .text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(16)
            .map(str::to_lowercase)
            .collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let query = self.live_query(q.category.as_deref(), "", false);
        let found = self.query_pages(query, |_| false).await?;
        let mut ranked: Vec<(u32, Prompt, &Item)> = found
            .iter()
            .filter_map(|i| decode_body(i).ok().map(|p| (i, p)))
            .filter(|(_, p)| has_tag(p, q.tag.as_deref()))
            .map(|(i, p)| (score(&p, &words), p, i))
            .filter(|(s, _, _)| *s > 0)
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        let top: Vec<Item> = ranked
            .into_iter()
            .take(q.limit.max(1))
            .map(|(_, _, i)| i.clone())
            .collect();
        self.decode_all(&top).await
    }

    async fn history(&self, id: &PromptId) -> StoreResult<Vec<Prompt>> {
        let found = self.prompt_items(id, "V#").await?;
        self.decode_all(&found).await
    }

    async fn labels(&self, id: &PromptId) -> StoreResult<BTreeMap<String, u64>> {
        let found = self.prompt_items(id, "L#").await?;
        found
            .iter()
            .map(|i| {
                let sk = items::require_s(i, schema::SK)?;
                let label = sk.strip_prefix("L#").unwrap_or(sk).to_string();
                Ok((label, items::require_n(i, "version")?))
            })
            .collect()
    }

    async fn last_version(&self, id: &PromptId) -> StoreResult<u64> {
        let item = self
            .get_item(schema::prompt_pk(id.as_str()), LATEST.into())
            .await?;
        Ok(item.and_then(|i| items::get_n(&i, "version")).unwrap_or(0))
    }

    async fn create(&self, prompt: &Prompt, change: &PendingChange) -> StoreResult<ChangeEvent> {
        self.write_create(prompt, change).await
    }

    async fn update(
        &self,
        prompt: &Prompt,
        expected: u64,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent> {
        self.write_update(prompt, expected, change).await
    }

    async fn delete(
        &self,
        id: &PromptId,
        expected: u64,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent> {
        self.write_delete(id, expected, change).await
    }

    async fn set_label(
        &self,
        id: &PromptId,
        label: &Label,
        version: u64,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent> {
        self.write_label(id, label, version, change).await
    }

    async fn changes_since(&self, after: u64, limit: usize) -> StoreResult<Vec<ChangeEvent>> {
        self.read_changes(after, limit).await
    }

    async fn head_position(&self) -> StoreResult<u64> {
        let item = self
            .get_item(schema::HEAD_PK.into(), schema::HEAD_SK.into())
            .await?;
        Ok(item.and_then(|i| items::get_n(&i, "position")).unwrap_or(0))
    }

    async fn oldest_position(&self) -> StoreResult<u64> {
        self.history_floor().await
    }

    async fn count_live(&self) -> StoreResult<u64> {
        let mut total = 0u64;
        let mut start = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .live_query(None, "", false)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Query count", e))?;
            total += out.count().max(0) as u64;
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        Ok(total)
    }
}

#[async_trait]
impl ChangeCursor for DynamoPromptStore {
    async fn load(&self, consumer: &str) -> StoreResult<Option<u64>> {
        let item = self
            .get_item(schema::CURSOR_PK.into(), consumer.to_string())
            .await?;
        Ok(item.and_then(|i| items::get_n(&i, "position")))
    }

    async fn save(&self, consumer: &str, position: u64) -> StoreResult<()> {
        let mut item = items::key(schema::CURSOR_PK, consumer);
        item.insert("position".into(), items::n(position));
        self.clients
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB PutItem cursor", e))?;
        Ok(())
    }
}
