//! Latency histograms (microseconds) and small reporting helpers.

use hdrhistogram::Histogram;

pub fn histogram() -> Histogram<u64> {
    // 1 µs .. 1 h, 3 significant figures.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

pub fn record_us(h: &mut Histogram<u64>, micros: u64) {
    h.saturating_record(micros.max(1));
}

pub fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// `p50 / p99 / max` in milliseconds, as JSON fields with a prefix.
pub fn summary(h: &Histogram<u64>) -> serde_json::Value {
    if h.is_empty() {
        return serde_json::json!({"count": 0});
    }
    serde_json::json!({
        "count": h.len(),
        "p50_ms": round3(ms(h.value_at_quantile(0.50))),
        "p99_ms": round3(ms(h.value_at_quantile(0.99))),
        "max_ms": round3(ms(h.max())),
        "mean_ms": round3(h.mean() / 1000.0),
    })
}

pub fn line(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return "no samples".into();
    }
    format!(
        "p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms  (mean {:.3} ms, n={})",
        ms(h.value_at_quantile(0.50)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        h.mean() / 1000.0,
        h.len()
    )
}

pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Prints the machine-readable result line that `run.sh` collects.
pub fn result(kind: &str, fields: serde_json::Value) {
    let mut obj = serde_json::json!({"bench": kind});
    if let (Some(o), Some(f)) = (obj.as_object_mut(), fields.as_object()) {
        for (k, v) in f {
            o.insert(k.clone(), v.clone());
        }
    }
    println!("RESULT {obj}");
}
