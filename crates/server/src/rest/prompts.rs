//! `/prompts` and `/prompts/{id}`: list (category, tag, full-text `q`, keyset
//! cursor), create, read, update (partial: absent fields are kept), delete.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp_prompts_engine::cursor;
use mcp_prompts_engine::domain::{Prompt, PromptDraft, PromptId, PromptPatch};
use mcp_prompts_engine::ports::{ListQuery, SearchQuery};
use serde::Deserialize;
use serde_json::json;

use super::conditional::{etag, if_match, none_match, not_modified, precondition_failed};
use super::problem::Problem;
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

fn number(params: &HashMap<String, String>, name: &str) -> Result<Option<usize>> {
    params
        .get(name)
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

pub async fn list(
    State(rest): State<Arc<RestEdge>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response> {
    let limit = number(&params, "limit")?.unwrap_or(rest.page_size());
    let category = params.get("category").cloned();
    let tag = params.get("tag").cloned();
    if let Some(text) = params.get("q").filter(|q| !q.trim().is_empty()) {
        if params.contains_key("cursor") {
            return Err(Problem::bad_field(
                "cursor",
                "full-text results are ranked, not paged: ask for a larger limit instead",
            ));
        }
        let query = SearchQuery {
            text: text.clone(),
            category,
            tag,
            limit,
        };
        let prompts = rest.catalog().search(query).await?;
        return Ok(Json(json!({ "prompts": prompts })).into_response());
    }
    let after = match params.get("cursor") {
        Some(c) => Some(
            cursor::decode(c)
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
    let mut out = json!({ "prompts": prompts });
    if let Some(next) = next {
        out["nextCursor"] = json!(cursor::encode(&next));
    }
    Ok(Json(out).into_response())
}

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
