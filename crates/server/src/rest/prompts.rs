//! `/prompts` and `/prompts/{id}`: list (category, tag, full-text `q`, keyset
//! cursor), create, read, update (partial: absent fields are kept), delete.
//! Each handler's `#[utoipa::path]` is its entry in `/openapi.json`.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp_prompts_engine::cursor;
use mcp_prompts_engine::domain::{Prompt, PromptDraft, PromptId, PromptPatch};
use mcp_prompts_engine::ports::{ListQuery, SearchQuery};
use serde::Deserialize;

use super::conditional::{etag, if_match, none_match, not_modified, precondition_failed};
use super::problem::{Problem, ProblemBody};
use super::responses::{Forbidden, StoreUnavailable, TooLarge, WrongMediaType};
use super::wire::{IdPath, ListParams, PromptPage, PromptUpdate};
use super::{ACTOR, RestEdge, body};

type Result<T> = std::result::Result<T, Problem>;

pub fn prompt_id(raw: &str) -> Result<PromptId> {
    PromptId::parse(raw).map_err(|e| Problem::bad_field("id", e.to_string()))
}

/// A prompt with its version as the `ETag`.
pub fn with_etag(status: StatusCode, prompt: &Prompt) -> Response {
    let mut r = (status, Json(prompt)).into_response();
    r.headers_mut().insert(header::ETAG, etag(prompt.version));
    r
}

fn number(value: Option<&String>, name: &str) -> Result<Option<usize>> {
    value
        .map(|v| {
            v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Problem::bad_field(
                    name,
                    format!("{name} must be a positive whole number, got '{v}'"),
                )
            })
        })
        .transpose()
}

#[utoipa::path(
    get, path = "/prompts", operation_id = "listPrompts", tag = "prompts",
    summary = "List prompts, or search them",
    description = "Without `q`: a page in id order, filtered by `category` and `tag`; \
        `nextCursor` asks for the next page and stays stable while others edit. \
        With `q`: full-text results, ranked, at most `limit` (no cursor).",
    params(ListParams),
    responses(
        (status = 200, description = "The page", body = PromptPage),
        (status = 400, description = "A bad `limit`, `cursor` or query string (`field` names it)",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, response = StoreUnavailable),
    )
)]
pub async fn list(
    State(rest): State<Arc<RestEdge>>,
    query: std::result::Result<Query<ListParams>, QueryRejection>,
) -> Result<Response> {
    let Query(params) = query.map_err(|e| Problem::bad_field("query", e.body_text()))?;
    let limit = number(params.limit.as_ref(), "limit")?.unwrap_or(rest.page_size());
    let ListParams {
        category,
        tag,
        q,
        cursor: page,
        ..
    } = params;
    if let Some(text) = q.filter(|q| !q.trim().is_empty()) {
        if page.is_some() {
            return Err(Problem::bad_field(
                "cursor",
                "full-text results are ranked, not paged: ask for a larger limit instead",
            ));
        }
        let query = SearchQuery {
            text,
            category,
            tag,
            limit,
        };
        let prompts = rest.catalog().search(query).await?;
        let page = PromptPage {
            prompts,
            next_cursor: None,
        };
        return Ok(Json(page).into_response());
    }
    let after = match page {
        Some(c) => Some(
            cursor::decode(&c)
                .ok_or_else(|| Problem::bad_field("cursor", format!("invalid cursor: '{c}'")))?,
        ),
        None => None,
    };
    let query = ListQuery {
        category,
        tag,
        id_prefix: None,
        after,
        limit,
    };
    let (prompts, next) = rest.catalog().list(query).await?;
    let page = PromptPage {
        prompts,
        next_cursor: next.as_ref().map(cursor::encode),
    };
    Ok(Json(page).into_response())
}

