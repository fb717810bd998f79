#![cfg(feature = "aws")]
//! Bulk import jobs on the AWS column, against moto: the batches go through
//! the import queue (SQS), the job's record lives in DynamoDB, its batches in
//! S3. End to end, the official Python SDK drives `import_catalog` over the
//! local `--backend aws` gateway (progress, one `list_changed`, re-import,
//! dry run, polling, a broken file); in-process, the import handler counts a
//! redelivered batch once and ends a job whose batch is lost as failed.

mod aws_support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_support::{Gateway, Moto, import_queue};
use mcp_prompts::adapters::aws::ApiGatewayPusher;
use mcp_prompts::adapters::aws::imports::AwsJobSettings;
use mcp_prompts::adapters::aws::sdk::aws_lambda_events::sqs::SqsEvent;
use mcp_prompts::adapters::aws::sdk::aws_sdk_sqs::types::MessageSystemAttributeName;
use mcp_prompts::domain::PromptId;
use mcp_prompts::edges::lambda::{ImportSettings, LambdaApp, LambdaLimits, imports};
use mcp_prompts::engine::EngineConfig;
use mcp_prompts::engine::jobs::{JobState, Submission};
use serde_json::json;

#[test]
fn python_sdk_bulk_import_job_on_the_aws_column() {
    let moto = Moto::start();
    let queue = import_queue(&moto.bootstrap_with(&["--no-seed"]));
    let gw = Gateway::start(
        &moto,
        &[
            "--no-seed",
            "--import-queue-url",
            &queue,
            "--import-batch",
            "20",
            // The local gateway has no 10-s function timeout to stay under.
            "--import-wait-secs",
            "25",
        ],
    );
    let python = std::env::var("MCP_PROMPTS_PYTHON")
        .unwrap_or_else(|_| format!("{}/.tools/venv/bin/python", env!("CARGO_MANIFEST_DIR")));
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/py_ws_import.py");
    let started = Instant::now();
    let out = Command::new(python)
        .arg(script)
        .arg(&gw.ws_url)
        // Four batches: moto writes ~10 prompts/s here, and a call waits
        // at most 25 s before answering "running".
        .arg("80")
        .env("PYTHONUNBUFFERED", "1")
        .output()
        .expect("run py_ws_import.py");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    println!(
        "aws bulk import client took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success() && text.contains("checks passed"),
        "py_ws_import.py failed:\n{text}\n--- gateway ---\n{}",
        gw.output()
    );
}

/// One SQS event per received message, with its receive count as Lambda sees it.
fn event(body: &str, receives: u32) -> SqsEvent {
    serde_json::from_value(json!({"Records": [{
        "messageId": format!("m-{receives}"), "receiptHandle": "r", "body": body,
        "attributes": {"ApproximateReceiveCount": receives.to_string()},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:mcp-prompts-imports",
        "awsRegion": "us-east-1"}]}))
    .unwrap()
}

fn files(prefix: &str, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("dev/{prefix}-{i}.md"),
                format!("---\nid: {prefix}-{i}\nname: P {i}\n---\nHello {{{{who}}}} {i}\n"),
            )
        })
        .collect()
}

