//! The prompt store port: prompts, their versions and labels, and the change log
//! every committed write appends to in the same transaction.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::domain::{ChangeEvent, Label, PendingChange, Prompt, PromptId};

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("prompt '{0}' not found")]
    NotFound(PromptId),
    #[error("prompt '{0}' already exists")]
    AlreadyExists(PromptId),
    #[error(
        "version conflict on prompt '{id}': expected version {expected}, current version is {current}"
    )]
    Conflict {
        id: PromptId,
        expected: u64,
        current: u64,
    },
    #[error("prompt '{id}' has no version {version}")]
    NoSuchVersion { id: PromptId, version: u64 },
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Filters and keyset position for listing; `after` is the last id of the previous
/// page, which keeps pages stable while others edit.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub category: Option<String>,
    pub tag: Option<String>,
    /// Only ids starting with this (for completions).
    pub id_prefix: Option<String>,
    pub after: Option<PromptId>,
    pub limit: usize,
}

#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub category: Option<String>,
    pub tag: Option<String>,
    pub limit: usize,
}

#[async_trait]
pub trait PromptStore: Send + Sync + 'static {
    /// The latest live version.
    async fn get(&self, id: &PromptId) -> StoreResult<Option<Prompt>>;
    async fn get_version(&self, id: &PromptId, version: u64) -> StoreResult<Option<Prompt>>;
    /// Live prompts ordered by id; returns one more than `limit` is never needed:
    /// the caller asks for `limit + 1` to learn whether a next page exists.
    async fn list(&self, query: &ListQuery) -> StoreResult<Vec<Prompt>>;
    /// Full-text search, best match first.
    async fn search(&self, query: &SearchQuery) -> StoreResult<Vec<Prompt>>;
    /// Every version ever written, oldest first (including those of deleted prompts).
    async fn history(&self, id: &PromptId) -> StoreResult<Vec<Prompt>>;
    async fn labels(&self, id: &PromptId) -> StoreResult<BTreeMap<String, u64>>;
    /// Highest version number ever used for `id` (live or deleted), 0 if none.
    async fn last_version(&self, id: &PromptId) -> StoreResult<u64>;

    /// Writes a new prompt (version must be `last_version + 1`); fails with
    /// `AlreadyExists` if a live prompt has this id.
    async fn create(&self, prompt: &Prompt, change: &PendingChange) -> StoreResult<ChangeEvent>;
    /// Writes `prompt` as the next version if the live version is `expected`.
    async fn update(
        &self,
        prompt: &Prompt,
        expected: u64,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent>;
    /// Deletes the live prompt if its version is `expected`; history is kept.
    async fn delete(
        &self,
        id: &PromptId,
        expected: u64,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent>;
    async fn set_label(
        &self,
        id: &PromptId,
        label: &Label,
        version: u64,
        change: &PendingChange,
    ) -> StoreResult<ChangeEvent>;

    /// Change-log entries with a position greater than `after`, in order.
    async fn changes_since(&self, after: u64, limit: usize) -> StoreResult<Vec<ChangeEvent>>;
    /// The position of the newest change-log entry (0 for an empty log).
    async fn head_position(&self) -> StoreResult<u64>;
    /// The oldest position still in the bounded change history (1 when nothing
    /// was ever pruned): a replay from before it is incomplete.
    async fn oldest_position(&self) -> StoreResult<u64> {
        Ok(1)
    }
    async fn count_live(&self) -> StoreResult<u64>;
    /// A cheap read that fails when the store cannot serve (`/health`); stores
    /// without a better probe report healthy.
    async fn health(&self) -> StoreResult<()> {
        Ok(())
    }
    /// [`Self::health`] and the change-log head in one go (`/health` reports how
    /// far the publisher is behind it); stores override it to make it one read.
    async fn health_and_head(&self) -> StoreResult<u64> {
        self.health().await?;
        self.head_position().await
    }
}
