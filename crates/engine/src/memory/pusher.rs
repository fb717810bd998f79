use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;

use crate::ports::{PushOutcome, Pusher};

/// Records every frame pushed, per connection; connections marked gone answer
/// `Gone` (what API Gateway's 410 becomes).
#[derive(Default)]
pub struct RecordingPusher {
    inner: Mutex<Recorded>,
}

#[derive(Default)]
struct Recorded {
    frames: HashMap<String, Vec<Bytes>>,
    gone: HashSet<String>,
    closed: Vec<String>,
}

impl RecordingPusher {
    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn mark_gone(&self, connection_id: &str) {
        self.lock().gone.insert(connection_id.to_string());
    }

    /// The frames pushed to `connection_id`, as text.
    pub fn frames(&self, connection_id: &str) -> Vec<String> {
        self.lock()
            .frames
            .get(connection_id)
            .map(|f| {
                f.iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn closed(&self) -> Vec<String> {
        self.lock().closed.clone()
    }
}

#[async_trait]
impl Pusher for RecordingPusher {
    async fn push(&self, connection_id: &str, frame: Bytes) -> PushOutcome {
        let mut inner = self.lock();
        if inner.gone.contains(connection_id) {
            return PushOutcome::Gone;
        }
        inner
            .frames
            .entry(connection_id.to_string())
            .or_default()
            .push(frame);
        PushOutcome::Delivered
    }

    async fn disconnect(&self, connection_id: &str, _code: u16, _reason: &'static str) {
        self.lock().closed.push(connection_id.to_string());
    }
}
