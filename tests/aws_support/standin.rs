//! A stand-in for API Gateway's `@connections` management endpoint on
//! 127.0.0.1, for the sharded fan-out's tests and bench: `POST
//! /@connections/{id}` records the frame after an injected latency, and can
//! answer 429 (`LimitExceededException`) on every k-th post, 500 for chosen
//! connections, 410 (`GoneException`) for others. It counts every post per
//! 100 ms, so a test can check the rate the fan-out kept to.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default, Clone)]
pub struct Behaviour {
    /// Added to every post before it is answered.
    pub latency: Duration,
    /// Every k-th post (counted over all posts) is answered 429; 0: never.
    pub throttle_every: u64,
    /// Posts per second over which the rest of a 100 ms tick is answered 429
    /// (like the account's `@connections` throttle); 0: no limit.
    pub throttle_above: u64,
    /// Connections that always answer 500.
    pub failing: HashSet<String>,
    /// Connections that answer 410 Gone.
    pub gone: HashSet<String>,
}

#[derive(Default)]
pub struct Record {
    /// Frames accepted per connection, in arrival order.
    pub delivered: Mutex<HashMap<String, Vec<Bytes>>>,
    /// Posts per 100 ms since the stand-in started (every answer counted).
    pub per_tick: Mutex<BTreeMap<u64, u64>>,
    pub posts: AtomicU64,
    pub throttled: AtomicU64,
    pub failed: AtomicU64,
    /// When the last frame was accepted (ms since start).
    pub last_delivered_ms: AtomicU64,
}

struct Shared {
    behaviour: Mutex<Behaviour>,
    record: Record,
    started: Instant,
}

pub struct StandIn {
    pub url: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl StandIn {
    pub async fn start(behaviour: Behaviour) -> StandIn {
        let shared = Arc::new(Shared {
            behaviour: Mutex::new(behaviour),
            record: Record::default(),
            started: Instant::now(),
        });
        let app = Router::new()
            .route("/@connections/{id}", post(post_frame))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the stand-in");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let until = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { until.cancelled().await })
                .await
        });
        StandIn { url, shared, stop }
    }

    pub fn record(&self) -> &Record {
        &self.shared.record
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.shared.behaviour.lock().unwrap() = behaviour;
    }

    /// The frames each connection got.
    pub fn delivered(&self) -> HashMap<String, Vec<Bytes>> {
        self.shared.record.delivered.lock().unwrap().clone()
    }

    /// The most posts seen in any `window` (a multiple of 100 ms).
    pub fn peak_posts(&self, window: Duration) -> u64 {
        let ticks = (window.as_millis() / 100).max(1) as u64;
        let per_tick = self.shared.record.per_tick.lock().unwrap();
        let Some(&last) = per_tick.keys().next_back() else {
            return 0;
        };
        (0..=last)
            .map(|start| {
                per_tick
                    .range(start..start + ticks)
                    .map(|(_, n)| n)
                    .sum::<u64>()
            })
            .max()
            .unwrap_or(0)
    }

    /// Milliseconds since the stand-in started.
    pub fn now_ms(&self) -> u64 {
        self.shared.started.elapsed().as_millis() as u64
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn error(status: StatusCode, kind: &'static str) -> Response {
    (
        status,
        [
            ("x-amzn-ErrorType", kind),
            ("content-type", "application/json"),
        ],
        format!("{{\"message\":\"{kind}\"}}"),
    )
        .into_response()
}

async fn post_frame(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let record = &shared.record;
    let n = record.posts.fetch_add(1, Ordering::Relaxed) + 1;
    let tick = shared.started.elapsed().as_millis() as u64 / 100;
    let in_tick = {
        let mut per_tick = record.per_tick.lock().unwrap();
        let n = per_tick.entry(tick).or_default();
        *n += 1;
        *n
    };
    let (latency, throttle, failing, gone) = {
        let b = shared.behaviour.lock().unwrap();
        (
            b.latency,
            (b.throttle_every > 0 && n % b.throttle_every == 0)
                || (b.throttle_above > 0 && in_tick * 10 > b.throttle_above),
            b.failing.contains(&id),
            b.gone.contains(&id),
        )
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if gone {
        return error(StatusCode::GONE, "GoneException");
    }
    if failing {
        record.failed.fetch_add(1, Ordering::Relaxed);
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerErrorException",
        );
    }
    if throttle {
        record.throttled.fetch_add(1, Ordering::Relaxed);
        return error(StatusCode::TOO_MANY_REQUESTS, "LimitExceededException");
    }
    record
        .delivered
        .lock()
        .unwrap()
        .entry(id)
        .or_default()
        .push(body);
    record.last_delivered_ms.store(
        shared.started.elapsed().as_millis() as u64,
        Ordering::Relaxed,
    );
    StatusCode::OK.into_response()
}
