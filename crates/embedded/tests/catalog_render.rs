//! The catalog's rendering on the real embedded store: the flat text plan and
//! handlebars agree whatever the argument types.

use std::sync::Arc;

use mcp_prompts_embedded::EmbeddedStore;
use mcp_prompts_engine::domain::PromptId;
use mcp_prompts_engine::ports::SystemClock;
use mcp_prompts_engine::{Catalog, Selector};
use serde_json::{Map, Value, json};

async fn catalog(dir: &std::path::Path) -> Catalog {
    let clock = Arc::new(SystemClock);
    let store = Arc::new(EmbeddedStore::open(dir, clock.clone()).unwrap());
    Catalog::new(store, clock)
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// String arguments take the flat plan, anything else handlebars; both
/// entry points give the same text either way.
#[tokio::test]
async fn non_string_arguments_render_like_handlebars() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path()).await;
    let draft = serde_json::from_value(json!({
        "id": "p", "name": "p", "isTemplate": true,
        "content": "n={{n}}{{#if flag}} on{{else}} off{{/if}}",
        "variables": [{"name": "n", "required": true}, {"name": "flag"}],
    }))
    .unwrap();
    catalog.create(draft, "test").await.unwrap();
    let id = PromptId::parse("p").unwrap();
    for (given, expected) in [
        (json!({"n": "x", "flag": "y"}), "n=x on"),
        (json!({"n": "x", "flag": ""}), "n=x off"),
        (json!({"n": 5, "flag": false}), "n=5 off"),
        (json!({"n": [1, 2], "flag": 0}), "n=[1, 2] off"),
        (json!({"n": true, "flag": 1}), "n=true on"),
    ] {
        let given = args(given);
        let rendered = catalog
            .render(&id, &Selector::Latest, &given)
            .await
            .unwrap();
        assert_eq!(rendered.text, expected, "{given:?}");
        let mut json_text = String::new();
        catalog
            .render_latest_json(&id, &given, &mut json_text)
            .await
            .unwrap();
        assert_eq!(json_text, expected, "{given:?}");
    }
}
