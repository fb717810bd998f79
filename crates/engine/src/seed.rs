//! The starter catalog compiled into the binary, seeded into an empty store.

use crate::domain::PromptDraft;
use crate::{Catalog, CatalogError};

const STARTER: &str = include_str!("../../../seed/starter-catalog.json");

/// The starter prompts, parsed.
pub fn starter_drafts() -> Vec<PromptDraft> {
    serde_json::from_str(STARTER).expect("seed/starter-catalog.json is valid (checked by tests)")
}

/// Seeds `catalog` when its store has never held a prompt. Prompts that include
/// others as partials are created after what they include. Returns how many were
/// created.
pub async fn seed_if_empty(catalog: &Catalog) -> Result<usize, CatalogError> {
    let store = catalog.store();
    if store.count_live().await? > 0 || store.head_position().await? > 0 {
        return Ok(0);
    }
    let mut pending = starter_drafts();
    let mut created = 0;
    while !pending.is_empty() {
        let mut deferred = Vec::new();
        let mut blocked = None;
        let before = created;
        for draft in std::mem::take(&mut pending) {
            match catalog.create(draft.clone(), "seed").await {
                Ok(_) => created += 1,
                Err(e @ CatalogError::UnknownPartial(_)) => {
                    blocked = Some(e);
                    deferred.push(draft);
                }
                Err(e) => return Err(e),
            }
        }
        // A round that created nothing cannot be followed by one that does.
        if let Some(e) = blocked.filter(|_| created == before) {
            return Err(e);
        }
        pending = deferred;
    }
    Ok(created)
}
