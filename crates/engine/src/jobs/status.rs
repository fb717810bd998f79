//! What a bulk import job reports while it runs and after: polled with the
//! `import_status` tool or `GET /imports/{id}`, and pushed as
//! `notifications/progress` to the client that asked for it.

use serde::{Deserialize, Serialize};

use crate::import::{Change, Outcome};

/// Failures kept per job, at most; the counts cover all of them.
pub const MAX_REPORTED_FAILURES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobState {
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobFailure {
    /// The file it came from.
    pub source: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    pub job_id: String,
    pub state: JobState,
    pub dry_run: bool,
    /// Who submitted it (a session id, or `rest`).
    pub submitted_by: String,
    pub submitted_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Files submitted.
    pub files: usize,
    /// Prompts read from them (known once the job runs).
    pub total: u64,
    /// Prompts settled so far (written, unchanged or refused).
    pub settled: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Files and prompts that could not be imported.
    pub failed: u64,
    /// Files that hold no prompt (an index, a README) or repeat another's.
    pub skipped: u64,
    /// Leniency notes (inferred variables, renamed fields).
    pub warnings: u64,
    /// The first failures, with their file and reason.
    pub failures: Vec<JobFailure>,
    /// Why the whole job failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl JobStatus {
    pub fn queued(job_id: String, files: usize, dry_run: bool, by: String, at: String) -> Self {
        Self {
            job_id,
            state: JobState::Queued,
            dry_run,
            submitted_by: by,
            submitted_at: at,
            finished_at: None,
            files,
            total: 0,
            settled: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            failed: 0,
            skipped: 0,
            warnings: 0,
            failures: Vec::new(),
            error: None,
        }
    }

    pub fn fail(&mut self, source: &str, reason: String) {
        self.failed += 1;
        if self.failures.len() < MAX_REPORTED_FAILURES {
            self.failures.push(JobFailure {
                source: source.to_string(),
                reason,
            });
        }
    }

    /// Adds what an import of (part of) the job did.
    pub fn count(&mut self, outcomes: &[Outcome]) {
        for o in outcomes {
            match &o.result {
                Ok((Change::Created, _)) => self.created += 1,
                Ok((Change::Updated, _)) => self.updated += 1,
                Ok((Change::Unchanged, _)) => self.unchanged += 1,
                Err(reason) => self.fail(&o.source, format!("prompt '{}': {reason}", o.id)),
            }
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
