//! Holding back `list_changed` while a bulk job writes: its changes still go
//! out one by one as catalog events and `resources/updated`, but the listing
//! notifications wait for the job's end, so a client hears one `list_changed`
//! for a 10,000-prompt import instead of one per publisher window.
//!
//! The job's last position decides when: its `list_changed` goes out with the
//! fan-out batch that publishes that position, or at once if the publisher got
//! there first. The gate is in memory: after a restart nothing is held and the
//! replayed changes announce themselves as usual.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::ChangeEvent;

#[derive(Default)]
pub struct ListingGate {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Actors whose listing changes are held; `Some(p)` once the job has ended
    /// with its last write at position `p`.
    held: HashMap<String, Option<u64>>,
    /// The newest position handed to the fan-out.
    published: u64,
}

impl ListingGate {
    /// From now on, changes made by `actor` do not announce the listing.
    pub fn hold(&self, actor: &str) {
        self.lock().held.insert(actor.to_string(), None);
    }

    /// `actor`'s job has ended; `last`: the position of its last write (`None`
    /// when it wrote nothing). `Some(p)`: the caller must announce the listing
    /// at `p` now (the fan-out has already passed it).
    pub fn release(&self, actor: &str, last: Option<u64>) -> Option<u64> {
        let mut state = self.lock();
        match last {
            Some(p) if p > state.published => {
                state.held.insert(actor.to_string(), Some(p));
                None
            }
            last => {
                state.held.remove(actor);
                last
            }
        }
    }

    /// The listing position a fan-out batch announces: its newest listing
    /// change not held back, or the end of a job this batch completes.
    pub fn listing(&self, changes: &[ChangeEvent]) -> Option<u64> {
        let mut state = self.lock();
        if let Some(last) = changes.last() {
            state.published = state.published.max(last.position);
        }
        let mut listing = changes
            .iter()
            .rev()
            .find(|c| c.kind.changes_listing() && !state.held.contains_key(&c.actor))
            .map(|c| c.position);
        let published = state.published;
        state.held.retain(|_, end| match *end {
            Some(p) if p <= published => {
                listing = listing.max(Some(p));
                false
            }
            _ => true,
        });
        listing
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChangeKind, PromptId};

    fn change(position: u64, actor: &str) -> ChangeEvent {
        ChangeEvent {
            position,
            id: PromptId::parse(&format!("p{position}")).unwrap(),
            version: 1,
            kind: ChangeKind::Created,
            category: None,
            tags: vec![],
            actor: actor.into(),
            timestamp: String::new(),
            label: None,
            partial: None,
        }
    }

    #[test]
    fn a_job_announces_once_with_the_batch_that_publishes_its_end() {
        let gate = ListingGate::default();
        gate.hold("import:a");
        assert_eq!(
            gate.listing(&[change(1, "import:a"), change(2, "import:a")]),
            None
        );
        assert_eq!(
            gate.release("import:a", Some(4)),
            None,
            "position 4 is not published yet"
        );
        assert_eq!(gate.listing(&[change(3, "import:a")]), None);
        assert_eq!(gate.listing(&[change(4, "import:a")]), Some(4));
        // Released: later changes by the same actor announce as usual.
        assert_eq!(gate.listing(&[change(5, "import:a")]), Some(5));
    }

    #[test]
    fn a_job_whose_end_was_already_published_announces_at_release() {
        let gate = ListingGate::default();
        gate.hold("import:a");
        assert_eq!(gate.listing(&[change(1, "import:a")]), None);
        assert_eq!(gate.release("import:a", Some(1)), Some(1));
        assert_eq!(
            gate.release("import:b", None),
            None,
            "wrote nothing: nothing to say"
        );
    }

    #[test]
    fn other_writers_are_not_held() {
        let gate = ListingGate::default();
        gate.hold("import:a");
        assert_eq!(
            gate.listing(&[change(1, "import:a"), change(2, "rest")]),
            Some(2)
        );
        assert_eq!(
            gate.listing(&[change(3, "rest"), change(4, "import:a")]),
            Some(3)
        );
    }
}
