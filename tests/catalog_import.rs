//! `mcp-prompts import` and `export` through the real binary, on temp data
//! folders: a messy real-world-shaped catalog (tests/fixtures/catalog), the
//! round trip through every format, re-imports that change nothing, dry runs
//! that write nothing, exit codes, and the time large catalogs take.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_prompts::adapters::embedded::EmbeddedStore;
use mcp_prompts::domain::Prompt;
use mcp_prompts::domain::catalog_file::same_fields;
use mcp_prompts::ports::{ListQuery, PromptStore, SystemClock};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/catalog");

/// The binary under test; `MCP_PROMPTS_BIN=target/release/mcp-prompts` times
/// the release build with a debug test harness.
fn binary() -> PathBuf {
    std::env::var_os("MCP_PROMPTS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_mcp-prompts")))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn mcp_prompts(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(binary())
        .args(args)
        .env_remove("MCP_PROMPTS_DATA")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run mcp-prompts");
    Run {
        code: status.code().expect("exited"),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

fn import(catalog: &Path, data: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "import",
        catalog.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    mcp_prompts(&args)
}

fn export(dir: &Path, data: &Path, format: &str) -> Run {
    mcp_prompts(&[
        "export",
        dir.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--format",
        format,
    ])
}

/// Every live prompt in a data folder, and the change log's head.
fn live(data: &Path) -> (Vec<Prompt>, u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = EmbeddedStore::open(data, Arc::new(SystemClock)).unwrap();
        let all = store
            .list(&ListQuery {
                limit: 100_000,
                ..Default::default()
            })
            .await
            .unwrap();
        (all, store.head_position().await.unwrap())
    })
}

fn prompt<'a>(all: &'a [Prompt], id: &str) -> &'a Prompt {
    all.iter()
        .find(|p| p.id.as_str() == id)
        .unwrap_or_else(|| panic!("no prompt {id}"))
}

fn assert_same_prompts(a: &[Prompt], b: &[Prompt]) {
    let ids = |all: &[Prompt]| all.iter().map(|p| p.id.to_string()).collect::<Vec<_>>();
    assert_eq!(ids(a), ids(b));
    for (x, y) in a.iter().zip(b) {
        assert!(same_fields(x, y), "{x:#?}\n!=\n{y:#?}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The fixtures without their broken files (and without the second copy of
/// `shared`): a catalog of 9 prompts that imports cleanly.
fn clean_catalog(root: &Path) -> PathBuf {
    let dir = root.join("clean");
    copy_dir(Path::new(FIXTURES), &dir);
    for broken in [
        "development/broken.json",
        "writing/unclosed.md",
        "ops/broken.yml",
        "ops/no-content.json",
        "misc/shared.yaml",
    ] {
        std::fs::remove_file(dir.join(broken)).unwrap();
    }
    dir
}

#[test]
fn a_messy_catalog_imports_what_it_can_and_reports_each_bad_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = import(Path::new(FIXTURES), &data, &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("8 created, 0 updated, 0 unchanged, 5 skipped, 6 failed"),
        "{}",
        run.stdout
    );
    let err = &run.stderr;
    for expected in [
        "error: development/broken.json: line 5: invalid JSON",
        "error: ops/broken.yml: line ",
        "error: writing/unclosed.md: line 1: front matter opened with '---' is never closed",
        "error: ops/no-content.json: missing content",
        "error: shared.json: prompt 'shared' conflicts with the different prompt of the same id in misc/shared.yaml",
        "error: misc/shared.yaml: prompt 'shared' conflicts",
        "skipped: README.md: a README",
        "skipped: development/index.json: a list that is not of prompts",
        "skipped: writing/index.json: an empty object",
        "skipped: writing/notes.md: Markdown without front matter",
        "skipped: code-review.json: the same prompt 'code-review' as development/code-review.json",
        "warning: undeclared.json: template uses undeclared variables formal, language: imported with them inferred",
        "warning: ops/deploy.yaml: 'categories' has 2 entries",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in\n{err}");
    }

    let (all, head) = live(&data);
    assert_eq!(all.len(), 8);
    assert_eq!(head, 8, "one change-log entry per created prompt");
    let review = prompt(&all, "code-review");
    assert_eq!(review.category.as_deref(), Some("development"));
    let names: Vec<_> = review.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["language", "code"]);
    let db = prompt(&all, "database-query-assistant");
    let required: Vec<_> = db
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.required))
        .collect();
    assert_eq!(
        required,
        [
            ("database_name", true),
            ("specific_query", false),
            ("query_goal", false)
        ]
    );
    assert_eq!(db.metadata["examples"], serde_json::json!([]));
    assert_eq!(db.metadata["author"], "MCP Prompts Team");
    let story = prompt(&all, "short-story");
    assert_eq!(story.category.as_deref(), Some("writing"));
    assert_eq!(story.variables[1].choices, ["dark", "light"]);
    assert!(!story.variables[1].required);
    let deploy = prompt(&all, "deploy-checklist");
    assert_eq!(deploy.category.as_deref(), Some("operations"));
    assert_eq!(deploy.metadata["owner"], "platform-team");
    let incident = prompt(&all, "incident");
    assert_eq!(incident.category.as_deref(), Some("ops"));
    assert!(incident.is_template && incident.variables.len() == 2);
    let translate = prompt(&all, "translate");
    assert_eq!(
        translate.variables[0].description.as_deref(),
        Some("The text to translate")
    );
    assert!(prompt(&all, "letter").content.contains("{{> signature}}"));
}

