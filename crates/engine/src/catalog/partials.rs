//! The partial graph: prompts include prompts. Walks of it visit each prompt
//! once (a diamond of inclusions is not walked once per path, which would be
//! exponential in its depth), refuse cycles naming them, and, at save time,
//! bound the depth and estimate the rendered size through it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::limits::LimitError;
use super::render::{Analysis, render_error};
use super::{Catalog, CatalogError, CatalogResult};
use crate::domain::prompt::TemplateFacts;
use crate::domain::template::expansion_estimate;
use crate::domain::{Prompt, PromptId, Variable};
use crate::ports::StoreError;

/// What a prompt expands to through its partials.
#[derive(Clone, Copy)]
struct Expansion {
    /// Estimated rendered bytes (see [`expansion_estimate`]).
    estimate: u64,
    /// The longest chain of inclusions below it.
    height: usize,
}

impl Catalog {
    /// The checks a write makes on the partial graph it would create: every
    /// included prompt exists, inclusion does not loop back, nests no deeper
    /// than the limit, and the estimated output fits the output budget. Uses
    /// the draft's own analysis, never the cache (see `analysis`).
    pub(super) async fn check_partials(
        &self,
        prompt: &Prompt,
        facts: &TemplateFacts,
    ) -> CatalogResult<()> {
        let own = Analysis::new(prompt.version, facts);
        let mut stack = vec![prompt.id.clone()];
        let expansion = self
            .expansion(&own, &mut stack, &mut HashMap::new())
            .await?;
        let limit = self.limits.max_output_bytes;
        if expansion.estimate > limit as u64 {
            return Err(LimitError::ExpansionTooLarge {
                id: prompt.id.clone(),
                estimate: expansion.estimate,
                limit,
            }
            .into());
        }
        Ok(())
    }

    /// Before a render: the partial graph may have grown deeper since `prompt`
    /// was saved (an included prompt was edited to include more), and
    /// handlebars expands partials by recursion, so the depth is checked on
    /// the graph as it is now. The output size is left to the render budget.
    pub(super) async fn check_render_depth(&self, prompt: &Prompt) -> CatalogResult<()> {
        let own = self.analysis(prompt);
        let mut stack = vec![prompt.id.clone()];
        self.expansion(&own, &mut stack, &mut HashMap::new())
            .await
            .map(|_| ())
    }

    async fn expansion(
        &self,
        analysis: &Analysis,
        stack: &mut Vec<PromptId>,
        memo: &mut HashMap<PromptId, Expansion>,
    ) -> CatalogResult<Expansion> {
        let mut parts = Vec::with_capacity(analysis.partial_uses.len());
        let mut height = 0;
        for (partial, count) in &analysis.partial_uses {
            let below = match memo.get(partial) {
                Some(e) => *e,
                None => {
                    let included = self.include(partial, stack).await?;
                    let included = self.analysis(&included);
                    stack.push(partial.clone());
                    self.check_depth(stack, 0)?;
                    let e = Box::pin(self.expansion(&included, stack, memo)).await?;
                    stack.pop();
                    memo.insert(partial.clone(), e);
                    e
                }
            };
            stack.push(partial.clone());
            self.check_depth(stack, below.height)?;
            stack.pop();
            height = height.max(below.height + 1);
            parts.push((*count, below.estimate));
        }
        Ok(Expansion {
            estimate: expansion_estimate(
                analysis.literal_bytes,
                analysis.value_uses,
                parts,
                self.limits.value_allowance as u64,
            ),
            height,
        })
    }

    /// `stack` (the root first) and `below` more levels under its last prompt.
    fn check_depth(&self, stack: &[PromptId], below: usize) -> CatalogResult<()> {
        let limit = self.limits.max_partial_depth;
        if stack.len() - 1 + below <= limit {
            return Ok(());
        }
        let mut chain: Vec<&str> = stack.iter().map(PromptId::as_str).collect();
        if below > 0 {
            chain.push("...");
        }
        Err(LimitError::PartialsTooDeep {
            id: stack[0].clone(),
            limit,
            chain: chain.join(" -> "),
        }
        .into())
    }

    /// Adds the variables of every prompt `prompt` includes (transitively) to
    /// `out`, each name once.
    pub(super) async fn collect_partial_arguments(
        &self,
        prompt: &Prompt,
        stack: &mut Vec<PromptId>,
        seen: &mut HashSet<PromptId>,
        out: &mut Vec<Variable>,
    ) -> CatalogResult<()> {
        for partial in self.analysis(prompt).partials.iter() {
            let included = self.include(partial, stack).await?;
            if !seen.insert(partial.clone()) {
                continue;
            }
            for v in &included.variables {
                if !out.iter().any(|o| o.name == v.name) {
                    out.push(v.clone());
                }
            }
            stack.push(partial.clone());
            Box::pin(self.collect_partial_arguments(&included, stack, seen, out)).await?;
            stack.pop();
        }
        Ok(())
    }

    /// The latest version of a prompt included as a partial by the prompts on
    /// `stack`; refuses an inclusion that loops back, naming the loop.
    pub(super) async fn include(
        &self,
        partial: &PromptId,
        stack: &[PromptId],
    ) -> CatalogResult<Arc<Prompt>> {
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
    /// versions, refusing cycles; big templates are compiled on the blocking pool.
    pub(super) async fn ensure_registered(
        &self,
        prompt: &Prompt,
        stack: &mut Vec<PromptId>,
        seen: &mut HashSet<PromptId>,
        register_self: bool,
    ) -> CatalogResult<()> {
        if register_self && !self.renderer.is_current(prompt) {
            let renderer = self.renderer.clone();
            let heavy = prompt.content.len() >= super::HEAVY_BYTES;
            let owned = prompt.clone();
            self.cpu_bound(heavy, move || renderer.register(&owned))
                .await?
                .map_err(|e| render_error(&prompt.id, e))?;
        }
        stack.push(prompt.id.clone());
        for partial in self.analysis(prompt).partials.iter() {
            let included = self.include(partial, stack).await?;
            if seen.insert(partial.clone()) {
                Box::pin(self.ensure_registered(&included, stack, seen, true)).await?;
            }
        }
        stack.pop();
        Ok(())
    }
}
