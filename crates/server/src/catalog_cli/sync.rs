//! `mcp-prompts sync s3://bucket/prefix`: keeps the data folder in step with
//! a catalog in S3, reading only what changed. What the last sync saw (each
//! object's ETag and the prompt ids its file held) is kept in the data folder
//! (`sync/<bucket>/<prefix>.json`); an object whose ETag is unchanged is not
//! read again, a changed one is imported (create, update or unchanged), and
//! the prompts of an object that is gone, or that its file no longer holds,
//! are deleted (their history is kept). Prompts that never came from this
//! prefix are never touched.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{SOME_FAILED, data_dir, open, read, s3_files, s3_location, usage};
use mcp_prompts_aws::catalog_files::S3Location;
use mcp_prompts_engine::catalog::CatalogError;
use mcp_prompts_engine::domain::PromptId;
use mcp_prompts_engine::import::{self, Change, Options};
use mcp_prompts_engine::ports::StoreError;

/// Who syncs are recorded as in the change log.
const ACTOR: &str = "sync";

/// `mcp-prompts sync s3://bucket/prefix`.
#[derive(clap::Args, Debug, Clone)]
pub struct SyncArgs {
    /// The catalog in S3 (the layout of a catalog folder below the prefix).
    pub location: String,
    /// The data folder to keep in step.
    #[arg(long, env = "MCP_PROMPTS_DATA")]
    pub data: Option<PathBuf>,
    /// Endpoint and region.
    #[command(flatten)]
    pub aws: mcp_prompts_aws::lambda::AwsArgs,
}

/// What the last sync of one location saw: path → (ETag, prompt ids).
#[derive(Default, Serialize, Deserialize)]
struct Seen {
    files: BTreeMap<String, SeenFile>,
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct SeenFile {
    etag: String,
    ids: BTreeSet<String>,
}

fn state_path(data: &Path, at: &S3Location) -> PathBuf {
    let prefix = if at.prefix.is_empty() {
        "_root".to_string()
    } else {
        at.prefix.replace('/', "%2F")
    };
    data.join("sync")
        .join(&at.bucket)
        .join(format!("{prefix}.json"))
}

fn load(path: &Path) -> Result<Seen, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a sync state file: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Seen::default()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Written beside and renamed over, so a crash leaves the old state whole.
fn save(path: &Path, seen: &Seen) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(seen)?)?;
    std::fs::rename(tmp, path)
}

#[derive(Default)]
struct Tally {
    read: usize,
    skipped_same: usize,
    created: usize,
    updated: usize,
    unchanged: usize,
    deleted: usize,
    failed: usize,
}

pub async fn sync(args: SyncArgs) -> i32 {
    let started = Instant::now();
    let at = match s3_location(&args.location) {
        Ok(at) => at,
        Err(e) => return usage(&e),
    };
    let data = data_dir(&args.data);
    let state = state_path(&data, &at);
    let mut seen = match load(&state) {
        Ok(seen) => seen,
        Err(e) => return usage(&e),
    };
    let files = s3_files(&args.aws).await;
    let listed = match files.list(&at).await {
        Ok(listed) => listed,
        Err(e) => {
            eprintln!("error: {e}");
            return SOME_FAILED;
        }
    };
    let (_store, catalog) = match open(&data) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("error: opening the data folder {}: {e:#}", data.display());
            return SOME_FAILED;
        }
    };
    let mut tally = Tally::default();
    let present: BTreeSet<String> = listed.iter().map(|l| l.rel.clone()).collect();
    let etags: BTreeMap<String, String> = listed
        .iter()
        .map(|l| (l.rel.clone(), l.etag.clone()))
        .collect();
    let changed: Vec<_> = listed
        .into_iter()
        .filter(|l| {
            seen.files
                .get(&l.rel)
                .is_none_or(|s| s.etag != l.etag || l.etag.is_empty())
        })
        .collect();
    tally.skipped_same = present.len() - changed.len();
    tally.read = changed.len();
    let fetched = files.fetch(&at, changed).await;
    let fetched_paths: Vec<String> = fetched.iter().map(|(rel, _)| rel.clone()).collect();
    let parsed = match tokio::task::spawn_blocking(move || read::parse_fetched(&fetched)).await {
        Ok(parsed) => parsed,
        Err(_) => return SOME_FAILED,
    };
    for (path, why) in &parsed.failed {
        eprintln!("error: {path}: {why}");
        tally.failed += 1;
    }
    let options = Options {
        dry_run: false,
        actor: ACTOR,
        batch: None,
    };
    let outcomes = match import::import(&catalog, parsed.prompts, options, &|_| {}).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            eprintln!("error: importing into {}: {e}", data.display());
            return SOME_FAILED;
        }
    };
    // What each read file holds now (only prompts that went in count: a file
    // that failed keeps its old entry, so nothing is deleted for a typo).
    let mut now_in: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let failed_files: BTreeSet<&str> = parsed.failed.iter().map(|(p, _)| p.as_str()).collect();
    for o in &outcomes {
        match &o.result {
            Ok((change, _)) => {
                match change {
                    Change::Created => tally.created += 1,
                    Change::Updated => tally.updated += 1,
                    Change::Unchanged => tally.unchanged += 1,
                }
                now_in
                    .entry(o.source.clone())
                    .or_default()
                    .insert(o.id.to_string());
            }
            Err(reason) => {
                eprintln!("error: {}: prompt '{}': {reason}", o.source, o.id);
                tally.failed += 1;
            }
        }
    }
    let failed_prompts: BTreeSet<&str> = outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| o.source.as_str())
        .collect();
    let mut gone: BTreeSet<String> = BTreeSet::new();
    for rel in &fetched_paths {
        if failed_files.contains(rel.as_str()) || failed_prompts.contains(rel.as_str()) {
            continue;
        }
        let ids = now_in.remove(rel).unwrap_or_default();
        let before = seen
            .files
            .get(rel)
            .map(|s| s.ids.clone())
            .unwrap_or_default();
        gone.extend(before.difference(&ids).cloned());
        let etag = etags.get(rel).cloned().unwrap_or_default();
        seen.files.insert(rel.clone(), SeenFile { etag, ids });
    }
    let removed: Vec<String> = seen
        .files
        .keys()
        .filter(|rel| !present.contains(*rel))
        .cloned()
        .collect();
    for rel in removed {
        if let Some(file) = seen.files.remove(&rel) {
            gone.extend(file.ids);
        }
    }
    // A prompt that moved to another file is still held by it.
    let held: BTreeSet<&String> = seen.files.values().flat_map(|f| &f.ids).collect();
    for id in gone.iter().filter(|id| !held.contains(id)) {
        let Ok(id) = PromptId::parse(id) else {
            continue;
        };
        match catalog.delete(&id, None, ACTOR).await {
            Ok(_) => tally.deleted += 1,
            Err(CatalogError::Store(StoreError::NotFound(_))) => {}
            Err(e) => {
                eprintln!("error: deleting '{id}': {e}");
                tally.failed += 1;
            }
        }
    }
    if let Err(e) = save(&state, &seen) {
        eprintln!("error: {}: {e}", state.display());
        return SOME_FAILED;
    }
    let Tally {
        read,
        skipped_same,
        created,
        updated,
        unchanged,
        deleted,
        failed,
    } = tally;
    println!(
        "synced {}: {read} files read, {skipped_same} unchanged by ETag; {created} created, {updated} updated, {unchanged} unchanged, {deleted} deleted, {failed} failed in {:.2} s",
        args.location,
        started.elapsed().as_secs_f64()
    );
    if failed > 0 { SOME_FAILED } else { 0 }
}
