//! The engine's Prometheus metrics: what every door's requests, every render
//! and every fan-out cost, counted where they all pass (the dispatch, the
//! renderer's two callers, `SessionHost::fan_out`), so no door counts twice or
//! forgets to. Counting is atomics behind a read lock: a label set is built
//! from `&'static str`s, nothing is allocated per request once a method has
//! been seen. The gateway registers these beside its own gauges and serves
//! them at `/metrics` (`server::metrics`).
//!
//! The same calls also feed a per-invocation [`Tally`] when the caller runs
//! inside [`tallied`] (a task-local scope): the Lambda handlers write it as
//! their one CloudWatch EMF line per invocation (`aws::lambda::emf`), counted
//! once, here, for both. Concurrent invocations in one process (the local
//! `serve --backend aws`) each see only their own.

use std::cell::Cell;
use std::future::Future;
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The methods counted under their own name; any other is `other` (so a
/// client sending made-up methods cannot grow the label set).
const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "tools/list",
    "tools/call",
    "completion/complete",
    "logging/setLevel",
    "catalog/subscribe",
    "catalog/unsubscribe",
    "subscriptions/listen",
];

/// Seconds: 50 µs to 1 s (a render is budgeted; a fan-out is in-memory locally).
const SECONDS_BUCKETS: [f64; 11] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0,
];
/// Sessions reached by one fan-out batch.
const SESSIONS_BUCKETS: [f64; 9] = [
    0.0, 1.0, 10.0, 100.0, 1000.0, 5000.0, 10000.0, 50000.0, 100000.0,
];

type RequestLabels = [(&'static str, &'static str); 2];

#[derive(Clone)]
pub struct EngineMetrics {
    requests: Family<RequestLabels, Counter>,
    render_seconds: Histogram,
    fanout_seconds: Histogram,
    fanout_sessions: Histogram,
}

impl Default for EngineMetrics {
    /// Every known method's series starts at 0, so a scrape shows the family
    /// (and `rate()` has a starting point) before the first request.
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        for method in METHODS.iter().chain(&["other"]) {
            for outcome in ["ok", "error"] {
                let _created = requests.get_or_create(&[("method", method), ("outcome", outcome)]);
            }
        }
        Self {
            requests,
            render_seconds: Histogram::new(SECONDS_BUCKETS),
            fanout_seconds: Histogram::new(SECONDS_BUCKETS),
            fanout_sessions: Histogram::new(SESSIONS_BUCKETS),
        }
    }
}

/// What the engine counted inside one [`tallied`] scope (one Lambda invocation).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Tally {
    /// JSON-RPC requests answered.
    pub requests: u64,
    /// Of those, answered with a JSON-RPC error.
    pub errors: u64,
    /// Renders (`prompts/get`, `apply_template`, REST `apply`).
    pub renders: u64,
    /// Their summed time, in milliseconds.
    pub render_ms: f64,
}

tokio::task_local! {
    static TALLY: Cell<Tally>;
}

/// Runs `work` with a fresh [`Tally`] that every [`EngineMetrics`] call made
/// while polling it adds to (not work it spawns onto other tasks), and returns
/// its output with the tally. Nothing is allocated: the tally is four numbers.
pub async fn tallied<F: Future>(work: F) -> (F::Output, Tally) {
    TALLY
        .scope(Cell::new(Tally::default()), async {
            let out = work.await;
            (out, TALLY.with(Cell::get))
        })
        .await
}

/// Adds to the current [`tallied`] scope, if there is one.
fn tally(add: impl FnOnce(&mut Tally)) {
    let _outside_a_scope = TALLY.try_with(|cell| {
        let mut t = cell.get();
        add(&mut t);
        cell.set(t);
    });
}

