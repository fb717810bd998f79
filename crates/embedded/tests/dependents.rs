//! The catalog's who-includes-whom graph on the real embedded store: a
//! change to a partial names its includers (transitively), and a consumer
//! that saw only some changes (one of several fan-out Lambdas) first applies
//! what it missed from the change log, so a stale edge is not reported.

use std::sync::Arc;

use mcp_prompts_embedded::EmbeddedStore;
use mcp_prompts_engine::Catalog;
use mcp_prompts_engine::domain::{ChangeKind, PromptDraft, PromptId, PromptPatch};
use mcp_prompts_engine::ports::SystemClock;
use serde_json::json;

fn draft(id: &str, content: &str) -> PromptDraft {
    serde_json::from_value(json!({"id": id, "name": id, "content": content})).unwrap()
}

fn patch(content: &str) -> PromptPatch {
    serde_json::from_value(json!({ "content": content })).unwrap()
}

#[tokio::test]
async fn includers_are_named_and_missed_changes_are_caught_up() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(SystemClock);
    let store = Arc::new(EmbeddedStore::open(dir.path(), clock.clone()).unwrap());
    let catalog = Catalog::new(store, clock);
    let id = |s: &str| PromptId::parse(s).unwrap();
    catalog.create(draft("header", "Hi"), "t").await.unwrap();
    catalog
        .create(draft("page", "{{> header}} body"), "t")
        .await
        .unwrap();
    catalog
        .create(draft("site", "{{> page}}!"), "t")
        .await
        .unwrap();

    let (_, change) = catalog
        .update(&id("header"), patch("Hello"), None, "t")
        .await
        .unwrap();
    let events = catalog
        .dependency_events(std::slice::from_ref(&change))
        .await;
    let named: Vec<(String, ChangeKind, Option<String>)> = events
        .iter()
        .map(|e| {
            (
                e.id.to_string(),
                e.kind,
                e.partial.as_ref().map(|p| p.to_string()),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (
                "page".into(),
                ChangeKind::DependencyChanged,
                Some("header".into())
            ),
            (
                "site".into(),
                ChangeKind::DependencyChanged,
                Some("header".into())
            ),
        ]
    );
    assert!(events.iter().all(|e| e.position == change.position));

    // Another consumer hears that the page stopped including the header; this
    // one does not, and next sees a change to the header.
    catalog
        .update(&id("page"), patch("just the body"), None, "t")
        .await
        .unwrap();
    catalog.invalidate(&id("page"));
    let (_, later) = catalog
        .update(&id("header"), patch("Howdy"), None, "t")
        .await
        .unwrap();
    let events = catalog
        .dependency_events(std::slice::from_ref(&later))
        .await;
    assert!(
        events.is_empty(),
        "the missed change was applied first: {events:?}"
    );
}
