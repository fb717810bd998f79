#![cfg(feature = "aws")]
//! Catalog files in S3, against moto: `mcp-prompts import s3://bucket/prefix`
//! reads the layout a catalog folder has (category from the folder, READMEs
//! skipped, a bad file reported with its path while the rest go in), and
//! `export s3://…` writes it back so that importing the export gives the same
//! prompts.

mod aws_support;

use std::process::Output;

use aws_support::Moto;
use mcp_prompts::adapters::aws::sdk::aws_sdk_s3::primitives::ByteStream;

const BUCKET: &str = "team-catalog";

fn run(moto: &Moto, args: &[&str]) -> Output {
    moto.command(env!("CARGO_BIN_EXE_mcp-prompts"))
        .args(args)
        .output()
        .expect("run mcp-prompts")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn import_and_export_round_trip_through_an_s3_prefix() {
    let moto = Moto::start();
    let clients = moto.clients().await;
    let s3 = clients.s3();
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let files = [
        (
            "prompts/development/s3-review.json",
            r#"{"id": "s3-review", "name": "S3 review", "content": "Review {{code}}", "tags": ["s3"]}"#,
        ),
        (
            "prompts/writing/s3-summary.md",
            "---\nid: s3-summary\nname: S3 summary\ndescription: Summarize\n---\nSummarize {{text}} in {{words}} words.\n",
        ),
        ("prompts/misc/s3-plain.txt", "Just say {{thing}}."),
        ("prompts/README.md", "# Our prompts\n"),
        (
            "prompts/broken.json",
            "{\"id\": \"broken\",\n  \"content\": }",
        ),
        (
            "other/outside.json",
            r#"{"id": "outside", "content": "not below the prefix"}"#,
        ),
    ];
    for (key, body) in files {
        s3.put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .unwrap();
    }
    let data = tempfile::tempdir().unwrap();
    let data_arg = data.path().to_str().unwrap();
    let source = format!("s3://{BUCKET}/prompts");
    let out = run(&moto, &["import", &source, "--data", data_arg]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "one bad file: exit 1\n{said}");
    assert!(said.contains("3 created"), "{said}");
    assert!(
        said.contains("error: broken.json") && said.contains("line 2"),
        "the bad file, its line: {said}"
    );
    assert!(said.contains("skipped: README.md"), "{said}");
    assert!(!said.contains("outside"), "only the prefix is read: {said}");

    let again = run(&moto, &["import", &source, "--data", data_arg]);
    assert!(
        text(&again).contains("0 created, 0 updated, 3 unchanged"),
        "{}",
        text(&again)
    );

    let dest = format!("s3://{BUCKET}/exported/");
    let out = run(
        &moto,
        &["export", &dest, "--data", data_arg, "--format", "yaml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("exported/")
        .send()
        .await
        .unwrap();
    let mut keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort();
    assert!(
        keys.contains(&"exported/development/s3-review.yaml"),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"exported/writing/s3-summary.yaml"),
        "{keys:?}"
    );
    assert!(keys.contains(&"exported/misc/s3-plain.yaml"), "{keys:?}");

    // The export imported into an empty data folder holds the same prompts.
    let copy = tempfile::tempdir().unwrap();
    let copy_arg = copy.path().to_str().unwrap();
    let back = run(
        &moto,
        &[
            "import",
            &format!("s3://{BUCKET}/exported"),
            "--data",
            copy_arg,
        ],
    );
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));
    let local_a = tempfile::tempdir().unwrap();
    let local_b = tempfile::tempdir().unwrap();
    for (data, dir) in [(data_arg, &local_a), (copy_arg, &local_b)] {
        let out = run(
            &moto,
            &["export", dir.path().to_str().unwrap(), "--data", data],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    for rel in [
        "development/s3-review.json",
        "writing/s3-summary.json",
        "misc/s3-plain.json",
    ] {
        let read = |dir: &tempfile::TempDir| {
            let text = std::fs::read_to_string(dir.path().join(rel)).unwrap();
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            for stamp in ["createdAt", "updatedAt"] {
                v.as_object_mut().unwrap().remove(stamp);
            }
            v
        };
        assert_eq!(
            read(&local_a),
            read(&local_b),
            "{rel} round-trips through S3 (times aside)"
        );
    }
}

async fn put(moto: &Moto, key: &str, body: &str) {
    moto.clients()
        .await
        .s3()
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .unwrap();
}

fn prompt(id: &str, content: &str) -> String {
    serde_json::json!({"id": id, "name": id, "content": content}).to_string()
}

/// `sync` reads only what changed since the last sync (by ETag), and deletes
/// the prompts of files that went; prompts from elsewhere are left alone.
#[tokio::test]
async fn sync_reads_only_changed_objects_and_deletes_what_went() {
    let moto = Moto::start();
    moto.clients()
        .await
        .s3()
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    put(&moto, "live/dev/sync-a.json", &prompt("sync-a", "A v1")).await;
    put(&moto, "live/dev/sync-b.json", &prompt("sync-b", "B v1")).await;
    let data = tempfile::tempdir().unwrap();
    let data_arg = data.path().to_str().unwrap();
    // A prompt that did not come from the prefix.
    let local = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(local.path().join("ops")).unwrap();
    std::fs::write(
        local.path().join("ops/local-only.json"),
        prompt("local-only", "mine"),
    )
    .unwrap();
    let out = run(
        &moto,
        &["import", local.path().to_str().unwrap(), "--data", data_arg],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let source = format!("s3://{BUCKET}/live");
    let sync = || {
        let out = run(&moto, &["sync", &source, "--data", data_arg]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        text(&out)
    };
    let first = sync();
    assert!(
        first.contains("2 files read, 0 unchanged by ETag; 2 created"),
        "{first}"
    );
    let again = sync();
    assert!(
        again.contains("0 files read, 2 unchanged by ETag; 0 created, 0 updated"),
        "{again}"
    );

    put(&moto, "live/dev/sync-a.json", &prompt("sync-a", "A v2")).await;
    let changed = sync();
    assert!(
        changed.contains("1 files read, 1 unchanged by ETag; 0 created, 1 updated"),
        "{changed}"
    );

    moto.clients()
        .await
        .s3()
        .delete_object()
        .bucket(BUCKET)
        .key("live/dev/sync-b.json")
        .send()
        .await
        .unwrap();
    let removed = sync();
    assert!(removed.contains("1 deleted"), "{removed}");

    // What is left: sync-a at v2, no sync-b, the local prompt untouched.
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &moto,
        &["export", dir.path().to_str().unwrap(), "--data", data_arg],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("dev/sync-a.json")).unwrap())
            .unwrap();
    assert_eq!(
        (a["content"].as_str(), a["version"].as_u64()),
        (Some("A v2"), Some(2))
    );
    assert!(
        !dir.path().join("dev/sync-b.json").exists(),
        "the removed file's prompt is gone"
    );
    assert!(
        dir.path().join("ops/local-only.json").exists(),
        "prompts from elsewhere stay"
    );
}
