//! Traces: every JSON-RPC message the engine handles runs in an `rpc` span
//! carrying its method, its id (requests) and its session, so what a request
//! logs (and what an OpenTelemetry layer would export) names the request.
//! Checked with a recording `tracing` layer on the real engine and store.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use mcp_prompts::adapters::embedded::EmbeddedStore;
use mcp_prompts::engine::{Catalog, Engine, EngineConfig, Session};
use mcp_prompts::ports::SystemClock;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

type Fields = BTreeMap<String, String>;

/// Every span opened: its name and fields.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(String, Fields)>>>);

struct Collect<'a>(&'a mut Fields);

impl Visit for Collect<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut Collect(&mut fields));
        let name = attrs.metadata().name().to_string();
        self.0.lock().unwrap().push((name, fields));
    }
}

#[tokio::test]
async fn each_message_runs_in_a_span_with_its_json_rpc_id_and_method() {
    let recorder = Recorder::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(SystemClock);
    let store = Arc::new(EmbeddedStore::open(dir.path(), clock.clone()).unwrap());
    let engine = Engine::new(
        Arc::new(Catalog::new(store, clock)),
        EngineConfig::default(),
    );
    let mut session = Session::new("s-traced");
    for text in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":"seven","method":"tools/call","params":{"name":"list_prompts","arguments":{}}}"#,
    ] {
        engine.handle_text(&mut session, text).await;
    }
    let spans: Vec<(String, Fields)> = recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(name, _)| name == "rpc")
        .cloned()
        .collect();
    let field = |i: usize, k: &str| spans[i].1.get(k).cloned().unwrap_or_default();
    assert_eq!(spans.len(), 3, "{spans:?}");
    assert_eq!(
        (field(0, "method"), field(0, "id")),
        ("initialize".into(), "1".into())
    );
    assert_eq!(field(1, "method"), "notifications/initialized");
    assert!(!spans[1].1.contains_key("id"), "a notification has no id");
    assert_eq!(
        (field(2, "method"), field(2, "id")),
        ("tools/call".into(), "\"seven\"".into())
    );
    assert!(
        spans
            .iter()
            .all(|(_, f)| f.get("session").map(String::as_str) == Some("s-traced"))
    );
}