#[test]
fn re_importing_the_same_catalog_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let catalog = clean_catalog(tmp.path());
    let first = import(&catalog, &data, &[]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let (before, head) = live(&data);

    let again = import(&catalog, &data, &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("0 created, 0 updated, 9 unchanged"),
        "{}",
        again.stdout
    );
    let (after, head_after) = live(&data);
    assert_eq!(head_after, head, "no new change-log entries");
    assert!(after.iter().all(|p| p.version == 1));
    assert_same_prompts(&before, &after);

    // One edited file: one new version, the rest untouched.
    let story = catalog.join("writing/story.md");
    let text = std::fs::read_to_string(&story).unwrap();
    std::fs::write(&story, text.replace("short story", "very short story")).unwrap();
    let edited = import(&catalog, &data, &[]);
    assert!(
        edited.stdout.contains("0 created, 1 updated, 8 unchanged"),
        "{}",
        edited.stdout
    );
    let (after, head_after) = live(&data);
    assert_eq!(head_after, head + 1);
    assert_eq!(prompt(&after, "short-story").version, 2);
}

#[test]
fn a_dry_run_shows_what_would_change_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let catalog = clean_catalog(tmp.path());
    let dry = import(&catalog, &data, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout
            .contains("would create short-story (v1) from writing/story.md")
    );
    assert!(dry.stdout.contains("dry run, nothing written: 9 to create"));
    assert_eq!(live(&data), (Vec::new(), 0));

    import(&catalog, &data, &[]);
    let (before, head) = live(&data);
    std::fs::write(
        catalog.join("ops/incident.txt"),
        "The service {{service}} is down.\n",
    )
    .unwrap();
    let dry = import(&catalog, &data, &["--dry-run"]);
    assert!(
        dry.stdout
            .contains("would update incident (v2) from ops/incident.txt")
    );
    assert!(dry.stdout.contains("unchanged    short-story (v1)"));
    assert!(dry.stdout.contains("0 to create, 1 to update, 8 unchanged"));
    let (after, head_after) = live(&data);
    assert_eq!(head_after, head);
    assert_same_prompts(&before, &after);
}

#[test]
fn export_then_import_gives_the_same_prompts_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    import(Path::new(FIXTURES), &data, &[]);
    let (original, _) = live(&data);
    for format in ["json", "yaml", "md"] {
        let dir = tmp.path().join(format!("export-{format}"));
        let run = export(&dir, &data, format);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("exported 8 prompts"), "{}", run.stdout);
        assert!(
            dir.join(format!("development/code-review.{format}"))
                .is_file()
        );
        let again = tmp.path().join(format!("data-{format}"));
        let run = import(&dir, &again, &[]);
        assert_eq!(run.code, 0, "{format}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.is_empty(), "{format}: {}", run.stderr);
        assert_same_prompts(&original, &live(&again).0);
        // And once more onto itself: nothing to do.
        let run = import(&dir, &again, &[]);
        assert!(run.stdout.contains("8 unchanged"), "{}", run.stdout);
    }
    let dir = tmp.path().join("export-txt");
    let run = export(&dir, &data, "txt");
    assert_eq!(run.code, 0);
    assert!(
        run.stderr
            .contains("txt cannot carry name, description, tags"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("ops/incident.txt")).unwrap(),
        std::fs::read_to_string(Path::new(FIXTURES).join("ops/incident.txt")).unwrap()
    );
}

