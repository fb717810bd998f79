//! CPU accounting from `/proc/PID/task/*/schedstat`: time on CPU and time spent
//! runnable but waiting for a CPU, summed over threads, in nanoseconds. CPU cost
//! per request is far less sensitive to a busy machine than wall-clock figures,
//! and the run-queue wait shows how much a busy machine distorted those.

use std::time::Duration;

#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub run_ns: u64,
    pub wait_ns: u64,
}

/// `pid` is a number or `self`. `None` if /proc has no such process.
pub fn sample(pid: &str) -> Option<Cpu> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = Cpu::default();
    for task in dir.flatten().take(10_000) {
        let Ok(s) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        let mut it = s.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0));
        total.run_ns += it.next().unwrap_or(0);
        total.wait_ns += it.next().unwrap_or(0);
    }
    Some(total)
}

/// A before/after pair for the server (optional) and this process.
pub struct Meter {
    server: Option<(String, Cpu)>,
    me: Option<Cpu>,
    started: std::time::Instant,
}

#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub wall: Duration,
    pub server: Option<Cpu>,
    pub loadgen: Option<Cpu>,
}

impl Meter {
    pub fn start(server_pid: Option<u32>) -> Self {
        let server = server_pid.and_then(|p| {
            let p = p.to_string();
            sample(&p).map(|c| (p, c))
        });
        Self {
            server,
            me: sample("self"),
            started: std::time::Instant::now(),
        }
    }

    pub fn stop(&self) -> Usage {
        let diff = |a: Cpu, b: Cpu| Cpu {
            run_ns: b.run_ns.saturating_sub(a.run_ns),
            wait_ns: b.wait_ns.saturating_sub(a.wait_ns),
        };
        Usage {
            wall: self.started.elapsed(),
            server: self
                .server
                .as_ref()
                .and_then(|(p, before)| sample(p).map(|after| diff(*before, after))),
            loadgen: self
                .me
                .and_then(|before| sample("self").map(|after| diff(before, after))),
        }
    }
}

impl Usage {
    /// One line: CPU time and run-queue wait of each side over the window, and
    /// per unit of work (`per` items called `unit`).
    pub fn line(&self, per: u64, unit: &str) -> String {
        let mut parts = Vec::new();
        let wall = self.wall.as_secs_f64();
        for (name, c) in [("server", self.server), ("loadgen", self.loadgen)] {
            if let Some(c) = c {
                parts.push(format!(
                    "{name} {:.0} ms CPU ({:.2} cores, {:.1} µs/{unit}), waited for a CPU {:.0} ms",
                    c.run_ns as f64 / 1e6,
                    c.run_ns as f64 / 1e9 / wall.max(1e-9),
                    c.run_ns as f64 / 1e3 / per.max(1) as f64,
                    c.wait_ns as f64 / 1e6
                ));
            }
        }
        parts.join("; ")
    }

    pub fn json(&self, per: u64) -> serde_json::Value {
        let side = |c: Option<Cpu>| {
            c.map(|c| {
                serde_json::json!({
                    "cpu_ms": crate::stats::round3(c.run_ns as f64 / 1e6),
                    "cpu_us_per_unit": crate::stats::round3(c.run_ns as f64 / 1e3 / per.max(1) as f64),
                    "runqueue_wait_ms": crate::stats::round3(c.wait_ns as f64 / 1e6),
                })
            })
        };
        serde_json::json!({
            "wall_ms": crate::stats::round3(self.wall.as_secs_f64() * 1e3),
            "server": side(self.server),
            "loadgen": side(self.loadgen),
        })
    }
}
