//! Who includes whom, so a change to a partial reaches the prompts that render
//! it: `dependency_events` turns each committed change into one
//! `dependency-changed` event per prompt that includes the changed one,
//! directly or through others (their rendered output changed). The graph is
//! built from one listing the first time it is needed, then kept current by
//! the changes themselves: each change re-reads its prompt's includes (the
//! prompt's current state, so a consumer reading old changes late, like a
//! webhook subscriber, still leaves it right). The graph knows the newest
//! position it reflects: a consumer that sees only some of the changes (one
//! of several fan-out Lambdas) first applies those it missed from the change
//! log, or rebuilds when too many are missing.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::Catalog;
use crate::domain::Prompt;
use crate::domain::{ChangeEvent, ChangeKind, PromptId};
use crate::ports::ListQuery;

/// The prompts `prompt` includes (`{{> id}}`); without a `>` there is none.
fn includes_of(prompt: &Prompt) -> Vec<PromptId> {
    if prompt.content.contains('>') {
        prompt.template_facts().partials
    } else {
        Vec::new()
    }
}

/// Dependents reported per change, at most (a partial included everywhere
/// would otherwise make one change cost a message per prompt).
pub const MAX_DEPENDENTS: usize = 1000;
/// Missed changes applied from the change log before a rebuild is cheaper.
const MAX_CATCH_UP: usize = 500;

#[derive(Default)]
pub struct Graph {
    includes: HashMap<PromptId, Vec<PromptId>>,
    included_by: HashMap<PromptId, BTreeSet<PromptId>>,
    /// The newest change-log position the graph reflects.
    position: u64,
}

impl Graph {
    fn set(&mut self, id: &PromptId, includes: Vec<PromptId>) {
        if let Some(old) = self.includes.remove(id) {
            for p in old {
                if let Some(set) = self.included_by.get_mut(&p) {
                    set.remove(id);
                    if set.is_empty() {
                        self.included_by.remove(&p);
                    }
                }
            }
        }
        for p in &includes {
            self.included_by
                .entry(p.clone())
                .or_default()
                .insert(id.clone());
        }
        if !includes.is_empty() {
            self.includes.insert(id.clone(), includes);
        }
    }

    /// Everything that includes `id`, nearest first, at most [`MAX_DEPENDENTS`].
    fn dependents(&self, id: &PromptId) -> Vec<PromptId> {
        let mut seen = BTreeSet::from([id.clone()]);
        let mut queue = VecDeque::from([id.clone()]);
        let mut out = Vec::new();
        while let Some(next) = queue.pop_front() {
            for by in self.included_by.get(&next).into_iter().flatten() {
                if out.len() == MAX_DEPENDENTS {
                    return out;
                }
                if seen.insert(by.clone()) {
                    out.push(by.clone());
                    queue.push_back(by.clone());
                }
            }
        }
        out
    }
}

