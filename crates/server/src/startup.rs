//! Startup wiring: builds the store, catalog, engine and gateway from the
//! command-line settings. Tests start the same thing through the binary.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpSocket;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cli::{HubArgs, ServeArgs, StdioArgs};
use crate::gateway::{Gateway, Limits};
use mcp_prompts_embedded::EmbeddedStore;
use mcp_prompts_engine::domain::static_resource::StaticResources;
use mcp_prompts_engine::host::{HostPorts, HostSettings, SessionHost};
use mcp_prompts_engine::jobs::{ImportJobs, JobSettings};
use mcp_prompts_engine::ports::{Clock, KeyStore, PromptStore, SessionStore, SystemClock};
use mcp_prompts_engine::realtime::{Publisher, PublisherConfig, Registry};
use mcp_prompts_engine::{Catalog, Engine, EngineConfig};

/// What a build without the AWS column says to `--backend aws`.
#[cfg(not(feature = "aws"))]
pub(crate) const NO_AWS: &str =
    "this build has no AWS support: build with `cargo run --release --features aws -- ...`";

/// Runs `serve` until SIGINT/SIGTERM.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if args.backend == crate::cli::Backend::Aws {
        anyhow::ensure!(
            args.hub.resources.is_none(),
            "--resources is not supported with --backend aws"
        );
        #[cfg(feature = "aws")]
        return crate::aws_gateway::serve(args).await;
        #[cfg(not(feature = "aws"))]
        anyhow::bail!(NO_AWS);
    }
    raise_open_file_limit();
    let shutdown = CancellationToken::new();
    let listener = bind(args.addr)?;
    let addr = listener.local_addr()?;
    let hub = open_hub(
        HubSettings {
            history: Some(HistoryBounds {
                max_changes: args.history_max_changes.max(1),
                max_age: Duration::from_secs(args.history_max_age_secs),
                every: Duration::from_secs(args.history_prune_secs.max(1)),
            }),
            host: HostSettings {
                session_grace_secs: args.session_grace_secs,
                connection_ttl_secs: LOCAL_CONNECTION_TTL_SECS,
                save_handshake: false,
                rate: args.rate(),
            },
            max_detached_sessions: args.max_detached_sessions,
            ..HubSettings::from(&args.hub)
        },
        Some(format!("gateway@{}", args.addr)),
        &shutdown,
    )
    .await?;
    let limits = Limits {
        ping_interval: Duration::from_secs(args.ping_secs.max(1)),
        max_ws_message: args.hub.max_message_bytes.saturating_add(64 * 1024),
        max_connections: args.max_connections.max(1),
        init_timeout: Duration::from_secs(args.init_timeout_secs.max(1)),
        max_connections_per_principal: args.max_connections_per_principal.max(1),
        max_http_sessions_per_principal: args.max_http_sessions_per_principal.max(1),
        max_pending: args.max_pending.max(1),
        max_http_sessions: args.max_http_sessions.max(1),
        http_idle_timeout: Duration::from_secs(args.http_idle_secs.max(1)),
    };
    let auth = Arc::new(crate::auth::Authenticator {
        mode: args.auth_mode(),
        keys: hub.keys,
        jwt: args.oidc.verifier().await.map_err(anyhow::Error::msg)?,
    });
    tracing::info!(auth = ?auth.mode, oidc = ?args.oidc.oidc_issuer, "credentials");
    let subscriptions = crate::subscribers::LocalSubscriptions::start(
        hub.store.clone(),
        hub.host.engine.catalog.clone(),
        shutdown.clone(),
        args.subscriber_allow_private,
    )
    .await
    .context("starting the webhook subscribers")?;
    hub.host.engine.attach_subscriptions(subscriptions);
    let webhooks = match args.github.settings() {
        Some(settings) => {
            tracing::info!(source = %settings.source.display(), "GitHub webhook at /webhooks/github");
            let catalog = hub.host.engine.catalog.clone();
            crate::webhooks::GithubWebhook::start(settings, catalog, shutdown.clone()).router()
        }
        None => axum::Router::new(),
    };
    let gateway = Gateway::new(hub.host, hub.registry, shutdown.clone(), limits, Some(auth));
    announce(&addr, &hub.data, hub.prompts)?;

    tokio::spawn(wait_for_signal(shutdown.clone()));
    gateway.serve_with(listener, webhooks).await?;
    let _ = hub.publishing.await;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Runs `stdio` until stdin closes or SIGINT/SIGTERM. Nothing but MCP messages
