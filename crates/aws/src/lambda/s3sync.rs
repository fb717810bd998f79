//! S3 catalog files → the catalog, on AWS (`MCP_PROMPTS_HANDLER=s3sync`): the
//! bucket's object-created and object-removed notifications arrive through SQS
//! (S3's event format in each message body), and each one syncs that key, as
//! `mcp-prompts sync` would: a created or overwritten file is parsed and
//! imported (created, updated or unchanged, never half-written), a removed file
//! deletes the prompt the layout names after it (`<category>/<id>.<ext>`;
//! history kept). Keys outside `MCP_PROMPTS_CATALOG_S3` (`s3://bucket/prefix`)
//! are ignored.
//!
//! Order: S3 notifications come at least once and in no particular order.
//! Each record's `s3.object.sequencer` orders the events of one key; the last
//! one applied per key is kept in DynamoDB (`sync_order`), and an event whose
//! sequencer is not newer is ignored: a duplicate is a no-op, a removal that
//! arrives after a later creation deletes nothing. The sequencer is recorded
//! after the event is applied (a failed one is retried by SQS, not lost);
//! when that conditional write finds a newer event applied meanwhile, the key
//! is synced again from what S3 holds now, which is at least that new.
//!
//! Failures: a file that does not parse is logged and not retried (it stays
//! bad until it is fixed, which is a new event); a store or S3 failure fails
//! that message, so SQS redelivers it and, after `maxReceiveCount`, parks it.
//! A record of the catalog without a valid sequencer fails its whole message
//! before anything of it is applied.

use aws_lambda_events::s3::S3Event;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use serde::Deserialize;

use super::app::LambdaApp;
use super::emf::Metrics;
use super::runtime::HandlerKind;
use crate::catalog_files::{CatalogFiles, Listed, S3Location};
use crate::sync_order::{Sequencer, SyncOrder};
use mcp_prompts_engine::catalog::CatalogError;
use mcp_prompts_engine::domain::PromptId;
use mcp_prompts_engine::domain::catalog_file::layout;
use mcp_prompts_engine::import::{self, Options, read_file};
use mcp_prompts_engine::ports::StoreError;

/// Who these syncs are recorded as in the change log.
const ACTOR: &str = "s3";

/// What one event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sync {
    Upsert {
        rel: String,
        key: String,
        size: i64,
        sequencer: Sequencer,
    },
    Remove {
        rel: String,
        key: String,
        sequencer: Sequencer,
    },
    /// A path a GitHub push touched: imported if the file is there, its
    /// prompt deleted if not.
    Check { rel: String, key: String },
}

/// The message the GitHub webhook queues on Lambda (`webhooks::aws`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GithubPush {
    delivery: String,
    paths: Vec<String>,
}

/// The syncs a message asks for: S3 records of the catalog's bucket below its
/// prefix (S3's `s3:TestEvent` and other buckets' records ask for none).
pub fn syncs_of(body: &str, source: &S3Location) -> Result<Vec<Sync>, String> {
    let value: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    if let Some(push) = value.get("githubPush") {
        let push = GithubPush::deserialize(push).map_err(|e| e.to_string())?;
        return Ok(checks_of(push, source));
    }
    let event: S3Event = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for record in event.records {
        let name = record.event_name.unwrap_or_default();
        if record.s3.bucket.name.as_deref() != Some(source.bucket.as_str()) {
            continue;
        }
        let object = record.s3.object;
        let Some(key) = object.url_decoded_key.or(object.key) else {
            continue;
        };
        let Some(rel) = source
            .relative(&key)
            .filter(|r| !r.is_empty() && !r.ends_with('/'))
        else {
            continue;
        };
        let rel = rel.to_string();
        let created = name.starts_with("ObjectCreated");
        if !created && !name.starts_with("ObjectRemoved") {
            continue;
        }
        let sequencer = object
            .sequencer
            .as_deref()
            .ok_or_else(|| "no s3.object.sequencer".to_string())
            .and_then(Sequencer::parse)
            .map_err(|why| format!("{name} of '{key}': {why} (it orders the events of a key)"))?;
        if created {
            let size = object.size.unwrap_or(0);
            out.push(Sync::Upsert {
                rel,
                key,
                size,
                sequencer,
            });
        } else {
            out.push(Sync::Remove {
                rel,
                key,
                sequencer,
            });
        }
    }
    Ok(out)
}

/// The pushed paths inside the catalog; ones that leave it (`..`, absolute)
/// or are hidden are skipped, as the local webhook skips them.
fn checks_of(push: GithubPush, source: &S3Location) -> Vec<Sync> {
    push.paths
        .into_iter()
        .filter(|rel| {
            let inside = !rel.is_empty()
                && !rel.starts_with('/')
                && !rel.ends_with('/')
                && !rel.split('/').any(|part| part == ".." || part == "." || part.is_empty())
                && !layout::is_hidden(rel);
            if !inside {
                tracing::warn!(delivery = %push.delivery, %rel, "GitHub push: a path outside the catalog, skipped");
            }
            inside
        })
        .map(|rel| Sync::Check {
            key: source.key(&rel),
            rel,
        })
        .collect()
}

