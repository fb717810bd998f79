//! Issue 17: one request must not take the hub down. Each limit is crossed
//! through the engine, and each answer names the limit.

mod support;

use std::time::{Duration, Instant};

use mcp_prompts_engine::catalog::Limits;
use serde_json::json;
use support::{hub, hub_with, is_error, tool_text};

/// `p{k} = {{> p{k-1}}}{{> p{k-1}}}` doubles per level: p30 would be a
/// gigabyte (with `p0 = "x"`, the depth limit refuses p17 first). The save that
/// crosses the output budget is refused, naming the prompt and the estimate;
/// everything below it still renders.
#[tokio::test]
async fn partials_that_fan_out_are_refused_when_saved() {
    let hub = hub();
    let mut s = hub.session("writer").await;
    let leaf = "x".repeat(1000);
    assert!(!is_error(&hub.create(&mut s, "p0", &leaf).await));
    let mut refused = None;
    for k in 1..=30 {
        let content = format!("{{{{> p{0}}}}}{{{{> p{0}}}}}", k - 1);
        let result = hub.create(&mut s, &format!("p{k}"), &content).await;
        if is_error(&result) {
            refused = Some((k, tool_text(&result).to_string()));
            break;
        }
    }
    let (k, message) = refused.expect("a fan-out is refused before p30");
    assert_eq!(k, 11, "refused at p{k}: {message}");
    assert!(message.contains(&format!("prompt 'p{k}'")), "{message}");
    assert!(
        message.contains("over the output limit of 1048576 bytes"),
        "{message}"
    );
    let reply = hub
        .call(
            &mut s,
            "prompts/get",
            json!({"name": format!("p{}", k - 1)}),
        )
        .await;
    let text = reply["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap();
    assert_eq!(text.len(), 1000 << (k - 1));
}

/// A large argument used 200 times would be a 40 MB reply: the render stops
/// at the output budget (-32603 naming it), on the flat plan and in handlebars.
#[tokio::test]
async fn a_large_argument_used_many_times_stops_at_the_output_budget() {
    let hub = hub();
    let mut s = hub.session("reader").await;
    assert!(!is_error(
        &hub.create(&mut s, "many", &"{{big}}".repeat(200)).await
    ));
    let helper = "{{upper big}}".repeat(200);
    assert!(!is_error(&hub.create(&mut s, "many-upper", &helper).await));
    let big = "a".repeat(200 * 1024);
    for name in ["many", "many-upper"] {
        let reply = hub
            .call(
                &mut s,
                "prompts/get",
                json!({"name": name, "arguments": {"big": big}}),
            )
            .await;
        assert_eq!(reply["error"]["code"], -32603, "{name}: {reply:.200}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("output limit of 1048576 bytes"),
            "{message}"
        );
    }
    let result = hub
        .tool(
            &mut s,
            "apply_template",
            json!({"id": "many", "variables": {"big": big}}),
        )
        .await;
    assert!(is_error(&result) && tool_text(&result).contains("output limit"));
}

/// Nested `#each` over one array: n^3 items. Stopped by the byte budget, and
/// with a larger byte budget by the time budget.
#[tokio::test]
async fn nested_each_stops_at_the_byte_and_time_budgets() {
    let source = "{{#each xs}}{{#each ../xs}}{{#each ../../xs}}ab{{/each}}{{/each}}{{/each}}";
    let xs: Vec<u32> = (0..1000).collect();
    for (limits, expected) in [
        (Limits::default(), "output limit"),
        (
            Limits {
                max_output_bytes: 1 << 40,
                max_render_time: Duration::from_millis(200),
                ..Limits::default()
            },
            "render time limit of 200 ms",
        ),
    ] {
        let hub = hub_with(limits);
        let mut s = hub.session("reader").await;
        assert!(!is_error(&hub.create(&mut s, "cube", source).await));
        let started = Instant::now();
        let result = hub
            .tool(
                &mut s,
                "apply_template",
                json!({"id": "cube", "variables": {"xs": xs}}),
            )
            .await;
        assert!(is_error(&result), "{result:.200}");
        assert!(
            tool_text(&result).contains(expected),
            "{}",
            tool_text(&result)
        );
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}

/// Partials nested 17 deep are refused naming the chain; 16 are fine.
#[tokio::test]
async fn partials_nested_too_deep_are_refused() {
    let hub = hub();
    let mut s = hub.session("writer").await;
    assert!(!is_error(&hub.create(&mut s, "d0", "leaf").await));
    for k in 1..=16 {
        let result = hub
            .create(&mut s, &format!("d{k}"), &format!("{{{{> d{}}}}}", k - 1))
            .await;
        assert!(!is_error(&result), "d{k}: {}", tool_text(&result));
    }
    let result = hub.create(&mut s, "d17", "{{> d16}}").await;
    assert!(is_error(&result));
    let message = tool_text(&result);
    assert!(
        message.contains("deeper than the limit of 16: d17 -> d16"),
        "{message}"
    );
}

#[tokio::test]
async fn templates_and_arguments_over_their_size_limits_are_refused() {
    let hub = hub();
    let mut s = hub.session("writer").await;
    let result = hub.create(&mut s, "huge", &"x".repeat(300 * 1024)).await;
    assert!(is_error(&result));
    assert_eq!(
        tool_text(&result),
        "template of prompt 'huge' is 307200 bytes, over the limit of 262144 bytes"
    );
    assert!(!is_error(&hub.create(&mut s, "echo", "{{a}}").await));
    let result = hub
        .tool(
            &mut s,
            "update_prompt",
            json!({"id": "echo", "content": "y".repeat(300 * 1024)}),
        )
        .await;
    assert!(tool_text(&result).contains("over the limit of 262144 bytes"));
    let reply = hub
        .call(
            &mut s,
            "prompts/get",
            json!({"name": "echo", "arguments": {"a": "z".repeat(300 * 1024)}}),
        )
        .await;
    assert_eq!(reply["error"]["code"], -32602);
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "arguments of prompt 'echo' are 307203 bytes, over the limit of 262144 bytes"
        ),
        "{message}"
    );
}

/// Issue 17.4: a refused write changes nothing, not even what the catalog
/// remembers about templates.
#[tokio::test]
async fn a_refused_write_leaves_nothing_behind() {
    let hub = hub();
    let mut s = hub.session("writer").await;
    let refused = hub.create(&mut s, "a", "{{> b}}").await;
    assert!(is_error(&refused));
    assert_eq!(
        tool_text(&refused),
        "template includes prompt 'b', which does not exist"
    );
    let plain = hub.create(&mut s, "a", "plain text").await;
    assert!(!is_error(&plain), "{}", tool_text(&plain));
    let reply = hub.call(&mut s, "prompts/get", json!({"name": "a"})).await;
    assert_eq!(
        reply["result"]["messages"][0]["content"]["text"],
        "plain text"
    );
    // The same through an update.
    assert!(is_error(
        &hub.tool(
            &mut s,
            "update_prompt",
            json!({"id": "a", "content": "{{> c}}"})
        )
        .await
    ));
    let ok = hub
        .tool(
            &mut s,
            "update_prompt",
            json!({"id": "a", "content": "{{x}} again"}),
        )
        .await;
    assert!(!is_error(&ok), "{}", tool_text(&ok));
}
