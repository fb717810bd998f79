//! The Lambda handlers' metrics as CloudWatch Embedded Metric Format: one JSON
//! line on stdout per invocation (CloudWatch Logs turns it into metrics in
//! namespace [`NAMESPACE`], dimension [`HANDLER_DIMENSION`]), written once at
//! the end of the invocation from counts the handler aggregated meanwhile
//! ([`Metrics`]: a fixed array, nothing allocated while counting; the fan-out's
//! numbers are its `DeliveryReport`, already summed by the poster).
//!
//! The names mirror `infra/lib/metric-names.ts`, which the dashboard and alarms
//! read; a test here reads that file and checks both lists are the same.
//!
//! What each metric counts, per handler:
//! - `Requests` (Count): units of work. `websocket`: JSON-RPC requests answered
//!   (the engine's request counter, [`mcp_prompts_engine::metrics::tallied`]:
//!   counted once for `/metrics` and here); `http`: HTTP requests; `fanout`,
//!   `shard`, `s3sync`, `import`: SQS records; `authorizer`, `sweeper`: invocations.
//! - `Errors` (Count): of those, the failed ones. JSON-RPC error replies (and
//!   timeouts, oversize replies, a `$connect` that could not register);
//!   HTTP 5xx; SQS records reported as batch item failures; an authorizer or
//!   sweeper invocation that failed (a refused credential is not an error).
//! - `RenderMs` (Milliseconds): time spent rendering prompts in the invocation
//!   (`prompts/get`, `apply_template`, REST `apply`); absent when nothing rendered.
//! - `FanoutConnections` (Count): connections sent at least one frame
//!   (`fanout` with a shard queue: connections paged into shards).
//! - `FanoutPosts` (Count): frames delivered by `PostToConnection`.
//! - `FanoutLagMs` (Milliseconds): from the oldest change of the batch being
//!   committed (its timestamp) to the end of its delivery (with a shard queue,
//!   `fanout`'s ends at the hand-off and `shard`'s at its last post).
//! - `Gone410` (Count): connections found gone (410) and forgotten.
//! - `PostThrottled` (Count): throttled (429) `PostToConnection` answers, each retried.
//!
//! Why not a crate: `metrics_cloudwatch_embedded` is a recorder for the
//! `metrics` facade (a global recorder, names and units registered through
//! macros, flushed on its own schedule), while ours are counted per invocation
//! in the handlers and the engine's counters are `prometheus_client`'s;
//! `cloudwatch_emf_helper` has had one release (0.1.0, 2024); awslabs'
//! `metrique` (with `metrique-writer-format-emf`) is maintained and fits the
//! one-entry-per-unit-of-work model, but brings a proc-macro and writer stack of
//! about ten crates (and its own sinks and time source) for what is one
//! `serde_json` line of at most eight numbers and one dimension. The format is
//! small and stable; [`Metrics::line`] writes it and the tests check it against
//! the specification's structure.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use super::runtime::HandlerKind;
use mcp_prompts_engine::domain::ChangeEvent;
use mcp_prompts_engine::metrics::Tally;

/// EMF namespace of every metric (`METRIC_NAMESPACE` in metric-names.ts).
pub const NAMESPACE: &str = "McpPrompts";
/// The one dimension of every metric (`HANDLER_DIMENSION`).
pub const HANDLER_DIMENSION: &str = "Handler";
/// Its values (`HANDLERS`): [`HandlerKind::dimension`] of each handler.
pub const HANDLERS: [&str; 9] = [
    "websocket",
    "http",
    "fanout",
    "sweeper",
    "authorizer",
    "s3sync",
    "shard",
    "import",
    "webhooks",
];

/// Every metric the handlers emit (`METRICS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Requests,
    Errors,
    RenderMs,
    FanoutConnections,
    FanoutPosts,
    FanoutLagMs,
    Gone410,
    PostThrottled,
}

/// EMF units used here (CloudWatch's unit names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub const fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

impl Metric {
    pub const ALL: [Metric; 8] = [
        Metric::Requests,
        Metric::Errors,
        Metric::RenderMs,
        Metric::FanoutConnections,
        Metric::FanoutPosts,
        Metric::FanoutLagMs,
        Metric::Gone410,
        Metric::PostThrottled,
    ];

    /// The metric's name in CloudWatch.
    pub const fn name(self) -> &'static str {
        match self {
            Metric::Requests => "Requests",
            Metric::Errors => "Errors",
            Metric::RenderMs => "RenderMs",
            Metric::FanoutConnections => "FanoutConnections",
            Metric::FanoutPosts => "FanoutPosts",
            Metric::FanoutLagMs => "FanoutLagMs",
            Metric::Gone410 => "Gone410",
            Metric::PostThrottled => "PostThrottled",
        }
    }

    pub const fn unit(self) -> Unit {
        match self {
            Metric::RenderMs | Metric::FanoutLagMs => Unit::Milliseconds,
            _ => Unit::Count,
        }
    }

    const fn slot(self) -> usize {
        self as usize
    }
}

