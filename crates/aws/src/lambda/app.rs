//! What every Lambda handler needs: the session host over the ports (sessions and
//! connections in DynamoDB, `PostToConnection`, fan-out through the connection
//! store's topic index), built once per Lambda instance (init) and shared by its
//! invocations.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{
    AwsClients, AwsSettings, DynamoConnectionStore, DynamoPromptStore, DynamoSessionStore,
};
use mcp_prompts_engine::host::{HostPorts, HostSettings, IndexedAudience, SessionHost};
use mcp_prompts_engine::ports::{Clock, ConnectionStore, Pusher, SessionStore, SystemClock};
use mcp_prompts_engine::{Catalog, Engine, EngineConfig};

/// Change-log pages read to catch up one cache (500 changes each).
const MAX_REFRESH_PAGES: usize = 20;

/// API Gateway's WebSocket limits, and how long state outlives a connection.
#[derive(Debug, Clone)]
pub struct LambdaLimits {
    /// API Gateway refuses messages over 128 KB, both ways.
    pub max_message_bytes: usize,
    /// `PostToConnection` calls in flight at once in one fan-out invocation.
    pub fanout_concurrency: usize,
    /// A connection lives at most 2 h on API Gateway; its items a bit longer.
    pub connection_ttl_secs: u64,
    /// How long a session survives without a connection (for resume); while
    /// attached it lives as long as its connection can, plus this
    /// (`MCP_PROMPTS_SESSION_GRACE_SECS`, as for `serve`).
    pub session_ttl_secs: u64,
    /// API Gateway gives up on an integration after 29 s: answer before that.
    pub request_timeout: std::time::Duration,
}

impl Default for LambdaLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 128 * 1024,
            fanout_concurrency: 32,
            connection_ttl_secs: 2 * 3600 + 600,
            session_ttl_secs: 600,
            request_timeout: std::time::Duration::from_secs(28),
        }
    }
}

pub struct LambdaApp {
    pub host: Arc<SessionHost>,
    pub engine: Arc<Engine>,
    pub pusher: Arc<dyn Pusher>,
    pub limits: LambdaLimits,
    /// The change-log position this instance's catalog cache reflects.
    seen_position: AtomicU64,
}

impl LambdaApp {
    pub fn new(
        engine: Arc<Engine>,
        sessions: Arc<dyn SessionStore>,
        connections: Arc<dyn ConnectionStore>,
        pusher: Arc<dyn Pusher>,
        limits: LambdaLimits,
    ) -> Self {
        let audience = Arc::new(IndexedAudience {
            connections: connections.clone(),
            pusher: pusher.clone(),
            clock: engine.catalog.clock().clone(),
            concurrency: limits.fanout_concurrency,
        });
        let host = Arc::new(SessionHost::new(
            engine.clone(),
            HostPorts {
                sessions,
                connections,
                pusher: pusher.clone(),
                audience,
            },
            HostSettings {
                session_grace_secs: limits.session_ttl_secs,
                connection_ttl_secs: limits.connection_ttl_secs,
                save_handshake: true,
                // API Gateway throttles; an attachment lives one message here.
                rate: None,
            },
        ));
        Self {
            host,
            engine,
            pusher,
            limits,
            seen_position: AtomicU64::new(0),
        }
    }

    /// The app on DynamoDB/S3/SQS; returns the prompt store too (the gateway runs
    /// its outbox sweeper). Makes no network call.
    pub fn on_aws(
        clients: &Arc<AwsClients>,
        settings: &AwsSettings,
        pusher: Arc<dyn Pusher>,
        engine_config: EngineConfig,
        limits: LambdaLimits,
    ) -> (Self, Arc<DynamoPromptStore>) {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store = Arc::new(DynamoPromptStore::new(
            clients.clone(),
            settings,
            clock.clone(),
        ));
        let catalog = Arc::new(Catalog::new(store.clone(), clock));
        let sessions = Arc::new(DynamoSessionStore::new(
            clients.clone(),
            settings.sessions_table.clone(),
        ));
        let engine = Arc::new(Engine::new(catalog, engine_config).with_sessions(sessions.clone()));
        let connections = Arc::new(DynamoConnectionStore::new(
            clients.clone(),
            settings.connections_table.clone(),
        ));
        let app = Self::new(engine, sessions, connections, pusher, limits);
        (app, store)
    }

    /// Drops cached prompts that changed since this instance last looked: other
    /// Lambda instances write to the same table, and a stale cache would serve an
    /// old version. One consistent read of the head per request; the change log
    /// only when it moved. Returns the head (0 if unknown).
    pub async fn refresh_catalog(&self) -> u64 {
        let store = self.engine.catalog.store();
        let Ok(head) = store.head_position().await else {
            return 0;
        };
        let mut seen = self.seen_position.load(Ordering::Acquire);
        // A fresh instance has nothing cached yet: it only needs to note the head.
        if seen != 0 {
            for _ in 0..MAX_REFRESH_PAGES {
                if seen >= head {
                    break;
                }
                let Ok(changes) = store.changes_since(seen, 500).await else {
                    return head;
                };
                let Some(last) = changes.last() else { break };
                // Changes pruned from the history before this instance saw them.
                if changes[0].position > seen + 1 {
                    self.engine.catalog.invalidate_all();
                }
                seen = last.position;
                for c in &changes {
                    self.engine.catalog.invalidate(&c.id);
                }
            }
            if seen < head {
                self.engine.catalog.invalidate_all();
            }
        }
        self.seen_position.store(head, Ordering::Release);
        head
    }
}
