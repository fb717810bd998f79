//! Handlebars rendering with our safe helpers and prompts as partials.
//!
//! One registry holds the latest template of every prompt rendered so far, keyed by
//! prompt id, so `{{> other-id}}` resolves to another prompt. It sits behind a
//! `std::sync::RwLock`: renders share the read lock, registering a newer version
//! takes the write lock briefly; neither is held across an `.await`. Simple
//! templates are also compiled from this registry into flat
//! [`TextPlan`]s, checked against handlebars before use.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::RwLock;

use handlebars::template::Template;
use handlebars::{Handlebars, handlebars_helper};
use serde_json::{Map, Value};

use super::catalog::budget_output::BudgetOutput;
use super::catalog::limits::{LimitError, Limits, RenderBudget};
use super::text_plan::{Partials, TextPlan};
use crate::domain::template;
use crate::domain::{Prompt, PromptId};

pub struct Renderer {
    registry: RwLock<Registry>,
    /// Every handlebars render writes into a [`BudgetOutput`] with this budget.
    budget: RenderBudget,
}

struct Registry {
    hb: Handlebars<'static>,
    /// The version registered under each prompt id.
    versions: HashMap<PromptId, u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Template(String),
    #[error("{0}")]
    Limit(LimitError),
}

handlebars_helper!(eq: |a: Json, b: Json| a == b);
handlebars_helper!(ne: |a: Json, b: Json| a != b);
handlebars_helper!(and: |a: Json, b: Json| truthy(a) && truthy(b));
handlebars_helper!(or: |a: Json, b: Json| truthy(a) || truthy(b));
handlebars_helper!(not: |a: Json| !truthy(a));
handlebars_helper!(upper: |s: Json| text(s).to_uppercase());
handlebars_helper!(lower: |s: Json| text(s).to_lowercase());
handlebars_helper!(json: |v: Json| serde_json::to_string_pretty(v).unwrap_or_default());
handlebars_helper!(join: |items: Json, sep: Json| match items {
    Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(&text(sep)),
    other => text(other),
});
handlebars_helper!(default: |v: Json, fallback: Json| if truthy(v) { v.clone() } else { fallback.clone() });

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::Object(_) => true,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    pub fn new() -> Self {
        Self::with_budget(Limits::default().render_budget())
    }

    pub fn with_budget(budget: RenderBudget) -> Self {
        let mut hb = Handlebars::new();
        // Prompts are text for a model, not HTML: `{{code}}` must not become `&lt;`.
        hb.register_escape_fn(handlebars::no_escape);
        hb.set_prevent_indent(true);
        hb.register_helper("eq", Box::new(eq));
        hb.register_helper("ne", Box::new(ne));
        hb.register_helper("and", Box::new(and));
        hb.register_helper("or", Box::new(or));
        hb.register_helper("not", Box::new(not));
        hb.register_helper("upper", Box::new(upper));
        hb.register_helper("lower", Box::new(lower));
        hb.register_helper("json", Box::new(json));
        hb.register_helper("join", Box::new(join));
        hb.register_helper("default", Box::new(default));
        Self {
            registry: RwLock::new(Registry {
                hb,
                versions: HashMap::new(),
            }),
            budget,
        }
    }

    /// Whether `prompt` at its version is already registered.
    pub fn is_current(&self, prompt: &Prompt) -> bool {
        let reg = self.registry.read().unwrap_or_else(|e| e.into_inner());
        reg.versions.get(&prompt.id) == Some(&prompt.version)
    }

    /// Registers (or replaces) the template of a latest prompt version.
    pub fn register(&self, prompt: &Prompt) -> Result<(), RenderError> {
        let source = if prompt.is_template {
            prompt.content.clone()
        } else {
            // A literal prompt included as a partial is included verbatim.
            format!("{{{{{{{{raw}}}}}}}}{}{{{{{{{{/raw}}}}}}}}", prompt.content)
        };
        let compiled = if prompt.is_template {
            template::compile(&source).map_err(|e| RenderError::Template(e.to_string()))?
        } else {
            handlebars::template::Template::compile(&source)
                .map_err(|e| RenderError::Template(e.to_string()))?
        };
        let mut reg = self.registry.write().unwrap_or_else(|e| e.into_inner());
        reg.hb.register_template(prompt.id.as_str(), compiled);
        reg.versions.insert(prompt.id.clone(), prompt.version);
        Ok(())
    }

    pub fn forget(&self, id: &PromptId) {
        let mut reg = self.registry.write().unwrap_or_else(|e| e.into_inner());
        reg.hb.unregister_template(id.as_str());
        reg.versions.remove(id);
    }

    /// Renders the registered latest template of `id`.
    pub fn render_latest(&self, id: &PromptId, data: &Value) -> Result<String, RenderError> {
        self.render_latest_owned(id, data.clone())
    }

    /// [`Self::render_latest`] taking the data by value (`render` would copy it).
    pub fn render_latest_owned(&self, id: &PromptId, data: Value) -> Result<String, RenderError> {
        let context = handlebars::Context::from(data);
        let reg = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let mut out = BudgetOutput::new(self.budget);
        let rendered = reg
            .hb
            .render_with_context_to_write(id.as_str(), &context, &mut out);
        finish(rendered, out)
    }

    /// Renders an arbitrary (older) version's template; partials resolve to the
    /// latest registered prompts.
    pub fn render_source(&self, source: &str, data: &Value) -> Result<String, RenderError> {
        let reg = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let mut out = BudgetOutput::new(self.budget);
        let rendered = reg.hb.render_template_to_write(source, data, &mut out);
        finish(rendered, out)
    }

    /// A [`TextPlan`] for the registered latest template of `id`, if the
    /// template fits the plan's subset and the plan renders exactly what
    /// handlebars renders on probe arguments (all set, all empty, all absent).
    pub fn text_plan(&self, id: &PromptId) -> Option<TextPlan> {
        let reg = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let hb = &reg.hb;
        let template = hb.get_template(id.as_str())?;
        // One probe render per distinct name, not per use: a template may use
        // one variable thousands of times.
        let known = RefCell::new(HashMap::<String, bool>::new());
        let is_variable = |name: &str| {
            if let Some(v) = known.borrow().get(name) {
                return *v;
            }
            let v = reads_argument(hb, name);
            known.borrow_mut().insert(name.to_string(), v);
            v
        };
        let plan = TextPlan::compile(template, &RegisteredPartials(hb), &is_variable)?;
        let names = plan.arguments();
        let probes = [
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.to_string(), Value::from(format!("<{i} \"x\"\n\\&>"))))
                .collect(),
            names
                .iter()
                .map(|n| (n.to_string(), Value::from("")))
                .collect(),
            Map::new(),
        ];
        for args in probes {
            let mut budgeted = BudgetOutput::new(self.budget);
            let rendered = hb.render_to_write(id.as_str(), &args, &mut budgeted);
            let expected = finish(rendered, budgeted).ok()?;
            let mut got = String::with_capacity(expected.len());
            plan.render(&args, &mut got);
            if got != expected {
                tracing::debug!(prompt = %id, "text plan differs from handlebars; rendering with handlebars");
                return None;
            }
        }
        Some(plan)
    }
}

