//! The import queue's consumer (`MCP_PROMPTS_HANDLER=import`): one bulk
//! import batch per message ([`crate::imports`]). The batch is written through
//! the catalog like any import (unchanged prompts get no version, each write is
//! one transaction with its change), counted on the job once, and the next
//! batch is queued; the last one announces the listing and ends the job.
//!
//! Failures: a store or S3 failure fails the message (SQS redelivers it); on
//! its third receive (the last before the dead-letter queue) the job is ended as failed instead, with the reason, so
//! no job stays `running` behind a poison batch. What earlier batches wrote
//! stays, with its notifications.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};

use super::app::LambdaApp;
use super::emf::Metrics;
use super::runtime::HandlerKind;
use crate::imports::{AwsImportJobs, BatchMessage};
use mcp_prompts_engine::import::{self, Options};
use mcp_prompts_engine::jobs::{JobStatus, job_actor};

/// Receives of one batch before its job is ended as failed: the queues'
/// `maxReceiveCount` (bootstrap and the stack), so the last receive before the
/// dead-letter queue closes the job instead of leaving it `running`.
pub const GIVE_UP_AFTER: u32 = 3;

pub async fn handle(app: &LambdaApp, jobs: &AwsImportJobs, event: SqsEvent) -> SqsBatchResponse {
    let records = event.records.len();
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.unwrap_or_default();
        let message = match BatchMessage::parse(record.body.as_deref().unwrap_or_default()) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(message = %id, error = %e, "leaving it to retry and the dead-letter queue");
                failures.push(id);
                continue;
            }
        };
        let receives = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse::<u32>().ok())
            .unwrap_or(1);
        let Err(e) = run(app, jobs, &message, receives).await else {
            continue;
        };
        if receives < GIVE_UP_AFTER {
            tracing::warn!(job = %message.job, batch = message.batch, receives, error = %e, "import batch failed; SQS will redeliver");
            failures.push(id);
            continue;
        }
        tracing::error!(job = %message.job, batch = message.batch, error = %e, "import batch keeps failing; ending the job");
        let reason = format!("batch {} failed {receives} times: {e}", message.batch);
        if let Err(e) = end(app, jobs, &message.job, Some(reason)).await {
            tracing::warn!(job = %message.job, error = %e, "could not end the job; SQS will redeliver");
            failures.push(id);
        }
    }
    app.emf.emit(
        HandlerKind::Import,
        &Metrics::requests(records, failures.len()),
    );
    super::fanout::batch_response(failures)
}

/// One batch: written unless counted before, then the job moves on. A batch
/// counted before queues the next one again only on a redelivery (its first
/// run may have stopped between counting and queueing), so duplicates stay rare.
async fn run(
    app: &LambdaApp,
    jobs: &AwsImportJobs,
    m: &BatchMessage,
    receives: u32,
) -> Result<(), String> {
    let Some(status) = jobs.read(&m.job).await.map_err(|e| e.to_string())? else {
        tracing::warn!(job = %m.job, "import batch of an unknown job: dropped");
        return Ok(());
    };
    if status.state.is_final() {
        return Ok(());
    }
    app.refresh_catalog().await;
    let incoming = match jobs.load_batch(&m.job, m.batch).await {
        Ok(incoming) => Some(incoming),
        // Counted and cleaned up before: a redelivery. Missing otherwise: lost.
        Err(e) if e.contains("NoSuchKey") => {
            if !jobs
                .counted(&m.job, m.batch)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!("batch {} is missing from S3: {e}", m.batch));
            }
            None
        }
        Err(e) => return Err(e),
    };
    let mut part = JobStatus::queued(
        m.job.clone(),
        0,
        status.dry_run,
        String::new(),
        String::new(),
    );
    if let Some(incoming) = incoming {
        let actor = job_actor(&m.job);
        let options = Options {
            dry_run: status.dry_run,
            actor: &actor,
            batch: app.batch.as_deref(),
        };
        let outcomes = import::import(&app.engine.catalog, incoming, options, &|_| {})
            .await
            .map_err(|e| e.to_string())?;
        part.settled = outcomes.len() as u64;
        part.count(&outcomes);
    }
    let counted = jobs
        .count_batch(&m.job, m.batch, &part)
        .await
        .map_err(|e| e.to_string())?;
    if counted.status.is_some() {
        jobs.forget_batch(&m.job, m.batch).await;
    }
    let next = m.batch + 1;
    if next < counted.batches {
        let first_count = counted.status.is_some();
        if !counted.next_done && (first_count || receives > 1) {
            jobs.queue_batch(&m.job, next).await?;
        }
        return Ok(());
    }
    end(app, jobs, &m.job, None).await
}

/// Ends the job: first the listing is announced when the job wrote anything
/// (its changes held theirs back), then the record is closed, so a run that
/// stops in between is redelivered and announces again rather than never.
async fn end(
    app: &LambdaApp,
    jobs: &AwsImportJobs,
    job: &str,
    error: Option<String>,
) -> Result<(), String> {
    let Some(status) = jobs.read(job).await.map_err(|e| e.to_string())? else {
        return Ok(());
    };
    if status.state.is_final() {
        return Ok(());
    }
    if !status.dry_run && status.created + status.updated > 0 {
        let head = app
            .engine
            .catalog
            .store()
            .head_position()
            .await
            .map_err(|e| e.to_string())?;
        app.host.announce_listing(head).await;
    }
    let now = app.engine.catalog.clock().now_rfc3339();
    jobs.finish(job, now, error)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
