//! `POST /webhooks/github`: GitHub's push webhook. The body is authenticated by
//! `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the shared secret,
//! compared in constant time) before anything else is read: a wrong or missing
//! signature is 401 and queues nothing. `ping` is answered; `push` queues a
//! sync of the paths its commits added, modified or removed; a delivery id seen
//! before is acknowledged and ignored (GitHub redeliveries, replays).

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::sync::{self, SyncJob};
use mcp_prompts_engine::Catalog;

/// GitHub caps payloads at 25 MB; a push of catalog files is far smaller.
const MAX_BODY: usize = 5 * 1024 * 1024;
/// Pushes waiting for the sync worker; more get 503 (GitHub retries).
const QUEUE: usize = 64;
/// Delivery ids remembered for replay detection (oldest forgotten first).
const REMEMBERED: usize = 10_000;
/// Paths one push may ask to sync (GitHub lists at most 3,000 per commit).
const MAX_PATHS: usize = 10_000;

/// How the webhook is set up (`serve --github-webhook-secret`, ...).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub secret: String,
    /// The folder holding the catalog files the pushes change (a checkout).
    pub source: PathBuf,
    /// Where the catalog lives inside the repository (`catalog/`); pushed
    /// paths outside it are ignored, and it is stripped from those inside.
    pub path_prefix: String,
}

pub struct GithubWebhook {
    secret: Vec<u8>,
    path_prefix: String,
    sink: Arc<dyn PushSink>,
    deliveries: Arc<dyn DeliveryLog>,
}

/// Where an accepted push's sync goes: the local worker's bounded queue, or
/// (on Lambda, which freezes after answering) the catalog events queue.
#[async_trait]
pub trait PushSink: Send + Sync {
    async fn queue(&self, job: SyncJob) -> Result<(), QueueRefusal>;
}

#[derive(Debug)]
pub enum QueueRefusal {
    /// Full for now: GitHub's redelivery will come back.
    Full,
    /// The queue could not be reached.
    Failed(String),
}

/// The delivery ids seen, for replay detection.
#[async_trait]
pub trait DeliveryLog: Send + Sync {
    /// Records `id`; `Ok(false)` if it was seen already.
    async fn first_time(&self, id: &str) -> Result<bool, String>;
    /// Forgets `id` (its push was not taken, so a redelivery is no replay).
    async fn forget(&self, id: &str);
}

/// The local worker's queue.
struct WorkerQueue(mpsc::Sender<SyncJob>);

#[async_trait]
impl PushSink for WorkerQueue {
    async fn queue(&self, job: SyncJob) -> Result<(), QueueRefusal> {
        self.0.try_send(job).map_err(|_| QueueRefusal::Full)
    }
}

/// The last [`REMEMBERED`] delivery ids, in memory.
#[derive(Default)]
pub struct RecentDeliveries(Mutex<Seen>);

#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

#[async_trait]
impl DeliveryLog for RecentDeliveries {
    async fn first_time(&self, id: &str) -> Result<bool, String> {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !seen.ids.insert(id.to_string()) {
            return Ok(false);
        }
        seen.order.push_back(id.to_string());
        if seen.order.len() > REMEMBERED
            && let Some(old) = seen.order.pop_front()
        {
            seen.ids.remove(&old);
        }
        Ok(true)
    }

    async fn forget(&self, id: &str) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.ids.remove(id);
        seen.order.retain(|x| x != id);
    }
}

impl GithubWebhook {
    /// The webhook and its sync worker (which stops with `shutdown`).
    pub fn start(
        settings: WebhookSettings,
        catalog: Arc<Catalog>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(sync::run(catalog, settings.source, rx, shutdown));
        Self::new(
            &settings.secret,
            &settings.path_prefix,
            Arc::new(WorkerQueue(jobs)),
            Arc::new(RecentDeliveries::default()),
        )
    }

