//! The webhook's sync worker: one job at a time, each the paths a push touched,
//! read from the catalog source folder as `mcp-prompts import` reads a catalog.
//! A path whose file exists is imported (created, updated or unchanged, never
//! half-written); a path whose file is gone deletes the prompt the layout names
//! after it (`<category>/<id>.<ext>`; its history is kept). Paths that leave
//! the folder (`..`, absolute, through a symlink) or are hidden are skipped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::catalog_cli::read;
use mcp_prompts_engine::Catalog;
use mcp_prompts_engine::catalog::CatalogError;
use mcp_prompts_engine::domain::PromptId;
use mcp_prompts_engine::domain::catalog_file::layout;
use mcp_prompts_engine::import::{self, Change, Options};
use mcp_prompts_engine::ports::StoreError;

/// Who webhook syncs are recorded as in the change log.
const ACTOR: &str = "github";

pub struct SyncJob {
    pub delivery: String,
    pub paths: Vec<String>,
}

pub async fn run(
    catalog: Arc<Catalog>,
    root: PathBuf,
    mut jobs: mpsc::Receiver<SyncJob>,
    shutdown: CancellationToken,
) {
    loop {
        let job = tokio::select! {
            job = jobs.recv() => job,
            _ = shutdown.cancelled() => None,
        };
        let Some(job) = job else { return };
        apply(&catalog, &root, job).await;
    }
}

/// Which of a job's paths are files to import and which are gone.
#[derive(Default)]
struct Plan {
    present: Vec<(String, PathBuf)>,
    gone: Vec<String>,
    refused: Vec<(String, &'static str)>,
}

fn plan(root: &Path, paths: Vec<String>) -> Plan {
    let mut plan = Plan::default();
    let Ok(root) = root.canonicalize() else {
        plan.refused = paths
            .into_iter()
            .map(|p| (p, "the catalog source folder is missing"))
            .collect();
        return plan;
    };
    for rel in paths {
        let unsafe_path = rel.starts_with('/')
            || rel.contains('\\')
            || rel.split('/').any(|part| part == ".." || part.is_empty());
        if unsafe_path {
            plan.refused
                .push((rel, "not a relative path inside the catalog"));
            continue;
        }
        if layout::is_hidden(&rel) {
            plan.refused.push((rel, "hidden"));
            continue;
        }
        let path = root.join(&rel);
        match path.canonicalize() {
            Ok(real) if real.starts_with(&root) && real.is_file() => plan.present.push((rel, real)),
            Ok(_) => plan
                .refused
                .push((rel, "leaves the catalog folder or is not a file")),
            Err(_) => plan.gone.push(rel),
        }
    }
    plan
}

async fn apply(catalog: &Catalog, root: &Path, job: SyncJob) {
    let root = root.to_path_buf();
    let paths = job.paths;
    let Ok((plan, files)) = tokio::task::spawn_blocking(move || {
        let plan = plan(&root, paths);
        let files = read::read(&plan.present, &|| {});
        (plan, files)
    })
    .await
    else {
        tracing::error!(delivery = %job.delivery, "webhook sync: reading the files failed");
        return;
    };
    let refused = plan.refused.iter().map(|(p, r)| (p.as_str(), *r));
    let unreadable = files.failed.iter().map(|(p, r)| (p.as_str(), r.as_str()));
    for (path, why) in refused.chain(unreadable) {
        tracing::warn!(delivery = %job.delivery, %path, reason = %why, "webhook sync: skipped");
    }
    let options = Options {
        dry_run: false,
        actor: ACTOR,
        batch: None,
    };
    let (mut created, mut updated, mut unchanged, mut failed) = (0, 0, 0, 0);
    match import::import(catalog, files.prompts, options, &|_| {}).await {
        Ok(outcomes) => {
            for o in outcomes {
                match o.result {
                    Ok((Change::Created, _)) => created += 1,
                    Ok((Change::Updated, _)) => updated += 1,
                    Ok((Change::Unchanged, _)) => unchanged += 1,
                    Err(reason) => {
                        failed += 1;
                        tracing::warn!(delivery = %job.delivery, path = %o.source, %reason, "webhook sync: not imported");
                    }
                }
            }
        }
        Err(e) => {
            tracing::error!(delivery = %job.delivery, error = %e, "webhook sync: import failed")
        }
    }
    let mut deleted = 0;
    for rel in &plan.gone {
        let Ok(id) = PromptId::parse(layout::stem(rel)) else {
            continue;
        };
        match catalog.delete(&id, None, ACTOR).await {
            Ok(_) => deleted += 1,
            Err(CatalogError::Store(StoreError::NotFound(_))) => {}
            Err(e) => {
                failed += 1;
                tracing::warn!(delivery = %job.delivery, path = %rel, error = %e, "webhook sync: not deleted");
            }
        }
    }
    tracing::info!(delivery = %job.delivery, created, updated, unchanged, deleted, failed,
        skipped = plan.refused.len() + files.failed.len(), "webhook sync done");
}
