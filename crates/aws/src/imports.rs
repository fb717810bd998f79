//! Bulk import jobs on AWS (`import_catalog`, `POST /imports` on Lambda): the
//! submitting handler parses the files, orders the prompts includes-first,
//! stores them in S3 as batches and the job's record in DynamoDB, and queues
//! the first batch on the import queue. The `import` handler
//! ([`crate::lambda::imports`]) writes one batch per message and queues the
//! next, so a job's batches run one after another (each finds the prompts it
//! includes written) and two jobs interleave fairly.
//!
//! Job record: prompts table, `JOBS` / `J#{job id}` (ids are UUIDv7, so the
//! partition lists newest first): `status` (the submitted `JobStatus` JSON)
//! plus the moving parts as attributes (`state`, the counts, `failures`,
//! `done_batches`, `finished_at`, `error`). Counting a batch is one
//! conditional `UpdateItem` that adds its number to `done_batches`, so a
//! redelivered batch is counted once.
//!
//! Live clients: the job's changes (actor `import:{id}`) do not announce the
//! listing in any fan-out ([`AwsImportJobs::listing`]); the batch that ends
//! the job announces it once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::config::AwsClients;
use crate::items::{self, Item};
use crate::schema::PK;
use crate::{error_chain, sdk_error};
use mcp_prompts_engine::domain::{ChangeEvent, Prompt};
use mcp_prompts_engine::import::{Incoming, read_files, write_order};
use mcp_prompts_engine::jobs::{
    self, BulkJobs, JobFailure, JobState, JobStatus, JobWatch, MAX_REPORTED_FAILURES, Submission,
    SubmitError,
};
use mcp_prompts_engine::ports::StoreResult;

pub const JOBS_PK: &str = "JOBS";
/// Jobs `GET /imports` lists, newest first.
const RECENT: i32 = 64;
/// S3 puts in flight while a job's batches are stored.
const PUTS_IN_FLIGHT: usize = 8;

#[derive(Debug, Clone)]
pub struct AwsJobSettings {
    /// Files per job, at most (the local jobs' limit).
    pub max_files: usize,
    /// Prompts per batch (one import-queue message, one handler run).
    pub batch_size: usize,
    /// How long `import_catalog` waits for its job: inside the function's
    /// timeout and API Gateway's 29 s (`MCP_PROMPTS_IMPORT_WAIT_SECS`).
    pub max_wait: Duration,
    /// How often a waiting call reads the job record.
    pub poll: Duration,
}

impl Default for AwsJobSettings {
    fn default() -> Self {
        Self {
            max_files: jobs::JobSettings::default().max_files,
            batch_size: 250,
            max_wait: Duration::from_secs(8),
            poll: Duration::from_millis(250),
        }
    }
}

/// The import queue's message: run batch `batch` of job `job`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchMessage {
    pub job: String,
    pub batch: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    import_batch: BatchMessage,
}

impl BatchMessage {
    pub fn parse(body: &str) -> Result<Self, String> {
        serde_json::from_str::<Envelope>(body)
            .map(|e| e.import_batch)
            .map_err(|e| format!("not an import batch message: {e}"))
    }
}

/// One stored batch: what a batch handler imports.
#[derive(Serialize, Deserialize)]
struct StoredPrompt {
    source: String,
    prompt: Prompt,
}

/// What counting a batch found.
pub struct Counted {
    /// The job after the batch (`None`: this batch had been counted before).
    pub status: Option<JobStatus>,
    /// Batches the job has, and whether the next one is already counted.
    pub batches: u64,
    pub next_done: bool,
}

/// The job table, queue and batch store.
#[derive(Clone)]
pub struct AwsImportJobs {
    clients: Arc<AwsClients>,
    table: String,
    bucket: String,
    queue_url: String,
    pub settings: AwsJobSettings,
}

impl AwsImportJobs {
    pub fn new(
        clients: Arc<AwsClients>,
        table: String,
        bucket: String,
        queue_url: String,
        settings: AwsJobSettings,
    ) -> Self {
        Self {
            clients,
            table,
            bucket,
            queue_url,
            settings,
        }
    }

    fn batch_key(job: &str, batch: u64) -> String {
        format!("imports/{job}/{batch:06}.json")
    }

    fn key(job: &str) -> Item {
        items::key(JOBS_PK, format!("J#{job}"))
    }

