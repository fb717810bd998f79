//! Template analysis: which variables a handlebars template reads, which of them it
//! reads unconditionally, and which partials it includes. Done at save time so an
//! undeclared variable is refused when the prompt is written, not rendered as an
//! empty string later.

use std::collections::{BTreeMap, BTreeSet};

use handlebars::PathSeg;
use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};

/// Helpers a template may call. Built-ins of handlebars plus our safe set
/// (registered by the renderer); anything else is refused at save time.
pub const KNOWN_HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "eq", "ne", "and", "or", "not", "join", "upper",
    "lower", "json", "default",
];

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("template syntax error{at}: {reason}")]
    Syntax { at: String, reason: String },
    #[error("template calls unknown helper '{0}' (known: {known})", known = KNOWN_HELPERS.join(", "))]
    UnknownHelper(String),
    #[error("template uses decorators ('{0}'), which are not supported")]
    Decorator(String),
}

/// What a template reads, and how much text it writes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TemplateAnalysis {
    /// Top-level variables read, with `true` when read outside any `#if`/`#unless`.
    pub variables: BTreeMap<String, bool>,
    /// Names of partials included with `{{> name}}`.
    pub partials: BTreeSet<String>,
    /// How often each partial is included (each `{{> name}}` counts once, wherever
    /// it stands): what the output-size estimate multiplies by.
    pub partial_uses: BTreeMap<String, u64>,
    /// Bytes of literal text.
    pub literal_bytes: u64,
    /// `{{expression}}`s that write a value (a variable or a helper's result).
    pub value_uses: u64,
}

impl TemplateAnalysis {
    pub fn is_unconditional(&self, name: &str) -> bool {
        self.variables.get(name).copied().unwrap_or(false)
    }
}

/// An upper-bound-ish estimate of a template's rendered size, so a save can be
/// refused before one render grows to gigabytes: literal bytes, plus
/// `value_allowance` per value written, plus, for every inclusion, one byte and
/// the included prompt's own estimate (`partial_estimate`), multiplied by how
/// often it is included. Saturates instead of overflowing. An `#each` body is
/// counted once: the render-time budget bounds what iteration adds.
pub fn expansion_estimate(
    literal_bytes: u64,
    value_uses: u64,
    partial_uses: impl IntoIterator<Item = (u64, u64)>,
    value_allowance: u64,
) -> u64 {
    partial_uses.into_iter().fold(
        literal_bytes.saturating_add(value_uses.saturating_mul(value_allowance)),
        |sum, (count, estimate)| {
            sum.saturating_add(count.saturating_mul(estimate.saturating_add(1)))
        },
    )
}

/// Parses `source` as handlebars and reports the variables and partials it uses.
/// Pure: callers that analyze one text often keep the answer (the catalog keeps
/// one per prompt version).
pub fn analyze(source: &str) -> Result<TemplateAnalysis, TemplateError> {
    let template = compile(source)?;
    let mut walker = Walker::default();
    walker.template(
        &template,
        Scope {
            depth: 0,
            conditional: false,
        },
    )?;
    Ok(walker.analysis)
}

/// Compiles a template, turning handlebars' multi-line error into one precise line.
pub fn compile(source: &str) -> Result<Template, TemplateError> {
    Template::compile(source).map_err(|e| TemplateError::Syntax {
        at: e
            .pos()
            .map(|(l, c)| format!(" at line {l}, column {c}"))
            .unwrap_or_default(),
        reason: e.reason().to_string(),
    })
}

#[derive(Clone, Copy)]
struct Scope {
    /// 0 at the root context; each `#each`/`#with` adds one.
    depth: usize,
    /// Inside an `#if`/`#unless` (or their `else`).
    conditional: bool,
}

#[derive(Default)]
struct Walker {
    analysis: TemplateAnalysis,
}

impl Walker {
    fn template(&mut self, t: &Template, scope: Scope) -> Result<(), TemplateError> {
        t.elements.iter().try_for_each(|e| self.element(e, scope))
    }