#[test]
fn exit_codes_say_what_went_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    let clean = clean_catalog(tmp.path());
    assert_eq!(import(&clean, Path::new(data), &[]).code, 0);
    assert_eq!(import(Path::new(FIXTURES), Path::new(data), &[]).code, 1);
    let missing = mcp_prompts(&["import", "/no/such/catalog", "--data", data]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("no such file or folder"));
    // No bucket: a usage error before any network call (without the AWS build,
    // every s3:// location is one).
    let why = if cfg!(feature = "aws") {
        "not an s3://bucket/prefix location"
    } else {
        "need the AWS build"
    };
    let s3 = mcp_prompts(&["import", "s3:///prompts", "--data", data]);
    assert_eq!(s3.code, 2);
    assert!(s3.stderr.contains(why), "{}", s3.stderr);
    let s3 = mcp_prompts(&["export", "s3:///prompts", "--data", data]);
    assert_eq!(s3.code, 2);
    assert!(s3.stderr.contains(why), "{}", s3.stderr);
    assert_eq!(mcp_prompts(&["import"]).code, 2);
    assert_eq!(mcp_prompts(&["import", ".", "--bogus"]).code, 2);
    assert_eq!(
        mcp_prompts(&["export", "out", "--data", data, "--format", "xml"]).code,
        2
    );
    let no_data = tmp.path().join("nothing-here");
    let run = mcp_prompts(&["export", "out", "--data", no_data.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

/// `count` generated prompts in a folder per category, in all four formats.
fn generate(dir: &Path, count: usize) {
    for i in 0..count {
        let category = dir.join(format!("category-{}", i % 25));
        std::fs::create_dir_all(&category).unwrap();
        let body = format!(
            "Review this {{{{language}}}} change ({i}):\n{{{{code}}}}\n{{{{#if focus}}}}Focus on {{{{focus}}}}.{{{{/if}}}}"
        );
        let (name, text) = match i % 4 {
            0 => (
                format!("p{i}.json"),
                serde_json::json!({"id": format!("p{i}"), "name": format!("Prompt {i}"),
                    "content": body, "variables": ["language", "code", "focus"],
                    "tags": ["generated", format!("t{}", i % 7)]})
                .to_string(),
            ),
            1 => (
                format!("p{i}.yaml"),
                format!(
                    "id: p{i}\nname: Prompt {i}\ntags: [generated]\ncontent: |\n  {}\n",
                    body.replace('\n', "\n  ")
                ),
            ),
            2 => (
                format!("p{i}.md"),
                format!("---\nid: p{i}\nname: Prompt {i}\n---\n\n{body}\n"),
            ),
            _ => (format!("p{i}.txt"), format!("{body}\n")),
        };
        std::fs::write(category.join(name), text).unwrap();
    }
}

/// Imports `count` generated prompts twice; returns how long the first took.
fn timed_import(count: usize) -> Duration {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = tmp.path().join("catalog");
    let data = tmp.path().join("data");
    generate(&catalog, count);
    let started = Instant::now();
    let run = import(&catalog, &data, &[]);
    let first = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!("{count} created")),
        "{}",
        run.stdout
    );
    let started = Instant::now();
    let again = import(&catalog, &data, &[]);
    let second = started.elapsed();
    assert!(
        again.stdout.contains(&format!("{count} unchanged")),
        "{}",
        again.stdout
    );
    let (all, head) = live(&data);
    assert_eq!((all.len(), head), (count, count as u64));
    println!(
        "import of {count} generated prompts: {:.2} s (binary reports: {}); re-import (all unchanged): {:.2} s",
        first.as_secs_f64(),
        run.stdout.trim(),
        second.as_secs_f64()
    );
    first
}

#[test]
fn a_thousand_prompts_import_in_one_go() {
    timed_import(1_000);
}

/// `cargo build --release && MCP_PROMPTS_BIN=target/release/mcp-prompts cargo
/// test --test catalog_import -- --ignored --nocapture`
#[test]
#[ignore = "timing: ten thousand prompts; run with the release binary, --ignored --nocapture"]
fn ten_thousand_prompts_import_in_under_two_seconds() {
    let took = timed_import(10_000);
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_hub_tells_its_clients_about_every_imported_prompt() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let catalog = clean_catalog(tmp.path());
    let server = common::TestServer::start_with(Some(&data), &["--no-seed"]);
    let (mut client, _) =
        common::ws::WsClient::initialized(&server.ws_url, common::ws::events_opt_in()).await;

    let run = tokio::task::spawn_blocking({
        let (catalog, data) = (catalog.clone(), data.clone());
        move || import(&catalog, &data, &[])
    })
    .await
    .unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut created = Vec::new();
    while created.len() < 9 {
        let Some(event) = client
            .wait_for("notifications/catalog/changed", Duration::from_secs(10))
            .await
        else {
            panic!("only {created:?} announced");
        };
        assert_eq!(event["params"]["kind"], "created");
        created.push(event["params"]["id"].as_str().unwrap().to_string());
    }
    created.sort();
    let data_dir = data.clone();
    let (mut all, _) = tokio::task::spawn_blocking(move || live(&data_dir))
        .await
        .unwrap();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let ids: Vec<String> = all.iter().map(|p| p.id.to_string()).collect();
    assert_eq!(created, ids);

    let again = tokio::task::spawn_blocking(move || import(&catalog, &data, &[]))
        .await
        .unwrap();
    assert!(again.stdout.contains("9 unchanged"), "{}", again.stdout);
    let quiet = client
        .wait_for("notifications/catalog/changed", Duration::from_millis(700))
        .await;
    assert!(
        quiet.is_none(),
        "an unchanged re-import announced {quiet:?}"
    );
}
