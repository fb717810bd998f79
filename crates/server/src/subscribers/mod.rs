//! Signed webhooks to catalog subscribers, for services that cannot hold a
//! socket: a registered URL gets every committed change its filter matches as
//! the catalog event JSON, signed with its secret, at least once and in order,
//! from the durable change log (`worker`), so nothing is lost across a restart.
//! Registered through REST (`/subscriptions`) or the `subscribe_webhook` tool.

mod address;
#[cfg(feature = "aws")]
pub mod aws;
mod delivery;
mod post;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use post::{DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature};
use worker::{Progress, Worker};

use mcp_prompts_embedded::EmbeddedStore;
use mcp_prompts_engine::Catalog;
use mcp_prompts_engine::ports::{
    PromptStore, SubscribeError, Subscriber, SubscriberStatus, SubscriberStore, Subscriptions,
};
use mcp_prompts_engine::session::CatalogFilter;

/// Subscribers registered at once, at most (each is one task and a cursor).
pub const MAX_SUBSCRIBERS: usize = 100;
const MAX_URL: usize = 2048;
const MIN_SECRET: usize = 16;
const MAX_SECRET: usize = 256;
const MAX_FILTER: usize = 256;

pub struct LocalSubscriptions {
    store: Arc<EmbeddedStore>,
    catalog: Arc<Catalog>,
    /// Wakes every waiting worker at each commit through this process's
    /// catalog (others' commits are found by polling).
    wake: Arc<Notify>,
    running: Mutex<HashMap<String, Running>>,
    shutdown: CancellationToken,
    /// How addresses are resolved, and whether URLs may point into the
    /// hub's own network (`address`): checked at registration and at every
    /// delivery.
    route: post::Route,
}

struct Running {
    subscriber: Subscriber,
    progress: Arc<Mutex<Progress>>,
    stop: CancellationToken,
}

impl LocalSubscriptions {
    /// Starts a worker per registered subscriber.
    pub async fn start(
        store: Arc<EmbeddedStore>,
        catalog: Arc<Catalog>,
        shutdown: CancellationToken,
        allow_private: bool,
    ) -> anyhow::Result<Arc<Self>> {
        let route = delivery::system_route(allow_private);
        let wake = Arc::new(Notify::new());
        let hook = wake.clone();
        catalog.on_commit(Arc::new(move |_| hook.notify_waiters()));
        let me = Arc::new(Self {
            store: store.clone(),
            catalog,
            wake,
            running: Mutex::new(HashMap::new()),
            shutdown,
            route,
        });
        for s in store.subscribers().await? {
            me.spawn(s);
        }
        Ok(me)
    }

