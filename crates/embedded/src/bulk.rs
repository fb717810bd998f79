//! The batch write path for imports ([`BatchWriter`]): many prompts in one
//! SQLite transaction, each inside its own savepoint, so a prompt is written
//! whole with its change-log entry or not at all, one failing does not undo the
//! others, and the batch pays for one commit instead of one per prompt.
//!
//! The checks are those of the single writes in `prompts.rs` (a create needs
//! the id not live, an update the expected live version), plus that every
//! prompt a template includes is live at that point of the batch.

use async_trait::async_trait;
use rusqlite::Transaction;

use super::rows::{pointer, write_version};
use super::store::{EmbeddedStore, sql_error};
use mcp_prompts_engine::domain::ChangeEvent;
use mcp_prompts_engine::import::{BatchWrite, BatchWriter};
use mcp_prompts_engine::ports::{Clock, StoreError, StoreResult};

#[async_trait]
impl BatchWriter for EmbeddedStore {
    async fn write_batch(
        &self,
        items: Vec<BatchWrite>,
    ) -> StoreResult<Vec<StoreResult<ChangeEvent>>> {
        self.write(move |tx, clock| {
            let mut results = Vec::with_capacity(items.len());
            for item in items {
                tx.execute_batch("SAVEPOINT import_item")
                    .map_err(sql_error)?;
                let result = write_one(tx, clock, item);
                let end = if result.is_ok() {
                    "RELEASE import_item"
                } else {
                    "ROLLBACK TO import_item; RELEASE import_item"
                };
                tx.execute_batch(end).map_err(sql_error)?;
                results.push(result);
            }
            Ok(results)
        })
        .await
    }
}

