//! `mcp-prompts import` and `mcp-prompts export`: catalog files (a folder, or
//! with the AWS build an `s3://bucket/prefix`) in and out of the embedded
//! store. Exit codes: 0 all went in, 1 some files or prompts failed, 2 a usage
//! error (bad flags, a missing path, an `s3://` location in a build without AWS).

pub(crate) mod read;
#[cfg(feature = "aws")]
pub mod sync;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use mcp_prompts_embedded::EmbeddedStore;
use mcp_prompts_engine::Catalog;
use mcp_prompts_engine::domain::catalog_file::{Format, export as export_file};
use mcp_prompts_engine::import::{self, Change, Options, Outcome};
use mcp_prompts_engine::ports::{ListQuery, SystemClock};

pub const USAGE: i32 = 2;
pub const SOME_FAILED: i32 = 1;

/// `mcp-prompts import PATH`.
#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// The catalog: a folder (a folder per category; JSON, YAML, Markdown
    /// with front matter, text), or one file.
    pub path: String,
    /// The data folder to import into (default: the user's data dir, e.g.
    /// ~/.local/share/mcp-prompts). A running `serve` on it tells its clients.
    #[arg(long, env = "MCP_PROMPTS_DATA")]
    pub data: Option<PathBuf>,
    /// Show what would be created, updated or left unchanged; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Endpoint and region for `s3://` catalogs.
    #[cfg(feature = "aws")]
    #[command(flatten)]
    pub aws: mcp_prompts_aws::lambda::AwsArgs,
}

/// `mcp-prompts export DIR`.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// The folder to write `<category>/<id>.<ext>` files into (created if
    /// needed; files of the same name are replaced).
    pub dir: String,
    /// The data folder to export from.
    #[arg(long, env = "MCP_PROMPTS_DATA")]
    pub data: Option<PathBuf>,
    /// json, yaml and md keep every field; txt keeps only the content.
    #[arg(long, default_value = "json", value_parser = parse_format)]
    pub format: Format,
    /// Endpoint and region for an `s3://` destination.
    #[cfg(feature = "aws")]
    #[command(flatten)]
    pub aws: mcp_prompts_aws::lambda::AwsArgs,
}

fn parse_format(raw: &str) -> Result<Format, String> {
    Format::parse(raw).ok_or_else(|| format!("'{raw}' is not one of json, yaml, md, txt"))
}

/// What a build without the AWS column says to an `s3://` location.
#[cfg(not(feature = "aws"))]
fn no_s3(location: &str) -> String {
    format!("{location}: S3 catalogs need the AWS build (`--features aws`)")
}

#[cfg(feature = "aws")]
fn s3_location(location: &str) -> Result<mcp_prompts_aws::catalog_files::S3Location, String> {
    mcp_prompts_aws::catalog_files::S3Location::parse(location)
        .ok_or_else(|| format!("{location}: not an s3://bucket/prefix location"))
}

#[cfg(feature = "aws")]
async fn s3_files(
    aws: &mcp_prompts_aws::lambda::AwsArgs,
) -> mcp_prompts_aws::catalog_files::CatalogFiles {
    let clients = mcp_prompts_aws::AwsClients::load(&aws.settings()).await;
    mcp_prompts_aws::catalog_files::CatalogFiles::new(Arc::new(clients))
}

/// The catalog at `args.path`, read and parsed; `Err` is the exit code.
async fn read_catalog(args: &ImportArgs) -> Result<read::Catalog, i32> {
    if args.path.starts_with("s3://") {
        #[cfg(feature = "aws")]
        {
            let at = s3_location(&args.path).map_err(|e| usage(&e))?;
            let fetched = s3_files(&args.aws).await.read_all(&at).await.map_err(|e| {
                eprintln!("error: {e}");
                SOME_FAILED
            })?;
            return tokio::task::spawn_blocking(move || read::parse_fetched(&fetched))
                .await
                .map_err(|_| SOME_FAILED);
        }
        #[cfg(not(feature = "aws"))]
        return Err(usage(&no_s3(&args.path)));
    }
    let root = PathBuf::from(&args.path);
    if !root.exists() {
        return Err(usage(&format!(
            "{}: no such file or folder",
            root.display()
        )));
    }
    let files = read::list_files(&root).map_err(|e| usage(&format!("{}: {e}", root.display())))?;
    let reading = bar(files.len(), "reading");
    let catalog_files = read::read(&files, &|| reading.inc(1));
    reading.finish_and_clear();
    Ok(catalog_files)
}

