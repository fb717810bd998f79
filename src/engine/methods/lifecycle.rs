//! `initialize`, `notifications/initialized`, and the catalog-event opt-in.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::engine::dispatch::Ctx;
use crate::engine::jsonrpc::{RpcError, decode_params};
use crate::engine::protocol::{self, CATALOG_EVENTS_CAPABILITY};
use crate::engine::session::{CatalogFilter, Phase, Session};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitializeParams {
    protocol_version: String,
    #[serde(default)]
    capabilities: Value,
    #[serde(default)]
    client_info: Value,
}

pub fn initialize(ctx: &mut Ctx<'_>, params: Option<&RawValue>) -> Result<Value, RpcError> {
    let p: InitializeParams = decode_params("initialize", params)?;
    if !p.capabilities.is_object() && !p.capabilities.is_null() {
        return Err(RpcError::invalid_params(
            "invalid params for initialize: capabilities must be an object",
        ));
    }
    let s = &mut *ctx.session;
    s.protocol_version = protocol::negotiate(&p.protocol_version).to_string();
    s.catalog_events = catalog_opt_in(&p.capabilities);
    s.list_changed = !list_changed_opt_out(&p.capabilities);
    s.client_capabilities = p.capabilities;
    s.client_info = p.client_info;
    s.phase = Phase::Initializing;
    Ok(json!({
        "protocolVersion": s.protocol_version,
        "capabilities": protocol::server_capabilities(),
        "serverInfo": protocol::server_info(),
        "instructions": protocol::INSTRUCTIONS,
    }))
}

pub fn initialized(session: &mut Session) {
    if session.phase == Phase::Initializing {
        session.phase = Phase::Ready;
    }
}

/// `capabilities.experimental["mcp-prompts/catalogEvents"]`: `true`, `{}` or a
/// filter object opts in to `notifications/catalog/changed`.
fn catalog_opt_in(capabilities: &Value) -> Option<CatalogFilter> {
    match capabilities.pointer(&format!(
        "/experimental/{}",
        CATALOG_EVENTS_CAPABILITY.replace('/', "~1")
    ))? {
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
