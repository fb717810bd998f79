//! A flat rendering plan for the templates most prompts are: text, `{{name}}`
//! variables, `{{#if name}}` / `{{#unless name}}` with `{{else}}`, and
//! `{{> other-prompt}}` partials. Rendering one is a walk over a few pieces,
//! with the text already JSON-escaped for the reply, instead of handlebars'
//! general machinery (context navigation, helper calls, partial expansion),
//! which was most of a `prompts/get`.
//!
//! Plans are compiled from handlebars' own parse, so its whitespace rules
//! (standalone lines, `~`) are already applied. Anything outside the subset
//! (helpers, paths, `#each`, hashes) compiles to `None`, and the renderer keeps
//! using handlebars; so does a plan that renders differently from handlebars
//! on probe arguments (checked by [`crate::renderer::Renderer`]).
//! Arguments are strings, as MCP prompt arguments are; the catalog renders any
//! other value with handlebars, whose rules for numbers and arrays differ.

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::{Path, PathSeg};
use serde_json::{Map, Value};

use super::json_write;

/// Partials nested deeper than this are left to handlebars.
const MAX_DEPTH: usize = 16;

#[derive(Debug)]
pub struct TextPlan {
    pieces: Vec<Piece>,
}

#[derive(Debug)]
enum Piece {
    /// Literal text, and the same text escaped for a JSON string. `String`s, so
    /// text merged from many pieces grows in place (amortized), not by copying
    /// the whole run once per piece.
    Text { raw: String, json: String },
    /// An argument's value (missing: nothing).
    Arg(Box<str>),
    /// `#if` (`when` true) or `#unless` on an argument being a non-empty string.
    Cond {
        arg: Box<str>,
        when: bool,
        then: Vec<Piece>,
        otherwise: Vec<Piece>,
    },
}

/// What compiling needs from the renderer's registry.
pub trait Partials {
    /// The registered template of a partial.
    fn template(&self, name: &str) -> Option<&Template>;
}

impl TextPlan {
    /// A plan for `template`, or `None` if it uses anything beyond the subset.
    /// `is_variable(name)` says whether `{{name}}` reads an argument (rather
    /// than calling a helper of that name).
    pub fn compile(
        template: &Template,
        partials: &dyn Partials,
        is_variable: &dyn Fn(&str) -> bool,
    ) -> Option<Self> {
        let mut compiler = Compiler {
            partials,
            is_variable,
            names: Vec::new(),
        };
        let mut pieces = Vec::new();
        compiler.template(template, 0, &mut pieces)?;
        Some(Self { pieces })
    }

    /// Every argument name the plan reads.
    pub fn arguments(&self) -> Vec<&str> {
        let mut names = Vec::new();
        collect_names(&self.pieces, &mut names);
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The length of [`Self::render`]'s text with `args`, without building it:
    /// checked against the output budget before rendering.
    pub fn rendered_len(&self, args: &Map<String, Value>) -> usize {
        let mut len = 0usize;
        walk(&self.pieces, args, &mut |piece| match piece {
            Out::Text(raw, _) => len += raw.len(),
            Out::Arg(value) => len += value.len(),
        });
        len
    }

    /// Renders with `args` (string values; anything else renders as nothing).
    pub fn render(&self, args: &Map<String, Value>, out: &mut String) {
        walk(&self.pieces, args, &mut |piece| match piece {
            Out::Text(raw, _) => out.push_str(raw),
            Out::Arg(value) => out.push_str(value),
        });
    }

    /// Renders straight into the contents of a JSON string (no quotes).
    pub fn render_json(&self, args: &Map<String, Value>, out: &mut String) {
        walk(&self.pieces, args, &mut |piece| match piece {
            Out::Text(_, json) => out.push_str(json),
            Out::Arg(value) => json_write::write_str_contents(out, value),
        });
    }
}

enum Out<'a> {
    Text(&'a str, &'a str),
    Arg(&'a str),
}

fn walk<'a>(pieces: &'a [Piece], args: &'a Map<String, Value>, emit: &mut dyn FnMut(Out<'a>)) {
    for piece in pieces {
        match piece {
            Piece::Text { raw, json } => emit(Out::Text(raw, json)),
            Piece::Arg(name) => {
                if let Some(Value::String(s)) = args.get(&**name) {
                    emit(Out::Arg(s));
                }
            }
            Piece::Cond {
                arg,
                when,
                then,
                otherwise,
            } => {
                let truthy = matches!(args.get(&**arg), Some(Value::String(s)) if !s.is_empty());
                walk(if truthy == *when { then } else { otherwise }, args, emit);
            }
        }
    }
}

fn collect_names<'a>(pieces: &'a [Piece], names: &mut Vec<&'a str>) {
    for piece in pieces {
        match piece {
            Piece::Text { .. } => {}
            Piece::Arg(name) => names.push(name),
            Piece::Cond {
                arg,
                then,
                otherwise,
                ..
            } => {
                names.push(arg);
                collect_names(then, names);
                collect_names(otherwise, names);
            }
        }
    }
}

struct Compiler<'a> {
    partials: &'a dyn Partials,
    is_variable: &'a dyn Fn(&str) -> bool,
    /// Partials being expanded, to refuse a loop.
    names: Vec<String>,
}

