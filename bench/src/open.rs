//! Opening many initialized sessions with bounded concurrency, and the file
//! descriptor limit that needs.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::mcp::Client;

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
pub fn raise_nofile() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("warning: could not raise RLIMIT_NOFILE: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(0)
        }
    }
}

pub struct Opened {
    pub clients: Vec<Client>,
    pub failed: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

/// Opens `n` initialized sessions, at most `concurrency` handshakes at a time.
pub async fn open_sessions(url: &str, n: usize, concurrency: usize) -> Opened {
    let start = Instant::now();
    let results: Vec<anyhow::Result<Client>> = futures_util::stream::iter(0..n)
        .map(|_| Client::open(url))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let elapsed = start.elapsed();
    let mut clients = Vec::with_capacity(n);
    let mut failed = 0;
    let mut first_error = None;
    for r in results {
        match r {
            Ok(c) => clients.push(c),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    Opened {
        clients,
        failed,
        first_error,
        elapsed,
    }
}

impl Opened {
    pub fn report(&self, n: usize) {
        println!(
            "opened {}/{} sessions in {:.2} s ({:.0} sessions/s){}",
            self.clients.len(),
            n,
            self.elapsed.as_secs_f64(),
            self.clients.len() as f64 / self.elapsed.as_secs_f64().max(1e-9),
            match &self.first_error {
                Some(e) => format!("; {} failed, first error: {e}", self.failed),
                None => String::new(),
            }
        );
    }
}
