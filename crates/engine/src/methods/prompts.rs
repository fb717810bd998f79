//! `prompts/list` and `prompts/get`.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::catalog::{Catalog, CatalogError};
use crate::cursor;
use crate::dispatch::Ctx;
use crate::domain::{Prompt, PromptId};
use crate::json_write;
use crate::jsonrpc::{self, RpcError, decode_params};
use crate::ports::{ListQuery, StoreError};

#[derive(Deserialize, Default)]
struct ListParams {
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct GetParams {
    name: String,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
}

pub async fn list(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<Value, RpcError> {
    let p: ListParams = decode_params("prompts/list", params)?;
    let (page, next) = page(ctx, p.cursor.as_deref()).await?;
    let mut prompts = Vec::with_capacity(page.len());
    for prompt in &page {
        prompts.push(describe(&ctx.engine.catalog, prompt).await?);
    }
    let mut result = json!({ "prompts": prompts });
    if let Some(next) = next {
        result["nextCursor"] = Value::String(next);
    }
    Ok(result)
}

/// `prompts/get`, written straight as JSON: the rendered text is escaped while
/// it is rendered instead of being built as a string and serialized again.
pub async fn get(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<String, RpcError> {
    let p: GetParams = decode_params("prompts/get", params)?;
    let id = PromptId::parse(&p.name)
        .map_err(|_| RpcError::invalid_params(format!("unknown prompt: '{}'", p.name)))?;
    let args = p.arguments.unwrap_or_default();
    if let Some((k, _)) = args.iter().find(|(_, v)| !v.is_string()) {
        return Err(RpcError::invalid_params(format!(
            "argument '{k}' of prompt '{id}' must be a string"
        )));
    }
    // `messages` first, so the text is rendered straight into the result: the
    // description is known only once the prompt has been read.
    const OPEN: &str = r#"{"messages":[{"role":"user","content":{"type":"text","text":""#;
    let mut result = String::with_capacity(2048);
    result.push_str(OPEN);
    let started = std::time::Instant::now();
    let prompt = ctx
        .engine
        .catalog
        .render_latest_json(&id, &args, &mut result)
        .await
        .map_err(catalog_error)?;
    ctx.engine.metrics.rendered(started);
    result.push_str("\"}}],\"description\":");
    json_write::write_str(&mut result, &prompt.description);
    result.push('}');
    Ok(result)
}

/// One page of the catalog for a list method, with the cursor of the next page.
pub async fn page(
    ctx: &Ctx<'_>,
    cursor: Option<&str>,
) -> Result<(Vec<Prompt>, Option<String>), RpcError> {
    let after = match cursor {
        Some(c) => Some(
            cursor::decode(c)
                .ok_or_else(|| RpcError::invalid_params(format!("invalid cursor: '{c}'")))?,
        ),
        None => None,
    };
    let query = ListQuery {
        after,
        limit: ctx.engine.config.page_size,
        ..Default::default()
    };
    let (page, next) = ctx
        .engine
        .catalog
        .list(query)
        .await
        .map_err(catalog_error)?;
    Ok((page, next.as_ref().map(cursor::encode)))
}

/// A catalog prompt as an MCP `Prompt`: the id is its name, the human name its title.
pub async fn describe(catalog: &Catalog, prompt: &Prompt) -> Result<Value, RpcError> {
    let arguments = catalog
        .arguments(prompt)
        .await
        .unwrap_or_else(|_| prompt.variables.clone());
    let arguments: Vec<Value> = arguments
        .iter()
        .map(|v| {
            let mut a = json!({"name": v.name, "required": v.required});
            if let Some(d) = &v.description {
                a["description"] = Value::String(d.clone());
            }
            a
        })
        .collect();
    Ok(json!({
        "name": prompt.id,
        "title": prompt.name,
        "description": prompt.description,
        "arguments": arguments,
    }))
}

/// Maps catalog failures onto JSON-RPC errors for the read methods.
pub fn catalog_error(e: CatalogError) -> RpcError {
    match e {
        CatalogError::Store(StoreError::NotFound(id)) => {
            RpcError::invalid_params(format!("unknown prompt: '{id}'"))
        }
        CatalogError::Store(StoreError::Backend(msg)) => RpcError::internal(msg),
        CatalogError::Limit(limit) => RpcError::new(limit.code(), limit.to_string()),
        other => RpcError::new(jsonrpc::INVALID_PARAMS, other.to_string()),
    }
}
