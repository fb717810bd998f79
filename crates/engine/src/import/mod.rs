//! Importing a catalog: applying prompts read from catalog files to the hub
//! through the catalog's rules (validation, versions, optimistic concurrency,
//! the change log), so an import is just many ordinary writes.
//!
//! - Each prompt is compared with the live prompt of its id (the normalized
//!   fields: [`same_fields`]): the same → `unchanged`, nothing written (so
//!   importing a catalog twice writes nothing the second time); different →
//!   an update expecting the live version (a concurrent edit is a reported
//!   conflict, not overwritten); absent → a create.
//! - Prompts are written included-first; one that includes a missing prompt or
//!   closes a cycle is refused before anything is written.
//! - Each prompt is one write with its change-log entry: all of it or none, and
//!   live clients hear of each. With a [`BatchWriter`] the writes go in chunks
//!   of [`CHUNK`] per store transaction; without, one `Catalog` call each.
//! - A dry run plans the same and writes nothing.

mod batch;
mod catalog;
mod file;
mod partials;

use std::collections::HashMap;

pub use batch::{BatchWrite, BatchWriter};
pub use catalog::{Loader, ReadCatalog, read_files};
pub use file::{ReadFile, read_file};

use crate::domain::catalog_file::resolve::{draft_of, patch_of};
use crate::domain::catalog_file::same_fields;
use crate::domain::{ChangeEvent, Prompt, PromptId};
use crate::ports::{ListQuery, StoreError, StoreResult};
use crate::{Catalog, CatalogError};

/// Prompts per store transaction on the batch path: large enough that a
/// commit's cost is spread thin, small enough that other writers on the same
/// store wait for at most a few tens of milliseconds.
pub const CHUNK: usize = 500;

/// A prompt read from a catalog, validated, and where it came from.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The file it was read from, for the report.
    pub source: String,
    pub prompt: Prompt,
}

/// What an import did (or, in a dry run, would do) to one prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Unchanged => "unchanged",
        }
    }
}

/// The outcome for one incoming prompt.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub source: String,
    pub id: PromptId,
    /// The change and the version the prompt has now (a dry run: would have);
    /// or why it was not written.
    pub result: Result<(Change, u64), String>,
}

#[derive(Clone, Copy, Default)]
pub struct Options<'a> {
    pub dry_run: bool,
    /// The actor recorded in the change log.
    pub actor: &'a str,
    /// The store's batch path, when it has one.
    pub batch: Option<&'a dyn BatchWriter>,
}

