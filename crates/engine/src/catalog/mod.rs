//! The catalog service: reads through a cache of latest prompts, writes with
//! optimistic concurrency, renders templates with partials. Every transport and
//! deployment edits the catalog through this one type. [`limits`] bound what one
//! write or render may cost (checked at save time through the partial graph,
//! `partials.rs`, and enforced while rendering, `budget_output.rs`); CPU-heavy
//! work runs on the blocking pool (`blocking.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use tokio::sync::Semaphore;

mod blocking;
pub(crate) mod budget_output;
mod dependents;
pub mod limits;
mod partials;
mod render;

pub use limits::{LimitError, Limits};
pub use render::Rendered;
use render::{Analysis, Plans};

use super::renderer::Renderer;
use crate::domain::{
    ChangeEvent, ChangeKind, Label, PendingChange, Prompt, PromptDraft, PromptError, PromptId,
    PromptPatch,
};
use crate::ports::{Clock, ListQuery, PromptStore, SearchQuery, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0}")]
    Invalid(#[from] PromptError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("prompt '{id}' has no label '{label}'")]
    NoSuchLabel { id: PromptId, label: String },
    #[error("missing required argument '{argument}' for prompt '{prompt}'")]
    MissingArgument { prompt: PromptId, argument: String },
    #[error("template includes prompt '{0}', which does not exist")]
    UnknownPartial(String),
    #[error("partial cycle: {0}")]
    PartialCycle(String),
    #[error("prompt '{id}' cannot be rendered: {reason}")]
    Render { id: PromptId, reason: String },
    #[error("{0}")]
    Limit(#[from] LimitError),
}

pub type CatalogResult<T> = Result<T, CatalogError>;

/// Which version of a prompt to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Latest,
    Version(u64),
    Label(Label),
}

/// Called with every change committed through this catalog.
pub type CommitHook = Arc<dyn Fn(&ChangeEvent) + Send + Sync>;

use blocking::HEAVY_BYTES;

pub struct Catalog {
    store: Arc<dyn PromptStore>,
    clock: Arc<dyn Clock>,
    renderer: Arc<Renderer>,
    limits: Limits,
    /// Bounds the CPU-heavy work on the blocking pool to about one task per core,
    /// so a burst of heavy writes queues instead of starving the machine.
    cpu: Arc<Semaphore>,
    latest: RwLock<Latest>,
    /// What each prompt version's template includes and leaves unused: parsing a
    /// template is the most expensive step of a render, so it happens once per
    /// version, not once per `prompts/get`.
    analyses: RwLock<HashMap<PromptId, Arc<Analysis>>>,
    plans: RwLock<Plans>,
    on_commit: RwLock<Vec<CommitHook>>,
    /// Who includes whom (`dependents`), built on first use. An async lock:
    /// keeping it current reads prompts.
    dependents: tokio::sync::Mutex<Option<dependents::Graph>>,
}

