//! Tools: the write side of the catalog for MCP-only clients. Failures of a tool
//! (stale version, invalid template, unknown prompt) are results with `isError`,
//! so a model can read and correct them; misuse of the protocol is a JSON-RPC error.

mod definitions;
mod handlers;
mod import;
mod subscribers;

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

/// Tools that change the catalog: hidden from, and refused to, sessions whose
/// role cannot write.
const WRITE_TOOLS: &[&str] = &[
    "create_prompt",
    "update_prompt",
    "delete_prompt",
    "set_label",
    "import_catalog",
    "subscribe_webhook",
    "unsubscribe_webhook",
];

pub fn list(ctx: &mut Ctx<'_>, _params: Option<&RawValue>) -> Result<Value, RpcError> {
    if ctx.session.can_write() {
        return Ok(definitions().clone());
    }
    let mut defs = definitions().clone();
    if let Some(tools) = defs["tools"].as_array_mut() {
        tools.retain(|t| !t["name"].as_str().is_some_and(|n| WRITE_TOOLS.contains(&n)));
    }
    Ok(defs)
}

#[derive(Deserialize)]
struct CallParams {
    name: String,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
    #[serde(rename = "_meta", default)]
    meta: Option<CallMeta>,
}

#[derive(Deserialize)]
struct CallMeta {
    /// Set by a client that wants `notifications/progress` for this call.
    #[serde(rename = "progressToken", default)]
    progress_token: Option<Value>,
}

/// What a tool handler returns: structured output, or a message for `isError`.
pub type ToolResult = Result<Value, String>;

pub async fn call(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<Value, RpcError> {
    let p: CallParams = decode_params("tools/call", params)?;
    let args = Value::Object(p.arguments.unwrap_or_default());
    if WRITE_TOOLS.contains(&p.name.as_str()) && !ctx.session.can_write() {
        let role = ctx
            .session
            .principal
            .as_ref()
            .map_or("", |p| p.role.as_str());
        let message = format!(
            "forbidden: the role '{role}' may not call '{}': it needs the editor role",
            p.name
        );
        return Ok(json!({"content": [{"type": "text", "text": message}], "isError": true}));
    }
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
        "import_catalog" => {
            let token = p.meta.and_then(|m| m.progress_token);
            import::submit(ctx, args, token).await
        }
        "import_status" => import::status(ctx, args).await,
        "subscribe_webhook" => subscribers::subscribe(ctx, args).await,
        "list_webhooks" => subscribers::list(ctx, args).await,
        "unsubscribe_webhook" => subscribers::unsubscribe(ctx, args).await,
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
