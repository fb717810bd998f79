//! `POST /imports` queues a bulk import job (the engine's [`ImportJobs`], the
//! same jobs as the `import_catalog` tool); `GET /imports/{id}` polls it,
//! `GET /imports` lists the recent ones. The job's writes notify live clients
//! like any other (one `list_changed` at its end).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcp_prompts_engine::jobs::{ImportJobs, Submission, SubmitError};
use serde::Deserialize;
use serde_json::json;

use super::problem::Problem;
use super::{ACTOR, RestEdge, body};

/// An import body holds a whole catalog: larger than one prompt's, still bounded.
const MAX_IMPORT_BODY: usize = 16 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ImportBody {
    files: Vec<ImportFile>,
    #[serde(default)]
    dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportFile {
    path: String,
    content: String,
}

fn jobs(rest: &RestEdge) -> Result<&ImportJobs, Problem> {
    rest.host.engine.jobs().map(|j| j.as_ref()).ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_IMPLEMENTED,
            "imports-unavailable",
            "bulk import jobs are not available on this deployment: use `mcp-prompts import`",
        )
    })
}

pub async fn submit(
    State(rest): State<Arc<RestEdge>>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, Problem> {
    let jobs = jobs(&rest)?;
    let limit = MAX_IMPORT_BODY.max(rest.max_body);
    let b: ImportBody = body::json(&headers, raw, limit).await?;
    if let Some(bad) = b.files.iter().position(|f| f.path.trim().is_empty()) {
        return Err(Problem::bad_field(
            format!("files/{bad}/path"),
            "a file needs a catalog-relative path (its extension picks the format)",
        ));
    }
    let submission = Submission {
        files: b.files.into_iter().map(|f| (f.path, f.content)).collect(),
        dry_run: b.dry_run,
        by: ACTOR.to_string(),
    };
    let now = rest.host.engine.catalog.clock().now_rfc3339();
    let rx = jobs.submit(submission, now).map_err(|e| match e {
        SubmitError::Busy(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "imports-busy",
            e.to_string(),
        ),
        SubmitError::Empty => Problem::bad_field("files", e.to_string()),
        SubmitError::TooManyFiles { .. } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-many-files",
            e.to_string(),
        ),
    })?;
    let status = rx.borrow().clone();
    let mut r = (StatusCode::ACCEPTED, Json(status.to_json())).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/imports/{}", status.job_id)) {
        r.headers_mut().insert(header::LOCATION, location);
    }
    Ok(r)
}

pub async fn status(
    State(rest): State<Arc<RestEdge>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let status = jobs(&rest)?.status(&id).ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("unknown import job: '{id}'"),
        )
    })?;
    Ok(Json(status.to_json()).into_response())
}

pub async fn recent(State(rest): State<Arc<RestEdge>>) -> Result<Response, Problem> {
    let jobs: Vec<_> = jobs(&rest)?.recent().iter().map(|s| s.to_json()).collect();
    Ok(Json(json!({ "jobs": jobs })).into_response())
}
