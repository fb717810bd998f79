//! A webhook receiver on 127.0.0.1 for the subscriber tests (embedded and
//! AWS): records each acknowledged delivery, answers 503 while `failing`,
//! and the checks of what arrived (signature, bounded waits).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The secret the tests register their subscribers with.
pub const SECRET: &str = "a-long-enough-webhook-secret";

#[derive(Default)]
pub struct Receiver {
    /// Answer 503 while set.
    pub failing: bool,
    pub attempts: usize,
    /// Acknowledged deliveries: (delivery id, signature, body).
    pub got: Vec<(String, String, String)>,
}

pub type Shared = Arc<Mutex<Receiver>>;

async fn receive(State(r): State<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    let mut r = r.lock().unwrap();
    r.attempts += 1;
    if r.failing {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    r.got.push((
        header("x-mcp-prompts-delivery"),
        header("x-mcp-prompts-signature"),
        body,
    ));
    StatusCode::NO_CONTENT
}

/// Starts a receiver on a free loopback port; its `/hook` URL.
pub async fn start_receiver(failing: bool) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Receiver {
        failing,
        ..Receiver::default()
    }));
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, shared)
}

/// Panics unless `signature` is `sha256=<hex HMAC-SHA256 of body under SECRET>`.
pub fn verify(signature: &str, body: &str) {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex_sig = signature.strip_prefix("sha256=").expect("sha256= prefix");
    mac.verify_slice(&hex::decode(hex_sig).unwrap())
        .expect("the signature verifies");
}

/// Waits (at most `within`) until `done` holds for the receiver; the panic
/// shows `context()` (e.g. the server's output).
pub async fn until_within(
    r: &Shared,
    what: &str,
    within: Duration,
    context: impl Fn() -> String,
    done: impl Fn(&Receiver) -> bool,
) {
    let deadline = Instant::now() + within;
    while !done(&r.lock().unwrap()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`until_within`] 20 s.
pub async fn until(r: &Shared, what: &str, done: impl Fn(&Receiver) -> bool) {
    until_within(r, what, Duration::from_secs(20), String::new, done).await
}