fn data_dir(data: &Option<PathBuf>) -> PathBuf {
    data.clone().unwrap_or_else(|| {
        dirs::data_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("mcp-prompts")
    })
}

fn usage(message: &str) -> i32 {
    eprintln!("error: {message}");
    USAGE
}

fn open(data: &Path) -> anyhow::Result<(Arc<EmbeddedStore>, Catalog)> {
    let clock = Arc::new(SystemClock);
    let store = Arc::new(EmbeddedStore::open(data, clock.clone())?);
    let catalog = Catalog::new(store.clone(), clock);
    Ok((store, catalog))
}

/// A bar on stderr, only when it is a terminal (never in pipes, logs, tests).
fn bar(len: usize, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64).with_message(what.to_string());
    if let Ok(style) = ProgressStyle::with_template("{msg:9} [{bar:40}] {pos}/{len} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

pub async fn import(args: ImportArgs) -> i32 {
    let started = Instant::now();
    let catalog_files = match read_catalog(&args).await {
        Ok(files) => files,
        Err(code) => return code,
    };
    let data = data_dir(&args.data);
    let (store, catalog) = match open(&data) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("error: opening the data folder {}: {e:#}", data.display());
            return SOME_FAILED;
        }
    };
    let writing = bar(catalog_files.prompts.len(), "importing");
    let options = Options {
        dry_run: args.dry_run,
        actor: "import",
        batch: Some(store.as_ref()),
    };
    let progress = |n: u64| writing.inc(n);
    let outcomes =
        match import::import(&catalog, catalog_files.prompts.clone(), options, &progress).await {
            Ok(outcomes) => outcomes,
            Err(e) => {
                writing.abandon();
                eprintln!("error: importing into {}: {e}", data.display());
                return SOME_FAILED;
            }
        };
    writing.finish_and_clear();
    report(&args, &catalog_files, &outcomes, started)
}

#[derive(Default)]
struct Tally {
    created: usize,
    updated: usize,
    unchanged: usize,
    failed: usize,
}

fn report(args: &ImportArgs, files: &read::Catalog, outcomes: &[Outcome], started: Instant) -> i32 {
    let mut err = std::io::stderr().lock();
    let mut out = std::io::stdout().lock();
    for (path, why) in &files.skipped {
        let _ = writeln!(err, "skipped: {path}: {why}");
    }
    for (path, warning) in &files.warnings {
        let _ = writeln!(err, "warning: {path}: {warning}");
    }
    let mut failed: Vec<(&str, String)> = files
        .failed
        .iter()
        .map(|(p, r)| (p.as_str(), r.clone()))
        .collect();
    let mut tally = Tally::default();
    for o in outcomes {
        match &o.result {
            Ok((change, version)) => {
                match change {
                    Change::Created => tally.created += 1,
                    Change::Updated => tally.updated += 1,
                    Change::Unchanged => tally.unchanged += 1,
                }
                if args.dry_run {
                    let verb = match change {
                        Change::Created => "would create",
                        Change::Updated => "would update",
                        Change::Unchanged => "unchanged",
                    };
                    let _ = writeln!(out, "{verb:12} {} (v{version}) from {}", o.id, o.source);
                }
            }
            Err(reason) => failed.push((&o.source, format!("prompt '{}': {reason}", o.id))),
        }
    }
    failed.sort();
    tally.failed = failed.len();
    for (path, reason) in &failed {
        let _ = writeln!(err, "error: {path}: {reason}");
    }
    let secs = started.elapsed().as_secs_f64();
    let Tally {
        created,
        updated,
        unchanged,
        failed,
    } = tally;
    let skipped = files.skipped.len();
    let _ = if args.dry_run {
        writeln!(
            out,
            "dry run, nothing written: {created} to create, {updated} to update, {unchanged} unchanged, {skipped} skipped, {failed} failed ({secs:.2} s)"
        )
    } else {
        writeln!(
            out,
            "imported {}: {created} created, {updated} updated, {unchanged} unchanged, {skipped} skipped, {failed} failed in {secs:.2} s",
            args.path
        )
    };
    let _ = out.flush();
    if failed > 0 { SOME_FAILED } else { 0 }
}

