//! `/prompts/{id}/versions[/{n}]` (history), `/prompts/{id}/apply` (render) and
//! `/prompts/{id}/labels/{label}` (move a label).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_prompts_engine::Selector;
use mcp_prompts_engine::domain::Label;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::problem::Problem;
use super::prompts::{prompt_id, with_etag};
use super::{ACTOR, RestEdge, body};

type Result<T> = std::result::Result<T, Problem>;

pub async fn history(
    State(rest): State<Arc<RestEdge>>,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = prompt_id(&id)?;
    let (versions, labels) = rest.catalog().history(&id).await?;
    Ok(Json(json!({"id": id, "versions": versions, "labels": labels})).into_response())
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Apply {
    #[serde(default)]
    variables: Map<String, Value>,
    version: Option<u64>,
    label: Option<String>,
}

pub async fn apply(
    State(rest): State<Arc<RestEdge>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response> {
    let id = prompt_id(&id)?;
    let a: Apply = body::json(&headers, raw, rest.max_body).await?;
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
    let rendered = rest.catalog().render(&id, &selector, &a.variables).await?;
    Ok(Json(json!({
        "id": id,
        "version": rendered.prompt.version,
        "content": rendered.text,
        "unusedVariables": rendered.unused_variables,
        "unknownVariables": rendered.unknown_arguments,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveLabel {
    version: u64,
}

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
    Ok(Json(json!({"id": id, "label": label.as_str(), "version": m.version})).into_response())
}
