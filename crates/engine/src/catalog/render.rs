//! Rendering: the arguments a prompt takes (its own and its partials'), the
//! per-version template analysis, the cached plan for the latest version, and
//! registering partials with the renderer.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::limits::{self, LimitError};
use super::{Catalog, CatalogError, CatalogResult, HEAVY_BYTES, Selector};
use crate::domain::prompt::TemplateFacts;
use crate::domain::{Prompt, PromptId, Variable};
use crate::json_write;
use crate::renderer::RenderError;
use crate::text_plan::TextPlan;

/// What a prompt version's template includes and leaves unused, and its size
/// figures (for the output estimate of its includers).
pub(super) struct Analysis {
    version: u64,
    pub(super) partials: Vec<PromptId>,
    pub(super) partial_uses: Vec<(PromptId, u64)>,
    pub(super) literal_bytes: u64,
    pub(super) value_uses: u64,
    unused_variables: Vec<String>,
}

impl Analysis {
    pub(super) fn new(version: u64, facts: &TemplateFacts) -> Self {
        Self {
            version,
            partials: facts.partials.clone(),
            partial_uses: facts.partial_uses.clone(),
            literal_bytes: facts.literal_bytes,
            value_uses: facts.value_uses,
            unused_variables: facts.unused_variables.clone(),
        }
    }
}

/// What rendering the latest version of a prompt needs besides the arguments:
/// the prompt, its arguments (its own and its partials'), its analysis, its
/// templates registered. Worked out once and reused until any prompt changes
/// (a change to a partial changes its includers' plans too).
struct LatestPlan {
    prompt: Arc<Prompt>,
    arguments: Vec<Variable>,
    analysis: Arc<Analysis>,
    /// The template as a flat plan, when it fits one; else handlebars renders it.
    text: Option<TextPlan>,
}

impl LatestPlan {
    /// The flat plan, when it applies: MCP prompt arguments are strings, but
    /// `apply_template` takes any JSON, whose numbers, booleans and arrays
    /// follow handlebars' rules.
    fn text_for(&self, args: &Map<String, Value>) -> Option<&TextPlan> {
        self.text
            .as_ref()
            .filter(|_| args.values().all(Value::is_string))
    }
}

/// Cached plans; `generation` moves on every invalidation, so a plan worked out
/// while a change arrived is not kept.
#[derive(Default)]
pub(super) struct Plans {
    generation: u64,
    by_id: HashMap<PromptId, Arc<LatestPlan>>,
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

impl Catalog {
    /// Drops every cached plan; one worked out meanwhile is not kept.
    pub(super) fn forget_plans(&self) {
        let mut plans = self.plans.write().unwrap_or_else(|e| e.into_inner());
        plans.generation += 1;
        plans.by_id.clear();
    }

    /// The arguments a prompt takes: its own variables, then those of the prompts
    /// it includes as partials (transitively), each name once.
    pub async fn arguments(&self, prompt: &Prompt) -> CatalogResult<Vec<Variable>> {
        let mut out = prompt.variables.clone();
        let mut stack = vec![prompt.id.clone()];
        self.collect_partial_arguments(prompt, &mut stack, &mut HashSet::new(), &mut out)
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
        self.check_arguments_size(id, args)?;
        if *selector == Selector::Latest {
            let plan = self.latest_plan(id).await?;
            check_arguments(id, &plan.arguments, args)?;
            let text = match plan.text_for(args) {
                Some(text) => {
                    self.check_plan_output(text, args)?;
                    let mut out = String::with_capacity(plan.prompt.content.len() + 256);
                    text.render(args, &mut out);
                    out
                }
                None => self.render_latest_slow(&plan, args).await?,
            };
            return Ok(Rendered {
                unused_variables: plan.analysis.unused_variables.clone(),
                unknown_arguments: unknown_arguments(&plan.arguments, args),
                prompt: plan.prompt.clone(),
                text,
            });
        }
        let prompt = self.get_at(id, selector).await?;
        let arguments = self.arguments(&prompt).await?;
        check_arguments(id, &arguments, args)?;
        let text = if !prompt.is_template {
            prompt.content.clone()
        } else {
            self.check_render_depth(&prompt).await?;
            self.ensure_registered(&prompt, &mut Vec::new(), &mut HashSet::new(), false)
                .await?;
            let data = Value::Object(args.clone());
            let renderer = self.renderer.clone();
            let source = prompt.clone();
            let rendered = self
                .cpu_bound(true, move || renderer.render_source(&source.content, &data))
                .await?;
            rendered.map_err(|e| render_error(id, e))?
        };
        Ok(Rendered {
            unused_variables: self.analysis(&prompt).unused_variables.clone(),
            unknown_arguments: unknown_arguments(&arguments, args),
            prompt,
            text,
        })
    }

