//! A [`CatalogPrompt`] → the prompt the hub would store, validated exactly as a
//! create would validate it ([`PromptDraft::into_prompt`]), with one leniency:
//! variables the template uses but the file forgot to declare are declared
//! for it (inferred from the template) and reported as a warning.

use super::CatalogPrompt;
use crate::prompt::{Prompt, PromptDraft, PromptError, PromptPatch};
use crate::template;
use crate::variable::{DeclaredVariable, Variable};

/// A validated catalog prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Version 1, empty timestamps: only its fields count.
    pub prompt: Prompt,
    /// Leniency the import report should mention (undeclared variables).
    pub warnings: Vec<String>,
}

impl CatalogPrompt {
    pub fn resolve(&self) -> Result<Resolved, PromptError> {
        match self.draft(self.variables.clone()).into_prompt(1, "", "") {
            Ok(prompt) => Ok(Resolved {
                prompt,
                warnings: Vec::new(),
            }),
            Err(PromptError::UndeclaredVariable { .. }) => self.with_inferred_variables(),
            Err(e) => Err(e),
        }
    }

    fn with_inferred_variables(&self) -> Result<Resolved, PromptError> {
        let analysis = template::analyze(&self.content)?;
        let mut variables = self.variables.clone();
        let mut missing = Vec::new();
        for (name, unconditional) in &analysis.variables {
            if !variables.iter().any(|d| &d.variable.name == name) {
                missing.push(name.as_str());
                variables.push(DeclaredVariable {
                    variable: Variable {
                        name: name.clone(),
                        description: None,
                        required: *unconditional,
                        choices: Vec::new(),
                    },
                    required_explicit: true,
                });
            }
        }
        let prompt = self.draft(variables).into_prompt(1, "", "")?;
        Ok(Resolved {
            prompt,
            warnings: vec![format!(
                "template uses undeclared variable{} {}: imported with {} inferred from the template",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" },
            )],
        })
    }

    fn draft(&self, variables: Vec<DeclaredVariable>) -> PromptDraft {
        PromptDraft {
            id: Some(self.id.to_string()),
            name: self.name.clone(),
            description: Some(self.description.clone()),
            content: self.content.clone(),
            is_template: self.is_template,
            variables: Some(variables),
            tags: Some(self.tags.clone()),
            category: self.category.clone(),
            metadata: Some(self.metadata.clone()),
        }
    }
}

/// Whether two prompts have the same catalog fields (versions and timestamps
/// aside): what decides that an import leaves a prompt unchanged.
pub fn same_fields(a: &Prompt, b: &Prompt) -> bool {
    a.id == b.id
        && a.name == b.name
        && a.description == b.description
        && a.content == b.content
        && a.is_template == b.is_template
        && a.variables == b.variables
        && a.tags == b.tags
        && a.category == b.category
        && a.metadata == b.metadata
}

/// Every field of `p`, explicitly: a create that stores exactly `p`'s fields.
pub fn draft_of(p: &Prompt) -> PromptDraft {
    PromptDraft {
        id: Some(p.id.to_string()),
        name: p.name.clone(),
        description: Some(p.description.clone()),
        content: p.content.clone(),
        is_template: Some(p.is_template),
        variables: Some(explicit(&p.variables)),
        tags: Some(p.tags.clone()),
        category: p.category.clone(),
        metadata: Some(p.metadata.clone()),
    }
}

/// Every field of `p` as a patch: an update that leaves exactly `p`'s fields.
/// A missing category is patched as `""`, which the hub stores as none
/// (`PromptPatch` has no other way to clear a field).
pub fn patch_of(p: &Prompt) -> PromptPatch {
    PromptPatch {
        name: Some(p.name.clone()),
        description: Some(p.description.clone()),
        content: Some(p.content.clone()),
        is_template: Some(p.is_template),
        variables: Some(explicit(&p.variables)),
        tags: Some(p.tags.clone()),
        category: Some(p.category.clone().unwrap_or_default()),
        metadata: Some(p.metadata.clone()),
    }
}

fn explicit(variables: &[Variable]) -> Vec<DeclaredVariable> {
    variables
        .iter()
        .map(|v| DeclaredVariable {
            variable: v.clone(),
            required_explicit: true,
        })
        .collect()
}
