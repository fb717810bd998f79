//! The prompt: a versioned, validated catalog entry.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::prompt_id::{PromptId, PromptIdError};
use super::template::{self, TemplateAnalysis, TemplateError};
use super::variable::{DeclaredVariable, Variable};

/// One version of a prompt, with the field names of the TypeScript mcp-prompts
/// server and the public catalog files, so their users can move over unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Prompt {
    pub id: PromptId,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub content: String,
    #[serde(default)]
    pub is_template: bool,
    #[serde(default)]
    pub variables: Vec<Variable>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// RFC 3339, when version 1 was written.
    pub created_at: String,
    /// RFC 3339, when this version was written.
    pub updated_at: String,
    /// 1, 2, ...: the `ETag` of the REST API.
    #[schema(minimum = 1)]
    pub version: u64,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// The fields a writer supplies; everything else (version, timestamps) the hub owns.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromptDraft {
    /// Derived from `name` when absent ("Code Review" → `code-review`).
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub content: String,
    #[serde(default)]
    pub is_template: Option<bool>,
    #[serde(default)]
    pub variables: Option<Vec<DeclaredVariable>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

/// A partial update: absent fields keep their current value.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromptPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub content: Option<String>,
    pub is_template: Option<bool>,
    pub variables: Option<Vec<DeclaredVariable>>,
    pub tags: Option<Vec<String>>,
    pub category: Option<String>,
    pub metadata: Option<Map<String, Value>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PromptError {
    #[error(transparent)]
    Id(#[from] PromptIdError),
    #[error("prompt name must not be empty")]
    EmptyName,
    #[error("{0}")]
    Template(#[from] TemplateError),
    #[error("template uses undeclared variable '{name}' (declared: {declared})")]
    UndeclaredVariable { name: String, declared: String },
    #[error("variable '{0}' is declared twice")]
    DuplicateVariable(String),
    #[error("variable name '{0}' is not a valid identifier")]
    InvalidVariableName(String),
    #[error("template includes partial '{0}', which is not a valid prompt id")]
    InvalidPartial(String),
}

impl PromptDraft {
    /// The id the draft will be saved under (given, or derived from the name).
    pub fn id(&self) -> Result<PromptId, PromptError> {
        Ok(match &self.id {
            Some(raw) => PromptId::parse(raw)?,
            None => PromptId::from_name(&self.name)?,
        })
    }

    /// Validates the draft into version `version` of a prompt.
    pub fn into_prompt(
        self,
        version: u64,
        created_at: &str,
        now: &str,
    ) -> Result<Prompt, PromptError> {
        self.into_prompt_with_facts(version, created_at, now)
            .map(|(p, _)| p)
    }

    /// [`Self::into_prompt`], also returning what the template analysis found,
    /// from the same single parse (parsing is the expensive part of a save).
    pub fn into_prompt_with_facts(
        self,
        version: u64,
        created_at: &str,
        now: &str,
    ) -> Result<(Prompt, TemplateFacts), PromptError> {
        let id = self.id()?;
        let name = self.name.trim().to_string();
        if name.is_empty() {
            return Err(PromptError::EmptyName);
        }
        let is_template = self
            .is_template
            .unwrap_or_else(|| self.content.contains("{{"));
        let declared = self.variables.unwrap_or_default();
        check_declarations(&declared)?;
        let analysis = if is_template {
            let analysis = template::analyze(&self.content)?;
            check_partials(&analysis)?;
            Some(analysis)
        } else {
            template::analyze(&self.content).ok()
        };
        let variables = match (is_template, &analysis) {
            (true, Some(a)) => resolve_variables(a, declared)?,
            _ => declared.into_iter().map(|d| d.variable).collect(),
        };
        let prompt = Prompt {
            id,
            name,
            description: self.description.unwrap_or_default(),
            content: self.content,
            is_template,
            variables,
            tags: normalize_tags(self.tags.unwrap_or_default()),
            category: self.category.filter(|c| !c.trim().is_empty()),
            created_at: created_at.to_string(),
            updated_at: now.to_string(),
            version,
            metadata: self.metadata.unwrap_or_default(),
        };
        let facts = prompt.facts_from(analysis.as_ref());
        Ok((prompt, facts))
    }
}

impl Prompt {
    /// Applies a patch on top of this version, producing the draft of the next one.
    pub fn patched(&self, patch: PromptPatch) -> PromptDraft {
        let keep_vars = patch.variables.is_none();
        PromptDraft {
            id: Some(self.id.to_string()),
            name: patch.name.unwrap_or_else(|| self.name.clone()),
            description: Some(
                patch
                    .description
                    .unwrap_or_else(|| self.description.clone()),
            ),
            content: patch.content.unwrap_or_else(|| self.content.clone()),
            // A prompt that was literal only because it had no braces is
            // re-inferred from new content; an explicit literal stays literal.
            is_template: patch.is_template.or_else(|| {
                let inferred_literal = !self.is_template && !self.content.contains("{{");
                (!inferred_literal).then_some(self.is_template)
            }),
            variables: if keep_vars {
                Some(
                    self.variables
                        .iter()
                        .map(|v| DeclaredVariable {
                            variable: v.clone(),
                            required_explicit: true,
                        })
                        .collect(),
                )
            } else {
                patch.variables
            },
            tags: Some(patch.tags.unwrap_or_else(|| self.tags.clone())),
            category: patch.category.or_else(|| self.category.clone()),
            metadata: Some(patch.metadata.unwrap_or_else(|| self.metadata.clone())),
        }
    }

    /// What the catalog derives from the template, from one parse: the partials
    /// it includes (none for literal prompts), the declared variables it never
    /// reads (usually a typo), and its size figures.
    pub fn template_facts(&self) -> TemplateFacts {
        self.facts_from(template::analyze(&self.content).ok().as_ref())
    }

    fn facts_from(&self, analysis: Option<&TemplateAnalysis>) -> TemplateFacts {
        let literal = TemplateFacts {
            literal_bytes: self.content.len() as u64,
            ..TemplateFacts::default()
        };
        let Some(analysis) = analysis else {
            return literal;
        };
        let unused_variables = self
            .variables
            .iter()
            .filter(|v| !analysis.variables.contains_key(&v.name))
            .map(|v| v.name.clone())
            .collect();
        if !self.is_template {
            return TemplateFacts {
                unused_variables,
                ..literal
            };
        }
        let partial_uses: Vec<(PromptId, u64)> = analysis
            .partial_uses
            .iter()
            .filter_map(|(p, n)| PromptId::parse(p).ok().map(|id| (id, *n)))
            .collect();
        TemplateFacts {
            partials: partial_uses.iter().map(|(id, _)| id.clone()).collect(),
            partial_uses,
            unused_variables,
            literal_bytes: analysis.literal_bytes,
            value_uses: analysis.value_uses,
        }
    }
}

/// See [`Prompt::template_facts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateFacts {
    pub partials: Vec<PromptId>,
    pub unused_variables: Vec<String>,
    /// Each included partial and how often it is included.
    pub partial_uses: Vec<(PromptId, u64)>,
    /// Literal bytes written (a literal prompt: its whole content).
    pub literal_bytes: u64,
    /// Values written (`{{x}}`, helper results).
    pub value_uses: u64,
}

/// Checks declared variables against what the template reads. An explicit list must
/// cover every variable the template reads; no list means "infer from the template",
/// with variables read only under `#if` optional.
fn resolve_variables(
    analysis: &TemplateAnalysis,
    declared: Vec<DeclaredVariable>,
) -> Result<Vec<Variable>, PromptError> {
    if declared.is_empty() {
        return Ok(analysis
            .variables
            .iter()
            .map(|(name, unconditional)| Variable {
                name: name.clone(),
                description: None,
                required: *unconditional,
                choices: Vec::new(),
            })
            .collect());
    }
    if let Some(name) = analysis
        .variables
        .keys()
        .find(|used| !declared.iter().any(|d| &d.variable.name == *used))
    {
        return Err(PromptError::UndeclaredVariable {
            name: name.clone(),
            declared: declared
                .iter()
                .map(|d| d.variable.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(declared
        .into_iter()
        .map(|d| {
            let mut v = d.variable;
            if !d.required_explicit {
                v.required = analysis.is_unconditional(&v.name);
            }
            v
        })
        .collect())
}

fn check_declarations(declared: &[DeclaredVariable]) -> Result<(), PromptError> {
    for (i, d) in declared.iter().enumerate() {
        let name = &d.variable.name;
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            && !name.starts_with(|c: char| c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(PromptError::InvalidVariableName(name.clone()));
        }
        if declared[..i].iter().any(|o| &o.variable.name == name) {
            return Err(PromptError::DuplicateVariable(name.clone()));
        }
    }
    Ok(())
}

fn check_partials(analysis: &TemplateAnalysis) -> Result<(), PromptError> {
    match analysis
        .partials
        .iter()
        .find(|p| PromptId::parse(p).is_err())
    {
        Some(bad) => Err(PromptError::InvalidPartial(bad.clone())),
        None => Ok(()),
    }
}

fn normalize_tags(tags: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        let t = t.trim().to_string();
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(content: &str, variables: Value) -> PromptDraft {
        serde_json::from_value(serde_json::json!({
            "name": "Greeting", "content": content, "variables": variables
        }))
        .unwrap()
    }

    #[test]
    fn bare_names_take_required_from_the_template() {
        let p = draft(
            "Hi {{who}}{{#if punct}}{{punct}}{{/if}}",
            serde_json::json!(["who", "punct"]),
        )
        .into_prompt(1, "t0", "t0")
        .unwrap();
        assert_eq!(p.id.as_str(), "greeting");
        assert!(p.variables[0].required);
        assert!(!p.variables[1].required);
    }

    #[test]
    fn undeclared_variable_is_refused_at_save_time() {
        let err = draft("Hi {{who}} {{typo}}", serde_json::json!(["who"]))
            .into_prompt(1, "t0", "t0")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "template uses undeclared variable 'typo' (declared: who)"
        );
    }

    #[test]
    fn missing_declaration_list_is_inferred() {
        let p = draft("{{a}} {{#if b}}{{b}}{{/if}}", Value::Null)
            .into_prompt(1, "t", "t")
            .unwrap();
        let names: Vec<_> = p
            .variables
            .iter()
            .map(|v| (v.name.as_str(), v.required))
            .collect();
        assert_eq!(names, vec![("a", true), ("b", false)]);
    }

    #[test]
    fn literal_prompts_skip_template_checks() {
        let mut d = draft("Use {{ braces }} literally", Value::Null);
        d.is_template = Some(false);
        assert!(d.into_prompt(1, "t", "t").unwrap().variables.is_empty());
    }

    #[test]
    fn patch_keeps_unspecified_fields() {
        let p = draft(
            "Hi {{who}}",
            serde_json::json!([{"name": "who", "description": "d"}]),
        )
        .into_prompt(1, "t0", "t0")
        .unwrap();
        let next = p
            .patched(PromptPatch {
                description: Some("new".into()),
                ..Default::default()
            })
            .into_prompt(2, &p.created_at, "t1")
            .unwrap();
        assert_eq!(next.content, p.content);
        assert_eq!(next.variables, p.variables);
        assert_eq!(next.description, "new");
        assert_eq!(next.version, 2);
    }

    #[test]
    fn unused_declared_variables_are_reported() {
        let p = draft("Hi {{who}}", serde_json::json!(["who", "whom"]))
            .into_prompt(1, "t", "t")
            .unwrap();
        assert_eq!(
            p.template_facts().unused_variables,
            vec!["whom".to_string()]
        );
    }
}
