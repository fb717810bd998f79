//! Revision 2026-07-28 on the `$default` route: a request that carries the
//! per-request envelope brings its protocol version, capabilities and log level
//! with it, so it runs on a throw-away session without reading the connection or
//! session items (or writing them back). Only the catalog cache's freshness
//! check (one read of the change-log head) remains. `subscriptions/listen` is
//! not stateless: its listener must be recorded for the fan-out to find.

use bytes::Bytes;

use super::app::LambdaApp;
use mcp_prompts_engine::Session;
use mcp_prompts_engine::modern::{self, RequestProbe};
use mcp_prompts_engine::ports::PushOutcome;

/// Whether `text` is a 2026-07-28 request that needs no stored session.
pub fn is_stateless(text: &str) -> bool {
    serde_json::from_str::<RequestProbe<'_>>(text).is_ok_and(|p| {
        p.id.is_some()
            && p.method.as_deref() != Some("subscriptions/listen")
            && modern::envelope(p.params).is_some()
    })
}

/// Runs a stateless request; returns the reply (log notifications that precede
/// it are pushed to the connection). `None` if it timed out.
pub async fn handle(app: &LambdaApp, connection_id: &str, text: &str) -> Option<Option<String>> {
    app.refresh_catalog().await;
    // Never stored: the engine builds the request's own session from its envelope.
    let mut session = Session::new(format!("stateless-{connection_id}"));
    let handled = app.engine.handle_text_with_effects(&mut session, text);
    let out = tokio::time::timeout(app.limits.request_timeout, handled)
        .await
        .ok()?;
    let mut frames = out.frames;
    let reply = frames.pop();
    for frame in frames.into_iter().filter(|f| !f.is_empty()) {
        if app.pusher.push(connection_id, Bytes::from(frame)).await != PushOutcome::Delivered {
            tracing::warn!(connection = %connection_id, "could not push a notification");
        }
    }
    Some(reply)
}
