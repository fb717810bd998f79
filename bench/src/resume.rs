//! `resume`: how long a reconnecting session waits for what it missed. A
//! subscriber (one `resources/subscribe`, catalog events on) sees one change,
//! disconnects; an editor session makes N changes (every fifth to the
//! subscribed prompt); the subscriber reconnects with `mcpSessionId` +
//! `lastPosition`. Measured: from sending `initialize`, and from sending
//! `notifications/initialized`, to receiving the last replayed notification.
//! Checked: the replay is exactly the list_changed pair, one resources/updated,
//! then every catalog event after the position, in order, none twice, and
//! nothing else arrives after it.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::mcp::{self, Client, PROTOCOL_VERSION};
use crate::stats::{result, round3};

const CATALOG_CHANGED: &str = "notifications/catalog/changed";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// ws://127.0.0.1:PORT/ws (loopback only); `serve` or `serve --backend aws`.
    #[arg(long)]
    pub url: String,
    /// Changes made while the subscriber is away.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub changes: u64,
    /// The prompt the subscriber subscribes to (every fifth change).
    #[arg(long, default_value = "code-review")]
    pub prompt: String,
    /// The prompt the other changes go to.
    #[arg(long, default_value = "bug-report")]
    pub other: String,
    /// Longest wait for the editor's notifications and for the replay.
    #[arg(long, default_value_t = 120)]
    pub wait_secs: u64,
    /// How long nothing more may arrive after the replay (extra frames fail).
    #[arg(long, default_value_t = 1000)]
    pub quiet_ms: u64,
}

fn init_params(extra: Value) -> Value {
    let mut p = json!({
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {"experimental": {"mcp-prompts/catalogEvents": true}},
        "clientInfo": {"name": "mcp-prompts-loadgen", "version": env!("CARGO_PKG_VERSION")},
    });
    if let (Some(p), Value::Object(e)) = (p.as_object_mut(), extra) {
        p.extend(e);
    }
    p
}

/// A session that hears catalog events; returns it and its `mcpSessionId`.
async fn open_listening(url: &str) -> anyhow::Result<(Client, String)> {
    let mut c = Client::connect(url).await?;
    let init = c.request("initialize", init_params(json!({}))).await?;
    let id = init["mcpSessionId"]
        .as_str()
        .context("initialize returned no mcpSessionId: does this server resume sessions?")?
        .to_string();
    c.notify("notifications/initialized", json!({})).await?;
    Ok((c, id))
}

/// The next notification (method, position) within `deadline`; `None` at the
/// deadline. A close or an error fails.
async fn next_notification(
    c: &mut Client,
    deadline: tokio::time::Instant,
) -> anyhow::Result<Option<(String, Option<u64>)>> {
    loop {
        let msg = match tokio::time::timeout_at(deadline, c.ws.next()).await {
            Err(_) => return Ok(None),
            Ok(m) => m,
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(f))) => bail!("the server closed the connection: {f:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => bail!("the connection ended"),
        };
        let v: Value = serde_json::from_str(text.as_str())?;
        let Some(method) = v["method"].as_str() else {
            bail!("unexpected non-notification frame: {v}");
        };
        return Ok(Some((
            method.to_string(),
            v["params"]["_meta"]["position"].as_u64(),
        )));
    }
}

/// Reads until the catalog event at `position` arrived.
async fn until_event(c: &mut Client, position: u64, limit: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match next_notification(c, deadline).await? {
            Some((m, Some(p))) if m == CATALOG_CHANGED && p == position => return Ok(()),
            Some(_) => {}
            None => bail!("position {position} not heard within {limit:?}"),
        }
    }
}

