//! One subscriber's deliveries: a task tailing the change log from the
//! subscriber's own cursor, POSTing each change its filter matches, in log
//! order (so in order per prompt), and saving the cursor after each one is
//! acknowledged. A failure is retried with exponential backoff (1 s doubling
//! to 5 min, with jitter) until it succeeds, the subscriber is removed or the
//! hub stops: at least once, never skipped. The cursor is durable, so a
//! change committed before a crash is delivered after the restart. One slow
//! or dead receiver holds back only its own deliveries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{delivery, post};
use mcp_prompts_engine::domain::ChangeEvent;
use mcp_prompts_engine::ports::{ChangeCursor, PromptStore, Subscriber, subscriber_cursor};

/// Changes read per page of the change log.
pub(super) const PAGE: usize = 100;
/// How often to look for changes made by other processes.
const POLL: Duration = Duration::from_secs(1);

/// How a subscriber's deliveries stand, shared with the status.
#[derive(Debug, Default, Clone)]
pub struct Progress {
    pub delivered: u64,
    pub failed_attempts: u32,
    pub last_error: Option<String>,
}

pub struct Worker {
    pub subscriber: Subscriber,
    /// Who includes whom, for `dependency-changed` deliveries.
    pub catalog: Arc<mcp_prompts_engine::Catalog>,
    pub store: Arc<dyn PromptStore>,
    pub cursor: Arc<dyn ChangeCursor>,
    pub wake: Arc<Notify>,
    pub progress: Arc<Mutex<Progress>>,
    pub stop: CancellationToken,
    /// How each delivery resolves and checks the receiver's address.
    pub route: post::Route,
}

impl Worker {
    pub async fn run(self) {
        let consumer = subscriber_cursor(&self.subscriber.id);
        let mut position = match self.cursor.load(&consumer).await {
            Ok(p) => p.unwrap_or(self.subscriber.start_after),
            Err(e) => {
                tracing::error!(subscriber = %self.subscriber.id, error = %e, "cannot load its cursor");
                return;
            }
        };
        self.set(|p| p.delivered = position);
        loop {
            let changes = match self.store.changes_since(position, PAGE).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the change log for a subscriber");
                    Vec::new()
                }
            };
            if changes.is_empty() {
                tokio::select! {
                    _ = self.stop.cancelled() => return,
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
                continue;
            }
            for change in changes {
                for event in delivery::events_for(&self.catalog, &self.subscriber, &change).await {
                    if !self.deliver(&event).await {
                        return; // Stopped while retrying.
                    }
                }
                position = change.position;
                if let Err(e) = self.cursor.save(&consumer, position).await {
                    tracing::warn!(subscriber = %self.subscriber.id, error = %e, "cannot save its cursor");
                }
                self.set(|p| p.delivered = position);
            }
        }
    }

    /// Delivers `change` until acknowledged; false if stopped first.
    async fn deliver(&self, change: &ChangeEvent) -> bool {
        let mut failed = 0;
        loop {
            match delivery::attempt(&self.route, &self.subscriber, change).await {
                Ok(()) => {
                    self.set(|p| {
                        p.failed_attempts = 0;
                        p.last_error = None;
                    });
                    return true;
                }
                Err(e) => {
                    tracing::debug!(subscriber = %self.subscriber.id, position = change.position, error = %e, "delivery failed; retrying");
                    failed += 1;
                    self.set(|p| {
                        p.failed_attempts += 1;
                        p.last_error = Some(e);
                    });
                }
            }
            tokio::select! {
                _ = self.stop.cancelled() => return false,
                _ = tokio::time::sleep(delivery::backoff(failed)) => {}
            }
        }
    }

    fn set(&self, f: impl FnOnce(&mut Progress)) {
        f(&mut self.progress.lock().unwrap_or_else(|e| e.into_inner()));
    }
}
