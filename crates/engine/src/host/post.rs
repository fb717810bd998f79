//! Posting one delivery's frames to many connections (API Gateway's
//! `PostToConnection`): a bounded number of connections in flight, each post
//! paced by the invocation's share of the rate budget, and every connection
//! retried on its own (backoff with jitter; a throttled answer also slows the
//! pace down). One connection that keeps failing is reported by id, so the
//! caller can retry exactly it; nobody else hears the change twice.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;

use super::pace::Pace;
use crate::ports::{ConnectionStore, DeliveryReport, PushOutcome, Pusher};

/// How one poster retries and how many connections it serves at once.
#[derive(Debug, Clone, Copy)]
pub struct PostSettings {
    /// Connections posted to at once (each posts its frames in order).
    pub concurrency: usize,
    /// Tries per frame before the connection counts as failed (not gone).
    pub attempts: u32,
    /// The first retry waits about this long; each next one twice as long.
    pub backoff: Duration,
    /// No retry waits longer than this.
    pub max_backoff: Duration,
}

impl Default for PostSettings {
    fn default() -> Self {
        Self {
            concurrency: 256,
            attempts: 5,
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// One connection and the frames it gets, in order.
pub struct Target {
    pub connection_id: String,
    pub frames: Vec<Bytes>,
}

/// What posting did: the counts, and who could not be reached (to retry).
#[derive(Debug, Default)]
pub struct Posted {
    pub report: DeliveryReport,
    /// Connections that still failed after every try (not gone), in no order,
    /// each with how many of its frames went out before (a retry skips them).
    pub failed: Vec<(String, usize)>,
}

#[derive(Clone)]
pub struct Poster {
    pub pusher: Arc<dyn Pusher>,
    /// Gone connections are forgotten here, with what they listened for.
    pub connections: Arc<dyn ConnectionStore>,
    pub pace: Arc<Pace>,
    pub settings: PostSettings,
}

enum Outcome {
    Delivered(usize),
    Gone,
    Failed(String, usize),
}

impl Poster {
    /// Posts every target's frames; targets without frames are skipped.
    pub async fn post(&self, targets: Vec<Target>) -> Posted {
        let throttled = std::sync::atomic::AtomicUsize::new(0);
        let outcomes: Vec<Outcome> = futures_util::stream::iter(targets)
            .filter(|t| std::future::ready(!t.frames.is_empty()))
            .map(|t| self.post_one(t, &throttled))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut posted = Posted::default();
        posted.report.throttled = throttled.into_inner();
        for o in outcomes {
            match o {
                Outcome::Delivered(n) => {
                    posted.report.connections += 1;
                    posted.report.frames += n;
                }
                Outcome::Gone => posted.report.gone += 1,
                Outcome::Failed(id, sent) => {
                    posted.report.failed += 1;
                    posted.failed.push((id, sent));
                }
            }
        }
        posted
    }

    /// Posts one connection's frames in order; a gone connection is forgotten.
    async fn post_one(
        &self,
        target: Target,
        throttled: &std::sync::atomic::AtomicUsize,
    ) -> Outcome {
        let id = target.connection_id;
        let mut sent = 0;
        for frame in target.frames {
            let mut attempt = 0;
            loop {
                attempt += 1;
                self.pace.acquire().await;
                let error = match self.pusher.push(&id, frame.clone()).await {
                    PushOutcome::Delivered => break,
                    PushOutcome::Gone | PushOutcome::Dropped => {
                        tracing::debug!(connection = %id, "gone: forgetting it");
                        if let Err(e) = self.connections.delete(&id).await {
                            tracing::warn!(connection = %id, error = %e, "could not delete a gone connection");
                        }
                        return Outcome::Gone;
                    }
                    PushOutcome::Throttled => {
                        throttled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        self.pace.throttled();
                        "throttled".to_string()
                    }
                    PushOutcome::Failed(e) => e,
                };
                if attempt >= self.settings.attempts {
                    tracing::warn!(connection = %id, error = %error, attempts = attempt, "push failed");
                    return Outcome::Failed(id, sent);
                }
                tokio::time::sleep(backoff(&self.settings, attempt, &id)).await;
            }
            sent += 1;
        }
        Outcome::Delivered(sent)
    }
}

/// Exponential backoff with "full jitter" (a random share of the step), so
/// the connections throttled together do not come back together.
fn backoff(settings: &PostSettings, attempt: u32, id: &str) -> Duration {
    let step = settings
        .backoff
        .saturating_mul(1 << attempt.min(16))
        .min(settings.max_backoff);
    jittered(step, id, attempt)
}

/// Half of `step` plus a random share of the other half: retries that
/// collided (on a connection, on the change-log head) do not collide again in
/// lockstep. `salt` and `attempt` only feed the per-process random hasher.
pub fn jittered(step: Duration, salt: &str, attempt: u32) -> Duration {
    let half = step / 2;
    half + half.mul_f64(jitter(salt, attempt))
}

/// A cheap uniform number in [0, 1) from a randomly keyed hasher: not for
/// secrets, only to spread retries.
fn jitter(salt: &str, attempt: u32) -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(salt.as_bytes());
    h.write_u32(attempt);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let s = PostSettings::default();
        for attempt in 1..10 {
            let d = backoff(&s, attempt, "c");
            let step = s.backoff.saturating_mul(1 << attempt).min(s.max_backoff);
            assert!(d >= step / 2 && d <= step, "{attempt}: {d:?}");
        }
        let spread: std::collections::BTreeSet<_> =
            (0..20).map(|i| backoff(&s, 3, &format!("c{i}"))).collect();
        assert!(spread.len() > 10, "jitter spreads retries");
    }
}
