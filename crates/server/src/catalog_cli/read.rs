//! Reading a catalog folder: every file below it (hidden ones aside), in path
//! order, parsed and validated; files are independent, so a bad one is a
//! reported failure and the rest go on.

use std::path::{Path, PathBuf};

use mcp_prompts_engine::domain::catalog_file::layout;
pub use mcp_prompts_engine::import::ReadCatalog as Catalog;
use mcp_prompts_engine::import::read_files;

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
    read_files(
        files,
        &|(_, path)| std::fs::read(path).map_err(|e| e.to_string()),
        tick,
    )
}

/// `read` for files already fetched (from S3): (path, bytes or why not).
#[cfg(feature = "aws")]
pub fn parse_fetched(files: &[(String, Result<Vec<u8>, String>)]) -> Catalog {
    read_files(files, &|(_, bytes)| bytes.clone(), &|| {})
}
