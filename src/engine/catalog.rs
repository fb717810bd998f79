//! The catalog service: reads through a cache of latest prompts, writes with
//! optimistic concurrency, renders templates with partials. Every transport and
//! deployment edits the catalog through this one type.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use super::renderer::Renderer;
use crate::domain::{
    ChangeEvent, ChangeKind, Label, PendingChange, Prompt, PromptDraft, PromptError, PromptId,
    PromptPatch, Variable,
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
}

pub type CatalogResult<T> = Result<T, CatalogError>;

/// What a prompt version's template includes and leaves unused.
struct Analysis {
    version: u64,
    partials: Vec<PromptId>,
    unused_variables: Vec<String>,
}

/// What rendering the latest version of a prompt needs besides the arguments:
/// the prompt, its arguments (its own and its partials'), its analysis, its
/// templates registered. Worked out once and reused until any prompt changes
/// (a change to a partial changes its includers' plans too).
struct LatestPlan {
    prompt: Arc<Prompt>,
    arguments: Vec<Variable>,
    analysis: Arc<Analysis>,
}

/// Cached plans; `generation` moves on every invalidation, so a plan worked out
/// while a change arrived is not kept.
#[derive(Default)]
struct Plans {
    generation: u64,
    by_id: HashMap<PromptId, Arc<LatestPlan>>,
}

/// Which version of a prompt to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Latest,
    Version(u64),
    Label(Label),
}

/// A rendered prompt and what the render learned about its arguments.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub prompt: Arc<Prompt>,
    pub text: String,
    /// Declared variables the template never reads (likely typos).
    pub unused_variables: Vec<String>,
    /// Arguments the caller passed that the prompt does not declare.
    pub unknown_arguments: Vec<String>,
}

/// Called with every change committed through this catalog.
pub type CommitHook = Arc<dyn Fn(&ChangeEvent) + Send + Sync>;

pub struct Catalog {
    store: Arc<dyn PromptStore>,
    clock: Arc<dyn Clock>,
    renderer: Renderer,
    latest: RwLock<HashMap<PromptId, Arc<Prompt>>>,
    /// What each prompt version's template includes and leaves unused: parsing a
    /// template is the most expensive step of a render, so it happens once per
    /// version, not once per `prompts/get`.
    analyses: RwLock<HashMap<PromptId, Arc<Analysis>>>,
    plans: RwLock<Plans>,
    on_commit: RwLock<Vec<CommitHook>>,
}

