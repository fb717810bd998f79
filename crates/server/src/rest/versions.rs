//! `/prompts/{id}/versions[/{n}]` (history), `/prompts/{id}/apply` (render) and
//! `/prompts/{id}/labels/{label}` (move a label). Each handler's
//! `#[utoipa::path]` is its entry in `/openapi.json`.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_prompts_engine::Selector;
use mcp_prompts_engine::domain::{Label, Prompt};

use super::problem::{Problem, ProblemBody};
use super::prompts::{prompt_id, with_etag};
use super::responses::{Forbidden, StoreUnavailable, TooLarge, WrongMediaType};
use super::wire::{Applied, ApplyRequest, History, IdPath, LabelMoved, MoveLabel};
use super::{ACTOR, RestEdge, body};

type Result<T> = std::result::Result<T, Problem>;

#[utoipa::path(
    get, path = "/prompts/{id}/versions", operation_id = "listVersions", tag = "versions",
    summary = "Every version of a prompt, and its labels",
    params(IdPath),
    responses(
        (status = 200, description = "The history", body = History),
        (status = 400, description = "The id is not a valid prompt id",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such prompt",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, response = StoreUnavailable),
    )
)]
pub async fn history(
    State(rest): State<Arc<RestEdge>>,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = prompt_id(&id)?;
    let (versions, labels) = rest.catalog().history(&id).await?;
    Ok(Json(History {
        id,
        versions,
        labels,
    })
    .into_response())
}

#[utoipa::path(
    get, path = "/prompts/{id}/versions/{version}", operation_id = "getVersion", tag = "versions",
    summary = "One version of a prompt",
    params(
        IdPath,
        ("version" = u64, Path, minimum = 1, description = "A version number"),
    ),
    responses(
        (status = 200, description = "That version", body = Prompt, headers(
            ("ETag" = String, description = "The version, quoted"),
        )),
        (status = 400, description = "A bad id or version number",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such prompt or version",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, response = StoreUnavailable),
    )
)]
pub async fn version(
    State(rest): State<Arc<RestEdge>>,
    Path((id, version)): Path<(String, String)>,
) -> Result<Response> {
    let id = prompt_id(&id)?;
    let n = version
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Problem::bad_field(
                "version",
                format!("versions are whole numbers from 1, got '{version}'"),
            )
        })?;
    let prompt = rest.catalog().get_at(&id, &Selector::Version(n)).await?;
    Ok(with_etag(StatusCode::OK, &prompt))
}

#[utoipa::path(
    post, path = "/prompts/{id}/apply", operation_id = "applyPrompt", tag = "prompts",
    summary = "Render a prompt with variables",
    params(IdPath),
    request_body(content = ApplyRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The rendered text", body = Applied),
        (status = 400, description = "Bad JSON, a bad field, or a required variable is missing (`variables.NAME`)",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such prompt, version or label",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "The body or the variables are over the limit",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, response = WrongMediaType),
        (status = 422, description = "The template failed to render or went over its budget",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, response = StoreUnavailable),
    )
)]
pub async fn apply(
    State(rest): State<Arc<RestEdge>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response> {
    let id = prompt_id(&id)?;
    let a: ApplyRequest = body::json(&headers, raw, rest.max_body).await?;
    let selector = match (a.version, a.label) {
        (Some(_), Some(_)) => {
            return Err(Problem::bad_field(
                "label",
                "pass either version or label, not both",
            ));
        }
        (Some(0), None) => return Err(Problem::bad_field("version", "versions start at 1")),
        (Some(v), None) => Selector::Version(v),
        (None, Some(l)) => Selector::Label(
            Label::parse(&l).map_err(|e| Problem::bad_field("label", e.to_string()))?,
        ),
        (None, None) => Selector::Latest,
    };
    let started = std::time::Instant::now();
    let rendered = rest.catalog().render(&id, &selector, &a.variables).await?;
    rest.host.engine.metrics.rendered(started);
    Ok(Json(Applied {
        id,
        version: rendered.prompt.version,
        content: rendered.text,
        unused_variables: rendered.unused_variables,
        unknown_variables: rendered.unknown_arguments,
    })
    .into_response())
}

#[utoipa::path(
    put, path = "/prompts/{id}/labels/{label}", operation_id = "moveLabel", tag = "versions",
    summary = "Point a label at a version",
    params(
        IdPath,
        ("label" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$",
            description = "1-64 letters, digits, '-', '_' or '.', not all digits"),
    ),
    request_body(content = MoveLabel, content_type = "application/json"),
    responses(
        (status = 200, description = "Where the label points now", body = LabelMoved),
        (status = 400, description = "A bad id, label or body",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, response = Forbidden),
        (status = 404, description = "No such prompt or version",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongMediaType),
        (status = 503, response = StoreUnavailable),
    )
)]
pub async fn set_label(
    State(rest): State<Arc<RestEdge>>,
    Path((id, label)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response> {
    let id = prompt_id(&id)?;
    let label = Label::parse(&label).map_err(|e| Problem::bad_field("label", e.to_string()))?;
    let m: MoveLabel = body::json(&headers, raw, rest.max_body).await?;
    rest.catalog()
        .set_label(&id, &label, m.version, ACTOR)
        .await?;
    Ok(Json(LabelMoved {
        id,
        label: label.as_str().to_string(),
        version: m.version,
    })
    .into_response())
}