/// One invocation's metrics: a value per metric, or none (not emitted).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Metrics {
    values: [Option<f64>; 8],
}

impl Metrics {
    /// These metrics at 0 (emitted even if nothing adds to them, so a sum
    /// over time has its zeros), the rest absent.
    pub fn zeroed(metrics: &[Metric]) -> Self {
        let mut m = Self::default();
        for metric in metrics {
            m.values[metric.slot()] = Some(0.0);
        }
        m
    }

    /// `Requests` and `Errors` of an invocation that handled `requests`
    /// (records, events) of which `errors` failed.
    pub fn requests(requests: usize, errors: usize) -> Self {
        let mut m = Self::zeroed(&[Metric::Requests, Metric::Errors]);
        m.count(Metric::Requests, requests);
        m.count(Metric::Errors, errors);
        m
    }

    /// Adds `n` to a count (present from now on).
    pub fn count(&mut self, metric: Metric, n: usize) {
        self.add(metric, n as f64);
    }

    /// Adds `v` to the metric (present from now on).
    pub fn add(&mut self, metric: Metric, v: f64) {
        let slot = &mut self.values[metric.slot()];
        *slot = Some(slot.unwrap_or(0.0) + v);
    }

    /// Sets the metric to `v` (a non-finite value leaves it as it was).
    pub fn set(&mut self, metric: Metric, v: f64) {
        if v.is_finite() {
            self.values[metric.slot()] = Some(v);
        }
    }

    pub fn get(&self, metric: Metric) -> Option<f64> {
        self.values[metric.slot()]
    }

    /// The engine's counts of this invocation: JSON-RPC requests and errors,
    /// and the render time when something rendered.
    pub fn add_tally(&mut self, tally: &Tally, requests: bool) {
        if requests {
            self.count(Metric::Requests, tally.requests as usize);
            self.count(Metric::Errors, tally.errors as usize);
        }
        if tally.renders > 0 {
            self.add(Metric::RenderMs, tally.render_ms);
        }
    }

    /// Counts a delivery: connections reached, frames posted, 410s, 429s.
    pub fn add_delivery(
        &mut self,
        connections: usize,
        posts: usize,
        gone: usize,
        throttled: usize,
    ) {
        self.count(Metric::FanoutConnections, connections);
        self.count(Metric::FanoutPosts, posts);
        self.count(Metric::Gone410, gone);
        self.count(Metric::PostThrottled, throttled);
    }

    pub fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }

    /// The EMF line (no newline): `_aws` metadata naming every present metric
    /// with its unit under one dimension set `[[Handler]]`, then the dimension
    /// and each metric as a top-level member. Counts are integers,
    /// milliseconds have at most 3 decimals.
    pub fn line(&self, handler: &str, timestamp_ms: u64) -> String {
        let mut declared = Vec::with_capacity(Metric::ALL.len());
        let mut root = Map::new();
        root.insert("_aws".into(), Value::Null);
        root.insert(HANDLER_DIMENSION.into(), handler.into());
        for metric in Metric::ALL {
            let Some(v) = self.get(metric) else { continue };
            declared.push(json!({ "Name": metric.name(), "Unit": metric.unit().as_str() }));
            let value = match metric.unit() {
                Unit::Count => json!(v.max(0.0).round() as u64),
                Unit::Milliseconds => json!((v.max(0.0) * 1000.0).round() / 1000.0),
            };
            root.insert(metric.name().into(), value);
        }
        root["_aws"] = json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[HANDLER_DIMENSION]],
                "Metrics": declared,
            }],
        });
        Value::Object(root).to_string()
    }
}

/// The milliseconds from the oldest of `changes` (by its commit timestamp)
/// to `now_ms`; `None` without a readable timestamp.
pub fn lag_ms(changes: &[ChangeEvent], now_ms: u64) -> Option<f64> {
    committed_ms(changes).map(|oldest| now_ms.saturating_sub(oldest) as f64)
}

/// When the oldest of `changes` was committed (Unix ms), if any says.
pub fn committed_ms(changes: &[ChangeEvent]) -> Option<u64> {
    changes.iter().filter_map(|c| unix_ms(&c.timestamp)).min()
}

fn unix_ms(rfc3339: &str) -> Option<u64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

type Sink = Arc<Mutex<dyn Write + Send>>;

/// Where an app's EMF lines go: stdout on Lambda, a buffer in tests, nowhere
/// for the local gateway (it serves `/metrics`).
#[derive(Clone, Default)]
pub struct Emf {
    out: Option<Sink>,
}

impl std::fmt::Debug for Emf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.out.is_some() {
            "Emf(on)"
        } else {
            "Emf(off)"
        })
    }
}

impl Emf {
    /// The Lambda runtime's: CloudWatch Logs reads the function's stdout
    /// (logs go to stderr).
    pub fn stdout() -> Self {
        Self::to_writer(std::io::stdout())
    }

    pub fn to_writer(writer: impl Write + Send + 'static) -> Self {
        Self {
            out: Some(Arc::new(Mutex::new(writer))),
        }
    }

