//! Issue 17.7: generated frames through `Engine::handle_text` on a real store.
//! Whatever arrives, the engine does not panic, answers every request that has
//! a valid id exactly once with a well-formed JSON-RPC response carrying the
//! right code, stays silent on notifications, and writes nothing.
//!
//! `FUZZ_CASES=N` changes the number of cases (default 100,000).

mod support;

use std::cell::RefCell;

use mcp_prompts_engine::Session;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

/// What a frame must get back.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// One error with this code, for the request `id` (`None`: id `null`).
    Error(i64, Option<Value>),
    /// One successful result for `id`.
    Result(Value),
    /// Nothing (a notification).
    Silence,
    /// One frame: a batch of errors with these (id, code) pairs, in order.
    Batch(Vec<(Value, i64)>),
    /// Not a valid JSON text: a parse error without id.
    ParseIfInvalid,
}

#[derive(Debug, Clone)]
struct Frame {
    text: String,
    /// Sent on the 2025-03-26 session, where batches are allowed.
    old_revision: bool,
    expect: Expect,
}

fn valid_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        "[a-z0-9 \\-]{0,8}".prop_map(Value::from),
        Just(json!(0)),
        Just(json!(1.5)),
    ]
}

fn bad_id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("{}".to_string()),
        Just("[1]".to_string()),
        Just("{\"a\":1}".to_string()),
    ]
}

/// Known methods with params that are wrong for them: always -32602.
fn bad_params() -> impl Strategy<Value = (&'static str, Value)> {
    let junk = prop_oneof![
        Just(json!([])),
        Just(json!(7)),
        Just(json!("s")),
        Just(json!(true)),
        Just(json!([{"name": "x"}])),
    ];
    prop_oneof![
        junk.clone().prop_map(|p| ("prompts/get", p)),
        junk.clone().prop_map(|p| ("tools/call", p)),
        junk.prop_map(|p| ("resources/read", p)),
        any::<i64>().prop_map(|n| ("prompts/get", json!({"name": n}))),
        "[a-z\\-]{1,12}".prop_map(|n| ("prompts/get", json!({"name": n}))),
        "[a-z]{1,6}".prop_map(|n| ("prompts/get", json!({"name": n, "arguments": [n]}))),
        "[a-z]{1,6}".prop_map(|n| ("prompts/get", json!({"name": n, "arguments": {"a": 1}}))),
        any::<u64>().prop_map(|n| ("tools/call", json!({"name": n}))),
        "[a-z_]{0,12}".prop_map(|n| ("tools/call", json!({"name": format!("no_{n}")}))),
        any::<bool>().prop_map(|b| ("resources/read", json!({"uri": b}))),
        "[a-z]{0,8}".prop_map(|l| ("logging/setLevel", json!({"level": format!("x{l}")}))),
        "[A-Za-z0-9]{0,12}".prop_map(|c| ("prompts/list", json!({"cursor": format!("!{c}")}))),
    ]
}

/// Tool calls whose arguments are never a valid write (or read of anything).
fn failing_tool() -> impl Strategy<Value = Value> {
    let tool = prop::sample::select(vec![
        "create_prompt",
        "update_prompt",
        "delete_prompt",
        "get_prompt",
        "prompt_history",
        "apply_template",
        "set_label",
    ]);
    (tool, "[a-z\\-]{0,10}", any::<i64>()).prop_map(|(tool, s, n)| {
        // create_prompt never gets `content`; the others name a missing prompt.
        json!({"name": tool, "arguments": {"id": format!("zz-{s}"), "name": s, "version": n.unsigned_abs() % 5 + 1, "label": "prod", "variables": {}}})
    })
}