impl Catalog {
    /// The `dependency-changed` events `changes` imply, each right after its
    /// cause (same position, `partial` naming the cause). Prompts changed in
    /// the same batch are not reported as dependents of it.
    pub async fn dependency_events(&self, changes: &[ChangeEvent]) -> Vec<ChangeEvent> {
        let Some(first) = changes.iter().map(|c| c.position).min() else {
            return Vec::new();
        };
        let mut slot = self.dependents.lock().await;
        if let Some(g) = slot.as_mut()
            && g.position + 1 < first
            && !self.catch_up(g, first - 1).await
        {
            *slot = None;
        }
        if slot.is_none() {
            match self.build_graph().await {
                Ok(g) => *slot = Some(g),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list the prompts to find who includes whom");
                    return Vec::new();
                }
            }
        }
        let graph = slot.as_mut().expect("built above");
        let mut out = Vec::new();
        for c in changes
            .iter()
            .filter(|c| c.kind != ChangeKind::DependencyChanged)
        {
            self.reread(graph, c).await;
            if c.kind == ChangeKind::Labelled {
                continue; // Its latest content, what includers render, did not change.
            }
            for d in graph.dependents(&c.id) {
                if changes.iter().any(|o| o.id == d) {
                    continue;
                }
                let Ok(prompt) = self.get(&d).await else {
                    continue;
                };
                out.push(ChangeEvent {
                    position: c.position,
                    id: d,
                    version: prompt.version,
                    kind: ChangeKind::DependencyChanged,
                    category: prompt.category.clone(),
                    tags: prompt.tags.clone(),
                    actor: c.actor.clone(),
                    timestamp: c.timestamp.clone(),
                    label: None,
                    partial: Some(c.id.clone()),
                });
            }
        }
        out
    }

    /// `changes` with the events they imply, each after its cause (borrowed
    /// as they are when there are none, the common case).
    pub async fn with_dependency_events<'a>(
        &self,
        changes: &'a [ChangeEvent],
    ) -> std::borrow::Cow<'a, [ChangeEvent]> {
        let extra = self.dependency_events(changes).await;
        if extra.is_empty() {
            return std::borrow::Cow::Borrowed(changes);
        }
        let mut all: Vec<ChangeEvent> = changes.iter().chain(&extra).cloned().collect();
        // Stable: a cause (listed first) stays before its dependents.
        all.sort_by_key(|c| c.position);
        std::borrow::Cow::Owned(all)
    }

    /// Applies `c` to the graph: its prompt's includes as they are now.
    async fn reread(&self, graph: &mut Graph, c: &ChangeEvent) {
        let includes = match c.kind {
            ChangeKind::Deleted => Vec::new(),
            _ => match self.get(&c.id).await {
                Ok(p) => includes_of(&p),
                Err(_) => Vec::new(),
            },
        };
        graph.set(&c.id, includes);
        graph.position = graph.position.max(c.position);
    }

    /// Applies the changes after the graph's position up to `until` from the
    /// change log; false when there are too many (or it cannot be read).
    async fn catch_up(&self, graph: &mut Graph, until: u64) -> bool {
        if until - graph.position > MAX_CATCH_UP as u64 {
            return false;
        }
        let Ok(missed) = self.store.changes_since(graph.position, MAX_CATCH_UP).await else {
            return false;
        };
        for c in missed.iter().take_while(|c| c.position <= until) {
            self.reread(graph, c).await;
        }
        graph.position = graph.position.max(until);
        true
    }

    async fn build_graph(&self) -> Result<Graph, super::CatalogError> {
        // Read first: changes committed while listing are applied again later.
        let position = self.store.head_position().await?;
        let mut graph = Graph {
            position,
            ..Graph::default()
        };
        let mut after = None;
        loop {
            let (page, next) = self
                .list(ListQuery {
                    after,
                    limit: 500,
                    ..Default::default()
                })
                .await?;
            for p in &page {
                graph.set(&p.id, includes_of(p));
            }
            match next {
                Some(n) => after = Some(n),
                None => return Ok(graph),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PromptId {
        PromptId::parse(s).unwrap()
    }

    #[test]
    fn dependents_are_transitive_nearest_first_and_cycles_end() {
        let mut g = Graph::default();
        g.set(&id("page"), vec![id("header"), id("footer")]);
        g.set(&id("header"), vec![id("logo")]);
        g.set(&id("site"), vec![id("page")]);
        assert_eq!(
            g.dependents(&id("logo")),
            [id("header"), id("page"), id("site")]
        );
        assert_eq!(g.dependents(&id("footer")), [id("page"), id("site")]);
        assert!(g.dependents(&id("site")).is_empty());
        // A rewrite drops the old edges.
        g.set(&id("page"), vec![id("footer")]);
        assert!(g.dependents(&id("logo")) == [id("header")]);
        g.set(&id("logo"), vec![id("site")]); // a cycle (refused by writes; still must end)
        assert_eq!(g.dependents(&id("site")), [id("logo"), id("header")]);
    }
}
