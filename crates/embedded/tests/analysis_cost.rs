//! Saving and first rendering a template that uses one variable N times must
//! cost time linear in N (issue 17: a quadratic step froze every session).
//! Prints the figures (`-- --nocapture`); the only assertion is a generous
//! sanity bound, not a timing target.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_prompts_embedded::EmbeddedStore;
use mcp_prompts_engine::catalog::Limits;
use mcp_prompts_engine::domain::{PromptId, template};
use mcp_prompts_engine::ports::SystemClock;
use mcp_prompts_engine::{Catalog, Selector};
use serde_json::{Map, Value, json};

fn uses(n: usize) -> String {
    "{{topic}} and ".repeat(n)
}

#[tokio::test]
async fn analysis_and_first_render_are_linear_in_variable_uses() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(SystemClock);
    let store = Arc::new(EmbeddedStore::open(dir.path(), clock.clone()).unwrap());
    // Limits raised: this measures the work, not the limits.
    let catalog = Catalog::new(store, clock).with_limits(Limits {
        max_template_bytes: 8 << 20,
        max_output_bytes: 64 << 20,
        ..Limits::default()
    });
    let mut args = Map::new();
    args.insert("topic".into(), Value::from("t"));
    let mut per_use = Vec::new();
    // 100k uses only in a release build (`--release`): debug handlebars is
    // slow. `ANALYSIS_USES=2500,20000` picks the sizes.
    let sizes: Vec<usize> = match std::env::var("ANALYSIS_USES") {
        Ok(list) => list
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect(),
        Err(_) if cfg!(debug_assertions) => vec![2_500, 20_000],
        Err(_) => vec![2_500, 20_000, 100_000],
    };
    for &n in &sizes {
        let source = uses(n);
        let t = Instant::now();
        template::analyze(&source).unwrap();
        let analyze = t.elapsed();
        let id = format!("uses-{n}");
        let draft = serde_json::from_value(json!({
            "id": id, "name": id, "content": source, "isTemplate": true,
        }))
        .unwrap();
        let t = Instant::now();
        catalog.create(draft, "test").await.unwrap();
        let save = t.elapsed();
        let t = Instant::now();
        let id = PromptId::parse(&id).unwrap();
        let out = catalog.render(&id, &Selector::Latest, &args).await.unwrap();
        let render = t.elapsed();
        assert_eq!(out.text.len(), n * "t and ".len());
        println!(
            "{n:>7} uses ({} KB): analyze {analyze:?}, save {save:?}, first render {render:?}",
            source.len() / 1024
        );
        per_use.push((save + render).as_secs_f64() / n as f64);
    }
    // Generous: linear is ~1x per use; quadratic is 8x at 20k and 40x at 100k.
    let last = per_use[per_use.len() - 1];
    assert!(
        last < per_use[0] * 4.0 + Duration::from_micros(50).as_secs_f64(),
        "{per_use:?}"
    );
}