    fn spawn(&self, subscriber: Subscriber) {
        let stop = self.shutdown.child_token();
        let progress = Arc::new(Mutex::new(Progress::default()));
        let worker = Worker {
            subscriber: subscriber.clone(),
            catalog: self.catalog.clone(),
            store: self.store.clone(),
            cursor: self.store.clone(),
            wake: self.wake.clone(),
            progress: progress.clone(),
            stop: stop.clone(),
            route: self.route.clone(),
        };
        tokio::spawn(worker.run());
        self.lock().insert(
            subscriber.id.clone(),
            Running {
                subscriber,
                progress,
                stop,
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Checks a registration's fields; the host and port of its URL.
fn validate(
    url: &str,
    secret: &str,
    filter: &CatalogFilter,
) -> Result<(String, u16), SubscribeError> {
    let invalid = |field, why: &str| Err(SubscribeError::Invalid(field, why.to_string()));
    if url.len() > MAX_URL {
        return invalid("url", "longer than 2048 bytes");
    }
    let (host, port) = match address::host_port(url) {
        Ok(hp) => hp,
        Err(why) => return invalid("url", &why),
    };
    if url.chars().any(char::is_whitespace) {
        return invalid("url", "contains white space");
    }
    if secret.len() < MIN_SECRET || secret.len() > MAX_SECRET {
        return invalid(
            "secret",
            "must be 16 to 256 bytes (it signs every delivery)",
        );
    }
    for (field, value) in [("category", &filter.category), ("tag", &filter.tag)] {
        if value
            .as_ref()
            .is_some_and(|v| v.is_empty() || v.len() > MAX_FILTER)
        {
            return invalid(field, "must be 1 to 256 bytes when given");
        }
    }
    Ok((host, port))
}

/// Checks a registration: its fields, and unless internal addresses are
/// allowed, where its URL's host resolves to now.
async fn check(
    route: &post::Route,
    url: &str,
    secret: &str,
    filter: &CatalogFilter,
) -> Result<(), SubscribeError> {
    let (host, port) = validate(url, secret, filter)?;
    if !route.allow_private {
        address::check_public(route.resolver.clone(), &host, port)
            .await
            .map_err(|why| SubscribeError::Invalid("url", why))?;
    }
    Ok(())
}

/// Where a registration goes: the checks, the limit, the store.
struct Admission<'a> {
    route: &'a post::Route,
    catalog: &'a Catalog,
    /// Subscribers registered now.
    registered: usize,
    store: &'a dyn SubscriberStore,
    /// The change log whose head a new subscriber starts after.
    log: &'a dyn PromptStore,
}

impl Admission<'_> {
    /// Checks and stores a new subscriber (fresh id), delivering the changes
    /// after the head: a new subscriber does not get the whole history.
    async fn admit(
        self,
        url: &str,
        secret: &str,
        filter: CatalogFilter,
    ) -> Result<Subscriber, SubscribeError> {
        check(self.route, url, secret, &filter).await?;
        if self.registered >= MAX_SUBSCRIBERS {
            return Err(SubscribeError::Full(MAX_SUBSCRIBERS));
        }
        let subscriber = Subscriber {
            id: uuid::Uuid::new_v4().simple().to_string(),
            url: url.to_string(),
            secret: secret.to_string(),
            filter,
            created_at: self.catalog.clock().now_rfc3339(),
            start_after: self.log.head_position().await?,
        };
        self.store.add_subscriber(&subscriber).await?;
        Ok(subscriber)
    }
}

/// Statuses in registration order.
fn sorted(mut out: Vec<SubscriberStatus>) -> Vec<SubscriberStatus> {
    out.sort_by(|a, b| {
        (&a.subscriber.created_at, &a.subscriber.id)
            .cmp(&(&b.subscriber.created_at, &b.subscriber.id))
    });
    out
}

#[async_trait]
impl Subscriptions for LocalSubscriptions {
    async fn register(
        &self,
        url: &str,
        secret: &str,
        filter: CatalogFilter,
    ) -> Result<Subscriber, SubscribeError> {
        let registered = self.lock().len();
        let subscriber = Admission {
            route: &self.route,
            catalog: &self.catalog,
            registered,
            store: self.store.as_ref(),
            log: self.store.as_ref(),
        }
        .admit(url, secret, filter)
        .await?;
        self.spawn(subscriber.clone());
        Ok(subscriber)
    }

    async fn list(&self) -> Result<Vec<SubscriberStatus>, SubscribeError> {
        let out: Vec<SubscriberStatus> = self
            .lock()
            .values()
            .map(|r| {
                let p = r.progress.lock().unwrap_or_else(|e| e.into_inner()).clone();
                SubscriberStatus {
                    subscriber: r.subscriber.clone(),
                    delivered: p.delivered,
                    failed_attempts: p.failed_attempts,
                    last_error: p.last_error,
                }
            })
            .collect();
        Ok(sorted(out))
    }

    async fn remove(&self, id: &str) -> Result<bool, SubscribeError> {
        if let Some(r) = self.lock().remove(id) {
            r.stop.cancel();
        }
        Ok(self.store.remove_subscriber(id).await?)
    }
}
