//! RFC 9457 problem details: every REST error is `application/problem+json`
//! with a `type`, a `title`, the `status`, a `detail` that names the problem and,
//! for bad input, the `field` it is about.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp_prompts_engine::CatalogError;
use mcp_prompts_engine::catalog::LimitError;
use mcp_prompts_engine::domain::PromptError;
use mcp_prompts_engine::ports::StoreError;
use serde_json::{Value, json};

#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    /// The last segment of the `type` URI (`…/problems/{kind}`).
    pub kind: &'static str,
    pub detail: String,
    /// Extra members (`field`, `currentVersion`, ...).
    pub extra: Value,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            detail: detail.into(),
            extra: json!({}),
        }
    }

    pub fn bad_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let mut p = Self::new(StatusCode::BAD_REQUEST, "invalid-field", detail);
        p.extra["field"] = Value::String(field.into());
        p
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra[key] = value;
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("https://mcp-prompts.dev/problems/{}", self.kind),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), self.extra) {
            b.extend(extra);
        }
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
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
            CatalogError::Store(StoreError::Conflict { current, .. }) => {
                Problem::new(StatusCode::CONFLICT, "version-conflict", detail)
                    .with("currentVersion", json!(current))
            }
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
                        .with("field", json!("variables"))
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
