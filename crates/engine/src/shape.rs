//! A message's shape, read before it is handled: the one place that probes a
//! frame's JSON for a door that must route it first (a Lambda skipping the
//! session load for a stateless 2026-07-28 request, a reply naming the request
//! id when the request timed out or its reply is too big).

use crate::modern::{self, RequestProbe};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Shape {
    /// The request id as JSON text (`None` for notifications, responses and
    /// frames that are not JSON-RPC).
    pub id: Option<String>,
    /// A 2026-07-28 request carrying its own `_meta` envelope that needs no
    /// stored session (`subscriptions/listen` does: its listener is recorded).
    pub stateless: bool,
}

impl crate::Engine {
    pub fn classify(&self, text: &str) -> Shape {
        let Ok(probe) = serde_json::from_str::<RequestProbe<'_>>(text) else {
            return Shape::default();
        };
        let id = probe
            .id
            .map(|id| id.get().to_string())
            .filter(|id| id != "null");
        let stateless = id.is_some()
            && probe.method.as_deref() != Some("subscriptions/listen")
            && modern::envelope(probe.params).is_some();
        Shape { id, stateless }
    }
}
