//! Requests per second per connection: a token bucket kept in the door's
//! [`super::Attachment`], so every door that keeps one (a WebSocket, a
//! Streamable HTTP session) is limited once, in `SessionHost::message`, and
//! one busy client cannot take the workers every other session waits on.
//! stdio (one local client) and a Lambda (API Gateway throttles; the
//! attachment lives one message) run without one.
//!
//! Pure: it is told the time, so it is tested without sleeping.

use std::time::{Duration, Instant};

/// `--rate-per-sec` and `--rate-burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSettings {
    /// Tokens added per second: the sustained rate.
    pub per_sec: f64,
    /// Tokens the bucket holds: the burst a quiet connection may send at once.
    pub burst: f64,
}

impl Default for RateSettings {
    fn default() -> Self {
        Self {
            per_sec: 50.0,
            burst: 100.0,
        }
    }
}

/// The bucket of one connection.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    settings: RateSettings,
    tokens: f64,
    refilled: Instant,
    /// Requests refused and notifications dropped since the last report.
    over: Over,
    reported: Option<Instant>,
}

/// What a connection sent over its budget since the last report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Over {
    /// Requests answered with -32029.
    pub refused: u64,
    /// Notifications (and responses) dropped.
    pub dropped: u64,
}

/// How often a connection's refusals are logged at most.
const REPORT_EVERY: Duration = Duration::from_secs(1);

impl RateLimiter {
    /// A full bucket.
    pub fn new(settings: RateSettings, now: Instant) -> Self {
        let settings = RateSettings {
            per_sec: settings.per_sec.max(f64::MIN_POSITIVE),
            burst: settings.burst.max(1.0),
        };
        Self {
            tokens: settings.burst,
            settings,
            refilled: now,
            over: Over::default(),
            reported: None,
        }
    }

    /// Takes a token for one message, or says how long until one is there.
    pub fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.settings.per_sec).min(self.settings.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - self.tokens) / self.settings.per_sec;
        Err(Duration::from_secs_f64(wait.min(3600.0)).max(Duration::from_millis(1)))
    }

    /// Counts a message `admit` refused: a request (answered with an error)
    /// or a notification (dropped).
    pub fn count(&mut self, request: bool) {
        if request {
            self.over.refused += 1;
        } else {
            self.over.dropped += 1;
        }
    }

    /// What was over the limit since the last report, when a report is due
    /// (at most one per second): the counts to log.
    pub fn report(&mut self, now: Instant) -> Option<Over> {
        let due = self
            .reported
            .is_none_or(|at| now.saturating_duration_since(at) >= REPORT_EVERY);
        if !due || self.over == Over::default() {
            return None;
        }
        self.reported = Some(now);
        Some(std::mem::take(&mut self.over))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_sec: f64, burst: f64) -> (RateLimiter, Instant) {
        let t0 = Instant::now();
        (RateLimiter::new(RateSettings { per_sec, burst }, t0), t0)
    }

    #[test]
    fn a_burst_is_admitted_then_refused_with_the_wait_for_the_next_token() {
        let (mut r, t0) = limiter(10.0, 3.0);
        for _ in 0..3 {
            assert_eq!(r.admit(t0), Ok(()));
        }
        let wait = r.admit(t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        // Half a token later: 50 ms to go.
        let wait = r.admit(t0 + Duration::from_millis(50)).unwrap_err();
        assert_eq!(wait.as_millis(), 50);
        assert_eq!(r.admit(t0 + Duration::from_millis(100)), Ok(()));
    }

    #[test]
    fn the_bucket_refills_at_the_rate_up_to_the_burst() {
        let (mut r, t0) = limiter(10.0, 3.0);
        for _ in 0..3 {
            r.admit(t0).unwrap();
        }
        // An hour idle refills 3 tokens, not 36,000.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(r.admit(later), Ok(()));
        }
        assert!(r.admit(later).is_err());
        // The sustained rate: one token per 100 ms.
        let mut t = later;
        for _ in 0..20 {
            t += Duration::from_millis(100);
            assert_eq!(r.admit(t), Ok(()));
            assert!(r.admit(t).is_err());
        }
    }

    #[test]
    fn refusals_are_reported_at_most_once_a_second_with_their_count() {
        let (mut r, t0) = limiter(1.0, 1.0);
        assert_eq!(r.report(t0), None, "nothing refused yet");
        let over = |refused, dropped| Some(Over { refused, dropped });
        r.admit(t0).unwrap();
        for request in [true, true, false] {
            assert!(r.admit(t0).is_err());
            r.count(request);
        }
        assert_eq!(r.report(t0), over(2, 1));
        r.count(false);
        assert_eq!(r.report(t0 + Duration::from_millis(500)), None);
        r.count(true);
        assert_eq!(r.report(t0 + Duration::from_millis(1000)), over(1, 1));
        assert_eq!(r.report(t0 + Duration::from_secs(5)), None);
    }

    #[test]
    fn a_clock_that_goes_backwards_adds_nothing() {
        let (mut r, t0) = limiter(10.0, 1.0);
        let later = t0 + Duration::from_secs(1);
        r.admit(later).unwrap();
        assert!(r.admit(t0).is_err());
    }
}
