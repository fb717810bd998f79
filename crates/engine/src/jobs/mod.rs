//! Bulk import jobs: a catalog submitted over MCP (`import_catalog`) or REST
//! (`POST /imports`) is queued and written by one worker in batches (the
//! import's chunks, one store transaction each on the embedded store), so a
//! large import neither blocks the caller's session nor competes with another
//! import. Its status can be polled; a client that passed a `progressToken`
//! hears `notifications/progress` after every batch. Live clients get one
//! `list_changed` at the job's end ([`ListingGate`]); catalog event
//! subscribers still get every change, in order.
//!
//! [`BulkJobs`] is what the doors call; [`ImportJobs`] is the in-process one
//! (embedded column). The AWS column's runs on SQS with its status in DynamoDB
//! (`mcp_prompts_aws::imports`), behind the same trait.
//!
//! Budgets: at most `max_queued` jobs wait (a full queue refuses the next),
//! `max_files` files per job, `max_kept` statuses remembered (oldest finished
//! forgotten first). Jobs and statuses are in memory: a restart forgets queued
//! jobs (nothing of them was written) and a running one stops between batches
//! (what it committed stays, with its notifications).

mod gate;
mod status;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};

pub use gate::ListingGate;
pub use status::{JobFailure, JobState, JobStatus, MAX_REPORTED_FAILURES};

use crate::domain::ChangeEvent;
use crate::host::SessionHost;
use crate::import::{self, BatchWriter, Options, read_files};

/// Bulk import jobs as the doors see them (`import_catalog`, `import_status`,
/// `/imports`), whichever column runs them.
#[async_trait]
pub trait BulkJobs: Send + Sync {
    /// How long an `import_catalog` call may wait for its job.
    fn max_wait(&self) -> Duration;
    /// Queues a job; its status can be followed on the returned watch.
    async fn submit(
        &self,
        submission: Submission,
        now: String,
    ) -> Result<Box<dyn JobWatch>, SubmitError>;
    /// A job's status; `Ok(None)` for a job never seen or long forgotten.
    async fn status(&self, job_id: &str) -> Result<Option<JobStatus>, String>;
    /// The recent jobs, newest first.
    async fn recent(&self) -> Result<Vec<JobStatus>, String>;
    /// The listing position a fan-out of `changes` announces: jobs' own
    /// changes hold theirs back until the job's end.
    fn listing(&self, changes: &[ChangeEvent]) -> Option<u64>;
}

/// One job's status as it moves.
#[async_trait]
pub trait JobWatch: Send {
    /// The status now.
    fn current(&mut self) -> JobStatus;
    /// Waits until the status changes; `false` once it can no longer be followed.
    async fn changed(&mut self) -> bool;
}

#[async_trait]
impl JobWatch for watch::Receiver<JobStatus> {
    fn current(&mut self) -> JobStatus {
        self.borrow_and_update().clone()
    }

    async fn changed(&mut self) -> bool {
        watch::Receiver::changed(self).await.is_ok()
    }
}

#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Jobs waiting behind the running one, at most.
    pub max_queued: usize,
    /// Job statuses remembered, at most.
    pub max_kept: usize,
    /// Files per job, at most.
    pub max_files: usize,
    /// How long an `import_catalog` call waits for its job before answering
    /// with the status so far (the job goes on; poll `import_status`).
    pub max_wait: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            max_queued: 8,
            max_kept: 64,
            max_files: 20_000,
            max_wait: Duration::from_secs(300),
        }
    }
}

/// A catalog to import: (catalog-relative path, file text) pairs.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub files: Vec<(String, String)>,
    pub dry_run: bool,
    /// Who asks (a session id, `rest`), for the status.
    pub by: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubmitError {
    #[error("no files to import: pass at least one {{path, content}}")]
    Empty,
    #[error("{files} files exceed the limit of {max} per import job")]
    TooManyFiles { files: usize, max: usize },
    #[error("{0} import jobs are already queued: try again when one has finished")]
    Busy(usize),
    /// The index of a file whose path is empty (or blank).
    #[error("files[{0}].path is empty")]
    NoPath(usize),
    /// The job could not be recorded or queued (a store or queue outage).
    #[error("the import job could not be queued: {0}")]
    Unavailable(String),
}

