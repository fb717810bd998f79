//! Change events: one per committed catalog write, in the store's change log.

use serde::{Deserialize, Serialize};

use super::prompt_id::PromptId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
    /// A label was set or moved; the prompt's content did not change.
    Labelled,
    /// A prompt this one includes as a partial changed, so this one renders
    /// differently (`partial` names it). Derived at fan-out, never stored.
    #[serde(rename = "dependency-changed")]
    DependencyChanged,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Labelled => "labelled",
            ChangeKind::DependencyChanged => "dependency-changed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "created" => ChangeKind::Created,
            "updated" => ChangeKind::Updated,
            "deleted" => ChangeKind::Deleted,
            "labelled" => ChangeKind::Labelled,
            "dependency-changed" => ChangeKind::DependencyChanged,
            _ => return None,
        })
    }

    /// Whether the set of prompts (or their listing) changed, as opposed to a
    /// label move or a partial's change.
    pub fn changes_listing(self) -> bool {
        !matches!(self, ChangeKind::Labelled | ChangeKind::DependencyChanged)
    }
}

/// What a committed write changed. `position` is its place in the store's change
/// log: monotonic per store, so "what did I miss since P" is one range query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEvent {
    pub position: u64,
    pub id: PromptId,
    pub version: u64,
    pub kind: ChangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Which session (or tool: `seed`, `cli`) made the change.
    pub actor: String,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// For `dependency-changed`: the included prompt whose change this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<PromptId>,
}

/// A write about to be committed: the store assigns its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChange {
    pub kind: ChangeKind,
    pub actor: String,
    pub label: Option<String>,
}
