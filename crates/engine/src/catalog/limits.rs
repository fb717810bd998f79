//! What one request may cost. Each limit protects every other session from one
//! request: a template that fans out through partials (`{{> p}}{{> p}}` thirty
//! levels deep is 2^30 copies), a large argument used many times, a huge
//! template whose analysis takes seconds. Writes are refused with the figure and
//! the limit named; renders stop at the budget with a precise error, never an
//! abort.

use std::time::Duration;

use crate::domain::PromptId;
use crate::jsonrpc;

/// The limits, with the defaults documented in the README's "Limits" table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest template a write may save.
    pub max_template_bytes: usize,
    /// Largest rendered text, estimated at save time through the partial graph
    /// and enforced while rendering.
    pub max_output_bytes: usize,
    /// What the save-time estimate allows for each value a template writes
    /// (`{{x}}`): arguments are unknown when a prompt is saved.
    pub value_allowance: usize,
    /// Longest a render may take.
    pub max_render_time: Duration,
    /// Deepest partial nesting (`a` includes `b` includes `c`... ).
    pub max_partial_depth: usize,
    /// Largest total size of the arguments of one render.
    pub max_argument_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_template_bytes: 256 * 1024,
            max_output_bytes: 1024 * 1024,
            value_allowance: 64,
            max_render_time: Duration::from_secs(2),
            max_partial_depth: 16,
            max_argument_bytes: 256 * 1024,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    #[error("template of prompt '{id}' is {size} bytes, over the limit of {limit} bytes")]
    TemplateTooLarge {
        id: PromptId,
        size: usize,
        limit: usize,
    },
    #[error(
        "prompt '{id}' could render about {estimate} bytes (estimated through its partials), over the output limit of {limit} bytes"
    )]
    ExpansionTooLarge {
        id: PromptId,
        estimate: u64,
        limit: usize,
    },
    #[error("prompt '{id}' nests partials deeper than the limit of {limit}: {chain}")]
    PartialsTooDeep {
        id: PromptId,
        limit: usize,
        chain: String,
    },
    #[error("arguments of prompt '{id}' are {size} bytes, over the limit of {limit} bytes")]
    ArgumentsTooLarge {
        id: PromptId,
        size: usize,
        limit: usize,
    },
    #[error("rendered output exceeds the output limit of {limit} bytes")]
    OutputTooLarge { limit: usize },
    #[error("rendering took longer than the render time limit of {limit_ms} ms")]
    RenderTooSlow { limit_ms: u128 },
}

impl LimitError {
    /// The JSON-RPC code: the caller's input is at fault (-32602), or the render
    /// of a saved prompt ran out of budget (-32603).
    pub fn code(&self) -> i64 {
        match self {
            Self::OutputTooLarge { .. } | Self::RenderTooSlow { .. } => jsonrpc::INTERNAL_ERROR,
            _ => jsonrpc::INVALID_PARAMS,
        }
    }
}

/// The budget of one render, shared by handlebars' output and the text plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderBudget {
    pub max_bytes: usize,
    pub max_time: Duration,
}

impl Limits {
    pub fn render_budget(&self) -> RenderBudget {
        RenderBudget {
            max_bytes: self.max_output_bytes,
            max_time: self.max_render_time,
        }
    }
}

/// The size arguments count for: keys and values as JSON would spell them,
/// without quoting or escaping (a cheap walk, no serialization).
pub fn arguments_size(args: &serde_json::Map<String, serde_json::Value>) -> usize {
    fn value(v: &serde_json::Value) -> usize {
        use serde_json::Value::*;
        match v {
            Null | Bool(_) => 5,
            Number(n) => n.to_string().len(),
            String(s) => s.len() + 2,
            Array(a) => a.iter().map(value).sum::<usize>() + a.len() + 2,
            Object(o) => o.iter().map(|(k, v)| k.len() + 3 + value(v)).sum::<usize>() + 2,
        }
    }
    args.iter().map(|(k, v)| k.len() + value(v)).sum()
}
