//! The REST bodies that are not domain types: what the handlers read and
//! write, typed so the OpenAPI document is derived from them (the domain's
//! `Prompt`, `PromptDraft` and `PromptPatch` derive their schemas themselves).

use std::collections::BTreeMap;

use mcp_prompts_engine::domain::{Prompt, PromptId, PromptPatch};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The query of `GET /prompts`. Numbers are read as text so that a bad one
/// is a problem naming the parameter, not the extractor's plain-text 400.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only prompts of this category.
    pub category: Option<String>,
    /// Only prompts with this tag.
    pub tag: Option<String>,
    /// Full-text search, ranked by relevance (not paged: no `cursor`).
    pub q: Option<String>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size (the server's page size when absent).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub limit: Option<String>,
}

/// The path parameter of every `/prompts/{id}…` route.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct IdPath {
    /// The prompt's id.
    pub id: PromptId,
}

/// A page of prompts, in id order; `nextCursor` is there when more follow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromptPage {
    pub prompts: Vec<Prompt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The `PUT /prompts/{id}` body: the fields to change (absent ones are
/// kept) and, instead of `If-Match`, the version the write expects. The
/// handler reads it as its two parts (see `prompts::update`).
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PromptUpdate {
    #[serde(flatten)]
    pub patch: PromptPatch,
    /// A stale one is 409 (`If-Match` makes it 412).
    #[schema(minimum = 1)]
    pub expected_version: Option<u64>,
}

/// Every version of a prompt, oldest first, and its labels.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct History {
    pub id: PromptId,
    pub versions: Vec<Prompt>,
    /// Label name → the version it points at.
    pub labels: BTreeMap<String, u64>,
}

/// The `POST /prompts/{id}/apply` body: the variables, and which version to
/// render (the latest when neither `version` nor `label` is given).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    #[serde(default)]
    pub variables: Map<String, Value>,
    #[schema(minimum = 1)]
    pub version: Option<u64>,
    pub label: Option<String>,
}

/// A rendered prompt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub id: PromptId,
    /// The version that was rendered.
    pub version: u64,
    /// The rendered text.
    pub content: String,
    /// Declared variables the template never reads (likely typos).
    pub unused_variables: Vec<String>,
    /// Variables passed that the prompt does not declare.
    pub unknown_variables: Vec<String>,
}

/// The `PUT /prompts/{id}/labels/{label}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveLabel {
    #[schema(minimum = 1)]
    pub version: u64,
}

/// Where a label points now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LabelMoved {
    pub id: PromptId,
    pub label: String,
    pub version: u64,
}
