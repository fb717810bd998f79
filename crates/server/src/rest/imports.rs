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
use mcp_prompts_engine::jobs::{BulkJobs, JobStatus, Submission, SubmitError};
use serde::{Deserialize, Serialize};

use super::problem::{Problem, ProblemBody};
use super::responses::{Forbidden, Unavailable, WrongMediaType};
use super::{ACTOR, RestEdge, body};

/// An import body holds a whole catalog: larger than one prompt's, still bounded.
const MAX_IMPORT_BODY: usize = 16 * 1024 * 1024;

/// A catalog to import as a job.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportBody {
    /// At least one file, at most 20,000.
    files: Vec<ImportFile>,
    /// Report what would change; write nothing.
    #[serde(default)]
    dry_run: bool,
}

/// One catalog file.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportFile {
    /// Catalog-relative path, e.g. `coding/review.md`: its extension picks the
    /// format (json, yaml, md, txt), its folder the category.
    path: String,
    content: String,
}

/// The recent jobs, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct JobList {
    jobs: Vec<JobStatus>,
}

fn jobs(rest: &RestEdge) -> Result<&dyn BulkJobs, Problem> {
    rest.host.engine.jobs().map(|j| j.as_ref()).ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_IMPLEMENTED,
            "imports-unavailable",
            "bulk import jobs are not available on this deployment: use `mcp-prompts import`",
        )
    })
}

#[utoipa::path(
    post, path = "/imports", operation_id = "submitImport", tag = "imports",
    summary = "Queue a bulk import job",
    description = "The files are read as `mcp-prompts import` reads a catalog and written in \
        batches by the hub's import worker; unchanged prompts get no version. Poll the job at \
        its `Location`. Live MCP clients hear one `list_changed` for the whole job.",
    request_body = ImportBody,
    responses(
        (status = 202, description = "Queued", body = JobStatus,
            headers(("Location" = String, description = "`/imports/{jobId}`"))),
        (status = 400, description = "A field is wrong (named in `field`)",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, response = Forbidden),
        (status = 413, description = "Over 16 MB or 20,000 files",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, response = WrongMediaType),
        (status = 501, response = Unavailable),
        (status = 503, description = "Too many jobs are queued, or the job queue is unavailable: retry later",
            body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn submit(
    State(rest): State<Arc<RestEdge>>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, Problem> {
    let jobs = jobs(&rest)?;
    let limit = MAX_IMPORT_BODY.max(rest.max_body);
    let b: ImportBody = body::json(&headers, raw, limit).await?;
    let submission = Submission {
        files: b.files.into_iter().map(|f| (f.path, f.content)).collect(),
        dry_run: b.dry_run,
        by: ACTOR.to_string(),
    };
    let now = rest.host.engine.catalog.clock().now_rfc3339();
    let mut rx = jobs.submit(submission, now).await.map_err(|e| match e {
        SubmitError::Busy(_) | SubmitError::Unavailable(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "imports-busy",
            e.to_string(),
        ),
        SubmitError::Empty => Problem::bad_field("files", e.to_string()),
        SubmitError::NoPath(i) => Problem::bad_field(
            format!("files/{i}/path"),
            "a file needs a catalog-relative path (its extension picks the format)",
        ),
        SubmitError::TooManyFiles { .. } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-many-files",
            e.to_string(),
        ),
    })?;
    let status = rx.current();
    let location = format!("/imports/{}", status.job_id);
    let mut r = (StatusCode::ACCEPTED, Json(status)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, location);
    }
    Ok(r)
}

/// The path parameter of `/imports/{id}`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path, names("id"))]
#[allow(dead_code)]
pub struct JobPath(
    /// The job id (`jobId`).
    String,
);

#[utoipa::path(
    get, path = "/imports/{id}", operation_id = "getImport", tag = "imports",
    summary = "A bulk import job's status and counts",
    params(JobPath),
    responses(
        (status = 200, description = "The job", body = JobStatus),
        (status = 404, description = "No such job (finished jobs are kept for a while)",
            body = ProblemBody, content_type = "application/problem+json"),
        (status = 501, response = Unavailable),
    )
)]
pub async fn status(
    State(rest): State<Arc<RestEdge>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let status = jobs(&rest)?
        .status(&id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                format!("unknown import job: '{id}'"),
            )
        })?;
    Ok(Json(status).into_response())
}

#[utoipa::path(
    get, path = "/imports", operation_id = "listImports", tag = "imports",
    summary = "The recent bulk import jobs, newest first",
    responses(
        (status = 200, description = "The jobs (the last 64)", body = JobList),
        (status = 501, response = Unavailable),
    )
)]
pub async fn recent(State(rest): State<Arc<RestEdge>>) -> Result<Response, Problem> {
    let jobs = jobs(&rest)?.recent().await.map_err(unavailable)?;
    Ok(Json(JobList { jobs }).into_response())
}

/// The job store could not be read (on AWS: DynamoDB).
fn unavailable(e: String) -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "imports-store-unavailable",
        e,
    )
}