    /// Queues batch `batch` of `job` on the import queue.
    pub async fn queue_batch(&self, job: &str, batch: u64) -> Result<(), String> {
        let body = serde_json::to_string(&Envelope {
            import_batch: BatchMessage {
                job: job.to_string(),
                batch,
            },
        })
        .map_err(|e| e.to_string())?;
        self.clients
            .sqs()
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("SQS SendMessage (import queue): {}", error_chain(&e)))
    }

    /// The prompts of one batch, from S3.
    pub async fn load_batch(&self, job: &str, batch: u64) -> Result<Vec<Incoming>, String> {
        let key = Self::batch_key(job, batch);
        let got = self
            .clients
            .s3()
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| format!("S3 GetObject {key}: {}", error_chain(&e)))?;
        let bytes = got
            .body
            .collect()
            .await
            .map_err(|e| format!("S3 read {key}: {e}"))?
            .into_bytes();
        let stored: Vec<StoredPrompt> =
            serde_json::from_slice(&bytes).map_err(|e| format!("batch {key}: {e}"))?;
        Ok(stored
            .into_iter()
            .map(|s| Incoming {
                source: s.source,
                prompt: s.prompt,
            })
            .collect())
    }

    /// Removes a counted batch's object (best effort: the job is done with it).
    pub async fn forget_batch(&self, job: &str, batch: u64) {
        let key = Self::batch_key(job, batch);
        if let Err(e) = self
            .clients
            .s3()
            .delete_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            tracing::warn!(%key, error = %error_chain(&e), "could not delete an import batch");
        }
    }

    /// The job record, read consistently.
    pub async fn read(&self, job: &str) -> StoreResult<Option<JobStatus>> {
        Ok(self.read_item(job).await?.map(|item| status_of(&item)))
    }

    async fn read_item(&self, job: &str) -> StoreResult<Option<Item>> {
        let got = self
            .clients
            .dynamodb()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(job)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem job", e))?;
        Ok(got.item)
    }

    /// An `UpdateItem` of `job`'s record.
    fn update(&self, job: &str) -> UpdateItemFluentBuilder {
        self.clients
            .dynamodb()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(job)))
    }

    /// Whether batch `batch` of `job` has been counted.
    pub async fn counted(&self, job: &str, batch: u64) -> StoreResult<bool> {
        Ok(self
            .read_item(job)
            .await?
            .is_some_and(|item| has_batch(&item, batch)))
    }

    /// Adds a batch's counts to the job, once per batch.
    pub async fn count_batch(
        &self,
        job: &str,
        batch: u64,
        part: &JobStatus,
    ) -> StoreResult<Counted> {
        let sent = self
            .update(job)
            .update_expression(
                "SET #state = :running \
                 ADD settled :settled, created :created, updated :updated, \
                 unchanged :unchanged, failed :failed, done_batches :batch",
            )
            .condition_expression(
                "attribute_exists(#pk) AND #state IN (:queued, :running) \
                 AND (attribute_not_exists(done_batches) OR NOT contains(done_batches, :n))",
            )
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":running", items::s("running"))
            .expression_attribute_values(":queued", items::s("queued"))
            .expression_attribute_values(":settled", items::n(part.settled))
            .expression_attribute_values(":created", items::n(part.created))
            .expression_attribute_values(":updated", items::n(part.updated))
            .expression_attribute_values(":unchanged", items::n(part.unchanged))
            .expression_attribute_values(":failed", items::n(part.failed))
            .expression_attribute_values(":batch", AttributeValue::Ns(vec![batch.to_string()]))
            .expression_attribute_values(":n", AttributeValue::N(batch.to_string()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match sent {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                self.add_failures(job, &item, &part.failures).await;
                Ok(Counted {
                    batches: items::get_n(&item, "batches").unwrap_or(0),
                    next_done: has_batch(&item, batch + 1),
                    status: Some(status_of(&item)),
                })
            }
            Err(e) if is_condition_failure(&e) => {
                let item = self.read_item(job).await?.unwrap_or_default();
                Ok(Counted {
                    batches: items::get_n(&item, "batches").unwrap_or(0),
                    next_done: has_batch(&item, batch + 1) || is_final(&item),
                    status: None,
                })
            }
            Err(e) => Err(sdk_error("DynamoDB UpdateItem job", e)),
        }
    }

    /// Keeps the first failures (best effort: the counts are exact anyway).
    async fn add_failures(&self, job: &str, item: &Item, failures: &[JobFailure]) {
        let kept = match item.get("failures") {
            Some(AttributeValue::L(l)) => l.len(),
            _ => 0,
        };
        let room = MAX_REPORTED_FAILURES.saturating_sub(kept);
        if failures.is_empty() || room == 0 {
            return;
        }
        let list = failure_items(&failures[..room.min(failures.len())]);
        let sent = self
            .update(job)
            .update_expression("SET failures = list_append(failures, :f)")
            .condition_expression("size(failures) = :kept")
            .expression_attribute_values(":f", list)
            .expression_attribute_values(":kept", items::n(kept as u64))
            .send()
            .await;
        if let Err(e) = sent {
            tracing::debug!(%job, error = %error_chain(&e), "failures not added (another batch was first)");
        }
    }

    /// Ends the job (`Done`, or `Failed` with `error`); `true` for the one
    /// caller that ended it.
    pub async fn finish(&self, job: &str, now: String, error: Option<String>) -> StoreResult<bool> {
        let state = if error.is_some() { "failed" } else { "done" };
        let mut update = self
            .update(job)
            .update_expression("SET #state = :end, finished_at = :now, #error = :error")
            .condition_expression("#state IN (:queued, :running)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":end", items::s(state))
            .expression_attribute_values(":now", items::s(now))
            .expression_attribute_values(":queued", items::s("queued"))
            .expression_attribute_values(":running", items::s("running"));
        update = match error {
            Some(e) => update.expression_attribute_values(":error", items::s(e)),
            None => update.expression_attribute_values(":error", AttributeValue::Null(true)),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(sdk_error("DynamoDB UpdateItem job end", e)),
        }
    }

    /// Parses, stores the batches and the record, and queues the first batch.
    async fn start(&self, submission: Submission, now: String) -> Result<JobStatus, String> {
        let job_id = uuid::Uuid::now_v7().simple().to_string();
        let Submission { files, dry_run, by } = submission;
        let count = files.len();
        let read = tokio::task::spawn_blocking(move || {
            read_files(&files, &|(_, text)| Ok(text.as_bytes().to_vec()), &|| {})
        })
        .await
        .map_err(|e| format!("reading the files failed: {e}"))?;
        let mut status = JobStatus::queued(job_id.clone(), count, dry_run, by, now.clone());
        status.total = read.prompts.len() as u64;
        status.skipped = read.skipped.len() as u64;
        status.warnings = read.warnings.len() as u64;
        for (source, reason) in &read.failed {
            status.fail(source, reason.clone());
        }
        let ordered = write_order(read.prompts);
        let batches: Vec<Vec<u8>> = ordered
            .chunks(self.settings.batch_size.max(1))
            .map(|chunk| {
                let stored: Vec<StoredPrompt> = chunk
                    .iter()
                    .map(|i| StoredPrompt {
                        source: i.source.clone(),
                        prompt: i.prompt.clone(),
                    })
                    .collect();
                serde_json::to_vec(&stored).unwrap_or_default()
            })
            .collect();
        let count = batches.len() as u64;
        let stored: Vec<Result<(), String>> =
            futures_util::stream::iter(batches.into_iter().enumerate())
                .map(|(n, body)| self.put_batch(&job_id, n as u64, body))
                .buffer_unordered(PUTS_IN_FLIGHT)
                .collect()
                .await;
        stored.into_iter().collect::<Result<Vec<()>, String>>()?;
        if count == 0 {
            status.state = JobState::Done;
            status.finished_at = Some(now.clone());
        }
        self.put_record(&status, count).await?;
        if count > 0
            && let Err(e) = self.queue_batch(&job_id, 0).await
        {
            // Not left `queued` with nothing to run it: ended, with the reason.
            let ended = self.finish(&job_id, now, Some(e.clone())).await;
            if let Err(end) = ended {
                tracing::warn!(job = %job_id, error = %end, "could not end an unqueued job");
            }
            return Err(e);
        }
        Ok(status)
    }

    async fn put_batch(&self, job: &str, batch: u64, body: Vec<u8>) -> Result<(), String> {
        let key = Self::batch_key(job, batch);
        self.clients
            .s3()
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/json")
            .body(body.into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("S3 PutObject {key}: {}", error_chain(&e)))
    }

    async fn put_record(&self, status: &JobStatus, batches: u64) -> Result<(), String> {
        let json = serde_json::to_string(status).map_err(|e| e.to_string())?;
        let failures = failure_items(&status.failures);
        let mut item = Self::key(&status.job_id);
        item.insert("status".into(), items::s(json));
        item.insert("state".into(), items::s(state_name(status.state)));
        item.insert("batches".into(), items::n(batches));
        for (name, n) in [
            ("settled", status.settled),
            ("created", 0),
            ("updated", 0),
            ("unchanged", 0),
            ("failed", status.failed),
        ] {
            item.insert(name.into(), items::n(n));
        }
        item.insert("failures".into(), failures);
        if let Some(at) = &status.finished_at {
            item.insert("finished_at".into(), items::s(at.clone()));
        }
        self.clients
            .dynamodb()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("DynamoDB PutItem job", e).to_string())
    }
}