/// Applies `incoming` (ids unique) to the catalog. `progress` is called with
/// the number of prompts settled since its last call. Outcomes come back in
/// the order of `incoming`.
pub async fn import(
    catalog: &Catalog,
    incoming: Vec<Incoming>,
    options: Options<'_>,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Vec<Outcome>, CatalogError> {
    let live = live_prompts(catalog).await?;
    let refs: Vec<&Prompt> = incoming.iter().map(|i| &i.prompt).collect();
    let includes: Vec<Vec<PromptId>> = refs.iter().map(|p| partials::includes(p)).collect();
    let order = partials::order(&refs, &includes, &live);
    drop(refs);
    let mut outcomes: Vec<Option<Outcome>> = vec![None; incoming.len()];
    let mut settle = |i: usize, result: Result<(Change, u64), String>| {
        outcomes[i] = Some(Outcome {
            source: incoming[i].source.clone(),
            id: incoming[i].prompt.id.clone(),
            result,
        });
    };
    let mut writes: Vec<(usize, Option<u64>)> = Vec::new();
    let mut settled_now = 0;
    for (i, refusal) in order {
        let prompt = &incoming[i].prompt;
        let current = live.get(&prompt.id);
        match (refusal, current) {
            (Some(reason), _) => settle(i, Err(reason)),
            (None, Some(cur)) if same_fields(cur, prompt) => {
                settle(i, Ok((Change::Unchanged, cur.version)))
            }
            (None, cur) => {
                writes.push((i, cur.map(|c| c.version)));
                continue;
            }
        }
        settled_now += 1;
    }
    progress(settled_now);
    if options.dry_run {
        for (i, expected) in writes {
            let planned = match expected {
                Some(v) => Ok((Change::Updated, v + 1)),
                None => catalog
                    .store()
                    .last_version(&incoming[i].prompt.id)
                    .await
                    .map(|v| (Change::Created, v + 1))
                    .map_err(|e| e.to_string()),
            };
            settle(i, planned);
            progress(1);
        }
    } else if let Some(batch) = options.batch {
        for chunk in writes.chunks(CHUNK) {
            let items = chunk
                .iter()
                .map(|&(i, expected)| {
                    let includes = includes[i].clone();
                    batch_write(
                        &incoming[i].prompt,
                        expected,
                        includes,
                        &live,
                        options.actor,
                    )
                })
                .collect();
            let results = batch.write_batch(items).await?;
            for (&(i, expected), result) in chunk.iter().zip(results) {
                let prompt = &incoming[i].prompt;
                catalog.invalidate(&prompt.id);
                settle(i, batch_outcome(prompt, expected, result));
            }
            progress(chunk.len() as u64);
        }
    } else {
        for (i, expected) in writes {
            let prompt = &incoming[i].prompt;
            let result = match expected {
                None => catalog
                    .create(draft_of(prompt), options.actor)
                    .await
                    .map(|(p, _)| (Change::Created, p.version)),
                Some(v) => catalog
                    .update(&prompt.id, patch_of(prompt), Some(v), options.actor)
                    .await
                    .map(|(p, _)| (Change::Updated, p.version)),
            };
            settle(i, result.map_err(|e| e.to_string()));
            progress(1);
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every incoming prompt is settled"))
        .collect())
}

/// `incoming` in an order where each prompt comes after the prompts of the
/// same import that it includes, so an import written as consecutive batches
/// (the AWS job) finds every include already written. Cycles are cut (and
/// refused when written).
pub fn write_order(incoming: Vec<Incoming>) -> Vec<Incoming> {
    let index: HashMap<&PromptId, usize> = incoming
        .iter()
        .enumerate()
        .map(|(i, p)| (&p.prompt.id, i))
        .collect();
    let includes: Vec<Vec<usize>> = incoming
        .iter()
        .map(|i| {
            partials::includes(&i.prompt)
                .iter()
                .filter_map(|id| index.get(id).copied())
                .collect()
        })
        .collect();
    drop(index);
    // Iterative depth-first post-order: a chain of 20,000 includes is no stack risk.
    let mut seen = vec![false; incoming.len()];
    let mut order = Vec::with_capacity(incoming.len());
    for root in 0..incoming.len() {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        let mut stack = vec![(root, 0usize)];
        while let Some((i, next)) = stack.last_mut() {
            let i = *i;
            if let Some(&j) = includes[i].get(*next) {
                *next += 1;
                if !seen[j] {
                    seen[j] = true;
                    stack.push((j, 0));
                }
            } else {
                order.push(i);
                stack.pop();
            }
        }
    }
    let mut slots: Vec<Option<Incoming>> = incoming.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

fn batch_write(
    prompt: &Prompt,
    expected: Option<u64>,
    includes: Vec<PromptId>,
    live: &HashMap<PromptId, Prompt>,
    actor: &str,
) -> BatchWrite {
    let mut prompt = prompt.clone();
    if let Some(current) = live.get(&prompt.id) {
        prompt.created_at = current.created_at.clone();
    }
    BatchWrite::new(prompt, expected, includes, actor)
}

fn batch_outcome(
    prompt: &Prompt,
    expected: Option<u64>,
    result: StoreResult<ChangeEvent>,
) -> Result<(Change, u64), String> {
    let change = if expected.is_some() {
        Change::Updated
    } else {
        Change::Created
    };
    match result {
        Ok(event) => Ok((change, event.version)),
        Err(StoreError::NotFound(missing)) if missing != prompt.id => {
            Err(CatalogError::UnknownPartial(missing.to_string()).to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Every live prompt, by id (one listing, not one read per incoming prompt).
async fn live_prompts(catalog: &Catalog) -> Result<HashMap<PromptId, Prompt>, CatalogError> {
    let mut live = HashMap::new();
    let mut after = None;
    loop {
        let (page, next) = catalog
            .list(ListQuery {
                after,
                limit: 500,
                ..Default::default()
            })
            .await?;
        live.extend(page.into_iter().map(|p| (p.id.clone(), p)));
        match next {
            Some(n) => after = Some(n),
            None => return Ok(live),
        }
    }
}

#[cfg(test)]
mod write_order_tests {
    use super::*;

    fn incoming(id: &str, content: &str) -> Incoming {
        let text = format!("---\nid: {id}\nname: {id}\n---\n{content}\n");
        let mut read = read_file(&format!("dev/{id}.md"), &text);
        read.prompts.remove(0).0
    }

    fn ids(order: &[Incoming]) -> Vec<&str> {
        order.iter().map(|i| i.prompt.id.as_str()).collect()
    }

    #[test]
    fn includes_come_before_their_includers_across_the_whole_import() {
        let order = write_order(vec![
            incoming("page", "{{> header}} body {{> footer}}"),
            incoming("footer", "bye {{> sign}}"),
            incoming("solo", "plain"),
            incoming("header", "hi"),
            incoming("sign", "--"),
        ]);
        let pos = |id: &str| ids(&order).iter().position(|x| *x == id).unwrap();
        assert_eq!(order.len(), 5);
        assert!(pos("header") < pos("page") && pos("footer") < pos("page"));
        assert!(pos("sign") < pos("footer"));
    }

    #[test]
    fn a_cycle_is_cut_not_looped_and_nothing_is_lost() {
        let order = write_order(vec![
            incoming("a", "{{> b}}"),
            incoming("b", "{{> a}}"),
            incoming("c", "{{> missing}}"),
        ]);
        let mut got = ids(&order);
        got.sort_unstable();
        assert_eq!(got, ["a", "b", "c"]);
    }
}
