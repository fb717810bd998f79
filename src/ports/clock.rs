//! The clock port: time comes from outside the engine so tests can pin it.

pub trait Clock: Send + Sync + 'static {
    /// Now, as an RFC 3339 UTC timestamp with milliseconds (`2025-03-26T02:21:16.384Z`).
    fn now_rfc3339(&self) -> String;
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
}
