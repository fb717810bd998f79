//! MCP over stdio: newline-delimited JSON-RPC on stdin and stdout (logs go to
//! stderr), for clients that launch the hub as a subprocess.
//!
//! Throughput is bound by pipe I/O, not by the engine, so both directions move
//! in large batches: a reader thread reads stdin in big chunks and hands over
//! every complete line it found at once; requests run one after another in
//! arrival order and their replies for a whole batch become one chunk; a writer
//! thread writes chunks into a large buffer and flushes only when no chunk is
//! waiting. Replies and the registry's notifications reach the writer through
//! the same channel, so they leave in the order they were produced. Plain
//! threads (not tokio's stdin/stdout, which do one blocking-pool hop per read or
//! write) keep the per-message cost to a few copies.

use std::io::{BufWriter, ErrorKind, Read, Write};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use mcp_prompts_engine::host::{Attachment, SessionHost};
use mcp_prompts_engine::jsonrpc::{self, RpcError};
use mcp_prompts_engine::realtime::{Outgoing, Registry};

const READ_CHUNK: usize = 256 * 1024;
const WRITE_BUFFER: usize = 256 * 1024;
/// A reply chunk is handed to the writer once it reaches this size, so a long
/// batch of requests streams out instead of waiting for its end.
const CHUNK_TARGET: usize = 256 * 1024;
/// Batches of lines waiting for the engine; the reader blocks beyond this.
const LINE_BATCHES: usize = 16;
/// Chunks waiting for the writer; replies wait beyond this.
const WRITE_CHUNKS: usize = 64;

/// One line of stdin.
#[derive(Debug, PartialEq)]
enum Line {
    Text(String),
    /// A line longer than the limit, skipped without being held in memory.
    TooLong(usize),
}

/// Serves one client on the process's stdin and stdout until stdin closes or
/// `shutdown` is cancelled.
pub async fn run(host: Arc<SessionHost>, registry: Arc<Registry>, shutdown: CancellationToken) {
    serve(
        host,
        registry,
        shutdown,
        std::io::stdin(),
        std::io::stdout(),
    )
    .await;
}

/// [`run`] over any byte streams (tests use pipes).
pub async fn serve(
    host: Arc<SessionHost>,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
    input: impl Read + Send + 'static,
    output: impl Write + Send + 'static,
) {
    // Lines longer than the engine's limit are refused without buffering them;
    // the slack lets the engine name the exact size of those just above it.
    let max_message = host.engine.config.max_message_bytes;
    let max_line = max_message.saturating_add(64 * 1024);
    let (line_tx, mut lines) = mpsc::channel(LINE_BATCHES);
    std::thread::Builder::new()
        .name("stdio-reader".into())
        .spawn(move || read_lines(input, &line_tx, max_line))
        .expect("spawn the stdin reader");
    let (out, chunks) = mpsc::channel::<Vec<u8>>(WRITE_CHUNKS);
    let writer = std::thread::Builder::new()
        .name("stdio-writer".into())
        .spawn(move || write_chunks(output, chunks))
        .expect("spawn the stdout writer");

    let (mut conn, mut notes) = registry.register();
    let mut attachment = match host.connect(&conn.key, "mcp").await {
        Ok(connected) => connected.attachment,
        Err(e) => {
            tracing::error!(error = %e, "could not open the stdio session");
            return;
        }
    };
    loop {
        let step = tokio::select! {
            batch = lines.recv() => match batch {
                Some(batch) => handle_batch(&host, &mut attachment, max_message, batch, &out).await,
                None => false,
            },
            note = notes.recv() => match note {
                Some(Outgoing::Frame(frame)) => forward_notifications(frame, &mut notes, &out).await,
                Some(Outgoing::Close { .. }) | None => false,
            },
            _ = conn.dropped.cancelled() => {
                registry.remove(conn.id);
                (conn, notes) = registry.register();
                reconnect(&host, &mut attachment, &conn.key, &out).await;
                true
            }
            _ = shutdown.cancelled() => false,
        };
        if !step {
            break;
        }
    }
    let session = attachment.session.id.clone();
    host.disconnect(&conn.key, Some(attachment)).await;
    registry.remove(conn.id);
    drop(out);
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    tracing::debug!(%session, "stdio session ended");
}

/// Runs a batch of lines through the host; `false` once stdout is gone.
async fn handle_batch(
    host: &SessionHost,
    attachment: &mut Attachment,
    max_message: usize,
    batch: Vec<Line>,
    out: &mpsc::Sender<Vec<u8>>,
) -> bool {
    let mut chunk = Vec::with_capacity(batch.len() * 256);
    for line in batch {
        match line {
            Line::Text(text) => {
                let turn = host.message(attachment, &text).await;
                for frame in turn.before.iter().chain(&turn.reply) {
                    chunk.extend_from_slice(frame.as_bytes());
                    chunk.push(b'\n');
                }
                for frame in &turn.after {
                    chunk.extend_from_slice(frame);
                    chunk.push(b'\n');
                }
            }
            Line::TooLong(len) => {
                let refusal = jsonrpc::failure(
                    None,
                    &RpcError::new(
                        jsonrpc::INVALID_REQUEST,
                        format!(
                            "message of more than {len} bytes exceeds the limit of {max_message} bytes"
                        ),
                    ),
                );
                chunk.extend_from_slice(refusal.as_bytes());
                chunk.push(b'\n');
            }
        }
        if chunk.len() >= CHUNK_TARGET && out.send(std::mem::take(&mut chunk)).await.is_err() {
            return false;
        }
    }
    chunk.is_empty() || out.send(chunk).await.is_ok()
}