fn request(id: &Value, method: &str, params: &Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

fn frame() -> impl Strategy<Value = Frame> {
    let garbage = prop::collection::vec(any::<u8>(), 0..48).prop_map(|b| Frame {
        text: String::from_utf8_lossy(&b).into_owned(),
        old_revision: false,
        expect: Expect::ParseIfInvalid,
    });
    let truncated = (valid_id(), 0usize..60).prop_map(|(id, cut)| {
        let full = request(
            &id,
            "prompts/get",
            &json!({"name": "a", "arguments": {"x": "y"}}),
        );
        let cut = cut.min(full.len().saturating_sub(1));
        Frame {
            text: full[..cut].to_string(),
            old_revision: false,
            expect: Expect::ParseIfInvalid,
        }
    });
    let deep = (1usize..10_000, any::<bool>()).prop_map(|(n, object)| {
        let (open, close) = if object { ("{\"a\":", "}") } else { ("[", "]") };
        Frame {
            text: format!("{}1{}", open.repeat(n), close.repeat(n)),
            old_revision: true,
            expect: Expect::ParseIfInvalid,
        }
    });
    let unknown = (valid_id(), "[a-z/_]{1,16}").prop_map(|(id, m)| Frame {
        text: request(&id, &format!("x/{m}"), &json!({})),
        old_revision: false,
        expect: Expect::Error(-32601, Some(id)),
    });
    let bad_params = (valid_id(), bad_params()).prop_map(|(id, (method, params))| Frame {
        text: request(&id, method, &params),
        old_revision: false,
        expect: Expect::Error(-32602, Some(id)),
    });
    let bad_id = (bad_id(), "[a-z/]{1,10}").prop_map(|(id, m)| Frame {
        text: format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{m}"}}"#),
        old_revision: false,
        expect: Expect::Error(-32600, None),
    });
    let wrong_version = (
        valid_id(),
        prop::sample::select(vec!["\"1.0\"", "2", "null", "\"2\""]),
    )
        .prop_map(|(id, v)| Frame {
            text: format!(r#"{{"jsonrpc":{v},"id":{id},"method":"ping"}}"#),
            old_revision: false,
            expect: Expect::Error(-32600, Some(id)),
        });
    let huge_numbers = (
        valid_id(),
        prop::sample::select(vec![
            "1e400",
            "-1e400",
            "123456789012345678901234567890",
            "1e-400",
        ]),
    )
        .prop_map(|(id, n)| Frame {
            text: format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"ping","params":{{"n":{n},"m":[{n}]}}}}"#
            ),
            old_revision: false,
            expect: Expect::Result(id),
        });
    let huge_id = Just(Frame {
        text: r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}"#.into(),
        old_revision: false,
        // Echoed as sent; read back as a float.
        expect: Expect::Result(Value::Null),
    });
    let tools = (valid_id(), failing_tool()).prop_map(|(id, params)| Frame {
        text: request(&id, "tools/call", &params),
        old_revision: false,
        expect: Expect::Result(id),
    });
    let notification = "[a-z/]{1,16}".prop_map(|m| Frame {
        text: format!(r#"{{"jsonrpc":"2.0","method":"x/{m}","params":{{"a":[1,2]}}}}"#),
        old_revision: false,
        expect: Expect::Silence,
    });
    let batch = prop::collection::vec((valid_id(), "[a-z]{1,8}"), 1..6).prop_map(|items| {
        let texts: Vec<String> = items
            .iter()
            .map(|(id, m)| request(id, &format!("nope/{m}"), &json!({})))
            .collect();
        Frame {
            text: format!("[{}]", texts.join(",")),
            old_revision: true,
            expect: Expect::Batch(items.into_iter().map(|(id, _)| (id, -32601)).collect()),
        }
    });
    prop_oneof![
        garbage,
        truncated,
        deep,
        unknown,
        bad_params,
        bad_id,
        wrong_version,
        huge_numbers,
        huge_id,
        tools,
        notification,
        batch,
    ]
}

/// A well-formed JSON-RPC response object: version, an id, exactly one of
/// `result`/`error` (with an integer code and a message).
fn well_formed(reply: &Value) -> Result<(), String> {
    let ok = reply["jsonrpc"] == "2.0"
        && reply.get("id").is_some()
        && (reply.get("result").is_some() != reply.get("error").is_some())
        && reply
            .get("error")
            .is_none_or(|e| e["code"].is_i64() && e["message"].is_string());
    ok.then_some(())
        .ok_or_else(|| format!("malformed reply {reply}"))
}

