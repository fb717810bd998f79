//! The measuring loop of `throughput`: one thread drives every connection's
//! request → response cycle over raw sockets (`mio`, edge-triggered), with one
//! request in flight per connection, and records each round trip.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::mcp::{self, Frame};
use crate::raw_ws;
use crate::stats;

/// A request with everything but its id serialized once.
pub struct Template {
    head: String,
    tail: String,
}

impl Template {
    pub fn new(method: &str, params_json: &str) -> Self {
        Self {
            head: r#"{"jsonrpc":"2.0","id":"#.to_string(),
            tail: format!(r#","method":"{method}","params":{params_json}}}"#),
        }
    }

    /// The whole WebSocket frame for request `id`, written into `out`.
    fn frame(&self, id: u64, scratch: &mut String, out: &mut Vec<u8>) {
        use std::fmt::Write as _;
        scratch.clear();
        scratch.push_str(&self.head);
        let _ = write!(scratch, "{id}");
        scratch.push_str(&self.tail);
        out.clear();
        raw_ws::text(scratch.as_bytes(), out);
    }
}

pub struct Outcome {
    /// CPU from `measure_from` to the end, taken on this thread before it exits
    /// (an exited thread's time leaves /proc/self/task).
    pub usage: Option<crate::cpu::Usage>,
    pub hist: hdrhistogram::Histogram<u64>,
    pub count: u64,
    pub errors: u64,
    pub first_error: Option<String>,
}

struct Conn {
    socket: TcpStream,
    next_id: u64,
    sent_at: Instant,
    partial: Vec<u8>,
    open: bool,
}

/// Runs until `end`; round trips sent before `measure_from` are not counted.
pub fn run(
    sockets: Vec<TcpStream>,
    template: &Template,
    measure_from: Instant,
    end: Instant,
    server_pid: Option<u32>,
) -> Outcome {
    let mut meter: Option<crate::cpu::Meter> = None;
    let mut out = Outcome {
        usage: None,
        hist: stats::histogram(),
        count: 0,
        errors: 0,
        first_error: None,
    };
    let Ok(mut poll) = Poll::new() else {
        out.first_error = Some("epoll unavailable".into());
        return out;
    };
    let (mut scratch, mut frame) = (String::new(), Vec::new());
    let now = Instant::now();
    let mut conns: Vec<Conn> = Vec::with_capacity(sockets.len());
    for (i, mut socket) in sockets.into_iter().enumerate() {
        let registered = poll
            .registry()
            .register(&mut socket, Token(i), Interest::READABLE)
            .is_ok();
        conns.push(Conn {
            socket,
            next_id: 1_000_000,
            sent_at: now,
            partial: Vec::new(),
            open: registered,
        });
    }
    for c in conns.iter_mut().filter(|c| c.open) {
        send(c, template, &mut scratch, &mut frame, &mut out);
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 256 * 1024];
    let mut responses = Vec::new();
    while Instant::now() < end {
        if meter.is_none() && Instant::now() >= measure_from {
            meter = Some(crate::cpu::Meter::start(server_pid));
        }
        if poll
            .poll(&mut events, Some(Duration::from_millis(5)))
            .is_err()
        {
            continue;
        }
        for event in events.iter() {
            let Some(c) = conns.get_mut(event.token().0) else {
                continue;
            };
            responses.clear();
            read(c, &mut buf, &mut responses, &mut out);
            for &ok in &responses {
                let done = Instant::now();
                if ok {
                    if c.sent_at >= measure_from {
                        out.count += 1;
                        stats::record_us(&mut out.hist, (done - c.sent_at).as_micros() as u64);
                    }
                } else {
                    out.errors += 1;
                }
                if done < end && c.open {
                    send(c, template, &mut scratch, &mut frame, &mut out);
                }
            }
        }
        let now = Instant::now();
        for c in conns.iter_mut().filter(|c| c.open) {
            if now - c.sent_at > mcp::IO_TIMEOUT {
                fail(
                    c,
                    &mut out,
                    format!(
                        "no response to request {} within {:?}",
                        c.next_id,
                        mcp::IO_TIMEOUT
                    ),
                );
            }
        }
    }
    out.usage = meter.map(|m| m.stop());
    out
}

fn send(
    c: &mut Conn,
    template: &Template,
    scratch: &mut String,
    frame: &mut Vec<u8>,
    out: &mut Outcome,
) {
    c.next_id += 1;
    template.frame(c.next_id, scratch, frame);
    c.sent_at = Instant::now();
    // A few hundred bytes into an idle socket's send buffer: never partial in
    // practice; if it were, the connection is counted as failed, not retried.
    if let Err(e) = c.socket.write_all(frame) {
        fail(c, out, format!("send: {e}"));
    }
}

/// Reads what is available; pushes one entry per response to the request in
/// flight (`true` for a result, `false` for a JSON-RPC error).
fn read(c: &mut Conn, buf: &mut [u8], responses: &mut Vec<bool>, out: &mut Outcome) {
    while c.open {
        match c.socket.read(buf) {
            Ok(0) => return fail(c, out, "connection ended".into()),
            Ok(n) => {
                let mut data = std::mem::take(&mut c.partial);
                let input: &[u8] = if data.is_empty() {
                    &buf[..n]
                } else {
                    data.extend_from_slice(&buf[..n]);
                    &data
                };
                let mut closed = false;
                let mut pong = None;
                let used = raw_ws::frames(input, |op, payload| match op {
                    raw_ws::TEXT => {
                        if let Ok(f) = serde_json::from_slice::<Frame>(payload)
                            && f.method.is_none()
                            && f.id == Some(c.next_id)
                        {
                            responses.push(f.error.is_none());
                        }
                    }
                    raw_ws::PING => pong = Some(raw_ws::pong(payload)),
                    raw_ws::CLOSE => closed = true,
                    _ => {}
                });
                let rest = input[used..].to_vec();
                c.partial = rest;
                if let Some(p) = pong {
                    let _ = c.socket.write_all(&p);
                }
                if closed {
                    return fail(c, out, "server closed the connection".into());
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return fail(c, out, format!("read: {e}")),
        }
    }
}

fn fail(c: &mut Conn, out: &mut Outcome, error: String) {
    c.open = false;
    out.errors += 1;
    out.first_error.get_or_insert(error);
}