/// Sends a notification and whatever else is already queued as one chunk.
async fn forward_notifications(
    first: bytes::Bytes,
    notes: &mut mpsc::Receiver<Outgoing>,
    out: &mpsc::Sender<Vec<u8>>,
) -> bool {
    let mut chunk = Vec::with_capacity(first.len() + 1);
    chunk.extend_from_slice(&first);
    chunk.push(b'\n');
    while chunk.len() < CHUNK_TARGET {
        match notes.try_recv() {
            Ok(Outgoing::Frame(frame)) => {
                chunk.extend_from_slice(&frame);
                chunk.push(b'\n');
            }
            _ => break,
        }
    }
    out.send(chunk).await.is_ok()
}

/// The registry dropped us because our queue was full (the client stopped
/// reading stdout for a while). There is no one else to protect here, so we
/// register again; notifications were lost meanwhile, so the client is told to
/// refetch its lists.
async fn reconnect(
    host: &SessionHost,
    attachment: &mut Attachment,
    key: &str,
    out: &mpsc::Sender<Vec<u8>>,
) {
    tracing::warn!("stdio client fell behind reading notifications; some were dropped");
    host.transfer(attachment, key).await;
    let interest = attachment.session.interest();
    if interest.initialized && interest.list_changed {
        let mut chunk = Vec::new();
        for method in [
            "notifications/prompts/list_changed",
            "notifications/resources/list_changed",
        ] {
            chunk.extend_from_slice(
                jsonrpc::notification(method, &serde_json::json!({})).as_bytes(),
            );
            chunk.push(b'\n');
        }
        let _ = out.send(chunk).await;
    }
}

/// Reads `input` in large chunks and sends each chunk's complete lines as one
/// batch. Ends at end of input or when the receiver is gone.
fn read_lines(mut input: impl Read, tx: &mpsc::Sender<Vec<Line>>, max_line: usize) {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut splitter = LineSplitter::new(max_line);
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::debug!(error = %e, "stdin read failed");
                break;
            }
        };
        let batch = splitter.push(&buf[..n]);
        if !batch.is_empty() && tx.blocking_send(batch).is_err() {
            return;
        }
    }
    if let Some(last) = splitter.finish() {
        let _ = tx.blocking_send(vec![last]);
    }
}

/// Splits a byte stream into lines, skipping blank ones and refusing (without
/// holding) lines longer than `max_line`.
struct LineSplitter {
    partial: Vec<u8>,
    /// Bytes of the current line when it is too long and being skipped.
    skipping: Option<usize>,
    max_line: usize,
}

impl LineSplitter {
    fn new(max_line: usize) -> Self {
        Self {
            partial: Vec::new(),
            skipping: None,
            max_line,
        }
    }

    fn push(&mut self, mut data: &[u8]) -> Vec<Line> {
        let mut lines = Vec::new();
        while let Some(pos) = data.iter().position(|b| *b == b'\n') {
            let (head, rest) = data.split_at(pos);
            data = &rest[1..];
            if let Some(skipped) = self.skipping.take() {
                lines.push(Line::TooLong(skipped + head.len()));
                continue;
            }
            let line = if self.partial.is_empty() {
                head.to_vec()
            } else {
                self.partial.extend_from_slice(head);
                std::mem::take(&mut self.partial)
            };
            lines.extend(text_line(line));
        }
        match &mut self.skipping {
            Some(skipped) => *skipped += data.len(),
            None => {
                self.partial.extend_from_slice(data);
                if self.partial.len() > self.max_line {
                    self.skipping = Some(self.partial.len());
                    self.partial = Vec::new();
                }
            }
        }
        lines
    }

    /// The last line when input ended without a newline.
    fn finish(&mut self) -> Option<Line> {
        if let Some(skipped) = self.skipping.take() {
            return Some(Line::TooLong(skipped));
        }
        text_line(std::mem::take(&mut self.partial))
    }
}

fn text_line(bytes: Vec<u8>) -> Option<Line> {
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    if text.trim().is_empty() {
        return None;
    }
    Some(Line::Text(text))
}

/// Writes chunks into a large buffer, flushing when none is waiting. Ends when
/// every sender is gone or stdout is closed.
fn write_chunks(output: impl Write, mut chunks: mpsc::Receiver<Vec<u8>>) {
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, output);
    while let Some(chunk) = chunks.blocking_recv() {
        if out.write_all(&chunk).is_err() {
            return;
        }
        while let Ok(more) = chunks.try_recv() {
            if out.write_all(&more).is_err() {
                return;
            }
        }
        if out.flush().is_err() {
            return;
        }
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<&str> {
        lines
            .iter()
            .map(|l| match l {
                Line::Text(t) => t.as_str(),
                Line::TooLong(_) => "<too long>",
            })
            .collect()
    }

    #[test]
    fn lines_split_across_reads_are_joined_and_blank_lines_skipped() {
        let mut s = LineSplitter::new(100);
        assert_eq!(texts(&s.push(b"{\"a\":1}\n{\"b\"")), vec!["{\"a\":1}"]);
        assert_eq!(
            texts(&s.push(b":2}\r\n\n  \n{\"c\":3}")),
            vec!["{\"b\":2}\r"]
        );
        assert_eq!(s.finish(), Some(Line::Text("{\"c\":3}".into())));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn overlong_lines_are_refused_without_being_held() {
        let mut s = LineSplitter::new(10);
        assert!(s.push(b"0123456789abc").is_empty());
        assert!(s.partial.is_empty());
        let lines = s.push(b"def\n{}\n");
        assert_eq!(lines[0], Line::TooLong(16));
        assert_eq!(texts(&lines[1..]), vec!["{}"]);
    }
}
