//! `completion/complete`: argument choices of prompts, and ids, versions and
//! labels for the resource templates.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::dispatch::Ctx;
use crate::domain::PromptId;
use crate::jsonrpc::{RpcError, decode_params};
use crate::ports::ListQuery;

const MAX_VALUES: usize = 100;

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Reference {
    #[serde(rename = "ref/prompt")]
    Prompt { name: String },
    #[serde(rename = "ref/resource")]
    Resource { uri: String },
}

#[derive(Deserialize)]
struct Argument {
    name: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize, Default)]
struct Context {
    #[serde(default)]
    arguments: Map<String, Value>,
}

#[derive(Deserialize)]
struct Params {
    #[serde(rename = "ref")]
    reference: Reference,
    argument: Argument,
    #[serde(default)]
    context: Option<Context>,
}

pub async fn complete(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<Value, RpcError> {
    let p: Params = decode_params("completion/complete", params)?;
    let context = p.context.unwrap_or_default();
    let candidates = match p.reference {
        Reference::Prompt { name } => prompt_argument(ctx, &name, &p.argument).await?,
        Reference::Resource { uri } => resource_argument(ctx, &uri, &p.argument, &context).await?,
    };
    let prefix = p.argument.value.to_lowercase();
    let matching: Vec<String> = candidates
        .into_iter()
        .filter(|c| c.to_lowercase().starts_with(&prefix))
        .collect();
    let total = matching.len();
    let values: Vec<String> = matching.into_iter().take(MAX_VALUES).collect();
    Ok(json!({
        "completion": { "values": values, "total": total, "hasMore": total > MAX_VALUES }
    }))
}

async fn prompt_argument(
    ctx: &Ctx<'_>,
    name: &str,
    arg: &Argument,
) -> Result<Vec<String>, RpcError> {
    let id = PromptId::parse(name)
        .map_err(|_| RpcError::invalid_params(format!("unknown prompt: '{name}'")))?;
    let catalog = &ctx.engine.catalog;
    let prompt = catalog
        .get(&id)
        .await
        .map_err(super::prompts::catalog_error)?;
    let arguments = catalog
        .arguments(&prompt)
        .await
        .map_err(super::prompts::catalog_error)?;
    let variable = arguments
        .iter()
        .find(|v| v.name == arg.name)
        .ok_or_else(|| {
            RpcError::invalid_params(format!("prompt '{id}' has no argument '{}'", arg.name))
        })?;
    Ok(variable.choices.clone())
}

async fn resource_argument(
    ctx: &Ctx<'_>,
    uri: &str,
    arg: &Argument,
    context: &Context,
) -> Result<Vec<String>, RpcError> {
    if let Some(variables) = ctx.engine.static_resources.template_variables(uri) {
        // A static template takes any value: nothing to suggest.
        return if variables.contains(&arg.name.as_str()) {
            Ok(Vec::new())
        } else {
            Err(RpcError::invalid_params(format!(
                "resource template '{uri}' has no argument '{}'",
                arg.name
            )))
        };
    }
    if !uri.starts_with(super::resources::SCHEME) {
        return Err(RpcError::invalid_params(format!(
            "unknown resource template: '{uri}'"
        )));
    }
    let catalog = &ctx.engine.catalog;
    let context_id = || {
        context
            .arguments
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| PromptId::parse(id).ok())
    };
    match arg.name.as_str() {
        "id" => {
            let query = ListQuery {
                id_prefix: Some(arg.value.to_lowercase()),
                limit: MAX_VALUES + 1,
                ..Default::default()
            };
            let (page, _) = catalog
                .list(query)
                .await
                .map_err(super::prompts::catalog_error)?;
            Ok(page.into_iter().map(|p| p.id.to_string()).collect())
        }
        "version" => match context_id() {
            Some(id) => Ok(catalog
                .store()
                .history(&id)
                .await
                .map_err(|e| RpcError::internal(e.to_string()))?
                .iter()
                .rev()
                .map(|p| p.version.to_string())
                .collect()),
            None => Ok(Vec::new()),
        },
        "label" => match context_id() {
            Some(id) => Ok(catalog
                .store()
                .labels(&id)
                .await
                .map_err(|e| RpcError::internal(e.to_string()))?
                .into_keys()
                .collect()),
            None => Ok(Vec::new()),
        },
        other => Err(RpcError::invalid_params(format!(
            "resource template '{uri}' has no argument '{other}'"
        ))),
    }
}
