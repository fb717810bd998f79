//! Where prompts sit in a catalog folder: a folder per category (nested
//! folders are a category with `/` in it), one file per prompt named by its id,
//! uncategorized prompts at the top level.

use super::format::Format;
use crate::prompt::Prompt;

/// The category a file's folder gives it: its folder path below the catalog
/// root (`development/code-review.json` → `development`), `None` at the top.
pub fn folder_category(rel_path: &str) -> Option<String> {
    rel_path
        .rsplit_once('/')
        .map(|(dir, _)| dir.trim_matches('/').to_string())
        .filter(|d| !d.is_empty())
}

/// The file name without folder and extension.
pub fn stem(rel_path: &str) -> &str {
    let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    }
}

/// Files and folders whose name starts with `.` (`.git`, `.DS_Store`) are not
/// part of the catalog at all, not even as skipped files.
pub fn is_hidden(rel_path: &str) -> bool {
    rel_path.split('/').any(|part| part.starts_with('.'))
}

/// A README (any extension): documentation, never a prompt.
pub fn is_readme(rel_path: &str) -> bool {
    stem(rel_path).eq_ignore_ascii_case("readme")
}

/// A category folder's `index.json` (a list of its files, or `{}`).
pub fn is_index(rel_path: &str) -> bool {
    let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    name.eq_ignore_ascii_case("index.json")
}

/// The folder a category is exported to, when the category is a safe relative
/// path: segments that are not empty, `.` or `..`, without `\`, `:`, control
/// characters or characters that Windows refuses. Otherwise `None`: the prompt
/// goes to the top level (its file still names the category).
pub fn category_dir(category: &str) -> Option<String> {
    let safe = |seg: &str| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && !seg.starts_with('.')
            && seg.len() <= 100
            && !seg.ends_with([' ', '.'])
            && !seg
                .chars()
                .any(|c| c.is_control() || "\\:*?\"<>|".contains(c))
    };
    (category.len() <= 255 && category.split('/').all(safe)).then(|| category.to_string())
}

/// Where `export` writes `prompt`: `<category>/<id>.<ext>`, or `<id>.<ext>` when
/// it has no category or one that is not a safe folder name.
pub fn export_path(prompt: &Prompt, format: Format) -> String {
    let file = format!("{}.{}", prompt.id, format.extension());
    match prompt.category.as_deref().and_then(category_dir) {
        Some(dir) => format!("{dir}/{file}"),
        None => file,
    }
}
