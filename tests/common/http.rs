//! A small blocking HTTP/1.1 client for the Streamable HTTP tests: one request per
//! connection, exact control over headers (Host, Origin, session ids), chunked
//! bodies decoded, and SSE streams read event by event with a deadline.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const ACCEPT_BOTH: (&str, &str) = ("Accept", "application/json, text/event-stream");
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {}", self.body))
    }
}

/// Sends one request to `base` (`http://127.0.0.1:PORT`) and reads the whole response.
/// A `Host` header is added unless `headers` has one.
pub fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> HttpResponse {
    let mut stream = send(base, method, path, headers, body, true);
    let (status, response_headers) = read_head(&mut stream);
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .expect("read the response body");
    let chunked = response_headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked { dechunk(&raw) } else { raw };
    HttpResponse {
        status,
        headers: response_headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// POSTs a JSON-RPC message to `/mcp`, accepting JSON and SSE.
pub fn post_mcp(base: &str, session: Option<&str>, message: &Value) -> HttpResponse {
    let mut headers = vec![("Content-Type", "application/json"), ACCEPT_BOTH];
    if let Some(id) = session {
        headers.push(("Mcp-Session-Id", id));
    }
    request(base, "POST", "/mcp", &headers, Some(&message.to_string()))
}

/// Opens a session (`initialize` + `notifications/initialized`) and returns its id.
pub fn open_session(base: &str) -> String {
    let init = post_mcp(
        base,
        None,
        &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw-http-test", "version": "1"}
        }}),
    );
    assert_eq!(init.status, 200, "initialize: {init:?}");
    let id = init
        .header("mcp-session-id")
        .expect("initialize returns Mcp-Session-Id")
        .to_string();
    let ack = post_mcp(
        base,
        Some(&id),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert_eq!(ack.status, 202, "notifications/initialized: {ack:?}");
    id
}

/// Calls a tool in a session and returns the JSON-RPC response.
pub fn call_tool(base: &str, session: &str, id: u64, name: &str, arguments: Value) -> Value {
    let response = post_mcp(
        base,
        Some(session),
        &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": name, "arguments": arguments}}),
    );
    assert_eq!(response.status, 200, "tools/call {name}: {response:?}");
    response.json()
}

fn send(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    close: bool,
) -> BufReader<TcpStream> {
    let authority = base
        .strip_prefix("http://")
        .expect("base URL starts with http://");
    let stream = TcpStream::connect(authority).expect("connect to the server");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {authority}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    let body = body.unwrap_or_default();
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut writer = stream.try_clone().unwrap();
    writer.write_all(head.as_bytes()).unwrap();
    writer.write_all(body.as_bytes()).unwrap();
    BufReader::new(stream)
}

fn read_head(stream: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    stream.read_line(&mut line).expect("read the status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        stream.read_line(&mut line).expect("read a header line");
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    (status, headers)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        raw = &raw[eol + 2..];
        if size == 0 || raw.len() < size {
            out.extend_from_slice(&raw[..size.min(raw.len())]);
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[(size + 2).min(raw.len())..];
    }
}

/// One server-sent event.
#[derive(Debug, Clone, Default)]
pub struct SseEvent {
    pub id: Option<String>,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("SSE data is not JSON ({e}): {:?}", self.data))
    }
}

/// An open SSE response (the standalone GET stream).
pub struct SseStream {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    chunked: bool,
    /// Bytes of the current chunk still to read.
    chunk_left: usize,
    pending: String,
}

impl SseStream {
    /// Opens `GET /mcp` for `session` with extra headers.
    pub fn open(base: &str, session: &str, extra: &[(&str, &str)]) -> SseStream {
        let mut headers = vec![("Accept", "text/event-stream"), ("Mcp-Session-Id", session)];
        headers.extend_from_slice(extra);
        let mut reader = send(base, "GET", "/mcp", &headers, None, false);
        let (status, headers) = read_head(&mut reader);
        let chunked = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        SseStream {
            status,
            headers,
            reader,
            chunked,
            chunk_left: 0,
            pending: String::new(),
        }
    }

    /// The next event with data (comments and priming events with empty data
    /// are returned too when `with_empty` is set), or `None` at the deadline or
    /// the end of the stream.
    pub fn next_event(&mut self, timeout: Duration, with_empty: bool) -> Option<SseEvent> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                let mut has_data = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        event.id = Some(v.trim_start().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if has_data {
                            event.data.push('\n');
                        }
                        event.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        has_data = true;
                    }
                }
                if (has_data && !event.data.is_empty()) || (with_empty && event.id.is_some()) {
                    return Some(event);
                }
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let _ = self
                .reader
                .get_ref()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))));
            match self.read_some() {
                Some(text) => self.pending.push_str(&text.replace("\r\n", "\n")),
                None => return None,
            }
        }
    }

    fn read_some(&mut self) -> Option<String> {
        if self.chunked && self.chunk_left == 0 {
            let mut line = String::new();
            loop {
                line.clear();
                match self.reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return None,
                    Ok(_) if line.trim().is_empty() => continue,
                    Ok(_) => break,
                }
            }
            self.chunk_left = usize::from_str_radix(line.trim(), 16).ok()?;
            if self.chunk_left == 0 {
                return None;
            }
        }
        let want = if self.chunked {
            self.chunk_left.min(8192)
        } else {
            8192
        };
        let mut buf = vec![0u8; want];
        match self.reader.read(&mut buf) {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                if self.chunked {
                    self.chunk_left -= n;
                }
                Some(String::from_utf8_lossy(&buf[..n]).into_owned())
            }
        }
    }
}
