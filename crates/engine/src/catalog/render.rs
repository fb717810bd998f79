//! Rendering: the arguments a prompt takes (its own and its partials'), the
//! per-version template analysis, the cached plan for the latest version, and
//! registering partials with the renderer.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{Catalog, CatalogError, CatalogResult, Selector};
use crate::domain::{Prompt, PromptId, Variable};
use crate::json_write;
use crate::ports::StoreError;
use crate::text_plan::TextPlan;

/// What a prompt version's template includes and leaves unused.
pub(super) struct Analysis {
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
            check_arguments(id, &plan.arguments, args)?;
            let text = match plan.text_for(args) {
                Some(text) => {
                    let mut out = String::with_capacity(plan.prompt.content.len() + 256);
                    text.render(args, &mut out);
                    out
                }
                None => self.render_latest_slow(&plan, args)?,
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

    /// Renders the latest version of `id` like [`Self::render`], writing the text
    /// escaped for a JSON string (no quotes) into `out`: the bulk of a
    /// `prompts/get` reply, produced without an intermediate copy.
    pub async fn render_latest_json(
        &self,
        id: &PromptId,
        args: &Map<String, Value>,
        out: &mut String,
    ) -> CatalogResult<Arc<Prompt>> {
        let plan = self.latest_plan(id).await?;
        check_arguments(id, &plan.arguments, args)?;
        match plan.text_for(args) {
            Some(text) => text.render_json(args, out),
            None if !plan.prompt.is_template => {
                json_write::write_str_contents(out, &plan.prompt.content)
            }
            None => json_write::write_str_contents(out, &self.render_latest_slow(&plan, args)?),
        }
        Ok(plan.prompt.clone())
    }

    /// The latest text without a plan: handlebars, or a literal prompt's content.
    fn render_latest_slow(
        &self,
        plan: &LatestPlan,
        args: &Map<String, Value>,
    ) -> CatalogResult<String> {
        let prompt = &plan.prompt;
        if !prompt.is_template {
            return Ok(prompt.content.clone());
        }
        self.renderer
            .render_latest_owned(&prompt.id, Value::Object(args.clone()))
            .map_err(|e| CatalogError::Render {
                id: prompt.id.clone(),
                reason: e.to_string(),
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
        let text = if prompt.is_template {
            self.renderer.text_plan(id)
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

    pub(super) async fn collect_partial_arguments(
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
        let facts = prompt.template_facts();
        let fresh = Arc::new(Analysis {
            version: prompt.version,
            partials: facts.partials,
            unused_variables: facts.unused_variables,
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