pub async fn handle(
    app: &LambdaApp,
    files: &CatalogFiles,
    source: &S3Location,
    order: &SyncOrder,
    event: SqsEvent,
) -> SqsBatchResponse {
    let records = event.records.len();
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.unwrap_or_default();
        let syncs = match syncs_of(record.body.as_deref().unwrap_or_default(), source) {
            Ok(syncs) => syncs,
            Err(e) => {
                tracing::warn!(message = %id, error = %e, "not an S3 event; leaving it to retry and the dead-letter queue");
                failures.push(id);
                continue;
            }
        };
        app.refresh_catalog().await;
        for sync in syncs {
            if let Err(e) = apply(app, files, source, order, &sync).await {
                tracing::warn!(message = %id, ?sync, error = %e, "S3 sync failed; SQS will redeliver");
                failures.push(id.clone());
                break;
            }
        }
    }
    app.emf.emit(
        HandlerKind::S3Sync,
        &Metrics::requests(records, failures.len()),
    );
    super::fanout::batch_response(failures)
}

/// One sync; `Err` only for what a retry can fix (S3, the store).
async fn apply(
    app: &LambdaApp,
    files: &CatalogFiles,
    source: &S3Location,
    order: &SyncOrder,
    sync: &Sync,
) -> Result<(), String> {
    let (rel, key, sequencer) = match sync {
        Sync::Check { rel, key } => return check(app, files, source, rel, key).await,
        Sync::Upsert {
            rel,
            key,
            sequencer,
            ..
        }
        | Sync::Remove {
            rel,
            key,
            sequencer,
        } => (rel, key, sequencer),
    };
    let store = |e: mcp_prompts_engine::ports::StoreError| e.to_string();
    if let Some(last) = order.applied(&source.bucket, key).await.map_err(store)?
        && last >= *sequencer
    {
        tracing::info!(%rel, sequencer = sequencer.as_str(), last = last.as_str(), "S3 sync: an older or repeated event, ignored");
        return Ok(());
    }
    match sync {
        Sync::Upsert { size, .. } => match fetch(files, source, rel, key, *size).await? {
            Fetched::Text(text) => upsert(app, rel, &text).await?,
            // A missing object (removed since) is not worth a retry.
            Fetched::Missing(e) => skip(rel, &e)?,
            Fetched::Unreadable(why) => skip(rel, why)?,
        },
        _ => remove(app, rel).await?,
    }
    if !order
        .record(&source.bucket, key, sequencer)
        .await
        .map_err(store)?
    {
        // A newer event of this key was applied while this one ran, maybe
        // before it: S3 holds at least that newer state now.
        tracing::info!(%rel, sequencer = sequencer.as_str(), "S3 sync: a newer event got there first; syncing the key from S3 again");
        return check(app, files, source, rel, key).await;
    }
    Ok(())
}

/// Syncs `key` from what S3 holds now: imported if it is there, its prompt
/// deleted if not.
async fn check(
    app: &LambdaApp,
    files: &CatalogFiles,
    source: &S3Location,
    rel: &str,
    key: &str,
) -> Result<(), String> {
    match fetch(files, source, rel, key, 0).await? {
        Fetched::Text(text) => upsert(app, rel, &text).await,
        Fetched::Missing(_) => remove(app, rel).await,
        Fetched::Unreadable(why) => skip(rel, why),
    }
}

enum Fetched {
    Text(String),
    Missing(String),
    Unreadable(&'static str),
}

/// One catalog file's text; `Err` only for what a retry can fix.
async fn fetch(
    files: &CatalogFiles,
    source: &S3Location,
    rel: &str,
    key: &str,
    size: i64,
) -> Result<Fetched, String> {
    let listed = Listed {
        rel: rel.to_string(),
        key: key.to_string(),
        size,
        etag: String::new(),
    };
    let (_, bytes) = files
        .fetch(source, vec![listed])
        .await
        .pop()
        .ok_or("nothing fetched")?;
    match bytes.map(String::from_utf8) {
        Ok(Ok(text)) => Ok(Fetched::Text(text)),
        Ok(Err(_)) => Ok(Fetched::Unreadable("not UTF-8 text")),
        Err(e) if e.contains("NoSuchKey") => Ok(Fetched::Missing(e)),
        Err(e) => Err(e),
    }
}

/// Deletes the prompt the layout names after `rel` (history kept).
async fn remove(app: &LambdaApp, rel: &str) -> Result<(), String> {
    let Ok(id) = PromptId::parse(layout::stem(rel)) else {
        return Ok(());
    };
    match app.engine.catalog.delete(&id, None, ACTOR).await {
        Ok(_) | Err(CatalogError::Store(StoreError::NotFound(_))) => Ok(()),
        Err(CatalogError::Store(e)) => Err(e.to_string()),
        Err(e) => {
            tracing::warn!(%rel, error = %e, "S3 sync: not deleted");
            Ok(())
        }
    }
}

/// Imports the prompts of one file (created, updated or unchanged).
async fn upsert(app: &LambdaApp, rel: &str, text: &str) -> Result<(), String> {
    let catalog = &app.engine.catalog;
    let read = read_file(rel, text);
    if let Some(why) = read.not_a_prompt {
        return skip(rel, &why);
    }
    for why in read.failed.iter().chain(&read.warnings) {
        tracing::warn!(%rel, %why, "S3 sync: not as written");
    }
    let incoming = read.prompts.into_iter().map(|(i, _)| i).collect();
    let options = Options {
        dry_run: false,
        actor: ACTOR,
        batch: None,
    };
    let outcomes = import::import(catalog, incoming, options, &|_| {})
        .await
        .map_err(|e| e.to_string())?;
    for o in outcomes {
        match o.result {
            Ok((change, version)) => {
                tracing::info!(%rel, id = %o.id, ?change, version, "S3 sync")
            }
            Err(reason) => {
                tracing::warn!(%rel, id = %o.id, %reason, "S3 sync: not imported")
            }
        }
    }
    Ok(())
}

fn skip(rel: &str, why: &str) -> Result<(), String> {
    tracing::warn!(%rel, reason = %why, "S3 sync: skipped");
    Ok(())
}
