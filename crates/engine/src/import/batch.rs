//! The batch write port: many prompts in few transactions, for imports. A
//! store that has one (the embedded store) writes a 10,000-prompt catalog in
//! about the time of a hundred single writes; without one, the import goes
//! through [`Catalog::create`](crate::Catalog::create) and
//! [`Catalog::update`](crate::Catalog::update), one write each.

use async_trait::async_trait;

use crate::domain::{ChangeEvent, ChangeKind, PendingChange, Prompt, PromptId};
use crate::ports::StoreResult;

/// One prompt to write.
#[derive(Debug, Clone)]
pub struct BatchWrite {
    /// The new version's fields. The store sets `version` (the id's last
    /// version + 1 for a create, `expected + 1` for an update) and the
    /// timestamps (`createdAt` too for a create; an update keeps the given one).
    pub prompt: Prompt,
    /// `None`: create (fails with `AlreadyExists` if the id is live);
    /// `Some(v)`: update, if the live version is still `v` (else `Conflict`).
    pub expected: Option<u64>,
    /// Prompts the template includes: each must be live when this one is
    /// written (written earlier in the same batch counts), else `NotFound`.
    pub includes: Vec<PromptId>,
    pub change: PendingChange,
}

impl BatchWrite {
    /// `prompt` as a create (`expected: None`) or as an update of version
    /// `expected`, logged with `actor`.
    pub fn new(
        prompt: Prompt,
        expected: Option<u64>,
        includes: Vec<PromptId>,
        actor: &str,
    ) -> Self {
        let kind = if expected.is_some() {
            ChangeKind::Updated
        } else {
            ChangeKind::Created
        };
        Self {
            prompt,
            expected,
            includes,
            change: PendingChange {
                kind,
                actor: actor.to_string(),
                label: None,
            },
        }
    }
}

#[async_trait]
pub trait BatchWriter: Send + Sync {
    /// Writes the items in order. Each is all-or-nothing with its change-log
    /// entry (so every written prompt notifies live clients); one failing does
    /// not stop the others. The outer error is a failure of the whole batch
    /// (nothing written).
    async fn write_batch(
        &self,
        items: Vec<BatchWrite>,
    ) -> StoreResult<Vec<StoreResult<ChangeEvent>>>;
}