struct RegisteredPartials<'a>(&'a Handlebars<'static>);

impl Partials for RegisteredPartials<'_> {
    fn template(&self, name: &str) -> Option<&Template> {
        self.0.get_template(name)
    }
}

/// Whether `{{name}}` reads the argument `name` rather than calling a helper:
/// handlebars does not say which helpers it has, so ask it to render one.
fn reads_argument(hb: &Handlebars<'static>, name: &str) -> bool {
    const PROBE: &str = "\u{1}probe";
    let mut data = Map::new();
    data.insert(name.to_string(), Value::from(PROBE));
    hb.render_template(&format!("{{{{{name}}}}}"), &data)
        .is_ok_and(|out| out == PROBE)
}

/// The text of a budgeted render, or why it stopped (the budget's own error
/// rather than handlebars' generic I/O failure).
fn finish(
    rendered: Result<(), handlebars::RenderError>,
    out: BudgetOutput,
) -> Result<String, RenderError> {
    match (rendered, out.exceeded.clone()) {
        (_, Some(limit)) => Err(RenderError::Limit(limit)),
        (Err(e), None) => Err(RenderError::Template(describe(&e))),
        (Ok(()), None) => Ok(out.into_string()),
    }
}

fn describe(e: &handlebars::RenderError) -> String {
    match e.reason() {
        handlebars::RenderErrorReason::PartialNotFound(name) => {
            format!("template includes prompt '{name}', which does not exist")
        }
        other => format!("render failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prompt(id: &str, content: &str) -> Prompt {
        serde_json::from_value(json!({
            "id": id, "name": id, "content": content, "isTemplate": true,
            "createdAt": "t", "updatedAt": "t", "version": 1
        }))
        .unwrap()
    }

    #[test]
    fn renders_helpers_without_html_escaping() {
        let r = Renderer::new();
        let p = prompt(
            "p",
            r#"{{upper lang}}: {{code}}{{#if (eq tone "formal")}} Regards.{{/if}} [{{join tags ", "}}]"#,
        );
        r.register(&p).unwrap();
        let out = r
            .render_latest(&p.id, &json!({"lang": "rust", "code": "a < b && c", "tone": "formal", "tags": ["x", "y"]}))
            .unwrap();
        assert_eq!(out, "RUST: a < b && c Regards. [x, y]");
    }

    #[test]
    fn partials_are_other_prompts() {
        let r = Renderer::new();
        r.register(&prompt("footer", "-- {{who}}")).unwrap();
        let main = prompt("main", "Hello {{who}} {{> footer}}");
        r.register(&main).unwrap();
        assert_eq!(
            r.render_latest(&main.id, &json!({"who": "Ann"})).unwrap(),
            "Hello Ann -- Ann"
        );
    }

    #[test]
    fn literal_prompts_keep_their_braces() {
        let r = Renderer::new();
        let mut p = prompt("lit", "Use {{this}} as is");
        p.is_template = false;
        r.register(&p).unwrap();
        assert_eq!(
            r.render_latest(&p.id, &json!({})).unwrap(),
            "Use {{this}} as is"
        );
    }

    #[test]
    fn missing_partial_is_named() {
        let r = Renderer::new();
        let p = prompt("main", "{{> nowhere}}");
        r.register(&p).unwrap();
        let err = r.render_latest(&p.id, &json!({})).unwrap_err().to_string();
        assert!(err.contains("nowhere"), "{err}");
    }

    /// Every starter prompt that compiles to a text plan renders exactly what
    /// handlebars renders, with every argument set, only the required ones, and
    /// text that needs escaping; the hot `code-review` is one of them.
    #[test]
    fn text_plans_render_like_handlebars() {
        let r = Renderer::new();
        let prompts: Vec<Prompt> = crate::seed::starter_drafts()
            .into_iter()
            .map(|d| d.into_prompt(1, "t", "t").unwrap())
            .collect();
        for p in &prompts {
            r.register(p).unwrap();
        }
        let mut planned = Vec::new();
        for p in prompts.iter().filter(|p| p.is_template) {
            let Some(plan) = r.text_plan(&p.id) else {
                continue;
            };
            planned.push(p.id.to_string());
            let every: Map<String, Value> = p
                .variables
                .iter()
                .map(|v| {
                    (
                        v.name.clone(),
                        json!(format!("{} \"q\" \\ <b>\n{{{{x}}}}", v.name)),
                    )
                })
                .collect();
            let required: Map<String, Value> = every
                .iter()
                .filter(|(k, _)| p.variables.iter().any(|v| &v.name == *k && v.required))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for args in [every, required] {
                let expected = r
                    .render_latest(&p.id, &Value::Object(args.clone()))
                    .unwrap();
                let mut text = String::new();
                plan.render(&args, &mut text);
                assert_eq!(text, expected, "{}", p.id);
                let mut json_text = String::new();
                plan.render_json(&args, &mut json_text);
                assert_eq!(
                    serde_json::from_str::<String>(&format!("\"{json_text}\"")).unwrap(),
                    expected,
                    "{}",
                    p.id
                );
            }
        }
        assert!(planned.contains(&"code-review".to_string()), "{planned:?}");
        assert!(
            planned.len() * 2 >= prompts.len(),
            "only {planned:?} have plans"
        );
    }

    #[test]
    fn helpers_keep_handlebars() {
        let r = Renderer::new();
        for (id, source) in [
            ("a", "{{upper who}}"),
            ("b", "{{json}}"),
            ("c", "{{#each xs}}{{this}}{{/each}}"),
        ] {
            let p = prompt(id, source);
            r.register(&p).unwrap();
            assert!(r.text_plan(&p.id).is_none(), "{source}");
        }
    }
}