    fn element(&mut self, e: &TemplateElement, scope: Scope) -> Result<(), TemplateError> {
        match e {
            TemplateElement::RawString(s) => {
                self.analysis.literal_bytes += s.len() as u64;
                Ok(())
            }
            TemplateElement::Comment(_) => Ok(()),
            TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                self.analysis.value_uses += 1;
                self.expression(h, scope)
            }
            TemplateElement::HelperBlock(h) => self.block(h, scope),
            TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                let name = match &d.name {
                    Parameter::Name(n) => n.clone(),
                    Parameter::Path(p) => p_raw(p),
                    other => format!("{other:?}"),
                };
                *self.analysis.partial_uses.entry(name.clone()).or_insert(0) += 1;
                self.analysis.partials.insert(name);
                for p in d.params.iter().chain(d.hash.values()) {
                    self.parameter(p, scope)?;
                }
                if let Some(t) = &d.template {
                    self.template(t, scope)?;
                }
                Ok(())
            }
            TemplateElement::DecoratorExpression(d) | TemplateElement::DecoratorBlock(d) => {
                Err(TemplateError::Decorator(format!("{:?}", d.name)))
            }
            other => Err(TemplateError::Syntax {
                at: String::new(),
                reason: format!("unsupported construct {other:?}"),
            }),
        }
    }

    /// `{{name}}`, `{{helper arg}}`, `{{path.to.x}}`.
    fn expression(&mut self, h: &HelperTemplate, scope: Scope) -> Result<(), TemplateError> {
        let is_call = !h.params.is_empty() || !h.hash.is_empty();
        match &h.name {
            Parameter::Name(n) if KNOWN_HELPERS.contains(&n.as_str()) => {}
            Parameter::Name(n) if is_call => return Err(TemplateError::UnknownHelper(n.clone())),
            Parameter::Name(n) => self.variable_name(n, scope),
            other => self.parameter(other, scope)?,
        }
        self.arguments(h, scope)
    }

    fn block(&mut self, h: &HelperTemplate, scope: Scope) -> Result<(), TemplateError> {
        let name = match &h.name {
            Parameter::Name(n) => n.as_str(),
            other => return Err(TemplateError::UnknownHelper(format!("{other:?}"))),
        };
        if !KNOWN_HELPERS.contains(&name) {
            return Err(TemplateError::UnknownHelper(name.to_string()));
        }
        let (args_scope, body_scope) = match name {
            // The condition itself may be absent: that is what makes a variable optional.
            "if" | "unless" => {
                let s = Scope {
                    conditional: true,
                    ..scope
                };
                (s, s)
            }
            "each" | "with" => (
                scope,
                Scope {
                    depth: scope.depth + 1,
                    ..scope
                },
            ),
            _ => (scope, scope),
        };
        self.arguments(h, args_scope)?;
        if let Some(t) = &h.template {
            self.template(t, body_scope)?;
        }
        if let Some(t) = &h.inverse {
            // `{{else}}` of `#each`/`#with` runs in the outer context.
            let inverse_scope = Scope {
                depth: scope.depth,
                ..body_scope
            };
            self.template(t, inverse_scope)?;
        }
        Ok(())
    }

    fn arguments(&mut self, h: &HelperTemplate, scope: Scope) -> Result<(), TemplateError> {
        h.params
            .iter()
            .chain(h.hash.values())
            .try_for_each(|p| self.parameter(p, scope))
    }

    fn parameter(&mut self, p: &Parameter, scope: Scope) -> Result<(), TemplateError> {
        match p {
            Parameter::Name(n) => {
                self.variable_name(n, scope);
                Ok(())
            }
            Parameter::Path(path) => {
                self.path(path, scope);
                Ok(())
            }
            Parameter::Literal(_) => Ok(()),
            Parameter::Subexpression(sub) => match sub.element.as_ref() {
                TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                    match &h.name {
                        Parameter::Name(n) if KNOWN_HELPERS.contains(&n.as_str()) => {}
                        Parameter::Name(n) => return Err(TemplateError::UnknownHelper(n.clone())),
                        other => self.parameter(other, scope)?,
                    }
                    self.arguments(h, scope)
                }
                other => self.element(other, scope),
            },
            _ => Ok(()),
        }
    }

    fn variable_name(&mut self, name: &str, scope: Scope) {
        if scope.depth == 0 && name != "this" && !name.starts_with('@') {
            self.record(name, scope);
        }
    }

    fn path(&mut self, path: &handlebars::Path, scope: Scope) {
        let handlebars::Path::Relative((segs, raw)) = path else {
            return; // @index, @key, ...: block-local data, not arguments.
        };
        let first_named = segs.iter().find_map(|s| match s {
            PathSeg::Named(n) => Some(n.as_str()),
            _ => None,
        });
        let Some(name) = first_named else { return };
        let ups = raw.matches("../").count();
        let at_root = raw.starts_with("@root") || ups >= scope.depth;
        if at_root {
            self.record(name, scope);
        }
    }

    /// Looks the name up before allocating it: a variable used thousands of
    /// times is one key, not thousands of copies.
    fn record(&mut self, name: &str, scope: Scope) {
        match self.analysis.variables.get_mut(name) {
            Some(unconditional) => *unconditional |= !scope.conditional,
            None => {
                self.analysis
                    .variables
                    .insert(name.to_string(), !scope.conditional);
            }
        }
    }
}