fn write_one(
    tx: &Transaction<'_>,
    clock: &dyn Clock,
    item: BatchWrite,
) -> StoreResult<ChangeEvent> {
    let BatchWrite {
        mut prompt,
        expected,
        includes,
        change,
    } = item;
    let now = clock.now_rfc3339();
    match (pointer(tx, &prompt.id)?, expected) {
        (Some((_, true)), None) => return Err(StoreError::AlreadyExists(prompt.id)),
        (last, None) => {
            prompt.version = last.map_or(0, |(v, _)| v) + 1;
            prompt.created_at = now.clone();
        }
        (Some((current, true)), Some(expected)) if current == expected => {
            prompt.version = current + 1;
        }
        (Some((current, true)), Some(expected)) => {
            return Err(StoreError::Conflict {
                id: prompt.id,
                expected,
                current,
            });
        }
        (_, Some(_)) => return Err(StoreError::NotFound(prompt.id)),
    }
    prompt.updated_at = now;
    for included in &includes {
        if !matches!(pointer(tx, included)?, Some((_, true))) {
            return Err(StoreError::NotFound(included.clone()));
        }
    }
    write_version(tx, clock, &prompt, &change)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use mcp_prompts_engine::domain::{ChangeKind, PromptDraft, PromptId};
    use mcp_prompts_engine::ports::{PromptStore, SystemClock};

    fn item(id: &str, content: &str, expected: Option<u64>) -> BatchWrite {
        let prompt = PromptDraft {
            id: Some(id.into()),
            name: id.into(),
            content: content.into(),
            ..Default::default()
        }
        .into_prompt(0, "", "")
        .unwrap();
        let includes = prompt.template_facts().partials;
        BatchWrite::new(prompt, expected, includes, "test")
    }

    #[tokio::test]
    async fn each_prompt_is_written_whole_or_not_at_all_and_logged() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let results = store
            .write_batch(vec![
                item("a", "A", None),
                item("b", "B {{> a}}", None),
                item("c", "C {{> nowhere}}", None),
                item("a", "again", None),
            ])
            .await
            .unwrap();
        assert!(results[0].is_ok() && results[1].is_ok());
        assert!(matches!(&results[2], Err(StoreError::NotFound(id)) if id.as_str() == "nowhere"));
        assert!(matches!(&results[3], Err(StoreError::AlreadyExists(_))));
        assert_eq!(store.count_live().await.unwrap(), 2);
        assert_eq!(store.head_position().await.unwrap(), 2);

        let results = store
            .write_batch(vec![item("a", "A2", Some(1)), item("b", "B2", Some(7))])
            .await
            .unwrap();
        assert_eq!(results[0].as_ref().unwrap().version, 2);
        assert!(matches!(
            &results[1],
            Err(StoreError::Conflict { current: 1, .. })
        ));
        let a = store
            .get(&PromptId::parse("a").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((a.version, a.content.as_str()), (2, "A2"));
        let changes = store.changes_since(0, 10).await.unwrap();
        let kinds: Vec<_> = changes.iter().map(|c| (c.id.as_str(), c.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("a", ChangeKind::Created),
                ("b", ChangeKind::Created),
                ("a", ChangeKind::Updated)
            ]
        );
    }

    /// The import gives the same result with and without the batch path.
    #[tokio::test]
    async fn import_through_the_catalog_and_through_batches_agree() {
        use mcp_prompts_engine::Catalog;
        use mcp_prompts_engine::import::{self, Change, Incoming, Options};

        // `letter` includes `sig` (so goes after it); `p` changes in round 2.
        let incoming = |round: u32| -> Vec<Incoming> {
            let p_content = format!("round {round}");
            [
                ("letter", "Dear {{who}}, {{> sig}}"),
                ("sig", "Yours"),
                ("p", &p_content),
            ]
            .into_iter()
            .map(|(id, content)| Incoming {
                source: format!("{id}.json"),
                prompt: item(id, content, None).prompt,
            })
            .collect()
        };
        let mut results = Vec::new();
        for batched in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(EmbeddedStore::open(dir.path(), Arc::new(SystemClock)).unwrap());
            let catalog = Catalog::new(store.clone(), Arc::new(SystemClock));
            let options = Options {
                dry_run: false,
                actor: "test",
                batch: batched.then_some(store.as_ref() as &dyn BatchWriter),
            };
            let mut changes = Vec::new();
            for round in [1, 1, 2] {
                let out = import::import(&catalog, incoming(round), options, &|_| {})
                    .await
                    .unwrap();
                changes.push(
                    out.into_iter()
                        .map(|o| (o.id.to_string(), o.result))
                        .collect::<Vec<_>>(),
                );
            }
            let log: Vec<_> = store
                .changes_since(0, 100)
                .await
                .unwrap()
                .into_iter()
                .map(|c| (c.id.to_string(), c.kind, c.version))
                .collect();
            results.push((changes, log));
        }
        assert_eq!(results[0], results[1]);
        let (changes, log) = &results[0];
        assert_eq!(
            changes[0][0],
            ("letter".to_string(), Ok((Change::Created, 1)))
        );
        assert!(
            changes[1]
                .iter()
                .all(|(_, r)| matches!(r, Ok((Change::Unchanged, 1))))
        );
        assert_eq!(changes[2][2], ("p".to_string(), Ok((Change::Updated, 2))));
        assert_eq!(log.len(), 4, "{log:?}");
    }

    /// What the batch path saves: `cargo test --release -p mcp-prompts-embedded
    /// -- --ignored --nocapture import_timing`.
    #[tokio::test(flavor = "multi_thread")]
    #[ignore = "timing; run with --release --ignored --nocapture"]
    async fn import_timing_one_write_per_prompt_versus_batches() {
        use mcp_prompts_engine::Catalog;
        use mcp_prompts_engine::import::{self, Incoming, Options};

        const N: usize = 10_000;
        for batched in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(EmbeddedStore::open(dir.path(), Arc::new(SystemClock)).unwrap());
            let catalog = Catalog::new(store.clone(), Arc::new(SystemClock));
            let incoming = (0..N)
                .map(|i| Incoming {
                    source: format!("p{i}.json"),
                    prompt: item(
                        &format!("p{i}"),
                        &format!(
                            "Review {{{{code}}}} ({i}){{{{#if focus}}}} on {{{{focus}}}}{{{{/if}}}}"
                        ),
                        None,
                    )
                    .prompt,
                })
                .collect();
            let options = Options {
                dry_run: false,
                actor: "timing",
                batch: batched.then_some(store.as_ref() as &dyn BatchWriter),
            };
            let started = std::time::Instant::now();
            import::import(&catalog, incoming, options, &|_| {})
                .await
                .unwrap();
            let took = started.elapsed().as_secs_f64();
            println!(
                "{N} prompts, {}: {took:.2} s ({:.0} µs per prompt)",
                if batched {
                    "batched, 500 per transaction"
                } else {
                    "one Catalog::create each"
                },
                took * 1e6 / N as f64
            );
        }
    }
}
