//! The local change publisher: tails the store's change log (the durable outbox)
//! and hands each batch to the session host's fan-out (the registry, locally).
//!
//! Coalescing: after a delivery the publisher waits one window before the next,
//! so a burst becomes one batch per window (one `list_changed` per session), and a
//! change committed after a delivery is always followed by another delivery.
//! Its position is saved after each batch, so changes committed just before a
//! crash are delivered after the restart; changes other processes commit to the
//! same store are found by polling.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::Catalog;
use crate::host::SessionHost;
use crate::ports::{ChangeCursor, PromptStore};

#[derive(Debug, Clone)]
pub struct PublisherConfig {
    /// Minimum time between two deliveries (the coalescing window).
    pub window: Duration,
    /// How often to look for changes committed by other processes.
    pub poll: Duration,
    /// The name under which the position is saved; `None` starts at the head.
    pub consumer: Option<String>,
    pub batch: usize,
}

impl Default for PublisherConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_millis(50),
            poll: Duration::from_millis(200),
            consumer: None,
            batch: 1000,
        }
    }
}

pub struct Publisher {
    pub store: Arc<dyn PromptStore>,
    pub cursor: Arc<dyn ChangeCursor>,
    pub host: Arc<SessionHost>,
    pub wake: Arc<Notify>,
    pub config: PublisherConfig,
}

impl Publisher {
    /// A publisher reading `store`'s change log and saving its position there,
    /// woken at once by every commit through the host's catalog.
    pub fn new<S: PromptStore + ChangeCursor + 'static>(
        store: Arc<S>,
        host: Arc<SessionHost>,
        config: PublisherConfig,
    ) -> Self {
        Self {
            store: store.clone(),
            cursor: store,
            wake: Self::wake_on_commit(&host.engine.catalog),
            host,
            config,
        }
    }

    /// Makes commits through `catalog` wake the publisher at once.
    pub fn wake_on_commit(catalog: &Catalog) -> Arc<Notify> {
        let wake = Arc::new(Notify::new());
        let hook = wake.clone();
        catalog.on_commit(Arc::new(move |_| hook.notify_one()));
        wake
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let mut position = match self.start_position().await {
            Ok(p) => {
                self.host.audience.start_at(p);
                p
            }
            Err(e) => {
                tracing::error!(error = %e, "change publisher cannot start");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.poll) => {}
                _ = shutdown.cancelled() => return,
            }
            loop {
                match self.publish_batch(position).await {
                    Ok(Some(next)) => position = next,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "change publisher failed; retrying");
                        break;
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.config.window) => {}
                    _ = shutdown.cancelled() => return,
                }
            }
        }
    }

    async fn start_position(&self) -> anyhow::Result<u64> {
        if let Some(name) = &self.config.consumer
            && let Some(saved) = self.cursor.load(name).await?
        {
            return Ok(saved);
        }
        Ok(self.store.head_position().await?)
    }

    /// Delivers the changes after `position`; returns the new position, or `None`
    /// when there was nothing to deliver.
    async fn publish_batch(&self, position: u64) -> anyhow::Result<Option<u64>> {
        let changes = self
            .store
            .changes_since(position, self.config.batch)
            .await?;
        if changes.is_empty() {
            return Ok(None);
        }
        let position = changes.last().map_or(position, |c| c.position);
        let report = self.host.fan_out(&changes).await;
        tracing::debug!(changes = changes.len(), position, ?report, "published");
        if let Some(name) = &self.config.consumer {
            self.cursor.save(name, position).await?;
        }
        Ok(Some(position))
    }
}