    /// A webhook handing accepted pushes to `sink` (the Lambda `http` handler's
    /// is the catalog events queue), with replays checked in `deliveries`.
    pub fn new(
        secret: &str,
        path_prefix: &str,
        sink: Arc<dyn PushSink>,
        deliveries: Arc<dyn DeliveryLog>,
    ) -> Arc<Self> {
        Arc::new(Self {
            secret: secret.as_bytes().to_vec(),
            path_prefix: path_prefix.trim_matches('/').to_string(),
            sink,
            deliveries,
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/webhooks/github", post(receive))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(self.clone())
    }

    fn signed(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        let Some(hex_sig) = headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("sha256="))
        else {
            return false;
        };
        let Ok(sig) = hex::decode(hex_sig) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
            return false;
        };
        mac.update(body);
        mac.verify_slice(&sig).is_ok()
    }

    /// The catalog-relative paths of `push`, outside the prefix dropped.
    fn paths(&self, push: Push) -> Vec<String> {
        let mut out: Vec<String> = push
            .commits
            .into_iter()
            .flat_map(|c| c.added.into_iter().chain(c.modified).chain(c.removed))
            .filter_map(|p| self.in_catalog(&p))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn in_catalog(&self, path: &str) -> Option<String> {
        if self.path_prefix.is_empty() {
            return Some(path.to_string());
        }
        path.strip_prefix(&self.path_prefix)?
            .strip_prefix('/')
            .map(str::to_string)
    }
}

#[derive(Deserialize)]
struct Push {
    #[serde(default)]
    commits: Vec<Commit>,
}

#[derive(Deserialize)]
struct Commit {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

async fn receive(
    State(hook): State<Arc<GithubWebhook>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !hook.signed(&headers, &body) {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "missing or wrong X-Hub-Signature-256 (HMAC-SHA256 of the body with the webhook secret)"}),
        );
    }
    let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(delivery) =
        header_text("x-github-delivery").filter(|d| !d.is_empty() && d.len() <= 128)
    else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "X-GitHub-Delivery is missing or longer than 128 bytes"}),
        );
    };
    let event = header_text("x-github-event").unwrap_or_default();
    match event {
        "ping" => answer(
            StatusCode::OK,
            json!({"event": "ping", "delivery": delivery}),
        ),
        "push" => push(&hook, delivery, &body).await,
        other => answer(
            StatusCode::ACCEPTED,
            json!({"event": other, "delivery": delivery, "ignored": "only push and ping are handled"}),
        ),
    }
}

async fn push(hook: &GithubWebhook, delivery: &str, body: &[u8]) -> Response {
    let push: Push = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("not a push payload: {e}")}),
            );
        }
    };
    let paths = hook.paths(push);
    if paths.len() > MAX_PATHS {
        return answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": format!("{} paths in one push; at most {MAX_PATHS}", paths.len())}),
        );
    }
    match hook.deliveries.first_time(delivery).await {
        Ok(true) => {}
        Ok(false) => {
            return answer(
                StatusCode::OK,
                json!({"event": "push", "delivery": delivery, "duplicate": true}),
            );
        }
        Err(e) => {
            tracing::warn!(%delivery, error = %e, "cannot check the delivery id");
            return unavailable("cannot check the delivery id; redeliver later");
        }
    }
    let queued = paths.len();
    let job = SyncJob {
        delivery: delivery.to_string(),
        paths,
    };
    if let Err(refusal) = hook.sink.queue(job).await {
        // Not taken: GitHub may redeliver it, and that must not look like a replay.
        hook.deliveries.forget(delivery).await;
        let why = match refusal {
            QueueRefusal::Full => "the sync queue is full; redeliver later".to_string(),
            QueueRefusal::Failed(e) => {
                tracing::warn!(%delivery, error = %e, "cannot queue the push's sync");
                "the sync queue is unavailable; redeliver later".to_string()
            }
        };
        return unavailable(&why);
    }
    answer(
        StatusCode::ACCEPTED,
        json!({"event": "push", "delivery": delivery, "queued": queued}),
    )
}

fn unavailable(why: &str) -> Response {
    let mut r = answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": why}));
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("10"));
    r
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}
