//! RFC 9457 problem details: every REST error is `application/problem+json`
//! with a `type`, a `title`, the `status`, a `detail` that names the problem and,
//! for bad input, the `field` it is about. [`ProblemBody`] is what goes on the
//! wire, so the OpenAPI document describes exactly that.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp_prompts_engine::CatalogError;
use mcp_prompts_engine::catalog::LimitError;
use mcp_prompts_engine::domain::PromptError;
use mcp_prompts_engine::ports::StoreError;
use serde::Serialize;

/// The media type of every REST error.
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    /// The last segment of the `type` URI (`…/problems/{kind}`).
    pub kind: &'static str,
    pub detail: String,
    /// The input the problem is about (`name`, `tags[1]`, `If-Match`).
    pub field: Option<String>,
    /// The prompt's version now, when a write expected another.
    pub current_version: Option<u64>,
}

/// An RFC 9457 problem details object as this API writes it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProblemBody {
    /// `https://mcp-prompts.dev/problems/{kind}`, e.g. `…/invalid-field`.
    #[serde(rename = "type")]
    #[schema(pattern = "^https://mcp-prompts\\.dev/problems/[a-z-]+$")]
    pub kind: String,
    /// The HTTP reason phrase of `status`.
    pub title: String,
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What is wrong, in words.
    #[schema(min_length = 1)]
    pub detail: String,
    /// The input the problem is about: a body field (`tags[1]`,
    /// `variables.name`), a query parameter, a path segment or a header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// On a version conflict: the version the prompt has now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            detail: detail.into(),
            field: None,
            current_version: None,
        }
    }

    pub fn bad_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid-field", detail).field(field)
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    fn body(self) -> ProblemBody {
        ProblemBody {
            kind: format!("https://mcp-prompts.dev/problems/{}", self.kind),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            field: self.field,
            current_version: self.current_version,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status;
        let body = serde_json::to_string(&self.body()).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

impl From<CatalogError> for Problem {
    fn from(e: CatalogError) -> Self {
        let detail = e.to_string();
        match e {
            CatalogError::Store(StoreError::NotFound(_) | StoreError::NoSuchVersion { .. })
            | CatalogError::NoSuchLabel { .. } => {
                Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
            }
            CatalogError::Store(StoreError::AlreadyExists(_)) => {
                Problem::new(StatusCode::CONFLICT, "already-exists", detail)
            }
            CatalogError::Store(StoreError::Conflict { current, .. }) => Problem {
                current_version: Some(current),
                ..Problem::new(StatusCode::CONFLICT, "version-conflict", detail)
            },
            CatalogError::Store(StoreError::Backend(_)) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "store-unavailable", detail)
            }
            CatalogError::MissingArgument { argument, .. } => {
                Problem::bad_field(format!("variables.{argument}"), detail)
            }
            CatalogError::Invalid(e) => Problem::bad_field(invalid_field(&e), detail),
            CatalogError::UnknownPartial(_) | CatalogError::PartialCycle(_) => {
                Problem::bad_field("content", detail)
            }
            CatalogError::Render { .. } => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "render-failed", detail)
            }
            CatalogError::Limit(limit) => match limit {
                LimitError::TemplateTooLarge { .. }
                | LimitError::ExpansionTooLarge { .. }
                | LimitError::PartialsTooDeep { .. } => Problem::bad_field("content", detail),
                LimitError::ArgumentsTooLarge { .. } => {
                    Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail)
                        .field("variables")
                }
                LimitError::OutputTooLarge { .. } | LimitError::RenderTooSlow { .. } => {
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "render-budget", detail)
                }
            },
        }
    }
}

/// The draft field a validation error is about (an empty name was reported as
/// `content` before the REST fuzz test, issue 17.4).
fn invalid_field(e: &PromptError) -> &'static str {
    match e {
        PromptError::Id(_) => "id",
        PromptError::EmptyName => "name",
        PromptError::DuplicateVariable(_) | PromptError::InvalidVariableName(_) => "variables",
        PromptError::Template(_)
        | PromptError::UndeclaredVariable { .. }
        | PromptError::InvalidPartial(_) => "content",
    }
}
