//! Tools: the write side of the catalog for MCP-only clients. Failures of a tool
//! (stale version, invalid template, unknown prompt) are results with `isError`,
//! so a model can read and correct them; misuse of the protocol is a JSON-RPC error.

mod definitions;
mod handlers;

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::dispatch::Ctx;
use super::jsonrpc::{RpcError, decode_params};

fn definitions() -> &'static Value {
    static DEFS: OnceLock<Value> = OnceLock::new();
    DEFS.get_or_init(|| json!({ "tools": definitions::all() }))
}

pub fn list(_ctx: &mut Ctx<'_>, _params: Option<&RawValue>) -> Result<Value, RpcError> {
    Ok(definitions().clone())
}

#[derive(Deserialize)]
struct CallParams {
    name: String,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
}

/// What a tool handler returns: structured output, or a message for `isError`.
pub type ToolResult = Result<Value, String>;

pub async fn call(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<Value, RpcError> {
    let p: CallParams = decode_params("tools/call", params)?;
    let args = Value::Object(p.arguments.unwrap_or_default());
    let outcome = match p.name.as_str() {
        "create_prompt" => handlers::create(ctx, args).await,
        "get_prompt" => handlers::get(ctx, args).await,
        "update_prompt" => handlers::update(ctx, args).await,
        "delete_prompt" => handlers::delete(ctx, args).await,
        "list_prompts" => handlers::list(ctx, args).await,
        "search_prompts" => handlers::search(ctx, args).await,
        "prompt_history" => handlers::history(ctx, args).await,
        "apply_template" => handlers::apply(ctx, args).await,
        "set_label" => handlers::set_label(ctx, args).await,
        other => return Err(RpcError::invalid_params(format!("unknown tool: '{other}'"))),
    };
    Ok(match outcome {
        Ok(structured) => json!({
            "content": [{"type": "text", "text": structured.to_string()}],
            "structuredContent": structured,
            "isError": false,
        }),
        Err(message) => json!({
            "content": [{"type": "text", "text": message}],
            "isError": true,
        }),
    })
}
