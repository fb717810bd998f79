//! One catalog file's text → the prompts it holds, validated, with what
//! leniency did and what failed; every reader of catalog files (a folder, an
//! S3 prefix, an S3 notification) goes through this.

use super::Incoming;
use crate::domain::catalog_file::{FileContent, parse_file};

/// What one file holds.
#[derive(Debug, Default)]
pub struct ReadFile {
    /// Valid prompts, each with whether its category came from its folder.
    pub prompts: Vec<(Incoming, bool)>,
    /// Why the file is not a prompt file (an index, a README, ...).
    pub not_a_prompt: Option<String>,
    /// Why the file, or a prompt in it, cannot be imported.
    pub failed: Vec<String>,
    /// What leniency did (inferred variables, renamed fields, ...).
    pub warnings: Vec<String>,
}

/// Parses and validates the catalog file at `rel` (its path decides the
/// format and the folder category).
pub fn read_file(rel: &str, text: &str) -> ReadFile {
    let mut out = ReadFile::default();
    match parse_file(rel, text) {
        Err(e) => out.failed.push(e.to_string()),
        Ok(FileContent::NotAPrompt(why)) => out.not_a_prompt = Some(why),
        Ok(FileContent::Prompts(prompts)) => {
            for p in prompts {
                out.warnings.extend(p.notes.iter().cloned());
                match p.resolve() {
                    Ok(r) => {
                        out.warnings.extend(r.warnings);
                        let incoming = Incoming {
                            source: rel.to_string(),
                            prompt: r.prompt,
                        };
                        out.prompts.push((incoming, p.category_from_folder));
                    }
                    Err(e) => out.failed.push(format!("prompt '{}': {e}", p.id)),
                }
            }
        }
    }
    out
}
