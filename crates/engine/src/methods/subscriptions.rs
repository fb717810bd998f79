//! `subscriptions/listen` (2026-07-28): a long-lived request whose stream carries
//! the notifications the client asked for, each tagged with the subscription id.
//! The stream ends when the client cancels the request or the transport closes.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::resources::{latest_uri, parse_uri};
use crate::catalog::Selector;
use crate::dispatch::Outbox;
use crate::jsonrpc::{RpcError, decode_params};
use crate::modern::META_SUBSCRIPTION_ID;
use crate::protocol::CATALOG_EVENTS_CAPABILITY;
use crate::session::{CatalogFilter, Listener, Session};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    prompts_list_changed: bool,
    #[serde(default)]
    resources_list_changed: bool,
    #[serde(default)]
    resource_subscriptions: Vec<String>,
    #[serde(default, rename = "mcp-prompts/catalogEvents")]
    catalog_events: Option<CatalogFilter>,
}

#[derive(Deserialize)]
struct Params {
    notifications: Filter,
}

/// Opens a stream: records the listener and queues its acknowledgement, which
/// must precede anything else on it. Only what we can honour is acknowledged
/// (tools never change here, and only `prompt://{id}` URIs can be watched).
pub fn listen(
    session: &mut Session,
    id: &RawValue,
    params: Option<&RawValue>,
    out: &mut Outbox,
) -> Result<(), RpcError> {
    let p: Params = decode_params("subscriptions/listen", params)?;
    let subscriptions: BTreeSet<_> = p
        .notifications
        .resource_subscriptions
        .iter()
        .filter_map(|uri| {
            parse_uri(uri)
                .filter(|t| t.selector == Selector::Latest)
                .map(|t| t.id)
        })
        .collect();
    let listener = Listener {
        id: id.get().to_string(),
        prompts_list_changed: p.notifications.prompts_list_changed,
        resources_list_changed: p.notifications.resources_list_changed,
        resource_subscriptions: subscriptions,
        catalog_events: p.notifications.catalog_events,
    };
    let mut accepted = serde_json::Map::new();
    if listener.prompts_list_changed {
        accepted.insert("promptsListChanged".into(), json!(true));
    }
    if listener.resources_list_changed {
        accepted.insert("resourcesListChanged".into(), json!(true));
    }
    if !listener.resource_subscriptions.is_empty() {
        let uris: Vec<String> = listener
            .resource_subscriptions
            .iter()
            .map(latest_uri)
            .collect();
        accepted.insert("resourceSubscriptions".into(), json!(uris));
    }
    if let Some(filter) = &listener.catalog_events {
        accepted.insert(CATALOG_EVENTS_CAPABILITY.into(), json!(filter));
    }
    let subscription_id: Value = serde_json::from_str(id.get()).unwrap_or(Value::Null);
    out.notify(
        "notifications/subscriptions/acknowledged",
        &json!({ "_meta": { META_SUBSCRIPTION_ID: subscription_id }, "notifications": accepted }),
    );
    session.listeners.retain(|l| l.id != listener.id);
    session.listeners.push(listener);
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cancelled<'a> {
    #[serde(borrow)]
    request_id: Option<&'a RawValue>,
}

/// `notifications/cancelled` for a listen request closes that stream.
pub fn cancelled(session: &mut Session, params: Option<&RawValue>) {
    let Some(raw) = params else { return };
    if let Ok(Cancelled {
        request_id: Some(id),
    }) = serde_json::from_str::<Cancelled<'_>>(raw.get())
    {
        session.listeners.retain(|l| l.id != id.get());
    }
}