#[utoipa::path(
    post, path = "/prompts", operation_id = "createPrompt", tag = "prompts",
    summary = "Create a prompt (version 1)",
    request_body(content = PromptDraft, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Prompt, headers(
            ("ETag" = String, description = "The version, quoted: `\"1\"`"),
            ("Location" = String, description = "`/prompts/{id}`"),
        )),
        (status = 400, description = "Bad JSON or a bad field (`field` names it)",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, response = Forbidden),
        (status = 409, description = "A prompt with this id exists",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongMediaType),
        (status = 503, response = StoreUnavailable),
    )
)]
pub async fn create(
    State(rest): State<Arc<RestEdge>>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response> {
    let draft: PromptDraft = body::json(&headers, raw, rest.max_body).await?;
    let (prompt, _) = rest.catalog().create(draft, ACTOR).await?;
    let mut r = with_etag(StatusCode::CREATED, &prompt);
    if let Ok(location) = HeaderValue::from_str(&format!("/prompts/{}", prompt.id)) {
        r.headers_mut().insert(header::LOCATION, location);
    }
    Ok(r)
}

#[utoipa::path(
    get, path = "/prompts/{id}", operation_id = "getPrompt", tag = "prompts",
    summary = "Read the latest version of a prompt",
    params(
        IdPath,
        ("If-None-Match" = Option<String>, Header,
            description = "ETags the caller has (`\"3\"`, `W/\"3\"`, `*`): 304 when one is current"),
    ),
    responses(
        (status = 200, description = "The prompt", body = Prompt, headers(
            ("ETag" = String, description = "The version, quoted: `\"3\"`"),
        )),
        (status = 304, description = "`If-None-Match` names the current version", headers(
            ("ETag" = String, description = "The version, quoted"),
        )),
        (status = 400, description = "The id is not a valid prompt id",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such prompt",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, response = StoreUnavailable),
    )
)]
pub async fn get(
    State(rest): State<Arc<RestEdge>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let prompt = rest.catalog().get(&prompt_id(&id)?).await?;
    if none_match(&headers, prompt.version) {
        return Ok(not_modified(prompt.version));
    }
    Ok(with_etag(StatusCode::OK, &prompt))
}

/// A `PUT` body: the fields to change (a [`PromptPatch`]), and optionally the
/// version it expects. Read as two views of one body rather than with
/// `#[serde(flatten)]`, which loses the path of a wrong field (`.` instead of
/// `name`: found by the REST fuzz test, issue 17.4).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Expected {
    expected_version: Option<u64>,
}

#[utoipa::path(
    put, path = "/prompts/{id}", operation_id = "updatePrompt", tag = "prompts",
    summary = "Update a prompt (a new version); absent fields are kept",
    params(
        IdPath,
        ("If-Match" = Option<String>, Header,
            description = "The version the write expects (`\"3\"`): 412 when it is stale"),
    ),
    request_body(content = PromptUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "The new version", body = Prompt, headers(
            ("ETag" = String, description = "The new version, quoted"),
        )),
        (status = 400, description = "Bad JSON, a bad field, or `If-Match` and `expectedVersion` disagree",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, response = Forbidden),
        (status = 404, description = "No such prompt",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`expectedVersion` is stale (`currentVersion` says what is)",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is stale (`currentVersion` says what is)",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, response = TooLarge),
        (status = 415, response = WrongMediaType),
        (status = 503, response = StoreUnavailable),
    )
)]
pub async fn update(
    State(rest): State<Arc<RestEdge>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response> {
    let id = prompt_id(&id)?;
    let precondition = if_match(&headers)?;
    let raw = body::bytes(&headers, raw, rest.max_body).await?;
    let patch: PromptPatch = body::parse(&raw)?;
    let Expected { expected_version } = body::parse(&raw)?;
    let expected = match (precondition, expected_version) {
        (Some(a), Some(b)) if a != b => {
            return Err(Problem::bad_field(
                "expectedVersion",
                format!("If-Match names version {a} but expectedVersion is {b}"),
            ));
        }
        (a, b) => a.or(b),
    };
    let written = rest.catalog().update(&id, patch, expected, ACTOR).await;
    let (prompt, _) = written.map_err(|e| conflict_as(precondition, e.into()))?;
    Ok(with_etag(StatusCode::OK, &prompt))
}

#[utoipa::path(
    delete, path = "/prompts/{id}", operation_id = "deletePrompt", tag = "prompts",
    summary = "Delete a prompt (its history is kept)",
    params(
        IdPath,
        ("If-Match" = Option<String>, Header,
            description = "The version the delete expects (`\"3\"`): 412 when it is stale"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A bad id or `If-Match`",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, response = Forbidden),
        (status = 404, description = "No such prompt",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is stale (`currentVersion` says what is)",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, response = StoreUnavailable),
    )
)]
pub async fn delete(
    State(rest): State<Arc<RestEdge>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let id = prompt_id(&id)?;
    let precondition = if_match(&headers)?;
    rest.catalog()
        .delete(&id, precondition, ACTOR)
        .await
        .map_err(|e| conflict_as(precondition, e.into()))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A conflict on a version named by `If-Match` is a failed precondition.
pub fn conflict_as(precondition: Option<u64>, p: Problem) -> Problem {
    if precondition.is_some() {
        precondition_failed(p)
    } else {
        p
    }
}