#[async_trait]
impl BulkJobs for AwsImportJobs {
    fn max_wait(&self) -> Duration {
        self.settings.max_wait
    }

    async fn submit(
        &self,
        submission: Submission,
        now: String,
    ) -> Result<Box<dyn JobWatch>, SubmitError> {
        submission.check(self.settings.max_files)?;
        let status = self
            .start(submission, now)
            .await
            .map_err(SubmitError::Unavailable)?;
        Ok(Box::new(PolledJob {
            jobs: self.clone(),
            last: status,
        }))
    }

    async fn status(&self, job_id: &str) -> Result<Option<JobStatus>, String> {
        self.read(job_id).await.map_err(|e| e.to_string())
    }

    async fn recent(&self) -> Result<Vec<JobStatus>, String> {
        let page = self
            .clients
            .dynamodb()
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", items::s(JOBS_PK))
            .scan_index_forward(false)
            .limit(RECENT)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB Query jobs", e).to_string())?;
        Ok(page.items().iter().map(status_of).collect())
    }

    /// Changes of a job never announce the listing: its last batch does.
    fn listing(&self, changes: &[ChangeEvent]) -> Option<u64> {
        changes
            .iter()
            .rev()
            .find(|c| c.kind.changes_listing() && !jobs::is_job_actor(&c.actor))
            .map(|c| c.position)
    }
}