fn check(frame: &Frame, frames: &[String]) -> Result<(), String> {
    let replies: Vec<Value> = frames
        .iter()
        .map(|f| serde_json::from_str(f).map_err(|e| format!("reply is not JSON ({e}): {f}")))
        .collect::<Result<_, _>>()?;
    let expect = match &frame.expect {
        Expect::ParseIfInvalid
            if serde_json::from_str::<serde::de::IgnoredAny>(&frame.text).is_err() =>
        {
            Expect::Error(-32700, None)
        }
        Expect::ParseIfInvalid => {
            // Valid JSON that is no request: any well-formed error(s), or nothing.
            for r in &replies {
                match r {
                    Value::Array(items) => items.iter().try_for_each(well_formed)?,
                    other => well_formed(other)?,
                }
            }
            return Ok(());
        }
        other => other.clone(),
    };
    match (&expect, replies.as_slice()) {
        (Expect::Silence, []) => Ok(()),
        (Expect::Error(code, id), [reply]) => {
            well_formed(reply)?;
            let want_id = id.clone().unwrap_or(Value::Null);
            if reply["error"]["code"] == *code && ids_match(&reply["id"], &want_id) {
                Ok(())
            } else {
                Err(format!("expected {code} for id {want_id}, got {reply}"))
            }
        }
        (Expect::Result(id), [reply]) => {
            well_formed(reply)?;
            let id_ok = id.is_null() || ids_match(&reply["id"], id);
            if reply.get("result").is_some() && id_ok {
                Ok(())
            } else {
                Err(format!("expected a result for {id}, got {reply}"))
            }
        }
        (Expect::Batch(items), [Value::Array(replies)]) if replies.len() == items.len() => {
            for ((id, code), reply) in items.iter().zip(replies) {
                well_formed(reply)?;
                if reply["error"]["code"] != *code || !ids_match(&reply["id"], id) {
                    return Err(format!("batch item {id}: expected {code}, got {reply}"));
                }
            }
            Ok(())
        }
        _ => Err(format!(
            "expected {expect:?}, got {} frames: {frames:?}",
            frames.len()
        )),
    }
}

/// Ids are echoed as sent; numbers compare by value (`1.5` stays `1.5`).
fn ids_match(got: &Value, want: &Value) -> bool {
    got == want || (got.as_f64().is_some() && got.as_f64() == want.as_f64())
}

#[test]
fn generated_frames_never_panic_and_get_exactly_the_right_answer() {
    let cases: u32 = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hub = support::hub();
    let (current, old, baseline) = rt.block_on(async {
        let current = hub.session("fuzz").await;
        let mut old = Session::new("fuzz-old");
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-03-26", "capabilities": {},
            "clientInfo": {"name": "fuzz", "version": "0"}}});
        hub.engine.handle_text(&mut old, &init.to_string()).await;
        (current, old, store_state(&hub).await)
    });
    let sessions = RefCell::new((current, old));
    let ran = RefCell::new(0u32);
    let in_engine = RefCell::new(std::time::Duration::ZERO);
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    });
    let result = runner.run(&frame(), |frame| {
        *ran.borrow_mut() += 1;
        let mut sessions = sessions.borrow_mut();
        let (current, old) = &mut *sessions;
        let session = if frame.old_revision { old } else { current };
        let t = std::time::Instant::now();
        let frames = rt.block_on(hub.engine.handle_text(session, &frame.text));
        *in_engine.borrow_mut() += t.elapsed();
        check(&frame, &frames).map_err(TestCaseError::fail)?;
        if ran.borrow().is_multiple_of(1_000) {
            let state = rt.block_on(store_state(&hub));
            prop_assert_eq!(state, baseline, "the store changed");
        }
        Ok(())
    });
    let state = rt.block_on(store_state(&hub));
    println!(
        "fuzz: {} generated frames through the engine in {:?} ({:?} of it in the engine)",
        ran.borrow(),
        started.elapsed(),
        in_engine.borrow()
    );
    result.unwrap();
    assert_eq!(state, baseline, "the store changed");
}

/// (head position, live prompts): what a write would move.
async fn store_state(hub: &support::Hub) -> (u64, u64) {
    let store = hub.engine.catalog.store();
    (
        store.head_position().await.unwrap(),
        store.count_live().await.unwrap(),
    )
}