impl Submission {
    /// The checks every column makes before queueing.
    pub fn check(&self, max_files: usize) -> Result<(), SubmitError> {
        let files = self.files.len();
        if files == 0 {
            return Err(SubmitError::Empty);
        }
        if files > max_files {
            return Err(SubmitError::TooManyFiles {
                files,
                max: max_files,
            });
        }
        match self
            .files
            .iter()
            .position(|(path, _)| path.trim().is_empty())
        {
            Some(i) => Err(SubmitError::NoPath(i)),
            None => Ok(()),
        }
    }
}

/// The change-log actor of job `job_id`'s writes.
pub fn job_actor(job_id: &str) -> String {
    format!("{JOB_ACTOR_PREFIX}{job_id}")
}

/// Whether `actor` is a bulk job's (its changes hold the listing back).
pub fn is_job_actor(actor: &str) -> bool {
    actor.starts_with(JOB_ACTOR_PREFIX)
}

const JOB_ACTOR_PREFIX: &str = "import:";

struct Queued {
    submission: Submission,
    status: watch::Sender<JobStatus>,
}

pub struct ImportJobs {
    pub gate: ListingGate,
    pub settings: JobSettings,
    queue: mpsc::Sender<Queued>,
    /// Statuses, oldest first.
    table: Mutex<VecDeque<watch::Sender<JobStatus>>>,
}

impl ImportJobs {
    /// Starts the worker and attaches the jobs to `host`'s engine. `batch`:
    /// the store's batch write path, if it has one.
    pub fn start(
        host: &Arc<SessionHost>,
        batch: Option<Arc<dyn BatchWriter>>,
        settings: JobSettings,
    ) -> Arc<Self> {
        let (queue, rx) = mpsc::channel(settings.max_queued.max(1));
        let jobs = Arc::new(Self {
            gate: ListingGate::default(),
            settings,
            queue,
            table: Mutex::new(VecDeque::new()),
        });
        host.engine.attach_jobs(jobs.clone());
        tokio::spawn(work(Arc::downgrade(host), Arc::downgrade(&jobs), batch, rx));
        jobs
    }

    /// Queues a job; its status follows on the returned receiver.
    pub fn submit(
        &self,
        submission: Submission,
        now: String,
    ) -> Result<watch::Receiver<JobStatus>, SubmitError> {
        submission.check(self.settings.max_files)?;
        let files = submission.files.len();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let status = JobStatus::queued(id, files, submission.dry_run, submission.by.clone(), now);
        let (tx, rx) = watch::channel(status);
        let queued = Queued {
            submission,
            status: tx.clone(),
        };
        // Full, or closed (the worker is gone): either way not taken now.
        self.queue
            .try_send(queued)
            .map_err(|_| SubmitError::Busy(self.settings.max_queued))?;
        let mut table = self.lock();
        if table.len() >= self.settings.max_kept {
            if let Some(oldest_done) = table.iter().position(|s| s.borrow().state.is_final()) {
                table.remove(oldest_done);
            } else {
                table.pop_front();
            }
        }
        table.push_back(tx);
        Ok(rx)
    }

    pub fn status(&self, job_id: &str) -> Option<JobStatus> {
        self.watch(job_id).map(|rx| rx.borrow().clone())
    }

    pub fn watch(&self, job_id: &str) -> Option<watch::Receiver<JobStatus>> {
        self.lock()
            .iter()
            .find(|s| s.borrow().job_id == job_id)
            .map(|s| s.subscribe())
    }