impl Catalog {
    pub fn new(store: Arc<dyn PromptStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            renderer: Arc::new(Renderer::new()),
            limits: Limits::default(),
            cpu: Arc::new(blocking::cpu_permits()),
            latest: RwLock::new(Latest::default()),
            analyses: RwLock::new(HashMap::new()),
            plans: RwLock::new(Plans::default()),
            on_commit: RwLock::new(Vec::new()),
            dependents: Default::default(),
        }
    }

    /// Replaces the default [`Limits`] (call before the catalog is shared).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.renderer = Arc::new(Renderer::with_budget(limits.render_budget()));
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn store(&self) -> &Arc<dyn PromptStore> {
        &self.store
    }

    /// The clock every timestamp and expiry comes from.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Registers a hook run after every commit made through this catalog (used to
    /// wake the change publisher without waiting for its next poll).
    pub fn on_commit(&self, hook: CommitHook) {
        self.on_commit
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(hook);
    }

    /// Drops the cached latest version of `id`; called for every change, including
    /// changes other processes committed to the same store.
    pub fn invalidate(&self, id: &PromptId) {
        let mut latest = self.latest.write().unwrap_or_else(|e| e.into_inner());
        latest.generation += 1;
        latest.by_id.remove(id);
        drop(latest);
        self.forget_plans();
    }

    /// Drops every cached prompt: for a reader that fell behind the kept change
    /// history and cannot tell which prompts changed.
    pub fn invalidate_all(&self) {
        let mut latest = self.latest.write().unwrap_or_else(|e| e.into_inner());
        latest.generation += 1;
        latest.by_id.clear();
        drop(latest);
        self.forget_plans();
    }

    pub async fn get(&self, id: &PromptId) -> CatalogResult<Arc<Prompt>> {
        let generation = {
            let latest = self.latest.read().unwrap_or_else(|e| e.into_inner());
            if let Some(p) = latest.by_id.get(id) {
                return Ok(p.clone());
            }
            latest.generation
        };
        let prompt = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        let prompt = Arc::new(prompt);
        let mut latest = self.latest.write().unwrap_or_else(|e| e.into_inner());
        // A change committed while the store was read may be newer than what
        // was read: keeping it would serve the old version until the next change.
        if latest.generation == generation {
            latest.by_id.insert(id.clone(), prompt.clone());
        }
        Ok(prompt)
    }

    pub async fn get_at(&self, id: &PromptId, selector: &Selector) -> CatalogResult<Arc<Prompt>> {
        let version = match selector {
            Selector::Latest => return self.get(id).await,
            Selector::Version(v) => *v,
            Selector::Label(label) => *self
                .store
                .labels(id)
                .await?
                .get(label.as_str())
                .ok_or_else(|| CatalogError::NoSuchLabel {
                    id: id.clone(),
                    label: label.to_string(),
                })?,
        };
        match self.store.get_version(id, version).await? {
            Some(p) => Ok(Arc::new(p)),
            None if self.store.last_version(id).await? == 0 => {
                Err(StoreError::NotFound(id.clone()).into())
            }
            None => Err(StoreError::NoSuchVersion {
                id: id.clone(),
                version,
            }
            .into()),
        }
    }

    /// One page of live prompts ordered by id, and the id to continue after.
    pub async fn list(
        &self,
        mut query: ListQuery,
    ) -> CatalogResult<(Vec<Prompt>, Option<PromptId>)> {
        let limit = query.limit.clamp(1, 500);
        query.limit = limit + 1;
        let mut page = self.store.list(&query).await?;
        let next = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|p| p.id.clone())
        } else {
            None
        };
        Ok((page, next))
    }

    pub async fn search(&self, mut query: SearchQuery) -> CatalogResult<Vec<Prompt>> {
        query.limit = query.limit.clamp(1, 200);
        Ok(self.store.search(&query).await?)
    }

    pub async fn history(
        &self,
        id: &PromptId,
    ) -> CatalogResult<(Vec<Prompt>, BTreeMap<String, u64>)> {
        let versions = self.store.history(id).await?;
        if versions.is_empty() {
            return Err(StoreError::NotFound(id.clone()).into());
        }
        Ok((versions, self.store.labels(id).await?))
    }

    /// Creates version 1 of a prompt (or the next version of a deleted one).
    /// Nothing is remembered of a refused draft: its analysis is cached only
    /// once the write has committed.
    pub async fn create(
        &self,
        draft: PromptDraft,
        actor: &str,
    ) -> CatalogResult<(Prompt, ChangeEvent)> {
        let now = self.clock.now_rfc3339();
        let id = draft.id()?;
        self.check_template_size(&id, &draft.content)?;
        let version = self.store.last_version(&id).await? + 1;
        let (prompt, facts) = self.validate(draft, version, now.clone(), now).await?;
        self.check_partials(&prompt, &facts).await?;
        let event = self
            .store
            .create(&prompt, &pending(ChangeKind::Created, actor, None))
            .await?;
        self.remember_analysis(&prompt, &facts);
        Ok((prompt, self.committed(event)))
    }

    pub async fn update(
        &self,
        id: &PromptId,
        patch: PromptPatch,
        expected: Option<u64>,
        actor: &str,
    ) -> CatalogResult<(Prompt, ChangeEvent)> {
        if let Some(content) = &patch.content {
            self.check_template_size(id, content)?;
        }
        let current = self.fresh(id).await?;
        if let Some(expected) = expected.filter(|e| *e != current.version) {
            return Err(StoreError::Conflict {
                id: id.clone(),
                expected,
                current: current.version,
            }
            .into());
        }
        let now = self.clock.now_rfc3339();
        let draft = current.patched(patch);
        let (prompt, facts) = self
            .validate(draft, current.version + 1, current.created_at.clone(), now)
            .await?;
        self.check_partials(&prompt, &facts).await?;
        let event = self
            .store
            .update(
                &prompt,
                current.version,
                &pending(ChangeKind::Updated, actor, None),
            )
            .await?;
        self.remember_analysis(&prompt, &facts);
        Ok((prompt, self.committed(event)))
    }

    fn check_template_size(&self, id: &PromptId, content: &str) -> CatalogResult<()> {
        let limit = self.limits.max_template_bytes;
        if content.len() > limit {
            return Err(LimitError::TemplateTooLarge {
                id: id.clone(),
                size: content.len(),
                limit,
            }
            .into());
        }
        Ok(())
    }

    pub async fn delete(
        &self,
        id: &PromptId,
        expected: Option<u64>,
        actor: &str,
    ) -> CatalogResult<ChangeEvent> {
        let expected = match expected {
            Some(v) => v,
            None => self.fresh(id).await?.version,
        };
        let event = self
            .store
            .delete(id, expected, &pending(ChangeKind::Deleted, actor, None))
            .await?;
        self.renderer.forget(id);
        Ok(self.committed(event))
    }

    pub async fn set_label(
        &self,
        id: &PromptId,
        label: &Label,
        version: u64,
        actor: &str,
    ) -> CatalogResult<ChangeEvent> {
        let change = pending(ChangeKind::Labelled, actor, Some(label.to_string()));
        let event = self.store.set_label(id, label, version, &change).await?;
        Ok(self.committed(event))
    }

    fn committed(&self, event: ChangeEvent) -> ChangeEvent {
        self.invalidate(&event.id);
        for hook in self
            .on_commit
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            hook(&event);
        }
        event
    }

    /// The live prompt straight from the store (writes must not trust the cache).
    async fn fresh(&self, id: &PromptId) -> CatalogResult<Prompt> {
        Ok(self
            .store
            .get(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.clone()))?)
    }
}

/// Cached latest prompts; `generation` moves on every invalidation, so a read
/// that raced a change is not kept (found by the concurrency test: a stale
/// version stayed cached and every writer reading it was refused).
#[derive(Default)]
struct Latest {
    generation: u64,
    by_id: HashMap<PromptId, Arc<Prompt>>,
}

fn pending(kind: ChangeKind, actor: &str, label: Option<String>) -> PendingChange {
    PendingChange {
        kind,
        actor: actor.to_string(),
        label,
    }
}
