//! Resources: every prompt is `prompt://{id}`, its versions
//! `prompt://{id}/versions/{version}` and its labels `prompt://{id}@{label}`.
//! Static resources (`--resources FILE`) are listed after the prompts.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::prompts::{catalog_error, page};
use crate::catalog::{CatalogError, Selector};
use crate::dispatch::Ctx;
use crate::domain::{Label, PromptId};
use crate::jsonrpc::{self, RpcError, decode_params};
use crate::ports::StoreError;
use crate::static_resources;

pub const SCHEME: &str = "prompt://";
pub const MIME: &str = "application/json";

/// A parsed `prompt://` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptUri {
    pub id: PromptId,
    pub selector: Selector,
}

pub fn parse_uri(uri: &str) -> Option<PromptUri> {
    let rest = uri.strip_prefix(SCHEME)?;
    if let Some((id, version)) = rest.split_once("/versions/") {
        let version: u64 = version.parse().ok().filter(|v| *v > 0)?;
        return Some(PromptUri {
            id: PromptId::parse(id).ok()?,
            selector: Selector::Version(version),
        });
    }
    if let Some((id, label)) = rest.split_once('@') {
        return Some(PromptUri {
            id: PromptId::parse(id).ok()?,
            selector: Selector::Label(Label::parse(label).ok()?),
        });
    }
    Some(PromptUri {
        id: PromptId::parse(rest).ok()?,
        selector: Selector::Latest,
    })
}

pub fn latest_uri(id: &PromptId) -> String {
    format!("{SCHEME}{id}")
}

#[derive(Deserialize, Default)]
struct ListParams {
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct UriParams {
    uri: String,
}

/// Prompts first (keyset cursors), then the static resources (index cursors),
/// which fill what room the last prompt page leaves.
pub async fn list(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<Value, RpcError> {
    let p: ListParams = decode_params("resources/list", params)?;
    let statics = &ctx.engine.static_resources;
    // The catalog caps a page the same way.
    let limit = ctx.engine.config.page_size.clamp(1, 500);
    if let Some(from) = p
        .cursor
        .as_deref()
        .and_then(static_resources::decode_cursor)
    {
        let (resources, next) = statics.list_page(from, limit);
        return Ok(with_cursor(
            json!({ "resources": resources }),
            next.map(static_resources::encode_cursor),
        ));
    }
    let (page, next) = page(ctx, p.cursor.as_deref()).await?;
    let mut resources: Vec<Value> = page
        .iter()
        .map(|p| {
            json!({
                "uri": latest_uri(&p.id),
                "name": p.id,
                "title": p.name,
                "description": p.description,
                "mimeType": MIME,
            })
        })
        .collect();
    let next = match next {
        Some(next) => Some(next),
        None => {
            let (more, next) = statics.list_page(0, limit.saturating_sub(resources.len()));
            resources.extend(more);
            next.map(static_resources::encode_cursor)
        }
    };
    Ok(with_cursor(json!({ "resources": resources }), next))
}

fn with_cursor(mut result: Value, next: Option<String>) -> Value {
    if let Some(next) = next {
        result["nextCursor"] = Value::String(next);
    }
    result
}

pub fn templates(ctx: &mut Ctx<'_>, _params: Option<&RawValue>) -> Result<Value, RpcError> {
    let mut templates = json!([
            {
                "uriTemplate": "prompt://{id}/versions/{version}",
                "name": "prompt-version",
                "title": "Prompt version",
                "description": "One immutable version of a prompt, as catalog JSON",
                "mimeType": MIME,
            },
            {
                "uriTemplate": "prompt://{id}@{label}",
                "name": "prompt-label",
                "title": "Prompt label",
                "description": "The version a label (production, staging, ...) points at, as catalog JSON",
                "mimeType": MIME,
            },
    ]);
    if let Value::Array(list) = &mut templates {
        list.extend(ctx.engine.static_resources.template_entries());
    }
    Ok(json!({ "resourceTemplates": templates }))
}

pub async fn read(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<Value, RpcError> {
    let p: UriParams = decode_params("resources/read", params)?;
    if let Some(content) = ctx.engine.static_resources.read(&p.uri) {
        return Ok(json!({ "contents": [content.map_err(RpcError::internal)?] }));
    }
    let target = parse_uri(&p.uri).ok_or_else(|| not_found(&p.uri))?;
    let prompt = ctx
        .engine
        .catalog
        .get_at(&target.id, &target.selector)
        .await
        .map_err(|e| match e {
            CatalogError::Store(StoreError::NotFound(_) | StoreError::NoSuchVersion { .. })
            | CatalogError::NoSuchLabel { .. } => not_found(&p.uri),
            other => catalog_error(other),
        })?;
    let text =
        serde_json::to_string_pretty(&*prompt).map_err(|e| RpcError::internal(e.to_string()))?;
    Ok(json!({ "contents": [{ "uri": p.uri, "mimeType": MIME, "text": text }] }))
}

pub async fn subscribe(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<Value, RpcError> {
    let p: UriParams = decode_params("resources/subscribe", params)?;
    if ctx.engine.static_resources.serves(&p.uri) {
        // It never changes: nothing to record, no update will ever be due.
        return Ok(json!({}));
    }
    let target = parse_uri(&p.uri)
        .filter(|t| t.selector == Selector::Latest)
        .ok_or_else(|| {
            RpcError::invalid_params(format!(
                "cannot subscribe to '{}': use a prompt://{{id}} URI",
                p.uri
            ))
        })?;
    ctx.engine
        .catalog
        .get(&target.id)
        .await
        .map_err(|e| match e {
            CatalogError::Store(StoreError::NotFound(_)) => not_found(&p.uri),
            other => catalog_error(other),
        })?;
    ctx.session.subscriptions.insert(target.id);
    Ok(json!({}))
}

pub fn unsubscribe(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<Value, RpcError> {
    let p: UriParams = decode_params("resources/unsubscribe", params)?;
    if let Some(target) = parse_uri(&p.uri) {
        ctx.session.subscriptions.remove(&target.id);
    }
    Ok(json!({}))
}

fn not_found(uri: &str) -> RpcError {
    RpcError::new(
        jsonrpc::RESOURCE_NOT_FOUND,
        format!("resource not found: {uri}"),
    )
    .with_data(json!({ "uri": uri }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_uri_shapes() {
        let latest = parse_uri("prompt://code-review").unwrap();
        assert_eq!(latest.selector, Selector::Latest);
        assert_eq!(
            parse_uri("prompt://code-review/versions/3")
                .unwrap()
                .selector,
            Selector::Version(3)
        );
        assert_eq!(
            parse_uri("prompt://code-review@production")
                .unwrap()
                .selector,
            Selector::Label(Label::parse("production").unwrap())
        );
        for bad in [
            "http://x",
            "prompt://",
            "prompt://a/versions/0",
            "prompt://a/versions/x",
            "prompt://A",
        ] {
            assert!(parse_uri(bad).is_none(), "{bad}");
        }
    }
}