/// goes to stdout.
pub async fn stdio(args: StdioArgs) -> anyhow::Result<()> {
    if args.backend == crate::cli::Backend::Aws {
        anyhow::ensure!(
            args.hub.resources.is_none(),
            "--resources is not supported with --backend aws"
        );
        #[cfg(feature = "aws")]
        return crate::stdio_aws::run(args).await;
        #[cfg(not(feature = "aws"))]
        anyhow::bail!(NO_AWS);
    }
    let shutdown = CancellationToken::new();
    let mut settings = HubSettings::from(&args.hub);
    settings.publisher.poll = Duration::from_millis(args.poll_ms.max(10));
    // No saved position: a stdio session hears about changes from its start on.
    let hub = open_hub(settings, None, &shutdown).await?;
    tracing::info!(prompts = hub.prompts, data = %hub.data.display(), "serving MCP on stdio");
    tokio::spawn(wait_for_signal(shutdown.clone()));
    crate::stdio::run(hub.host, hub.registry, shutdown.clone()).await;
    shutdown.cancel();
    let _ = hub.publishing.await;
    Ok(())
}

/// What `serve` and `stdio` configure alike.
struct HubSettings {
    data: PathBuf,
    seed: bool,
    /// The static resources file (`--resources`), if any.
    resources: Option<PathBuf>,
    engine: EngineConfig,
    /// What one render or save may cost.
    limits: mcp_prompts_engine::catalog::Limits,
    send_queue: usize,
    publisher: PublisherConfig,
    /// `None`: leave pruning to the `serve` that owns the data folder's limits.
    history: Option<HistoryBounds>,
    host: HostSettings,
    /// Detached sessions kept at most (oldest forgotten first).
    max_detached_sessions: u64,
}

/// A local connection has no maximum lifetime; its session record is kept
/// this long after its last save in case the process dies without detaching it.
const LOCAL_CONNECTION_TTL_SECS: u64 = 24 * 3600;

/// Bounds of the change history kept for replay, and how often to enforce them.
#[derive(Clone, Copy)]
struct HistoryBounds {
    max_changes: u64,
    max_age: Duration,
    every: Duration,
}

impl From<&HubArgs> for HubSettings {
    fn from(args: &HubArgs) -> Self {
        Self {
            data: args.data_dir(),
            seed: !args.no_seed,
            resources: args.resources.clone(),
            engine: EngineConfig {
                page_size: args.page_size.max(1),
                max_message_bytes: args.max_message_bytes,
            },
            limits: args.render.limits(),
            send_queue: args.send_queue,
            publisher: PublisherConfig {
                window: Duration::from_millis(args.coalesce_ms),
                ..Default::default()
            },
            history: None,
            host: HostSettings {
                session_grace_secs: 600,
                connection_ttl_secs: LOCAL_CONNECTION_TTL_SECS,
                save_handshake: false,
                // stdio serves one local client: no rate limit.
                rate: None,
            },
            max_detached_sessions: 10_000,
        }
    }
}

/// The embedded hub on a data folder: store, catalog (seeded when empty),
/// engine, the session host over the store and the registry, and a running
/// change publisher feeding the host's fan-out.
struct Hub {
    host: Arc<SessionHost>,
    /// API keys, in the same data folder.
    keys: Arc<dyn KeyStore>,
    store: Arc<EmbeddedStore>,
    registry: Arc<Registry>,
    /// The publisher task; it ends when `shutdown` is cancelled.
    publishing: JoinHandle<()>,
    prompts: u64,
    data: PathBuf,
}

