//! Bulk import jobs: a catalog submitted over MCP (`import_catalog`) or REST
//! (`POST /imports`) is queued and written by one worker in batches (the
//! import's chunks, one store transaction each on the embedded store), so a
//! large import neither blocks the caller's session nor competes with another
//! import. Its status can be polled; a client that passed a `progressToken`
//! hears `notifications/progress` after every batch. Live clients get one
//! `list_changed` at the job's end ([`ListingGate`]); catalog event
//! subscribers still get every change, in order.
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

use tokio::sync::{mpsc, watch};

pub use gate::ListingGate;
pub use status::{JobFailure, JobState, JobStatus, MAX_REPORTED_FAILURES};

use crate::host::SessionHost;
use crate::import::{self, BatchWriter, Change, Options, read_files};

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
}

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
        let files = submission.files.len();
        if files == 0 {
            return Err(SubmitError::Empty);
        }
        if files > self.settings.max_files {
            return Err(SubmitError::TooManyFiles {
                files,
                max: self.settings.max_files,
            });
        }
        if let Some(i) = submission
            .files
            .iter()
            .position(|(path, _)| path.trim().is_empty())
        {
            return Err(SubmitError::NoPath(i));
        }
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
    let actor = format!("import:{}", status.borrow().job_id);
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
                for o in &outcomes {
                    match &o.result {
                        Ok((Change::Created, _)) => s.created += 1,
                        Ok((Change::Updated, _)) => s.updated += 1,
                        Ok((Change::Unchanged, _)) => s.unchanged += 1,
                        Err(reason) => s.fail(&o.source, format!("prompt '{}': {reason}", o.id)),
                    }
                }
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
