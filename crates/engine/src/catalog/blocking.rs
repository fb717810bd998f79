//! CPU-heavy catalog work (template analysis, compilation, handlebars
//! renders) runs on the blocking pool, so one big template never holds an
//! async worker that other sessions' messages are waiting for.

use tokio::sync::Semaphore;

use super::{Catalog, CatalogError, CatalogResult};
use crate::domain::prompt::TemplateFacts;
use crate::domain::{Prompt, PromptDraft};
use crate::ports::StoreError;

/// Templates at least this big are analyzed and compiled on the blocking
/// pool; smaller ones cost less than the hop.
pub(super) const HEAVY_BYTES: usize = 8 * 1024;

/// About one blocking task per core, so a burst of heavy writes queues
/// instead of starving the machine.
pub(super) fn cpu_permits() -> Semaphore {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Semaphore::new(cores.max(2))
}

impl Catalog {
    /// Validates a draft (one template parse), off the async workers when the
    /// template is big.
    pub(super) async fn validate(
        &self,
        draft: PromptDraft,
        version: u64,
        created_at: String,
        now: String,
    ) -> CatalogResult<(Prompt, TemplateFacts)> {
        let heavy = draft.content.len() >= HEAVY_BYTES;
        let work = move || draft.into_prompt_with_facts(version, &created_at, &now);
        Ok(self.cpu_bound(heavy, work).await??)
    }

    /// Runs `work` here, or when `heavy` on the blocking pool (one permit of
    /// [`Self::cpu`] held while it runs).
    pub(super) async fn cpu_bound<T: Send + 'static>(
        &self,
        heavy: bool,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> CatalogResult<T> {
        if !heavy {
            return Ok(work());
        }
        let failed = |e: &dyn std::fmt::Display| {
            CatalogError::Store(StoreError::Backend(format!("background task failed: {e}")))
        };
        let permit = self
            .cpu
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| failed(&e))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| failed(&e))
    }
}