    /// Every remembered job, newest first.
    pub fn recent(&self) -> Vec<JobStatus> {
        self.lock()
            .iter()
            .rev()
            .map(|s| s.borrow().clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<watch::Sender<JobStatus>>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl BulkJobs for ImportJobs {
    fn max_wait(&self) -> Duration {
        self.settings.max_wait
    }

    async fn submit(
        &self,
        submission: Submission,
        now: String,
    ) -> Result<Box<dyn JobWatch>, SubmitError> {
        Ok(Box::new(ImportJobs::submit(self, submission, now)?))
    }

    async fn status(&self, job_id: &str) -> Result<Option<JobStatus>, String> {
        Ok(ImportJobs::status(self, job_id))
    }

    async fn recent(&self) -> Result<Vec<JobStatus>, String> {
        Ok(ImportJobs::recent(self))
    }

    fn listing(&self, changes: &[ChangeEvent]) -> Option<u64> {
        self.gate.listing(changes)
    }
}

/// The worker: one job at a time, in submission order, until the jobs are dropped.
async fn work(
    host: Weak<SessionHost>,
    jobs: Weak<ImportJobs>,
    batch: Option<Arc<dyn BatchWriter>>,
    mut rx: mpsc::Receiver<Queued>,
) {
    while let Some(job) = rx.recv().await {
        let (Some(host), Some(jobs)) = (host.upgrade(), jobs.upgrade()) else {
            return;
        };
        run(&host, &jobs.gate, batch.as_deref(), job).await;
    }
}

async fn run(host: &SessionHost, gate: &ListingGate, batch: Option<&dyn BatchWriter>, job: Queued) {
    let Queued { submission, status } = job;
    let catalog = &host.engine.catalog;
    status.send_modify(|s| s.state = JobState::Running);
    let files = submission.files;
    // Parsing is CPU work on a few threads: off the async workers.
    let read = tokio::task::spawn_blocking(move || {
        read_files(&files, &|(_, text)| Ok(text.as_bytes().to_vec()), &|| {})
    })
    .await;
    let read = match read {
        Ok(read) => read,
        Err(e) => {
            finish(
                &status,
                catalog,
                Some(format!("reading the files failed: {e}")),
            );
            return;
        }
    };
    status.send_modify(|s| {
        s.total = read.prompts.len() as u64;
        s.skipped = read.skipped.len() as u64;
        s.warnings = read.warnings.len() as u64;
        for (source, reason) in &read.failed {
            s.fail(source, reason.clone());
        }
    });
    let actor = job_actor(&status.borrow().job_id);
    if !submission.dry_run {
        gate.hold(&actor);
    }
    let options = Options {
        dry_run: submission.dry_run,
        actor: &actor,
        batch,
    };
    let progress = |n: u64| status.send_modify(|s| s.settled += n);
    let outcomes = import::import(catalog, read.prompts, options, &progress).await;
    let mut wrote = false;
    let error = match outcomes {
        Ok(outcomes) => {
            status.send_modify(|s| {
                s.count(&outcomes);
                wrote = !s.dry_run && s.created + s.updated > 0;
            });
            None
        }
        Err(e) => {
            // A batch failed as a whole: what earlier batches wrote stays.
            wrote = !submission.dry_run;
            Some(format!("the import stopped: {e}"))
        }
    };
    if !submission.dry_run {
        let last = if wrote {
            catalog.store().head_position().await.ok()
        } else {
            None
        };
        if let Some(position) = gate.release(&actor, last) {
            host.announce_listing(position).await;
        }
    }
    finish(&status, catalog, error);
}

fn finish(status: &watch::Sender<JobStatus>, catalog: &crate::Catalog, error: Option<String>) {
    let now = catalog.clock().now_rfc3339();
    status.send_modify(|s| {
        s.state = if error.is_some() {
            JobState::Failed
        } else {
            JobState::Done
        };
        s.error = error;
        s.finished_at = Some(now);
    });
}