fn p_raw(p: &handlebars::Path) -> String {
    match p {
        handlebars::Path::Relative((_, raw)) | handlebars::Path::Local((_, _, raw)) => raw.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(src: &str) -> Vec<(String, bool)> {
        analyze(src).unwrap().variables.into_iter().collect()
    }

    #[test]
    fn plain_variables_are_unconditional() {
        assert_eq!(
            vars("Review {{code}} in {{{language}}}"),
            vec![("code".into(), true), ("language".into(), true)]
        );
    }

    #[test]
    fn variable_only_inside_if_is_optional() {
        let v = vars("{{#if focus}}Focus on {{focus}}.{{/if}} {{code}}");
        assert_eq!(v, vec![("code".into(), true), ("focus".into(), false)]);
    }

    #[test]
    fn each_body_refers_to_items_not_arguments() {
        let v = vars("{{#each files}}{{this}} {{name}} {{@index}} {{../prefix}}{{/each}}");
        assert_eq!(v, vec![("files".into(), true), ("prefix".into(), true)]);
    }

    #[test]
    fn helpers_and_subexpressions_are_walked() {
        let v = vars(r#"{{#if (eq tone "formal")}}Dear {{upper who}}{{/if}}{{join items ", "}}"#);
        assert_eq!(
            v,
            vec![
                ("items".into(), true),
                ("tone".into(), false),
                ("who".into(), false)
            ]
        );
    }

    #[test]
    fn partials_are_collected() {
        let a = analyze("{{> output-format}} {{> audience-note}}").unwrap();
        assert_eq!(
            a.partials.into_iter().collect::<Vec<_>>(),
            vec!["audience-note", "output-format"]
        );
    }

    #[test]
    fn unknown_helper_is_refused() {
        assert_eq!(
            analyze("{{shout name}}").unwrap_err(),
            TemplateError::UnknownHelper("shout".into())
        );
        assert!(matches!(
            analyze("{{#loop x}}{{/loop}}"),
            Err(TemplateError::UnknownHelper(_))
        ));
    }

    #[test]
    fn sizes_and_inclusions_are_counted() {
        let a = analyze("ab{{x}}{{#if y}}cd{{y}}{{/if}}{{> p}}{{> p}}{{> q}}").unwrap();
        assert_eq!(a.literal_bytes, 4);
        assert_eq!(a.value_uses, 2);
        assert_eq!(a.partial_uses.get("p"), Some(&2));
        assert_eq!(a.partial_uses.get("q"), Some(&1));
        assert_eq!(
            expansion_estimate(4, 2, [(2, 10), (1, 0)], 100),
            4 + 200 + 22 + 1
        );
        assert_eq!(expansion_estimate(1, 0, [(u64::MAX, 2)], 100), u64::MAX);
    }

    #[test]
    fn syntax_error_names_the_position() {
        let err = analyze("Hello {{#if x}} unclosed").unwrap_err().to_string();
        assert!(err.starts_with("template syntax error"), "{err}");
    }
}