impl Catalog {
    pub fn new(store: Arc<dyn PromptStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            renderer: Renderer::new(),
            latest: RwLock::new(HashMap::new()),
            analyses: RwLock::new(HashMap::new()),
            plans: RwLock::new(Plans::default()),
            on_commit: RwLock::new(Vec::new()),
        }
    }

    pub fn store(&self) -> &Arc<dyn PromptStore> {
        &self.store
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
        self.latest
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        self.forget_plans();
    }

    fn forget_plans(&self) {
        let mut plans = self.plans.write().unwrap_or_else(|e| e.into_inner());
        plans.generation += 1;
        plans.by_id.clear();
    }

    /// Drops every cached prompt: for a reader that fell behind the kept change
    /// history and cannot tell which prompts changed.
    pub fn invalidate_all(&self) {
        self.latest
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.forget_plans();
    }

    pub async fn get(&self, id: &PromptId) -> CatalogResult<Arc<Prompt>> {
        if let Some(p) = self
            .latest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            return Ok(p.clone());
        }
        let prompt = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        let prompt = Arc::new(prompt);
        self.latest
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), prompt.clone());
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

    pub async fn create(
        &self,
        draft: PromptDraft,
        actor: &str,
    ) -> CatalogResult<(Prompt, ChangeEvent)> {
        let now = self.clock.now_rfc3339();
        let probe = draft.clone().into_prompt(1, &now, &now)?;
        let version = self.store.last_version(&probe.id).await? + 1;
        let prompt = draft.into_prompt(version, &now, &now)?;
        self.check_partials(&prompt).await?;
        let event = self
            .store
            .create(&prompt, &pending(ChangeKind::Created, actor, None))
            .await?;
        Ok((prompt, self.committed(event)))
    }

    pub async fn update(
        &self,
        id: &PromptId,
        patch: PromptPatch,
        expected: Option<u64>,
        actor: &str,
    ) -> CatalogResult<(Prompt, ChangeEvent)> {
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
        let prompt =
            current
                .patched(patch)
                .into_prompt(current.version + 1, &current.created_at, &now)?;
        self.check_partials(&prompt).await?;
        let event = self
            .store
            .update(
                &prompt,
                current.version,
                &pending(ChangeKind::Updated, actor, None),
            )
            .await?;
        Ok((prompt, self.committed(event)))
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

    /// The arguments a prompt takes: its own variables, then those of the prompts
    /// it includes as partials (transitively), each name once.
    pub async fn arguments(&self, prompt: &Prompt) -> CatalogResult<Vec<Variable>> {
        let mut out = prompt.variables.clone();
        let mut stack = vec![prompt.id.clone()];
        self.collect_partial_arguments(prompt, &mut stack, &mut out)
            .await?;
        Ok(out)
    }

    /// Renders `id` at `selector` with `args`. Required arguments (including those of
    /// included prompts) must be present; a missing one is named.
    pub async fn render(
        &self,
        id: &PromptId,
        selector: &Selector,
        args: &Map<String, Value>,
    ) -> CatalogResult<Rendered> {
        if *selector == Selector::Latest {
            let plan = self.latest_plan(id).await?;
            let LatestPlan {
                prompt,
                arguments,
                analysis,
            } = &*plan;
            check_arguments(id, arguments, args)?;
            let text = if prompt.is_template {
                self.renderer
                    .render_latest_owned(id, Value::Object(args.clone()))
                    .map_err(|e| CatalogError::Render {
                        id: id.clone(),
                        reason: e.to_string(),
                    })?
            } else {
                prompt.content.clone()
            };
            return Ok(Rendered {
                unused_variables: analysis.unused_variables.clone(),
                unknown_arguments: unknown_arguments(arguments, args),
                prompt: prompt.clone(),
                text,
            });
        }
        let prompt = self.get_at(id, selector).await?;
        let arguments = self.arguments(&prompt).await?;
        check_arguments(id, &arguments, args)?;
        let text = if !prompt.is_template {
            prompt.content.clone()
        } else {
            let mut stack = Vec::new();
            self.ensure_registered(&prompt, &mut stack, false).await?;
            let data = Value::Object(args.clone());
            self.renderer
                .render_source(&prompt.content, &data)
                .map_err(|e| CatalogError::Render {
                    id: id.clone(),
                    reason: e.to_string(),
                })?
        };
        Ok(Rendered {
            unused_variables: self.analysis(&prompt).unused_variables.clone(),
            unknown_arguments: unknown_arguments(&arguments, args),
            prompt,
            text,
        })
    }

    /// The cached plan for rendering the latest version of `id`, worked out on
    /// first use after a change.
    async fn latest_plan(&self, id: &PromptId) -> CatalogResult<Arc<LatestPlan>> {
        let generation = {
            let plans = self.plans.read().unwrap_or_else(|e| e.into_inner());
            if let Some(plan) = plans.by_id.get(id) {
                return Ok(plan.clone());
            }
            plans.generation
        };
        let prompt = self.get(id).await?;
        let arguments = self.arguments(&prompt).await?;
        if prompt.is_template {
            self.ensure_registered(&prompt, &mut Vec::new(), true)
                .await?;
        }
        let plan = Arc::new(LatestPlan {
            analysis: self.analysis(&prompt),
            prompt,
            arguments,
        });
        let mut plans = self.plans.write().unwrap_or_else(|e| e.into_inner());
        if plans.generation == generation {
            plans.by_id.insert(id.clone(), plan.clone());
        }
        Ok(plan)
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

    /// Every included prompt must exist, and inclusion must not loop back.
    async fn check_partials(&self, prompt: &Prompt) -> CatalogResult<()> {
        let mut stack = vec![prompt.id.clone()];
        let mut sink = Vec::new();
        self.collect_partial_arguments(prompt, &mut stack, &mut sink)
            .await
    }

    async fn collect_partial_arguments(
        &self,
        prompt: &Prompt,
        stack: &mut Vec<PromptId>,
        out: &mut Vec<Variable>,
    ) -> CatalogResult<()> {
        for partial in self.analysis(prompt).partials.iter() {
            let included = self.include(partial, stack).await?;
            for v in &included.variables {
                if !out.iter().any(|o| o.name == v.name) {
                    out.push(v.clone());
                }
            }
            stack.push(partial.clone());
            Box::pin(self.collect_partial_arguments(&included, stack, out)).await?;
            stack.pop();
        }
        Ok(())
    }

    /// The cached analysis of `prompt`'s template at its version.
    fn analysis(&self, prompt: &Prompt) -> Arc<Analysis> {
        let cached = self
            .analyses
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&prompt.id)
            .filter(|a| a.version == prompt.version)
            .cloned();
        if let Some(a) = cached {
            return a;
        }
        let fresh = Arc::new(Analysis {
            version: prompt.version,
            partials: prompt.partials(),
            unused_variables: prompt.unused_variables(),
        });
        self.analyses
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(prompt.id.clone(), fresh.clone());
        fresh
    }

    /// The latest version of a prompt included as a partial by the prompts on
    /// `stack`; refuses an inclusion that loops back, naming the loop.
    async fn include(&self, partial: &PromptId, stack: &[PromptId]) -> CatalogResult<Arc<Prompt>> {
        if let Some(start) = stack.iter().position(|p| p == partial) {
            let mut cycle: Vec<&str> = stack[start..].iter().map(PromptId::as_str).collect();
            cycle.push(partial.as_str());
            return Err(CatalogError::PartialCycle(cycle.join(" -> ")));
        }
        match self.get(partial).await {
            Err(CatalogError::Store(StoreError::NotFound(_))) => {
                Err(CatalogError::UnknownPartial(partial.to_string()))
            }
            other => other,
        }
    }

    /// Registers `prompt` (if latest) and every prompt it includes at their latest
    /// versions, refusing cycles.
    async fn ensure_registered(
        &self,
        prompt: &Prompt,
        stack: &mut Vec<PromptId>,
        register_self: bool,
    ) -> CatalogResult<()> {
        if register_self && !self.renderer.is_current(prompt) {
            self.renderer
                .register(prompt)
                .map_err(|e| CatalogError::Render {
                    id: prompt.id.clone(),
                    reason: e.to_string(),
                })?;
        }
        stack.push(prompt.id.clone());
        for partial in self.analysis(prompt).partials.iter() {
            let included = self.include(partial, stack).await?;
            Box::pin(self.ensure_registered(&included, stack, true)).await?;
        }
        stack.pop();
        Ok(())
    }
}

fn pending(kind: ChangeKind, actor: &str, label: Option<String>) -> PendingChange {
    PendingChange {
        kind,
        actor: actor.to_string(),
        label,
    }
}

/// Every required argument (the prompt's and its partials') must be given.
fn check_arguments(
    id: &PromptId,
    arguments: &[Variable],
    args: &Map<String, Value>,
) -> CatalogResult<()> {
    match arguments
        .iter()
        .find(|v| v.required && !args.contains_key(&v.name))
    {
        Some(missing) => Err(CatalogError::MissingArgument {
            prompt: id.clone(),
            argument: missing.name.clone(),
        }),
        None => Ok(()),
    }
}

/// Arguments given that the prompt does not declare.
fn unknown_arguments(arguments: &[Variable], args: &Map<String, Value>) -> Vec<String> {
    args.keys()
        .filter(|k| !arguments.iter().any(|v| &v.name == *k))
        .cloned()
        .collect()
}