pub async fn export(args: ExportArgs) -> i32 {
    let started = Instant::now();
    let sink = match Sink::open(&args).await {
        Ok(sink) => sink,
        Err(e) => return usage(&e),
    };
    let data = data_dir(&args.data);
    if !data.join("prompts.db").is_file() {
        return usage(&format!(
            "{}: no data folder (no prompts.db)",
            data.display()
        ));
    }
    let (_store, catalog) = match open(&data) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("error: opening the data folder {}: {e:#}", data.display());
            return SOME_FAILED;
        }
    };
    let (mut written, mut failed) = (0, 0);
    let mut after = None;
    loop {
        let query = ListQuery {
            after: after.take(),
            limit: 500,
            ..Default::default()
        };
        let (page, next) = match catalog.list(query).await {
            Ok(page) => page,
            Err(e) => {
                eprintln!("error: reading {}: {e}", data.display());
                return SOME_FAILED;
            }
        };
        for prompt in &page {
            let file = export_file(prompt, args.format);
            if !file.lost.is_empty() {
                eprintln!(
                    "warning: {}: {} cannot carry {} of '{}'",
                    file.path,
                    args.format.extension(),
                    file.lost.join(", "),
                    prompt.id
                );
            }
            match sink.write(&file.path, file.text).await {
                Ok(()) => written += 1,
                Err(e) => {
                    eprintln!("error: {e}");
                    failed += 1;
                }
            }
        }
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    println!(
        "exported {written} prompts to {} ({}), {failed} failed, in {:.2} s",
        args.dir,
        args.format.extension(),
        started.elapsed().as_secs_f64()
    );
    if failed > 0 { SOME_FAILED } else { 0 }
}

/// Where `export` writes: a folder, or with the AWS build an S3 prefix.
enum Sink {
    Dir(PathBuf),
    #[cfg(feature = "aws")]
    S3 {
        files: mcp_prompts_aws::catalog_files::CatalogFiles,
        at: mcp_prompts_aws::catalog_files::S3Location,
        content_type: &'static str,
    },
}

impl Sink {
    async fn open(args: &ExportArgs) -> Result<Self, String> {
        if args.dir.starts_with("s3://") {
            #[cfg(feature = "aws")]
            return Ok(Self::S3 {
                at: s3_location(&args.dir)?,
                files: s3_files(&args.aws).await,
                content_type: content_type(args.format),
            });
            #[cfg(not(feature = "aws"))]
            return Err(no_s3(&args.dir));
        }
        let dir = PathBuf::from(&args.dir);
        if dir.exists() && !dir.is_dir() {
            return Err(format!("{}: exists and is not a folder", dir.display()));
        }
        Ok(Self::Dir(dir))
    }

    /// Writes the catalog-relative file `rel`; the error names it.
    async fn write(&self, rel: &str, text: String) -> Result<(), String> {
        match self {
            Self::Dir(dir) => {
                let path = dir.join(rel);
                path.parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| std::fs::write(&path, &text))
                    .map_err(|e| format!("{}: {e}", path.display()))
            }
            #[cfg(feature = "aws")]
            Self::S3 {
                files,
                at,
                content_type,
            } => files.put(at, rel, text, content_type).await,
        }
    }
}

#[cfg(feature = "aws")]
fn content_type(format: Format) -> &'static str {
    match format {
        Format::Json => "application/json",
        Format::Yaml => "application/yaml; charset=utf-8",
        Format::Markdown => "text/markdown; charset=utf-8",
        Format::Text => "text/plain; charset=utf-8",
    }
}
