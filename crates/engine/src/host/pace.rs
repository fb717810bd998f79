//! The post-rate budget of one fan-out invocation: posts are spaced to at most
//! `ceiling` per second, and a throttled answer (429) halves the rate (AIMD:
//! additive increase back towards the ceiling while nothing is throttled). The
//! account's `@connections` throttle is shared by every invocation, so each
//! gets its share of a global budget (`budget / consumers`) as its ceiling.
//!
//! The state is a `std::sync::Mutex` held for a few arithmetic operations,
//! never across an `.await`: a caller computes its slot, then sleeps outside.

use std::sync::Mutex;
use std::time::Duration;

use std::time::Instant;

/// A throttle halves the rate at most this often (one burst of 429s is one signal).
const CUT_EVERY: Duration = Duration::from_millis(200);
/// Without throttling, the rate grows by `ceiling / RECOVERY_STEPS` this often.
const GROW_EVERY: Duration = Duration::from_millis(100);
const RECOVERY_STEPS: f64 = 20.0;
/// The rate never falls below this share of the ceiling.
const FLOOR_SHARE: f64 = 1.0 / 16.0;
/// How far ahead of now slots may be handed out: bounds the sleep of one post.
const MAX_AHEAD: Duration = Duration::from_secs(10);

pub struct Pace {
    /// Posts per second at most; 0 means unpaced.
    ceiling: f64,
    state: Mutex<State>,
}

struct State {
    rate: f64,
    next_slot: Instant,
    last_cut: Instant,
    last_grow: Instant,
    cuts: u64,
}

impl Pace {
    /// `ceiling` posts per second (0: no pacing, only the concurrency bound).
    pub fn new(ceiling: f64) -> Self {
        let now = Instant::now();
        Self {
            ceiling: ceiling.max(0.0),
            state: Mutex::new(State {
                rate: ceiling.max(0.0),
                next_slot: now,
                last_cut: now.checked_sub(CUT_EVERY).unwrap_or(now),
                last_grow: now,
                cuts: 0,
            }),
        }
    }

    /// `budget` posts/s shared by `consumers` invocations: this one's share.
    pub fn share(budget: f64, consumers: usize) -> Self {
        Self::new(budget / consumers.max(1) as f64)
    }

    pub fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// The current rate (posts/s; 0 when unpaced).
    pub fn rate(&self) -> f64 {
        self.lock().rate
    }

    /// How many times throttling halved the rate.
    pub fn cuts(&self) -> u64 {
        self.lock().cuts
    }

    /// Waits for this post's slot.
    pub async fn acquire(&self) {
        if self.ceiling == 0.0 {
            return;
        }
        let slot = self.slot_at(Instant::now());
        tokio::time::sleep_until(tokio::time::Instant::from_std(slot)).await;
    }

    /// A post was throttled: halve the rate (once per burst) and push the next
    /// slots back by one spacing, so the in-flight posts spread out too.
    pub fn throttled(&self) {
        self.throttled_at(Instant::now());
    }

    /// The slot of a post asked for at `now` (it grows the rate back first).
    fn slot_at(&self, now: Instant) -> Instant {
        let mut s = self.lock();
        if now.saturating_duration_since(s.last_cut) > Duration::from_secs(1)
            && now.saturating_duration_since(s.last_grow) >= GROW_EVERY
        {
            s.rate = (s.rate + self.ceiling / RECOVERY_STEPS).min(self.ceiling);
            s.last_grow = now;
        }
        let slot = s.next_slot.max(now);
        let step = Duration::from_secs_f64(1.0 / s.rate);
        s.next_slot = (slot + step).min(now + MAX_AHEAD);
        slot
    }

    fn throttled_at(&self, now: Instant) {
        if self.ceiling == 0.0 {
            return;
        }
        let mut s = self.lock();
        if now.saturating_duration_since(s.last_cut) < CUT_EVERY {
            return;
        }
        s.rate = (s.rate / 2.0).max(self.ceiling * FLOOR_SHARE);
        s.last_cut = now;
        s.cuts += 1;
        let step = Duration::from_secs_f64(1.0 / s.rate);
        s.next_slot = s.next_slot.max(now) + step;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_shared_by_the_consumers() {
        assert_eq!(Pace::share(5000.0, 4).ceiling(), 1250.0);
        assert_eq!(Pace::share(5000.0, 0).ceiling(), 5000.0);
    }

    #[test]
    fn throttling_halves_the_rate_once_per_burst_and_it_recovers() {
        let pace = Pace::new(1000.0);
        let mut t = Instant::now() + Duration::from_secs(1);
        pace.throttled_at(t);
        pace.throttled_at(t);
        assert_eq!(pace.rate(), 500.0);
        assert_eq!(pace.cuts(), 1);
        t += CUT_EVERY;
        pace.throttled_at(t);
        assert_eq!(pace.rate(), 250.0);
        for _ in 0..20 {
            t += CUT_EVERY;
            pace.throttled_at(t);
        }
        assert_eq!(pace.rate(), 1000.0 * FLOOR_SHARE);
        t += Duration::from_secs(2);
        for _ in 0..40 {
            t += GROW_EVERY;
            pace.slot_at(t);
        }
        assert_eq!(pace.rate(), 1000.0);
    }

    #[test]
    fn slots_are_spaced_by_the_rate_and_bounded_ahead() {
        let pace = Pace::new(100.0);
        let t = Instant::now();
        let slots: Vec<Instant> = (0..51).map(|_| pace.slot_at(t)).collect();
        assert_eq!(slots[0], t);
        assert_eq!(slots[50] - t, Duration::from_millis(500));
        let many = (0..10_000).map(|_| pace.slot_at(t)).last().unwrap();
        assert!(many - t <= MAX_AHEAD);
    }
}
