//! Reading a catalog folder: every file below it (hidden ones aside), in path
//! order, parsed and validated; files are independent, so a bad one is a
//! reported failure and the rest go on.

use std::path::{Path, PathBuf};

use mcp_prompts_engine::domain::catalog_file::duplicates::Sourced;
use mcp_prompts_engine::domain::catalog_file::{Duplicate, layout, merge_duplicates};
use mcp_prompts_engine::import::{Incoming, read_file};

/// Everything read from a catalog, before it meets the hub.
#[derive(Default)]
pub struct Catalog {
    pub prompts: Vec<Incoming>,
    /// (path, why it is not a prompt)
    pub skipped: Vec<(String, String)>,
    /// (path, reason)
    pub failed: Vec<(String, String)>,
    /// (path, what leniency did)
    pub warnings: Vec<(String, String)>,
}

/// The files of the catalog at `root` (a folder, or one file), as paths
/// relative to it with `/` separators, sorted.
pub fn list_files(root: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    if root.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(vec![(name, root.to_path_buf())]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![(String::new(), root.to_path_buf())];
    while let Some((prefix, dir)) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if layout::is_hidden(&rel) {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push((rel, entry.path()));
            } else if kind.is_symlink() && entry.path().is_dir() {
                // Not followed: a link can lead back up and never end.
                continue;
            } else {
                out.push((rel, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads and parses `files`, calling `tick` after each. Files are parsed on
/// a few threads (parsing and template analysis are most of an unchanged
/// re-import's time); the result keeps the files' order.
pub fn read(files: &[(String, PathBuf)], tick: &(dyn Fn() + Sync)) -> Catalog {
    parse_all(
        files,
        &|(_, path)| std::fs::read(path).map_err(|e| e.to_string()),
        tick,
    )
}

/// `read` for files already fetched (from S3): (path, bytes or why not).
#[cfg(feature = "aws")]
pub fn parse_fetched(files: &[(String, Result<Vec<u8>, String>)]) -> Catalog {
    parse_all(files, &|(_, bytes)| bytes.clone(), &|| {})
}

/// A file's catalog-relative path and a way to get its bytes.
type Loader<T> = dyn Fn(&(String, T)) -> Result<Vec<u8>, String> + Sync;

fn parse_all<T: Sync>(
    files: &[(String, T)],
    load: &Loader<T>,
    tick: &(dyn Fn() + Sync),
) -> Catalog {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let chunk = files.len().div_ceil(threads).max(64);
    let parts: Vec<Part> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|files| scope.spawn(move || read_part(files, load, tick)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a reader thread panicked"))
            .collect()
    });
    let mut catalog = Catalog::default();
    let mut from_folder = Vec::new();
    for part in parts {
        catalog.prompts.extend(part.catalog.prompts);
        catalog.skipped.extend(part.catalog.skipped);
        catalog.failed.extend(part.catalog.failed);
        catalog.warnings.extend(part.catalog.warnings);
        from_folder.extend(part.from_folder);
    }
    settle_duplicates(&mut catalog, &from_folder);
    catalog
}

/// What some of the files hold; `from_folder[i]`: whether `prompts[i]` took
/// its category from its folder.
#[derive(Default)]
struct Part {
    catalog: Catalog,
    from_folder: Vec<bool>,
}

fn read_part<T>(files: &[(String, T)], load: &Loader<T>, tick: &(dyn Fn() + Sync)) -> Part {
    let mut part = Part::default();
    for file in files {
        tick();
        let rel = &file.0;
        let catalog = &mut part.catalog;
        let text = match load(file).map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(_)) => {
                catalog.failed.push((rel.clone(), "not UTF-8 text".into()));
                continue;
            }
            Err(e) => {
                catalog.failed.push((rel.clone(), e));
                continue;
            }
        };
        let read = read_file(rel, &text);
        let at = |why: String| (rel.clone(), why);
        catalog.failed.extend(read.failed.into_iter().map(at));
        catalog.warnings.extend(read.warnings.into_iter().map(at));
        catalog.skipped.extend(read.not_a_prompt.map(at));
        for (incoming, from_folder) in read.prompts {
            part.from_folder.push(from_folder);
            catalog.prompts.push(incoming);
        }
    }
    part
}

/// Keeps one prompt per id (see `catalog_file::duplicates` for the rule).
fn settle_duplicates(catalog: &mut Catalog, from_folder: &[bool]) {
    let sourced: Vec<Sourced<'_>> = catalog
        .prompts
        .iter()
        .zip(from_folder)
        .map(|(i, &f)| Sourced {
            path: &i.source,
            prompt: &i.prompt,
            category_from_folder: f,
        })
        .collect();
    let verdicts = merge_duplicates(&sourced);
    let mut kept = Vec::with_capacity(catalog.prompts.len());
    for (incoming, verdict) in std::mem::take(&mut catalog.prompts)
        .into_iter()
        .zip(verdicts)
    {
        match verdict {
            Duplicate::Kept => kept.push(incoming),
            Duplicate::SameAs { of } => catalog.skipped.push((
                incoming.source,
                format!("the same prompt '{}' as {of}", incoming.prompt.id),
            )),
            Duplicate::Conflict { with } => catalog.failed.push((
                incoming.source,
                format!(
                    "prompt '{}' conflicts with the different prompt of the same id in {}: neither is imported",
                    incoming.prompt.id,
                    with.join(", ")
                ),
            )),
        }
    }
    catalog.prompts = kept;
}