#[tokio::test]
async fn redelivered_batches_count_once_and_a_lost_batch_fails_its_job() {
    let moto = Moto::start();
    let queue = import_queue(&moto.bootstrap_with(&["--no-seed"]));
    let clients = moto.clients().await;
    let pusher = Arc::new(ApiGatewayPusher::new(&clients, "http://127.0.0.1:9"));
    let limits = LambdaLimits {
        imports: ImportSettings {
            queue_url: Some(queue.clone()),
            jobs: AwsJobSettings {
                batch_size: 2,
                ..AwsJobSettings::default()
            },
        },
        ..LambdaLimits::default()
    };
    let (app, _) = LambdaApp::on_aws(
        &clients,
        &moto.settings(),
        pusher,
        EngineConfig::default(),
        limits,
    );
    let jobs = app.imports.clone().expect("an import queue makes jobs");
    let engine_jobs = app.engine.jobs().expect("attached to the engine").clone();

    // Five prompts in three batches, and a broken file reported at once.
    let mut catalog = files("redo", 5);
    catalog.push(("dev/broken.json".into(), "{\"id\": ".into()));
    let submission = Submission {
        files: catalog,
        dry_run: false,
        by: "test".into(),
    };
    let mut watch = engine_jobs
        .submit(submission, "2026-12-04T00:00:00Z".into())
        .await
        .expect("queued");
    let queued = watch.current();
    assert_eq!(queued.state, JobState::Queued);
    assert_eq!((queued.total, queued.failed), (5, 1), "{queued:?}");
    assert_eq!(queued.failures[0].source, "dev/broken.json");

    // Every message is handled twice, as an SQS redelivery would.
    let sqs = clients.sqs();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut handled = 0;
    loop {
        let status = jobs.read(&queued.job_id).await.unwrap().unwrap();
        if status.state.is_final() || Instant::now() > deadline {
            break;
        }
        let got = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            for receive in 1..=2 {
                let r = imports::handle(&app, &jobs, event(m.body().unwrap(), receive)).await;
                assert!(r.batch_item_failures.is_empty(), "batch failed");
                handled += 1;
            }
            sqs.delete_message()
                .queue_url(&queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    let done = engine_jobs.status(&queued.job_id).await.unwrap().unwrap();
    println!("redelivered job: {handled} handler runs; {done:?}");
    assert_eq!(done.state, JobState::Done, "{done:?}");
    assert_eq!(
        (
            done.settled,
            done.created,
            done.updated,
            done.unchanged,
            done.failed
        ),
        (5, 5, 0, 0, 1),
        "each batch counted once: {done:?}"
    );
    assert!(done.finished_at.is_some());
    for i in 0..5 {
        let id = PromptId::parse(&format!("redo-{i}")).unwrap();
        let p = app.engine.catalog.get(&id).await.unwrap();
        assert_eq!(p.version, 1, "redo-{i} written once");
    }

    // A job whose batch object is gone: retried, then ended as failed.
    let lost = engine_jobs
        .submit(
            Submission {
                files: files("lost", 3),
                dry_run: false,
                by: "test".into(),
            },
            "2026-12-04T00:00:01Z".into(),
        )
        .await
        .unwrap()
        .current();
    clients
        .s3()
        .delete_object()
        .bucket(&moto.settings().bucket)
        .key(format!("imports/{}/000000.json", lost.job_id))
        .send()
        .await
        .unwrap();
    let body = json!({"importBatch": {"job": lost.job_id, "batch": 0}}).to_string();
    let first = imports::handle(&app, &jobs, event(&body, 1)).await;
    assert_eq!(
        first.batch_item_failures.len(),
        1,
        "retried while it may recover"
    );
    let still = jobs.read(&lost.job_id).await.unwrap().unwrap();
    assert_eq!(still.state, JobState::Queued);
    let last = imports::handle(&app, &jobs, event(&body, imports::GIVE_UP_AFTER)).await;
    assert!(last.batch_item_failures.is_empty(), "given up: not retried");
    let failed = jobs.read(&lost.job_id).await.unwrap().unwrap();
    assert_eq!(failed.state, JobState::Failed, "{failed:?}");
    let error = failed.error.unwrap_or_default();
    assert!(
        error.contains("batch 0") && error.contains("missing"),
        "{error}"
    );

    // Recent jobs, newest first.
    let recent = engine_jobs.recent().await.unwrap();
    let ids: Vec<&str> = recent.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids, [lost.job_id.as_str(), queued.job_id.as_str()]);
    assert!(
        engine_jobs.status("no-such-job").await.unwrap().is_none(),
        "an unknown job is not found"
    );
}