/// One `update_prompt`; `heard` keeps the newest catalog event position that
/// arrived meanwhile.
async fn edit(c: &mut Client, id: &str, n: u64, heard: &mut u64) -> anyhow::Result<()> {
    let params = json!({"name": "update_prompt", "arguments": {"id": id, "description": format!("resume bench {n}")}});
    let r = c
        .request_with("tools/call", params, |text| {
            if let Ok(v) = serde_json::from_str::<Value>(text)
                && v["method"] == CATALOG_CHANGED
                && let Some(p) = v["params"]["position"].as_u64()
            {
                *heard = (*heard).max(p);
            }
        })
        .await?;
    if r["isError"] == true {
        bail!("update_prompt {id} failed: {r}");
    }
    Ok(())
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    mcp::check_loopback(&a.url)?;
    let wait = Duration::from_secs(a.wait_secs.max(1));
    let (mut editor, _) = open_listening(&a.url).await?;
    let (mut sub, session_id) = open_listening(&a.url).await?;
    sub.request(
        "resources/subscribe",
        json!({"uri": format!("prompt://{}", a.prompt)}),
    )
    .await?;
    // One change the subscriber sees: its position is where it resumes from.
    let mut heard = 0;
    edit(&mut editor, &a.prompt, 0, &mut heard).await?;
    let deadline = tokio::time::Instant::now() + wait;
    let last_seen = loop {
        match next_notification(&mut sub, deadline).await? {
            Some((m, Some(p))) if m == CATALOG_CHANGED => break p,
            Some(_) => {}
            None => bail!("the subscriber heard no catalog event within {wait:?}"),
        }
    };
    let _ = sub.ws.close(None).await;
    drop(sub);

    let started = Instant::now();
    for n in 1..=a.changes {
        let id = if n % 5 == 0 { &a.prompt } else { &a.other };
        edit(&mut editor, id, n, &mut heard).await?;
    }
    let write_secs = started.elapsed().as_secs_f64();
    let newest = last_seen + a.changes;
    // Every change fanned out (the editor heard the last), so none reaches the
    // resumed connection live as well as by replay.
    if heard < newest {
        until_event(&mut editor, newest, wait)
            .await
            .context("the editor did not hear its own last change (another writer?)")?;
    }

    let mut back = Client::connect(&a.url).await?;
    let t_initialize = Instant::now();
    let resumed = back
        .request(
            "initialize",
            init_params(json!({"mcpSessionId": session_id, "lastPosition": last_seen})),
        )
        .await?;
    let initialize_ms = t_initialize.elapsed().as_secs_f64() * 1000.0;
    if resumed["resumed"] != true || resumed["replay"] != "complete" {
        bail!("expected a complete resume, got {resumed}");
    }
    let t_initialized = Instant::now();
    back.notify("notifications/initialized", json!({})).await?;
    let mut got: Vec<(String, Option<u64>)> = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    let mut first_ms = None;
    while got.last() != Some(&(CATALOG_CHANGED.to_string(), Some(newest))) {
        match next_notification(&mut back, deadline).await? {
            Some(n) => {
                first_ms.get_or_insert(t_initialized.elapsed().as_secs_f64() * 1000.0);
                got.push(n);
            }
            None => bail!(
                "replay incomplete after {wait:?}: {} notifications",
                got.len()
            ),
        }
    }
    let from_initialize_ms = t_initialize.elapsed().as_secs_f64() * 1000.0;
    let from_initialized_ms = t_initialized.elapsed().as_secs_f64() * 1000.0;
    let quiet = tokio::time::Instant::now() + Duration::from_millis(a.quiet_ms);
    if let Some(extra) = next_notification(&mut back, quiet).await? {
        bail!("a notification after the replay (a repeat?): {extra:?}");
    }
    check(&got, last_seen, newest)?;
    result(
        "resume",
        json!({
            "changes": a.changes,
            "notifications": got.len(),
            "from_initialize_ms": round3(from_initialize_ms),
            "from_initialized_ms": round3(from_initialized_ms),
            "initialize_ms": round3(initialize_ms),
            "first_notification_ms": first_ms.map(round3),
            "changes_per_s": round3(a.changes as f64 / write_secs),
        }),
    );
    Ok(())
}

/// The replay must be the list_changed pair and one resources/updated at the
/// newest position (the last change touched the subscribed prompt only if the
/// count is a multiple of five), then every catalog event in order.
fn check(got: &[(String, Option<u64>)], last_seen: u64, newest: u64) -> anyhow::Result<()> {
    let changes = newest - last_seen;
    let updated_at = last_seen + changes / 5 * 5;
    let mut expected: Vec<(String, Option<u64>)> = vec![
        ("notifications/prompts/list_changed".into(), Some(newest)),
        ("notifications/resources/list_changed".into(), Some(newest)),
    ];
    if changes >= 5 {
        expected.push(("notifications/resources/updated".into(), Some(updated_at)));
    }
    expected.extend((last_seen + 1..=newest).map(|p| (CATALOG_CHANGED.to_string(), Some(p))));
    if got != expected {
        let first_diff = got.iter().zip(&expected).position(|(g, e)| g != e);
        bail!(
            "replay differs from the expected {} notifications (got {}); first difference at index {first_diff:?}",
            expected.len(),
            got.len()
        );
    }
    Ok(())
}
