//! `subscribe_webhook`, `list_webhooks`, `unsubscribe_webhook`: the signed
//! webhooks to catalog subscribers (see `ports::Subscriptions`) over MCP.

use serde::Deserialize;
use serde_json::{Value, json};

use super::ToolResult;
use super::handlers::args;
use crate::dispatch::Ctx;
use crate::ports::Subscriptions;
use crate::session::CatalogFilter;

fn subscriptions<'a>(ctx: &Ctx<'a>) -> Result<&'a dyn Subscriptions, String> {
    ctx.engine
        .subscriptions()
        .map(|s| s.as_ref())
        .ok_or_else(|| "webhook subscribers are not available on this server".to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscribeArgs {
    url: String,
    secret: String,
    category: Option<String>,
    tag: Option<String>,
}

pub async fn subscribe(ctx: &mut Ctx<'_>, value: Value) -> ToolResult {
    let a: SubscribeArgs = args("subscribe_webhook", value)?;
    let filter = CatalogFilter {
        category: a.category,
        tag: a.tag,
    };
    let s = subscriptions(ctx)?
        .register(&a.url, &a.secret, filter)
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!(s))
}

pub async fn list(ctx: &mut Ctx<'_>, _value: Value) -> ToolResult {
    let caller = ctx.session.principal.clone();
    let all: Vec<_> = subscriptions(ctx)?
        .list()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|s| s.seen_by(caller.as_ref()))
        .collect();
    Ok(json!({ "subscriptions": all }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsubscribeArgs {
    id: String,
}

pub async fn unsubscribe(ctx: &mut Ctx<'_>, value: Value) -> ToolResult {
    let a: UnsubscribeArgs = args("unsubscribe_webhook", value)?;
    if subscriptions(ctx)?
        .remove(&a.id)
        .await
        .map_err(|e| e.to_string())?
    {
        Ok(json!({ "id": a.id, "removed": true }))
    } else {
        Err(format!("no subscriber '{}'", a.id))
    }
}
