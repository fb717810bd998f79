//! What every Lambda handler needs: the session host over the ports (sessions and
//! connections in DynamoDB, `PostToConnection`, fan-out through the connection
//! store's topic index), built once per Lambda instance (init) and shared by its
//! invocations. With a shard queue the change consumer's audience hands shards
//! to it instead of posting ([`crate::shards`]); the shard consumer posts with
//! the app's [`Poster`], paced by this instance's share of the post budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::emf::Emf;
use crate::imports::{AwsImportJobs, AwsJobSettings};
use crate::shards::{ShardQueue, ShardingAudience};
use crate::{
    AwsClients, AwsSettings, DynamoConnectionStore, DynamoPromptStore, DynamoSessionStore,
    WebhookQueue,
};
use mcp_prompts_engine::host::{
    HostPorts, HostSettings, IndexedAudience, Pace, PostSettings, Poster, SessionHost,
};
use mcp_prompts_engine::import::BatchWriter;
use mcp_prompts_engine::ports::{
    Audience, Clock, ConnectionStore, Pusher, SessionStore, SystemClock,
};
use mcp_prompts_engine::{Catalog, Engine, EngineConfig};

/// Change-log pages read to catch up one cache (500 changes each).
const MAX_REFRESH_PAGES: usize = 20;

/// API Gateway's WebSocket limits, and how long state outlives a connection.
#[derive(Debug, Clone)]
pub struct LambdaLimits {
    /// API Gateway refuses messages over 128 KB, both ways.
    pub max_message_bytes: usize,
    /// How fan-outs post, shard and pace themselves.
    pub fanout: FanoutSettings,
    /// A connection lives at most 2 h on API Gateway; its items a bit longer.
    pub connection_ttl_secs: u64,
    /// How long a session survives without a connection (for resume); while
    /// attached it lives as long as its connection can, plus this
    /// (`MCP_PROMPTS_SESSION_GRACE_SECS`, as for `serve`).
    pub session_ttl_secs: u64,
    /// API Gateway gives up on an integration after 29 s: answer before that.
    pub request_timeout: std::time::Duration,
    /// Bulk import jobs, when an import queue is configured.
    pub imports: ImportSettings,
    /// The webhook deliveries' queue, when subscribers are on.
    pub webhook_queue_url: Option<String>,
}

/// Where bulk import jobs queue their batches, and how big those are.
#[derive(Debug, Clone, Default)]
pub struct ImportSettings {
    pub queue_url: Option<String>,
    pub jobs: AwsJobSettings,
}

impl Default for LambdaLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 128 * 1024,
            fanout: FanoutSettings::default(),
            connection_ttl_secs: 2 * 3600 + 600,
            session_ttl_secs: 600,
            request_timeout: std::time::Duration::from_secs(28),
            imports: ImportSettings::default(),
            webhook_queue_url: None,
        }
    }
}

/// The fan-out's settings (README, "AWS column": the shard arithmetic).
#[derive(Debug, Clone)]
pub struct FanoutSettings {
    /// Connections in flight per invocation and the per-connection retries.
    pub post: PostSettings,
    /// `PostToConnection` calls per second across every invocation (0: unpaced).
    pub budget: f64,
    /// How many invocations post at once at most (the shard function's
    /// reserved concurrency): each paces itself to `budget / consumers`.
    pub consumers: usize,
    /// Connections per shard message.
    pub shard_size: usize,
    /// The shard queue; `None` fans out in the change consumer itself.
    pub shard_queue_url: Option<String>,
}

impl Default for FanoutSettings {
    fn default() -> Self {
        Self {
            post: PostSettings::default(),
            budget: 5000.0,
            consumers: 2,
            shard_size: 1000,
            shard_queue_url: None,
        }
    }
}

pub struct LambdaApp {
    pub host: Arc<SessionHost>,
    pub engine: Arc<Engine>,
    pub pusher: Arc<dyn Pusher>,
    pub limits: LambdaLimits,
    /// Posts a delivery to many connections (the shard consumer's).
    pub poster: Poster,
    /// Where shards go (and a shard's failed connections are retried).
    pub shards: Option<Arc<ShardQueue>>,
    /// Bulk import jobs (attached to the engine too), with an import queue.
    pub imports: Option<Arc<AwsImportJobs>>,
    /// The webhook deliveries' queue (nudged after each fan-out batch), when
    /// subscribers are on.
    pub webhooks: Option<Arc<WebhookQueue>>,
    /// The store's batch write path, for the import handler (one transaction
    /// per group of prompts instead of one per prompt).
    pub batch: Option<Arc<dyn BatchWriter>>,
    /// Where the handlers' EMF metrics lines go (off unless set: the Lambda
    /// runtime sets stdout, tests a buffer).
    pub emf: Emf,
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
        Self::with_shards(engine, sessions, connections, pusher, limits, None)
    }

    /// The app; with `shards`, the change consumer shards instead of posting.
    pub fn with_shards(
        engine: Arc<Engine>,
        sessions: Arc<dyn SessionStore>,
        connections: Arc<dyn ConnectionStore>,
        pusher: Arc<dyn Pusher>,
        limits: LambdaLimits,
        shards: Option<Arc<ShardQueue>>,
    ) -> Self {
        let fanout = &limits.fanout;
        let poster = Poster {
            pusher: pusher.clone(),
            connections: connections.clone(),
            pace: Arc::new(Pace::share(fanout.budget, fanout.consumers)),
            settings: fanout.post,
        };
        let clock = engine.catalog.clock().clone();
        let audience: Arc<dyn Audience> = match &shards {
            Some(queue) => Arc::new(ShardingAudience {
                connections: connections.clone(),
                clock,
                queue: queue.clone(),
                shard_size: fanout.shard_size.max(1),
            }),
            None => Arc::new(IndexedAudience {
                connections: connections.clone(),
                clock,
                poster: poster.clone(),
            }),
        };
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
            poster,
            shards,
            imports: None,
            webhooks: None,
            batch: None,
            emf: Emf::default(),
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
        let shards = limits
            .fanout
            .shard_queue_url
            .clone()
            .map(|url| Arc::new(ShardQueue::new(clients.clone(), url)));
        let imports = limits.imports.queue_url.clone().map(|url| {
            Arc::new(AwsImportJobs::new(
                clients.clone(),
                settings.prompts_table.clone(),
                settings.bucket.clone(),
                url,
                limits.imports.jobs.clone(),
            ))
        });
        let webhooks = limits
            .webhook_queue_url
            .clone()
            .map(|url| Arc::new(WebhookQueue::new(clients.clone(), url)));
        let mut app = Self::with_shards(engine, sessions, connections, pusher, limits, shards);
        app.webhooks = webhooks;
        app.batch = Some(store.clone());
        if let Some(jobs) = imports {
            app.engine.attach_jobs(jobs.clone());
            app.imports = Some(jobs);
        }
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