    /// Lines go into a shared buffer (tests).
    pub fn buffer() -> (Self, Arc<Mutex<Vec<u8>>>) {
        #[derive(Clone)]
        struct Shared(Arc<Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Arc::new(Mutex::new(Vec::new()));
        (Self::to_writer(Shared(buf.clone())), buf)
    }

    pub fn is_on(&self) -> bool {
        self.out.is_some()
    }

    /// Writes one invocation's line (and flushes): nothing if off or empty.
    pub fn emit(&self, handler: HandlerKind, metrics: &Metrics) {
        let Some(out) = &self.out else { return };
        if metrics.is_empty() {
            return;
        }
        let mut line = metrics.line(handler.dimension(), now_ms());
        line.push('\n');
        let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
            tracing::warn!(error = %e, "could not write the EMF metrics line");
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `'...'` string values of `export const NAME = ...;` in metric-names.ts.
    fn ts_strings(source: &str, name: &str) -> Vec<String> {
        let start = source
            .find(&format!("export const {name} ="))
            .unwrap_or_else(|| panic!("metric-names.ts has no {name}"));
        let rest = &source[start..];
        let end = rest.find(';').expect("a ';' ends the declaration");
        rest[..end]
            .split('\'')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    fn metric_names_ts() -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../infra/lib/metric-names.ts"
        );
        std::fs::read_to_string(path).expect("infra/lib/metric-names.ts")
    }

    #[test]
    fn the_names_are_the_ones_infra_metric_names_ts_expects() {
        let ts = metric_names_ts();
        assert_eq!(ts_strings(&ts, "METRIC_NAMESPACE"), [NAMESPACE]);
        assert_eq!(ts_strings(&ts, "HANDLER_DIMENSION"), [HANDLER_DIMENSION]);
        let mut theirs = ts_strings(&ts, "METRICS");
        let mut ours: Vec<String> = Metric::ALL.iter().map(|m| m.name().to_string()).collect();
        theirs.sort();
        ours.sort();
        assert_eq!(ours, theirs, "METRICS in metric-names.ts and Metric::ALL");
        let mut theirs = ts_strings(&ts, "HANDLERS");
        let mut ours: Vec<String> = HANDLERS.iter().map(|h| h.to_string()).collect();
        theirs.sort();
        ours.sort();
        assert_eq!(ours, theirs, "HANDLERS in metric-names.ts and here");
    }

    #[test]
    fn every_handler_kind_has_its_dimension_value_and_parses_back_from_it() {
        for name in HANDLERS {
            let kind = HandlerKind::parse(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(kind.dimension(), name);
        }
    }

    #[test]
    fn a_line_declares_each_present_metric_with_its_unit_and_carries_its_value() {
        let mut m = Metrics::zeroed(&[Metric::Requests, Metric::Errors]);
        m.count(Metric::Requests, 2);
        m.add(Metric::RenderMs, 1.23456);
        m.add(Metric::RenderMs, 1.0);
        let line = m.line("websocket", 1_700_000_000_123);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_123u64);
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "McpPrompts");
        assert_eq!(cw["Dimensions"], json!([["Handler"]]));
        assert_eq!(
            cw["Metrics"],
            json!([
                {"Name": "Requests", "Unit": "Count"},
                {"Name": "Errors", "Unit": "Count"},
                {"Name": "RenderMs", "Unit": "Milliseconds"},
            ])
        );
        assert_eq!(v["Handler"], "websocket");
        assert_eq!(v["Requests"], 2);
        assert_eq!(v["Errors"], 0);
        assert_eq!(v["RenderMs"], 2.235);
        assert!(
            v.get("FanoutPosts").is_none(),
            "absent metrics are not emitted: {line}"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn emit_writes_one_line_per_call_and_nothing_when_empty_or_off() {
        let (emf, buf) = Emf::buffer();
        emf.emit(HandlerKind::Fanout, &Metrics::default());
        let mut m = Metrics::default();
        m.add_delivery(3, 4, 1, 2);
        emf.emit(HandlerKind::Fanout, &m);
        Emf::default().emit(HandlerKind::Fanout, &m);
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let v: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(
            (
                &v["Handler"],
                &v["FanoutConnections"],
                &v["FanoutPosts"],
                &v["Gone410"],
                &v["PostThrottled"]
            ),
            (&json!("fanout"), &json!(3), &json!(4), &json!(1), &json!(2))
        );
    }

    #[test]
    fn lag_is_measured_from_the_oldest_change() {
        let change = |ts: &str| -> ChangeEvent {
            serde_json::from_value(json!({
                "position": 1, "id": "p", "version": 1, "kind": "updated",
                "actor": "t", "timestamp": ts,
            }))
            .unwrap()
        };
        let changes = [
            change("2025-03-26T02:21:16.384Z"),
            change("2025-03-26T02:21:15.000Z"),
            change("not a time"),
        ];
        let at = unix_ms("2025-03-26T02:21:17.000Z").unwrap();
        assert_eq!(lag_ms(&changes, at), Some(2000.0));
        assert_eq!(lag_ms(&changes[2..], at), None);
    }
}
