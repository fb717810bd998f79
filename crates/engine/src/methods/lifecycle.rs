//! `initialize` (fresh or resumed), `notifications/initialized`, and the
//! catalog-event opt-in.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::dispatch::Ctx;
use crate::jsonrpc::{RpcError, decode_params};
use crate::protocol::{self, CATALOG_EVENTS_CAPABILITY};
use crate::session::{CatalogFilter, Phase, Session};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitializeParams {
    protocol_version: String,
    #[serde(default)]
    capabilities: Value,
    #[serde(default)]
    client_info: Value,
    /// SEP-1288: the session to resume.
    #[serde(default)]
    mcp_session_id: Option<String>,
    /// The newest change position the client saw; missed changes after it replay.
    #[serde(default)]
    last_position: Option<u64>,
}

pub async fn initialize(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<Value, RpcError> {
    let p: InitializeParams = decode_params("initialize", params)?;
    if !p.capabilities.is_object() && !p.capabilities.is_null() {
        return Err(RpcError::invalid_params(
            "invalid params for initialize: capabilities must be an object",
        ));
    }
    let resumed = resume(ctx, p.mcp_session_id.as_deref()).await?;
    let replay_from = match (&resumed, p.last_position) {
        (_, Some(position)) => Some(position),
        (Some(saved_position), None) => Some(*saved_position),
        (None, None) => None,
    };
    let s = &mut *ctx.session;
    s.protocol_version = protocol::negotiate(&p.protocol_version).to_string();
    if resumed.is_none() || catalog_opt_in(&p.capabilities).is_some() {
        s.catalog_events = catalog_opt_in(&p.capabilities);
    }
    if resumed.is_none() {
        s.list_changed = !list_changed_opt_out(&p.capabilities);
    }
    s.client_capabilities = p.capabilities;
    s.client_info = p.client_info;
    s.phase = Phase::Initializing;
    s.replay_from = replay_from;
    let mut result = json!({
        "protocolVersion": s.protocol_version,
        "capabilities": protocol::server_capabilities(),
        "serverInfo": protocol::server_info(),
        "instructions": protocol::INSTRUCTIONS,
        "mcpSessionId": s.id,
        "resumed": resumed.is_some(),
    });
    if let Some(from) = replay_from {
        let oldest = ctx
            .engine
            .catalog
            .store()
            .oldest_position()
            .await
            .map_err(|e| RpcError::internal(e.to_string()))?;
        // Changes (from, oldest) are gone from the bounded history.
        let complete = from + 1 >= oldest;
        result["replay"] = json!(if complete { "complete" } else { "truncated" });
    }
    Ok(result)
}

/// Restores the stored session `id` into the context, if it is known and not
/// expired; returns the position it had been sent up to. An unknown id leaves the
/// fresh session in place (clients that know nothing of resumption just work).
async fn resume(ctx: &mut Ctx<'_>, id: Option<&str>) -> Result<Option<u64>, RpcError> {
    let (Some(id), Some(store)) = (id, ctx.engine.sessions.as_ref()) else {
        return Ok(None);
    };
    let record = store
        .load(id, ctx.engine.catalog.clock().now_unix())
        .await
        .map_err(|e| RpcError::internal(e.to_string()))?;
    // Only the principal that opened a session may resume it: its id alone is
    // not a credential.
    let Some(record) = record
        .filter(|r| r.session.phase != Phase::New && r.session.principal == ctx.session.principal)
    else {
        return Ok(None);
    };
    *ctx.session = record.session;
    ctx.out.takeover = record.connection_id;
    Ok(Some(record.last_position))
}

pub fn initialized(session: &mut Session) {
    if session.phase == Phase::Initializing {
        session.phase = Phase::Ready;
    }
}

/// `capabilities.experimental["mcp-prompts/catalogEvents"]`: `true`, `{}` or a
/// filter object opts in to `notifications/catalog/changed`.
fn catalog_opt_in(capabilities: &Value) -> Option<CatalogFilter> {
    let pointer = format!(
        "/experimental/{}",
        CATALOG_EVENTS_CAPABILITY.replace('/', "~1")
    );
    match capabilities.pointer(&pointer)? {
        Value::Bool(true) => Some(CatalogFilter::default()),
        v @ Value::Object(_) => serde_json::from_value(v.clone()).ok(),
        _ => None,
    }
}

/// `capabilities.experimental["mcp-prompts/listChanged"] = false` opts out of
/// `list_changed` notifications.
fn list_changed_opt_out(capabilities: &Value) -> bool {
    capabilities.pointer("/experimental/mcp-prompts~1listChanged") == Some(&Value::Bool(false))
}

pub fn catalog_subscribe(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<Value, RpcError> {
    let filter: CatalogFilter = decode_params("catalog/subscribe", params)?;
    ctx.session.catalog_events = Some(filter.clone());
    Ok(json!({ "filter": filter }))
}

pub fn catalog_unsubscribe(ctx: &mut Ctx<'_>) -> Result<Value, RpcError> {
    ctx.session.catalog_events = None;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_events_opt_in_forms() {
        assert_eq!(catalog_opt_in(&json!({})), None);
        assert_eq!(
            catalog_opt_in(&json!({"experimental": {"mcp-prompts/catalogEvents": true}})),
            Some(CatalogFilter::default())
        );
        assert_eq!(
            catalog_opt_in(&json!({"experimental": {"mcp-prompts/catalogEvents": {"tag": "sql"}}})),
            Some(CatalogFilter {
                category: None,
                tag: Some("sql".into())
            })
        );
        assert!(list_changed_opt_out(
            &json!({"experimental": {"mcp-prompts/listChanged": false}})
        ));
        assert!(!list_changed_opt_out(&json!({})));
    }
}