    /// Renders the latest version of `id` like [`Self::render`], writing the text
    /// escaped for a JSON string (no quotes) into `out`: the bulk of a
    /// `prompts/get` reply, produced without an intermediate copy.
    pub async fn render_latest_json(
        &self,
        id: &PromptId,
        args: &Map<String, Value>,
        out: &mut String,
    ) -> CatalogResult<Arc<Prompt>> {
        self.check_arguments_size(id, args)?;
        let plan = self.latest_plan(id).await?;
        check_arguments(id, &plan.arguments, args)?;
        match plan.text_for(args) {
            Some(text) => {
                self.check_plan_output(text, args)?;
                text.render_json(args, out)
            }
            None if !plan.prompt.is_template => {
                json_write::write_str_contents(out, &plan.prompt.content)
            }
            None => {
                let text = self.render_latest_slow(&plan, args).await?;
                json_write::write_str_contents(out, &text)
            }
        }
        Ok(plan.prompt.clone())
    }

    /// Arguments count toward what a render may cost: a large value used many
    /// times is a large reply.
    fn check_arguments_size(&self, id: &PromptId, args: &Map<String, Value>) -> CatalogResult<()> {
        let size = limits::arguments_size(args);
        let limit = self.limits.max_argument_bytes;
        if size > limit {
            return Err(LimitError::ArgumentsTooLarge {
                id: id.clone(),
                size,
                limit,
            }
            .into());
        }
        Ok(())
    }

    /// The flat plan's output is measured before it is built.
    fn check_plan_output(&self, plan: &TextPlan, args: &Map<String, Value>) -> CatalogResult<()> {
        let limit = self.limits.max_output_bytes;
        if plan.rendered_len(args) > limit {
            return Err(LimitError::OutputTooLarge { limit }.into());
        }
        Ok(())
    }

    /// The latest text without a plan: handlebars (on the blocking pool, within
    /// the render budget), or a literal prompt's content.
    async fn render_latest_slow(
        &self,
        plan: &LatestPlan,
        args: &Map<String, Value>,
    ) -> CatalogResult<String> {
        let prompt = &plan.prompt;
        if !prompt.is_template {
            return Ok(prompt.content.clone());
        }
        let renderer = self.renderer.clone();
        let id = prompt.id.clone();
        let data = Value::Object(args.clone());
        let rendered = self
            .cpu_bound(true, move || renderer.render_latest_owned(&id, data))
            .await?;
        rendered.map_err(|e| render_error(&prompt.id, e))
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
        let text = if prompt.is_template {
            self.check_render_depth(&prompt).await?;
            self.ensure_registered(&prompt, &mut Vec::new(), &mut HashSet::new(), true)
                .await?;
            let renderer = self.renderer.clone();
            let planned = id.clone();
            let heavy = prompt.content.len() >= HEAVY_BYTES;
            self.cpu_bound(heavy, move || renderer.text_plan(&planned))
                .await?
        } else {
            None
        };
        let plan = Arc::new(LatestPlan {
            analysis: self.analysis(&prompt),
            prompt,
            arguments,
            text,
        });
        let mut plans = self.plans.write().unwrap_or_else(|e| e.into_inner());
        if plans.generation == generation {
            plans.by_id.insert(id.clone(), plan.clone());
        }
        Ok(plan)
    }

    /// Caches the analysis of a prompt version that has just been committed.
    pub(super) fn remember_analysis(&self, prompt: &Prompt, facts: &TemplateFacts) {
        self.analyses
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                prompt.id.clone(),
                Arc::new(Analysis::new(prompt.version, facts)),
            );
    }

    /// The cached analysis of `prompt`'s template at its version: only ever of
    /// committed versions (a refused draft's analysis would otherwise stand in
    /// for the next draft of the same id and version).
    pub(super) fn analysis(&self, prompt: &Prompt) -> Arc<Analysis> {
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
        let fresh = Arc::new(Analysis::new(prompt.version, &prompt.template_facts()));
        self.analyses
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(prompt.id.clone(), fresh.clone());
        fresh
    }
}

/// A renderer failure as a catalog error: a spent budget stays a limit error.
pub(super) fn render_error(id: &PromptId, e: RenderError) -> CatalogError {
    match e {
        RenderError::Limit(limit) => CatalogError::Limit(limit),
        RenderError::Template(reason) => CatalogError::Render {
            id: id.clone(),
            reason,
        },
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