/// Opens the store and starts the publisher. `consumer` names the saved
/// publisher position (`None`: start at the head of the change log).
async fn open_hub(
    settings: HubSettings,
    consumer: Option<String>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Hub> {
    // First, so a bad file stops startup before the data folder is touched.
    let statics = match &settings.resources {
        Some(path) => load_static_resources(path)?,
        None => StaticResources::default(),
    };
    let data = settings.data;
    let clock = Arc::new(SystemClock);
    let store = Arc::new(
        EmbeddedStore::open(&data, clock.clone())
            .with_context(|| format!("opening the data folder {}", data.display()))?,
    );
    let catalog = Arc::new(Catalog::new(store.clone(), clock).with_limits(settings.limits));
    if settings.seed {
        let seeded = mcp_prompts_engine::seed::seed_if_empty(&catalog)
            .await
            .context("seeding the starter catalog")?;
        if seeded > 0 {
            tracing::info!(seeded, "seeded the starter catalog");
        }
    }
    let prompts = store.count_live().await?;
    let engine = Arc::new(
        Engine::new(catalog, settings.engine)
            .with_sessions(store.clone())
            .with_static_resources(statics),
    );
    tokio::spawn(prune_sessions(
        store.clone(),
        settings.max_detached_sessions,
        shutdown.clone(),
    ));
    let registry = Arc::new(Registry::new(settings.send_queue));
    let host = local_host(engine, store.clone(), &registry, settings.host);
    ImportJobs::start(&host, Some(store.clone()), JobSettings::default());
    let publisher = Publisher::new(
        store.clone(),
        host.clone(),
        PublisherConfig {
            consumer,
            ..settings.publisher
        },
    );
    let publishing = tokio::spawn(publisher.run(shutdown.clone()));
    if let Some(bounds) = settings.history {
        tokio::spawn(prune_history(store.clone(), bounds, shutdown.clone()));
    }
    Ok(Hub {
        host,
        keys: store.clone(),
        store: store.clone(),
        registry,
        publishing,
        prompts,
        data,
    })
}

/// A session host whose connections live in this process: the registry is
/// their connection store, pusher and audience; sessions go to `sessions`.
pub fn local_host(
    engine: Arc<Engine>,
    sessions: Arc<dyn SessionStore>,
    registry: &Arc<Registry>,
    settings: HostSettings,
) -> Arc<SessionHost> {
    Arc::new(SessionHost::new(
        engine,
        HostPorts {
            sessions,
            connections: registry.clone(),
            pusher: registry.clone(),
            audience: registry.clone(),
        },
        settings,
    ))
}

/// Reads and validates a static resources file; any problem is an error naming it.
fn load_static_resources(path: &std::path::Path) -> anyhow::Result<StaticResources> {
    let context = || format!("loading static resources from {}", path.display());
    let text = std::fs::read_to_string(path).with_context(context)?;
    let set = StaticResources::parse(&text).with_context(context)?;
    tracing::info!(
        resources = set.resources().len(),
        templates = set.templates().len(),
        file = %path.display(),
        "loaded static resources"
    );
    Ok(set)
}

/// Keeps the change history within its bounds: at start, then every `bounds.every`.
async fn prune_history(
    store: Arc<EmbeddedStore>,
    bounds: HistoryBounds,
    shutdown: CancellationToken,
) {
    loop {
        match store
            .prune_history(bounds.max_changes, bounds.max_age)
            .await
        {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "pruned the change history"),
            Err(e) => tracing::warn!(error = %e, "could not prune the change history"),
        }
        tokio::select! {
            _ = tokio::time::sleep(bounds.every) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Forgets sessions whose grace period ended, and the oldest detached ones
/// beyond `max_detached`, every few seconds.
async fn prune_sessions(store: Arc<EmbeddedStore>, max_detached: u64, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.cancelled() => return,
        }
        match store
            .prune_sessions(SystemClock.now_unix(), max_detached)
            .await
        {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "forgot expired sessions"),
            Err(e) => tracing::warn!(error = %e, "could not prune expired sessions"),
        }
    }
}

/// Raises the open-file soft limit to the hard limit: every connection is a file
/// descriptor, and the default soft limit (often 1,024) would refuse clients,
/// and `/health`, long before the connection cap.
fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0
                && limit.rlim_cur < limit.rlim_max
            {
                let before = limit.rlim_cur;
                limit.rlim_cur = limit.rlim_max;
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                    tracing::debug!(before, now = limit.rlim_cur, "raised the open-file limit");
                }
            }
        }
    }
}

/// Binds with a large listen backlog: tokio's default of 128 makes thousands of
/// clients connecting at once wait for SYN retries.
pub(crate) fn bind(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket
        .bind(addr)
        .with_context(|| format!("binding {addr}"))?;
    Ok(socket.listen(8192)?)
}

fn announce(
    addr: &std::net::SocketAddr,
    data: &std::path::Path,
    prompts: u64,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "mcp-prompts {} serving {} prompts from {}",
        mcp_prompts_engine::protocol::SERVER_VERSION,
        prompts,
        data.display()
    )?;
    writeln!(
        out,
        "  MCP over WebSocket: ws://{addr}/ws   (subprotocol \"mcp\")"
    )?;
    writeln!(
        out,
        "  MCP over HTTP:      http://{addr}/mcp   (Streamable HTTP)"
    )?;
    writeln!(out, "  Health:             http://{addr}/health")?;
    out.flush()
}

pub(crate) async fn wait_for_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
    shutdown.cancel();
}
