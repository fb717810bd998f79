//! An engine on a real embedded store in a temp dir, and one helper per kind of
//! call, so the tests read as what a client does.
#![allow(dead_code)]

use std::sync::Arc;

use mcp_prompts_embedded::EmbeddedStore;
use mcp_prompts_engine::catalog::Limits;
use mcp_prompts_engine::ports::SystemClock;
use mcp_prompts_engine::{Catalog, Engine, EngineConfig, Session};
use serde_json::{Value, json};

pub struct Hub {
    pub engine: Arc<Engine>,
    pub dir: tempfile::TempDir,
}

pub fn hub() -> Hub {
    hub_with(Limits::default())
}

pub fn hub_with(limits: Limits) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(SystemClock);
    let store = Arc::new(EmbeddedStore::open(dir.path(), clock.clone()).unwrap());
    let catalog = Arc::new(Catalog::new(store, clock).with_limits(limits));
    let engine = Arc::new(Engine::new(catalog, EngineConfig::default()));
    Hub { engine, dir }
}

impl Hub {
    /// A session that has completed the handshake.
    pub async fn session(&self, name: &str) -> Session {
        let mut session = Session::new(name);
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": name, "version": "0"}}});
        self.engine
            .handle_text(&mut session, &init.to_string())
            .await;
        self.engine
            .handle_text(
                &mut session,
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            )
            .await;
        session
    }

    /// One request; its single reply, parsed.
    pub async fn call(&self, session: &mut Session, method: &str, params: Value) -> Value {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let frames = self.engine.handle_text(session, &request.to_string()).await;
        let reply = frames.last().expect("a reply");
        serde_json::from_str(reply).unwrap()
    }

    /// `tools/call`; the tool's result (with `isError`).
    pub async fn tool(&self, session: &mut Session, name: &str, arguments: Value) -> Value {
        let reply = self
            .call(
                session,
                "tools/call",
                json!({"name": name, "arguments": arguments}),
            )
            .await;
        reply["result"].clone()
    }

    /// `create_prompt` of a template `id` with `content`; the tool result.
    pub async fn create(&self, session: &mut Session, id: &str, content: &str) -> Value {
        self.tool(
            session,
            "create_prompt",
            json!({"id": id, "name": id, "content": content, "isTemplate": true}),
        )
        .await
    }
}

/// The text of a tool result (its message when `isError`).
pub fn tool_text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

pub fn is_error(result: &Value) -> bool {
    result["isError"] == json!(true)
}
