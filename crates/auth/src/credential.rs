//! Where a request carries its credential. Browsers cannot set headers on a
//! WebSocket, so besides `Authorization: Bearer` a `token` query parameter and a
//! second subprotocol `mcp.auth.<token>` count too.

use http::HeaderMap;
use http::header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};

/// The credential of a request with these headers and query string.
pub fn find(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(bearer) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_string());
    }
    if let Some(token) = query.and_then(query_token) {
        return Some(token);
    }
    subprotocol_token(headers)
}

/// The `token` parameter of a query string, unescaped.
pub fn query_token(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .map(percent_decode)
}

fn subprotocol_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|o| o.trim().strip_prefix("mcp.auth.").map(str::to_string))
}

/// `%XX` escapes of a query value (keys are URL-safe, but a client may escape).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                match u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn query_tokens_are_unescaped() {
        assert_eq!(percent_decode("a%2Db"), "a-b");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(query_token("x=1&token=a%2Eb"), Some("a.b".into()));
    }

    #[test]
    fn header_then_query_then_subprotocol() {
        let mut h = HeaderMap::new();
        h.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("mcp, mcp.auth.sub"),
        );
        assert_eq!(find(&h, None), Some("sub".into()));
        assert_eq!(find(&h, Some("token=q")), Some("q".into()));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer hdr"));
        assert_eq!(find(&h, Some("token=q")), Some("hdr".into()));
        assert_eq!(find(&HeaderMap::new(), Some("a=b")), None);
    }
}