impl Compiler<'_> {
    fn template(&mut self, t: &Template, depth: usize, out: &mut Vec<Piece>) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        for element in &t.elements {
            match element {
                TemplateElement::RawString(s) => push_text(out, s),
                TemplateElement::Comment(_) => {}
                TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                    if h.block || !h.params.is_empty() || !h.hash.is_empty() {
                        return None;
                    }
                    let name = name_of(&h.name)?;
                    if !(self.is_variable)(name) {
                        return None;
                    }
                    out.push(Piece::Arg(name.into()));
                }
                TemplateElement::HelperBlock(h) => self.block(h, depth, out)?,
                TemplateElement::PartialExpression(d) => {
                    let name = name_of(&d.name)?.to_string();
                    let plain = d.params.is_empty() && d.hash.is_empty() && d.template.is_none();
                    if !plain || self.names.contains(&name) {
                        return None;
                    }
                    let included = self.partials.template(&name)?;
                    self.names.push(name);
                    self.template(included, depth + 1, out)?;
                    self.names.pop();
                }
                _ => return None,
            }
        }
        Some(())
    }

    fn block(&mut self, h: &HelperTemplate, depth: usize, out: &mut Vec<Piece>) -> Option<()> {
        let when = match &h.name {
            Parameter::Name(n) if n == "if" => true,
            Parameter::Name(n) if n == "unless" => false,
            // `{{{{raw}}}}…{{{{/raw}}}}`: how a literal prompt is registered.
            Parameter::Name(n) if n == "raw" && h.params.is_empty() && h.hash.is_empty() => {
                return match &h.template {
                    Some(t) => self.template(t, depth, out),
                    None => Some(()),
                };
            }
            _ => return None,
        };
        let [param] = h.params.as_slice() else {
            return None;
        };
        let arg = name_of(param)?;
        if !h.hash.is_empty() || h.block_param.is_some() {
            return None;
        }
        let mut then = Vec::new();
        let mut otherwise = Vec::new();
        if let Some(t) = &h.template {
            self.template(t, depth, &mut then)?;
        }
        if let Some(t) = &h.inverse {
            self.template(t, depth, &mut otherwise)?;
        }
        out.push(Piece::Cond {
            arg: arg.into(),
            when,
            then,
            otherwise,
        });
        Some(())
    }
}

/// A plain name, or a path of one plain segment (not `this`, `../x`, `@root`,
/// `a.b`).
fn name_of(p: &Parameter) -> Option<&str> {
    let plain = |n: &str| !n.starts_with('@') && n != "this" && !n.contains(['.', '/', '[']);
    match p {
        Parameter::Name(n) if plain(n) => Some(n),
        Parameter::Path(Path::Relative((segs, raw))) => match segs.as_slice() {
            [PathSeg::Named(n)] if n == raw && plain(n) => Some(n),
            _ => None,
        },
        _ => None,
    }
}

/// Appends text, merging it with text just before (partials split it up).
fn push_text(out: &mut Vec<Piece>, s: &str) {
    if s.is_empty() {
        return;
    }
    if let Some(Piece::Text { raw, json }) = out.last_mut() {
        raw.push_str(s);
        json_write::write_str_contents(json, s);
        return;
    }
    let mut json = String::new();
    json_write::write_str_contents(&mut json, s);
    out.push(Piece::Text {
        raw: s.to_string(),
        json,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    struct Registered(HashMap<String, Template>);

    impl Partials for Registered {
        fn template(&self, name: &str) -> Option<&Template> {
            self.0.get(name)
        }
    }

    fn plan(source: &str, partials: &[(&str, &str)]) -> Option<TextPlan> {
        let registered = Registered(
            partials
                .iter()
                .map(|(n, s)| (n.to_string(), Template::compile(s).unwrap()))
                .collect(),
        );
        let helpers = ["upper", "json", "lookup"];
        TextPlan::compile(&Template::compile(source).unwrap(), &registered, &|n| {
            !helpers.contains(&n)
        })
    }

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn renders_variables_conditions_and_partials() {
        let p = plan(
            "Hi {{who}}!{{#if mood}} ({{mood}}){{else}} (calm){{/if}}{{#unless quiet}} loud{{/unless}} {{> sig}}",
            &[("sig", "-- {{who}}")],
        )
        .unwrap();
        let mut out = String::new();
        p.render(&args(json!({"who": "Ann", "mood": ""})), &mut out);
        assert_eq!(out, "Hi Ann! (calm) loud -- Ann");
        out.clear();
        p.render(
            &args(json!({"who": "B\"o\nb", "mood": "glad", "quiet": "y"})),
            &mut out,
        );
        assert_eq!(out, "Hi B\"o\nb! (glad) -- B\"o\nb");
        let mut json_out = String::new();
        p.render_json(
            &args(json!({"who": "B\"o\nb", "mood": "glad", "quiet": "y"})),
            &mut json_out,
        );
        assert_eq!(
            serde_json::from_str::<String>(&format!("\"{json_out}\"")).unwrap(),
            out
        );
        assert_eq!(p.arguments(), ["mood", "quiet", "who"]);
        assert_eq!(
            p.rendered_len(&args(json!({"who": "Ann", "mood": ""}))),
            "Hi Ann! (calm) loud -- Ann".len()
        );
    }

    #[test]
    fn anything_beyond_the_subset_is_left_to_handlebars() {
        for source in [
            "{{upper who}}",
            "{{json}}",
            "{{a.b}}",
            "{{this}}",
            "{{#each items}}{{this}}{{/each}}",
            "{{#if (eq a \"b\")}}x{{/if}}",
            "{{#if a includeZero=true}}x{{/if}}",
            "{{> sig who=\"x\"}}",
            "{{> missing}}",
            "{{> loop}}",
        ] {
            assert!(
                plan(source, &[("sig", "s"), ("loop", "{{> loop}}")]).is_none(),
                "{source} should not compile to a plan"
            );
        }
    }
}
