//! The replay buffer of a session's standalone SSE stream: the most recent
//! notifications with their event ids, so a client that reconnects with
//! `Last-Event-ID` gets what it missed. Bounded: the oldest events fall off.

use std::collections::VecDeque;

use bytes::Bytes;

#[derive(Debug)]
pub struct EventLog {
    events: VecDeque<(u64, Bytes)>,
    capacity: usize,
    /// Id of the newest event; ids start at 1, so 0 means "before everything".
    last: u64,
}

/// What a resuming client gets.
#[derive(Debug, Default, PartialEq)]
pub struct Replay {
    pub events: Vec<(u64, Bytes)>,
    /// Some events after the requested id were already evicted.
    pub gap: bool,
}

impl EventLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            events: VecDeque::with_capacity(capacity.clamp(1, 64)),
            capacity: capacity.max(1),
            last: 0,
        }
    }

    /// Appends a frame and returns its event id.
    pub fn push(&mut self, frame: Bytes) -> u64 {
        self.last += 1;
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back((self.last, frame));
        self.last
    }

    pub fn last_id(&self) -> u64 {
        self.last
    }

    /// The events after `id`, oldest first. An id from the future (not issued by
    /// this log) replays nothing.
    pub fn after(&self, id: u64) -> Replay {
        if id >= self.last {
            return Replay::default();
        }
        let first = self
            .events
            .front()
            .map_or(self.last + 1, |(first, _)| *first);
        let skip = usize::try_from(id.saturating_sub(first - 1)).unwrap_or(usize::MAX);
        Replay {
            events: self.events.iter().skip(skip).cloned().collect(),
            gap: id + 1 < first,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(r: &Replay) -> Vec<u64> {
        r.events.iter().map(|(id, _)| *id).collect()
    }

    #[test]
    fn replays_what_follows_an_id() {
        let mut log = EventLog::new(8);
        for i in 0..5 {
            log.push(Bytes::from(format!("{i}")));
        }
        assert_eq!(ids(&log.after(2)), vec![3, 4, 5]);
        assert_eq!(log.after(2).events[0].1, Bytes::from("2"));
        assert!(!log.after(0).gap);
        assert_eq!(ids(&log.after(0)), vec![1, 2, 3, 4, 5]);
        assert_eq!(log.after(5), Replay::default());
        assert_eq!(log.after(99), Replay::default());
    }

    #[test]
    fn evicted_events_are_reported_as_a_gap() {
        let mut log = EventLog::new(3);
        for i in 0..10 {
            log.push(Bytes::from(format!("{i}")));
        }
        assert_eq!(log.last_id(), 10);
        let r = log.after(2);
        assert!(r.gap);
        assert_eq!(ids(&r), vec![8, 9, 10]);
        let r = log.after(7);
        assert!(!r.gap);
        assert_eq!(ids(&r), vec![8, 9, 10]);
        assert_eq!(ids(&log.after(9)), vec![10]);
    }
}
