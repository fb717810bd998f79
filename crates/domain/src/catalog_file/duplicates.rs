//! The same id in two files (a copy at the top level and one in a category
//! folder, say). The rule:
//!
//! - the same fields: one prompt, the later file is skipped as a duplicate;
//! - the same fields except that one copy has no category and the other takes
//!   one from its folder: one prompt, with the folder's category;
//! - anything else: a conflict, and **neither** is imported: which copy is
//!   right cannot be told from the files, and taking the first one found would
//!   make the result depend on the order folders are read. Each file is
//!   reported as failed, naming the other.

use std::collections::HashMap;

use super::resolve::same_fields;
use crate::prompt::Prompt;
use crate::prompt_id::PromptId;

/// What happened to a prompt whose id another file also has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Duplicate {
    /// Kept as the prompt of its id.
    Kept,
    /// The same prompt as the one in `of`: skipped.
    SameAs { of: String },
    /// Differs from the prompt of the same id in `with`: not imported.
    Conflict { with: Vec<String> },
}

/// A prompt and the file it came from, in the order files were read.
pub struct Sourced<'a> {
    pub path: &'a str,
    pub prompt: &'a Prompt,
    /// Its category came from its folder, not from the file.
    pub category_from_folder: bool,
}

/// Decides, for each prompt in `found` (same order), whether it is kept.
pub fn merge_duplicates(found: &[Sourced<'_>]) -> Vec<Duplicate> {
    let mut by_id: HashMap<&PromptId, Vec<usize>> = HashMap::new();
    for (i, s) in found.iter().enumerate() {
        by_id.entry(&s.prompt.id).or_default().push(i);
    }
    let mut out = vec![Duplicate::Kept; found.len()];
    for group in by_id.values().filter(|g| g.len() > 1) {
        let keeper = group
            .iter()
            .copied()
            .find(|&i| found[i].prompt.category.is_some())
            .unwrap_or(group[0]);
        let all_same = group
            .iter()
            .all(|&i| equivalent(&found[keeper], found[i].prompt));
        for &i in group {
            out[i] = if !all_same {
                Duplicate::Conflict {
                    with: group
                        .iter()
                        .filter(|&&j| j != i)
                        .map(|&j| found[j].path.to_string())
                        .collect(),
                }
            } else if i == keeper {
                Duplicate::Kept
            } else {
                Duplicate::SameAs {
                    of: found[keeper].path.to_string(),
                }
            };
        }
    }
    out
}

/// The same prompt, allowing a missing category where the kept copy's category
/// is only its folder's.
fn equivalent(keeper: &Sourced<'_>, other: &Prompt) -> bool {
    if same_fields(keeper.prompt, other) {
        return true;
    }
    keeper.category_from_folder
        && other.category.is_none()
        && same_fields(
            keeper.prompt,
            &Prompt {
                category: keeper.prompt.category.clone(),
                ..other.clone()
            },
        )
}