/// A job followed by reading its record every `poll`.
struct PolledJob {
    jobs: AwsImportJobs,
    last: JobStatus,
}

#[async_trait]
impl JobWatch for PolledJob {
    fn current(&mut self) -> JobStatus {
        self.last.clone()
    }

    async fn changed(&mut self) -> bool {
        if self.last.state.is_final() {
            return false;
        }
        loop {
            tokio::time::sleep(self.jobs.settings.poll).await;
            match self.jobs.read(&self.last.job_id).await {
                Ok(Some(now)) if now != self.last => {
                    self.last = now;
                    return true;
                }
                Ok(Some(_)) => {}
                Ok(None) => return false,
                Err(e) => {
                    tracing::warn!(job = %self.last.job_id, error = %e, "job record unreadable; retrying")
                }
            }
        }
    }
}

fn state_name(state: JobState) -> &'static str {
    match state {
        JobState::Queued => "queued",
        JobState::Running => "running",
        JobState::Done => "done",
        JobState::Failed => "failed",
    }
}

/// The job as the record has it: the submitted status with the moving parts.
fn status_of(item: &Item) -> JobStatus {
    let mut status: JobStatus = items::get_s(item, "status")
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_else(|| {
            JobStatus::queued(String::new(), 0, false, String::new(), String::new())
        });
    status.state = match items::get_s(item, "state") {
        Some("running") => JobState::Running,
        Some("done") => JobState::Done,
        Some("failed") => JobState::Failed,
        _ => JobState::Queued,
    };
    let n = |name: &str| items::get_n(item, name).unwrap_or(0);
    status.settled = n("settled");
    status.created = n("created");
    status.updated = n("updated");
    status.unchanged = n("unchanged");
    status.failed = n("failed");
    if let Some(AttributeValue::L(list)) = item.get("failures") {
        status.failures = list
            .iter()
            .filter_map(|v| v.as_s().ok())
            .filter_map(|s| serde_json::from_str(s).ok())
            .take(MAX_REPORTED_FAILURES)
            .collect();
    }
    status.finished_at = items::get_s(item, "finished_at").map(str::to_string);
    status.error = items::get_s(item, "error").map(str::to_string);
    status
}

/// Failures as the record keeps them: a list of JSON strings.
fn failure_items(failures: &[JobFailure]) -> AttributeValue {
    AttributeValue::L(
        failures
            .iter()
            .filter_map(|f| serde_json::to_string(f).ok())
            .map(AttributeValue::S)
            .collect(),
    )
}

fn has_batch(item: &Item, batch: u64) -> bool {
    let n = batch.to_string();
    matches!(item.get("done_batches"), Some(AttributeValue::Ns(set)) if set.contains(&n))
}

fn is_final(item: &Item) -> bool {
    matches!(items::get_s(item, "state"), Some("done" | "failed"))
}

fn is_condition_failure<R>(e: &aws_sdk_dynamodb::error::SdkError<UpdateItemError, R>) -> bool {
    e.as_service_error()
        .is_some_and(|s| s.is_conditional_check_failed_exception())
}
