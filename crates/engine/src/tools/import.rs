//! `import_catalog` and `import_status`: bulk imports as jobs (see
//! [`crate::jobs`]). A call that wants progress stays open while its job runs
//! and pushes `notifications/progress` through the door's live channel.

use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use super::ToolResult;
use super::handlers::args;
use crate::dispatch::Ctx;
use crate::jobs::{BulkJobs, JobStatus, Submission};
use crate::jsonrpc;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ImportArgs {
    files: Vec<FileArg>,
    #[serde(default)]
    dry_run: bool,
    wait: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileArg {
    path: String,
    content: String,
}

fn jobs<'a>(ctx: &Ctx<'a>) -> Result<&'a dyn BulkJobs, String> {
    ctx.engine
        .jobs()
        .map(|j| j.as_ref())
        .ok_or_else(|| "bulk import jobs are not available on this server: use `mcp-prompts import` or create_prompt".to_string())
}

pub async fn submit(ctx: &mut Ctx<'_>, value: Value, token: Option<Value>) -> ToolResult {
    let a: ImportArgs = args("import_catalog", value)?;
    if let Some(t) = &token
        && !(t.is_string() || t.is_i64() || t.is_u64())
    {
        return Err("_meta.progressToken must be a string or an integer".into());
    }
    let jobs = jobs(ctx)?;
    let submission = Submission {
        files: a.files.into_iter().map(|f| (f.path, f.content)).collect(),
        dry_run: a.dry_run,
        by: ctx.session.id.clone(),
    };
    let now = ctx.engine.catalog.clock().now_rfc3339();
    let mut rx = jobs
        .submit(submission, now)
        .await
        .map_err(|e| e.to_string())?;
    if !a.wait.unwrap_or(token.is_some()) {
        return Ok(rx.current().to_json());
    }
    let live = ctx.out.live.clone();
    let deadline = Instant::now() + jobs.max_wait();
    let mut reported: Option<u64> = None;
    loop {
        let status = rx.current();
        if let (Some(token), Some(live)) = (&token, &live)
            && reported.is_none_or(|r| status.settled > r)
        {
            reported = Some(status.settled);
            live.send(progress(token, &status)).await;
        }
        if status.state.is_final() {
            return Ok(status.to_json());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.changed()).await {
            Ok(true) => continue,
            // The job outlives the wait (or the worker is gone): the status so far.
            Ok(false) | Err(_) => return Ok(rx.current().to_json()),
        }
    }
}

/// A `notifications/progress` for `token`: settled prompts of the total.
fn progress(token: &Value, s: &JobStatus) -> String {
    let mut params = json!({
        "progressToken": token,
        "progress": s.settled,
        "message": format!(
            "import {}: {} of {} prompts settled ({} created, {} updated, {} unchanged, {} failed)",
            s.job_id, s.settled, s.total, s.created, s.updated, s.unchanged, s.failed
        ),
    });
    if s.total > 0 {
        params["total"] = json!(s.total);
    }
    jsonrpc::notification("notifications/progress", &params)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StatusArgs {
    job_id: String,
}

pub async fn status(ctx: &mut Ctx<'_>, value: Value) -> ToolResult {
    let a: StatusArgs = args("import_status", value)?;
    jobs(ctx)?
        .status(&a.job_id)
        .await?
        .map(|s| s.to_json())
        .ok_or_else(|| {
            format!(
                "unknown import job: '{}' (finished jobs are kept for a while, not forever)",
                a.job_id
            )
        })
}
