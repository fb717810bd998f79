//! The clock port: time comes from outside the engine so tests can pin it.

pub trait Clock: Send + Sync + 'static {
    /// Now, as an RFC 3339 UTC timestamp with milliseconds (`2025-03-26T02:21:16.384Z`).
    fn now_rfc3339(&self) -> String;
    /// Now, in milliseconds since the Unix epoch (expiry times, TTLs).
    fn now_unix_ms(&self) -> u64;
    /// Now, in seconds since the Unix epoch.
    fn now_unix(&self) -> u64 {
        self.now_unix_ms() / 1000
    }
}

/// Wall-clock time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_rfc3339(&self) -> String {
        let now = time::OffsetDateTime::now_utc();
        let format = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        now.format(&format)
            .unwrap_or_else(|_| now.unix_timestamp().to_string())
    }

    fn now_unix_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}
