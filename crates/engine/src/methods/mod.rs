//! MCP methods, one file per family, routed by name.

mod completion;
pub(crate) mod lifecycle;
pub(crate) mod logging;
mod prompts;
pub mod resources;
pub(crate) mod subscriptions;

use serde_json::Value;
use serde_json::value::RawValue;

use super::dispatch::{Ctx, Engine, Outbox};
use super::jsonrpc::{self, Reply, RpcError};
use super::session::Session;
use super::tools;

pub use resources::{PromptUri, parse_uri};

pub async fn request(
    ctx: &mut Ctx<'_>,
    method: &str,
    params: Option<&RawValue>,
) -> Result<Reply, RpcError> {
    if method == "prompts/get" {
        return prompts::get(ctx, params).await.map(Reply::Written);
    }
    value_request(ctx, method, params).await.map(Reply::Value)
}

async fn value_request(
    ctx: &mut Ctx<'_>,
    method: &str,
    params: Option<&RawValue>,
) -> Result<Value, RpcError> {
    match method {
        "initialize" => lifecycle::initialize(ctx, params).await,
        "ping" => Ok(Value::Object(Default::default())),
        "prompts/list" => prompts::list(ctx, params).await,
        "resources/list" => resources::list(ctx, params).await,
        "resources/read" => resources::read(ctx, params).await,
        "resources/templates/list" => resources::templates(ctx, params),
        "resources/subscribe" => resources::subscribe(ctx, params).await,
        "resources/unsubscribe" => resources::unsubscribe(ctx, params),
        "tools/list" => tools::list(ctx, params),
        "tools/call" => tools::call(ctx, params).await,
        "completion/complete" => completion::complete(ctx, params).await,
        "logging/setLevel" => logging::set_level(ctx, params),
        "catalog/subscribe" => lifecycle::catalog_subscribe(ctx, params),
        "catalog/unsubscribe" => lifecycle::catalog_unsubscribe(ctx),
        other => Err(RpcError::new(
            jsonrpc::METHOD_NOT_FOUND,
            format!("method not found: {other}"),
        )),
    }
}

/// Notifications get no reply, whatever happens.
pub fn notification(
    _engine: &Engine,
    session: &mut Session,
    method: &str,
    params: Option<&RawValue>,
    _out: &mut Outbox,
) {
    // Cancellation and progress of client requests need no action: a request
    // finishes before the next message is read. Unknown notifications are ignored.
    match method {
        "notifications/initialized" => lifecycle::initialized(session),
        "notifications/cancelled" => subscriptions::cancelled(session, params),
        _ => {}
    }
}
