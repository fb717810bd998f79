//! Prompts that include others (`{{> other-id}}`): an import writes what is
//! included before what includes it, and refuses, before writing anything,
//! a prompt that includes a prompt neither in the catalog nor in the hub, or
//! that closes an inclusion cycle (through prompts already in the hub too).

use std::collections::{HashMap, HashSet};

use crate::domain::{Prompt, PromptId};

/// The prompts `prompt`'s template includes. Without a `>` there is no
/// `{{> partial}}`, which spares parsing the template again (most prompts).
pub fn includes(prompt: &Prompt) -> Vec<PromptId> {
    if prompt.content.contains('>') {
        prompt.template_facts().partials
    } else {
        Vec::new()
    }
}

/// Every index of `batch`, in a write order where includes come first, each
/// with the reason it cannot be written, if any. `includes[i]` is what
/// `batch[i]` includes.
pub fn order(
    batch: &[&Prompt],
    includes: &[Vec<PromptId>],
    live: &HashMap<PromptId, Prompt>,
) -> Vec<(usize, Option<String>)> {
    let index: HashMap<&PromptId, usize> =
        batch.iter().enumerate().map(|(i, p)| (&p.id, i)).collect();
    let mut graph = Graph {
        index: &index,
        includes,
        live,
        live_includes: HashMap::new(),
    };
    let mut out = Vec::with_capacity(batch.len());
    let mut placed = vec![false; batch.len()];
    let mut refused = HashMap::new();
    for (i, prompt) in batch.iter().enumerate() {
        if let Err(reason) = graph.check(&prompt.id, &mut vec![prompt.id.clone()]) {
            refused.insert(i, reason);
        }
    }
    // Depth-first: a prompt after everything it includes from the batch.
    fn place(
        i: usize,
        includes: &[Vec<PromptId>],
        index: &HashMap<&PromptId, usize>,
        refused: &HashMap<usize, String>,
        placed: &mut [bool],
        out: &mut Vec<(usize, Option<String>)>,
    ) {
        if placed[i] {
            return;
        }
        placed[i] = true;
        if let Some(reason) = refused.get(&i) {
            out.push((i, Some(reason.clone())));
            return;
        }
        for inc in &includes[i] {
            if let Some(&j) = index.get(inc) {
                place(j, includes, index, refused, placed, out);
            }
        }
        out.push((i, None));
    }
    for i in 0..batch.len() {
        place(i, includes, &index, &refused, &mut placed, &mut out);
    }
    out
}

struct Graph<'a> {
    index: &'a HashMap<&'a PromptId, usize>,
    includes: &'a [Vec<PromptId>],
    live: &'a HashMap<PromptId, Prompt>,
    live_includes: HashMap<PromptId, Vec<PromptId>>,
}

impl Graph<'_> {
    /// What `id` includes once the batch is written: the batch's version wins.
    fn includes_of(&mut self, id: &PromptId) -> Option<Vec<PromptId>> {
        if let Some(&i) = self.index.get(id) {
            return Some(self.includes[i].clone());
        }
        let live = self.live.get(id)?;
        Some(
            self.live_includes
                .entry(id.clone())
                .or_insert_with(|| self::includes(live))
                .clone(),
        )
    }

    /// Every prompt reachable from `id` exists and none leads back to the stack.
    fn check(&mut self, id: &PromptId, stack: &mut Vec<PromptId>) -> Result<(), String> {
        let includes = self.includes_of(id).unwrap_or_default();
        let mut seen = HashSet::new();
        for inc in includes {
            if !seen.insert(inc.clone()) {
                continue;
            }
            if let Some(start) = stack.iter().position(|p| p == &inc) {
                let mut cycle: Vec<&str> = stack[start..].iter().map(PromptId::as_str).collect();
                cycle.push(inc.as_str());
                return Err(format!("partial cycle: {}", cycle.join(" -> ")));
            }
            if self.includes_of(&inc).is_none() {
                return Err(format!(
                    "template includes prompt '{inc}', which does not exist"
                ));
            }
            stack.push(inc.clone());
            self.check(&inc, stack)?;
            stack.pop();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PromptDraft;

    fn p(id: &str, content: &str) -> Prompt {
        PromptDraft {
            id: Some(id.into()),
            name: id.into(),
            content: content.into(),
            ..Default::default()
        }
        .into_prompt(1, "", "")
        .unwrap()
    }

    fn run(batch: &[Prompt], live: &[Prompt]) -> Vec<(String, Option<String>)> {
        let refs: Vec<&Prompt> = batch.iter().collect();
        let inc: Vec<_> = refs.iter().map(|p| includes(p)).collect();
        let live = live.iter().map(|p| (p.id.clone(), p.clone())).collect();
        order(&refs, &inc, &live)
            .into_iter()
            .map(|(i, r)| (batch[i].id.to_string(), r))
            .collect()
    }

    #[test]
    fn included_prompts_come_first() {
        let out = run(
            &[
                p("letter", "{{> sig}} {{> head}}"),
                p("sig", "S"),
                p("head", "H {{> sig}}"),
            ],
            &[],
        );
        let ids: Vec<_> = out
            .iter()
            .map(|(id, r)| (id.as_str(), r.is_none()))
            .collect();
        assert_eq!(ids, [("sig", true), ("head", true), ("letter", true)]);
    }

    #[test]
    fn missing_includes_and_cycles_are_refused_naming_them() {
        let out = run(
            &[
                p("a", "{{> b}}"),
                p("b", "{{> a}}"),
                p("c", "{{> gone}}"),
                p("d", "{{> e}}"),
            ],
            &[p("e", "{{> d}}")],
        );
        let reasons: Vec<_> = out
            .iter()
            .map(|(id, r)| (id.as_str(), r.clone().unwrap_or_default()))
            .collect();
        assert!(
            reasons.contains(&("a", "partial cycle: a -> b -> a".into())),
            "{reasons:?}"
        );
        assert!(reasons.contains(&(
            "c",
            "template includes prompt 'gone', which does not exist".into()
        )));
        assert!(
            reasons.contains(&("d", "partial cycle: d -> e -> d".into())),
            "{reasons:?}"
        );
    }
}