impl EngineMetrics {
    /// One JSON-RPC request answered: a result (`ok`) or an error.
    pub fn request(&self, method: &str, ok: bool) {
        tally(|t| {
            t.requests += 1;
            t.errors += u64::from(!ok);
        });
        let method = METHODS
            .iter()
            .find(|m| **m == method)
            .copied()
            .unwrap_or("other");
        let outcome = if ok { "ok" } else { "error" };
        self.requests
            .get_or_create(&[("method", method), ("outcome", outcome)])
            .inc();
    }

    /// One render (`prompts/get`, `apply_template`) that started at `started`.
    pub fn rendered(&self, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        self.render_seconds.observe(seconds);
        tally(|t| {
            t.renders += 1;
            t.render_ms += seconds * 1000.0;
        });
    }

    /// One fan-out batch handed to the audience, and how many sessions it reached.
    pub fn fanned_out(&self, started: Instant, sessions: usize) {
        self.fanout_seconds.observe(started.elapsed().as_secs_f64());
        self.fanout_sessions.observe(sessions as f64);
    }

    /// Adds these metrics (shared, not copied) to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "mcp_prompts_requests",
            "JSON-RPC requests answered, by method and outcome (ok: a result, error: a JSON-RPC error)",
            self.requests.clone(),
        );
        registry.register_with_unit(
            "mcp_prompts_render",
            "Time to render a prompt (prompts/get, apply_template)",
            Unit::Seconds,
            self.render_seconds.clone(),
        );
        registry.register_with_unit(
            "mcp_prompts_fanout",
            "Time to hand one batch of changes to every interested connection",
            Unit::Seconds,
            self.fanout_seconds.clone(),
        );
        registry.register(
            "mcp_prompts_fanout_sessions",
            "Sessions sent at least one notification by one fan-out batch",
            self.fanout_sessions.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(m: &EngineMetrics) -> String {
        let mut registry = Registry::default();
        m.register(&mut registry);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        out
    }

    #[test]
    fn requests_are_counted_by_method_and_outcome_and_unknown_methods_fold_into_other() {
        let m = EngineMetrics::default();
        m.request("prompts/get", true);
        m.request("prompts/get", true);
        m.request("prompts/get", false);
        m.request("made/up", false);
        let out = text(&m);
        assert!(
            out.contains(r#"mcp_prompts_requests_total{method="prompts/get",outcome="ok"} 2"#),
            "{out}"
        );
        assert!(
            out.contains(r#"mcp_prompts_requests_total{method="prompts/get",outcome="error"} 1"#),
            "{out}"
        );
        assert!(
            out.contains(r#"mcp_prompts_requests_total{method="other",outcome="error"} 1"#),
            "{out}"
        );
        assert!(!out.contains("made/up"), "{out}");
        assert!(
            out.contains(r#"mcp_prompts_requests_total{method="tools/call",outcome="error"} 0"#),
            "known series start at 0: {out}"
        );
    }

    #[tokio::test]
    async fn a_tallied_scope_sees_its_own_counts_and_the_registry_sees_all() {
        let m = EngineMetrics::default();
        m.request("ping", true); // outside any scope: the registry only
        let work = |n: usize| {
            let m = m.clone();
            async move {
                for i in 0..n {
                    m.request("prompts/get", i != 0);
                    m.rendered(Instant::now());
                    tokio::task::yield_now().await;
                }
            }
        };
        // Interleaved on one task: each scope still counts only its own calls.
        let (((), a), ((), b)) = tokio::join!(tallied(work(3)), tallied(work(2)));
        assert_eq!((a.requests, a.errors, a.renders), (3, 1, 3));
        assert_eq!((b.requests, b.errors, b.renders), (2, 1, 2));
        assert!(a.render_ms >= 0.0 && a.render_ms < 1000.0);
        let out = text(&m);
        assert!(
            out.contains(r#"mcp_prompts_requests_total{method="prompts/get",outcome="ok"} 3"#),
            "{out}"
        );
        assert!(out.contains("mcp_prompts_render_seconds_count 5"), "{out}");
    }
}
