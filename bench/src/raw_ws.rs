//! Just enough WebSocket framing (RFC 6455) for the measuring loops, which read
//! and write raw sockets from one `mio` thread instead of a tokio-tungstenite
//! task per session: the load generator shares two cores with the server, so
//! every microsecond it spends per message is one the server does not get.
//! Handshakes still go through tokio-tungstenite (`mcp::Client`).

use tokio_tungstenite::MaybeTlsStream;

use crate::mcp::Client;

pub const TEXT: u8 = 0x1;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;

/// The session's socket, for a `mio` loop. Nothing is left unread in
/// tungstenite's buffer: sessions hand over after reading their last reply, and
/// the server sends nothing unsolicited until a change.
pub fn into_mio(client: Client) -> anyhow::Result<mio::net::TcpStream> {
    let MaybeTlsStream::Plain(tcp) = client.ws.into_inner() else {
        anyhow::bail!("loopback sessions are plain TCP");
    };
    Ok(mio::net::TcpStream::from_std(tcp.into_std()?))
}

/// A client text frame. Clients must mask; the key is all zeros, which leaves
/// the payload as it is (a server accepts any key).
pub fn text(payload: &[u8], out: &mut Vec<u8>) {
    let len = payload.len();
    out.push(0x80 | TEXT);
    match len {
        0..=125 => out.push(0x80 | len as u8),
        126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(payload);
}

/// The pong answering a ping (control payloads are at most 125 bytes).
pub fn pong(payload: &[u8]) -> Vec<u8> {
    let payload = &payload[..payload.len().min(125)];
    let mut out = vec![0x80 | 0xA, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    out.extend_from_slice(payload);
    out
}

/// Calls `each(opcode, payload)` for every complete server frame (unmasked) at
/// the start of `data`; returns how many bytes those frames took.
pub fn frames(data: &[u8], mut each: impl FnMut(u8, &[u8])) -> usize {
    let mut at = 0;
    while data.len() - at >= 2 {
        let (b0, b1) = (data[at], data[at + 1]);
        let (len, header) = match b1 & 0x7F {
            126 if data.len() - at >= 4 => (
                usize::from(u16::from_be_bytes([data[at + 2], data[at + 3]])),
                4,
            ),
            127 if data.len() - at >= 10 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&data[at + 2..at + 10]);
                (u64::from_be_bytes(n) as usize, 10)
            }
            126 | 127 => break,
            short => (usize::from(short), 2),
        };
        let Some(end) = (at + header).checked_add(len).filter(|e| *e <= data.len()) else {
            break;
        };
        each(b0 & 0x0F, &data[at + header..end]);
        at = end;
    }
    at
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_short_medium_and_partial_frames() {
        let mut data = vec![0x81, 3, b'a', b'b', b'c'];
        let medium = vec![b'x'; 300];
        data.extend_from_slice(&[0x81, 126, 1, 44]);
        data.extend_from_slice(&medium);
        data.extend_from_slice(&[0x89, 5, b'p']); // a ping cut short
        let mut seen = Vec::new();
        let used = frames(&data, |op, p| seen.push((op, p.len())));
        assert_eq!(seen, vec![(1, 3), (1, 300)]);
        assert_eq!(used, data.len() - 3);
    }

    #[test]
    fn client_frames_are_masked_with_the_length_encoded() {
        let mut out = Vec::new();
        text(b"hi", &mut out);
        assert_eq!(out, [0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
        out.clear();
        text(&[b'x'; 200], &mut out);
        assert_eq!(&out[..4], &[0x81, 0x80 | 126, 0, 200]);
        assert_eq!(out.len(), 4 + 4 + 200);
    }
}
