//! The listening side of `fanout` and `memory`: N initialized sessions whose
//! sockets are read by one thread with `mio` (edge-triggered epoll), parsing
//! just enough WebSocket framing to timestamp each
//! `notifications/prompts/list_changed`.
//!
//! Why not a tokio-tungstenite task per session: with 10,000 sessions the load
//! generator's own cost per receipt (task wake-up, frame decode, JSON parse)
//! was 11–15 µs, as much as the server's, on the same two cores. The receipt
//! time then measured the load generator's queue as much as the server. One
//! epoll thread reading raw frames costs a `recv` and a substring search.

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use serde_json::json;

use crate::open;
use crate::raw_ws;
use crate::stats;

/// Shared view of the listeners, for waiting without collecting their data.
pub struct Board {
    pub base: Instant,
    /// Per session: nanoseconds since `base` of its latest list_changed, or 0.
    pub last_rx: Vec<AtomicU64>,
    pub frames: AtomicUsize,
    pub closed: AtomicUsize,
}

impl Board {
    pub fn new(n: usize) -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            last_rx: (0..n).map(|_| AtomicU64::new(0)).collect(),
            frames: AtomicUsize::new(0),
            closed: AtomicUsize::new(0),
        })
    }

    pub fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Sessions whose latest list_changed arrived at or after `t_ns`.
    pub fn heard_since(&self, t_ns: u64) -> usize {
        self.last_rx
            .iter()
            .filter(|a| a.load(Ordering::Relaxed) >= t_ns)
            .count()
    }

    /// Waits (polling every 2 ms) until every session heard a list_changed at or
    /// after `t_ns`, or `limit` passes. Returns how many did.
    pub async fn wait_all_since(&self, t_ns: u64, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        let n = self.last_rx.len();
        loop {
            let heard = self.heard_since(t_ns);
            if heard == n || Instant::now() >= deadline {
                return heard;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// One list_changed receipt: ns since `Board::base`, and `_meta.position` if sent.
#[derive(Clone, Copy, Debug)]
pub struct Receipt {
    pub t_ns: u64,
    pub position: Option<u64>,
}

/// The open listeners and their reader thread.
pub struct Listeners {
    pub board: Arc<Board>,
    stop: Arc<AtomicBool>,
    reader: std::thread::JoinHandle<Vec<Vec<Receipt>>>,
    pub opened: usize,
}

pub async fn start_listeners(url: &str, n: usize, concurrency: usize) -> anyhow::Result<Listeners> {
    let opened = open::open_sessions(url, n, concurrency).await;
    opened.report(n);
    stats::result(
        "open",
        json!({
            "sessions": n,
            "opened": opened.clients.len(),
            "seconds": stats::round3(opened.elapsed.as_secs_f64()),
        }),
    );
    if opened.clients.is_empty() {
        bail!("no session could be opened");
    }
    let mut sockets = Vec::with_capacity(opened.clients.len());
    for client in opened.clients {
        // Nothing is left unread in tungstenite's buffer: every session read its
        // initialize reply and the server sends nothing more until a change.
        sockets.push(raw_ws::into_mio(client)?);
    }
    let count = sockets.len();
    let board = Board::new(count);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (board, stop) = (board.clone(), stop.clone());
        std::thread::Builder::new()
            .name("listeners".into())
            .spawn(move || read_all(sockets, &board, &stop))?
    };
    Ok(Listeners {
        board,
        stop,
        reader,
        opened: count,
    })
}

impl Listeners {
    /// Stops reading, closes every session and returns each one's receipts.
    pub async fn finish(self) -> anyhow::Result<Vec<Vec<Receipt>>> {
        self.stop.store(true, Ordering::Relaxed);
        let reader = self.reader;
        match tokio::task::spawn_blocking(move || reader.join()).await? {
            Ok(receipts) => Ok(receipts),
            Err(_) => bail!("the listener thread panicked"),
        }
    }
}

/// Per session: what the reader keeps between reads.
struct Listener {
    socket: TcpStream,
    /// Bytes of a frame split across reads (rare: frames are small).
    partial: Vec<u8>,
    receipts: Vec<Receipt>,
    open: bool,
}

/// The reader thread: polls every socket until `stop`.
fn read_all(sockets: Vec<TcpStream>, board: &Board, stop: &AtomicBool) -> Vec<Vec<Receipt>> {
    let Ok(mut poll) = Poll::new() else {
        return vec![Vec::new(); sockets.len()];
    };
    let mut listeners: Vec<Listener> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, mut socket)| {
            let open = poll
                .registry()
                .register(&mut socket, Token(i), Interest::READABLE)
                .is_ok();
            Listener {
                socket,
                partial: Vec::new(),
                receipts: Vec::new(),
                open,
            }
        })
        .collect();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        if poll
            .poll(&mut events, Some(Duration::from_millis(10)))
            .is_err()
        {
            continue;
        }
        for event in events.iter() {
            let idx = event.token().0;
            if let Some(l) = listeners.get_mut(idx)
                && l.open
            {
                drain(l, idx, &mut buf, board);
            }
        }
    }
    listeners.into_iter().map(|l| l.receipts).collect()
}

/// Reads until the socket would block (edge-triggered) and handles each frame.
fn drain(l: &mut Listener, idx: usize, buf: &mut [u8], board: &Board) {
    loop {
        match l.socket.read(buf) {
            Ok(0) => return close(l, board),
            Ok(n) => {
                let t_ns = board.now_ns();
                if l.partial.is_empty() {
                    let used = raw_ws::frames(&buf[..n], |op, payload| {
                        on_frame(l, idx, op, payload, t_ns, board)
                    });
                    l.partial.extend_from_slice(&buf[used..n]);
                } else {
                    let mut data = std::mem::take(&mut l.partial);
                    data.extend_from_slice(&buf[..n]);
                    let used = raw_ws::frames(&data, |op, payload| {
                        on_frame(l, idx, op, payload, t_ns, board)
                    });
                    data.drain(..used);
                    l.partial = data;
                }
                if !l.open {
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return close(l, board),
        }
    }
}

fn close(l: &mut Listener, board: &Board) {
    if l.open {
        l.open = false;
        board.closed.fetch_add(1, Ordering::Relaxed);
    }
}

const LIST_CHANGED: &[u8] = b"\"notifications/prompts/list_changed\"";
const POSITION: &[u8] = b"\"position\":";

fn on_frame(l: &mut Listener, idx: usize, opcode: u8, payload: &[u8], t_ns: u64, board: &Board) {
    match opcode {
        // Text: the server's notifications are whole, unfragmented messages.
        raw_ws::TEXT if raw_ws::find(payload, LIST_CHANGED).is_some() => {
            let position = raw_ws::find(payload, POSITION).map(|at| {
                payload[at + POSITION.len()..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'))
            });
            l.receipts.push(Receipt { t_ns, position });
            board.frames.fetch_add(1, Ordering::Relaxed);
            board.last_rx[idx].store(t_ns, Ordering::Relaxed);
        }
        raw_ws::PING => {
            let _ = l.socket.write_all(&raw_ws::pong(payload));
        }
        raw_ws::CLOSE => close(l, board),
        _ => {}
    }
}
