//! Many catalog files → one catalog: each file read with [`read_file`] on a
//! few threads (parsing and template analysis are most of an unchanged
//! re-import's time), then one prompt kept per id. Files are independent, so a
//! bad one is a reported failure and the rest go on. The CLI's folder and S3
//! readers and the bulk import jobs all go through this.

use crate::domain::catalog_file::duplicates::Sourced;
use crate::domain::catalog_file::{Duplicate, merge_duplicates};

use super::{Incoming, read_file};

/// Everything read from a catalog, before it meets the hub.
#[derive(Debug, Default)]
pub struct ReadCatalog {
    pub prompts: Vec<Incoming>,
    /// (path, why it is not a prompt)
    pub skipped: Vec<(String, String)>,
    /// (path, reason)
    pub failed: Vec<(String, String)>,
    /// (path, what leniency did)
    pub warnings: Vec<(String, String)>,
}

/// A file's catalog-relative path and a way to get its bytes.
pub type Loader<T> = dyn Fn(&(String, T)) -> Result<Vec<u8>, String> + Sync;

/// Reads `files` (a catalog-relative path each, and what `load` makes of it),
/// calling `tick` after each; the result keeps the files' order.
pub fn read_files<T: Sync>(
    files: &[(String, T)],
    load: &Loader<T>,
    tick: &(dyn Fn() + Sync),
) -> ReadCatalog {
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
    let mut catalog = ReadCatalog::default();
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
    catalog: ReadCatalog,
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
fn settle_duplicates(catalog: &mut ReadCatalog, from_folder: &[bool]) {
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
