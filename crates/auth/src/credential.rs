//! Where a request carries its credential. Browsers cannot set headers on a
//! WebSocket, so besides `Authorization: Bearer` a `token` query parameter and a
//! second subprotocol `mcp.auth.<token>` count too.

use http::HeaderMap;
use http::header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};

/// The credential of a request with these headers and query string.
pub fn find(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    bearer(headers)
        .or_else(|| query.and_then(query_token))
        .or_else(|| subprotocol_token(headers))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

/// The `token` parameter of a query string, unescaped.
pub fn query_token(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
}

/// The credential of an API Gateway event: its headers, and its query
/// parameters already decoded (`token`).
pub fn find_in_event(headers: &HeaderMap, token_param: Option<&str>) -> Option<String> {
    bearer(headers)
        .or_else(|| token_param.map(str::to_string))
        .or_else(|| subprotocol_token(headers))
}

fn subprotocol_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|o| o.trim().strip_prefix("mcp.auth.").map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn query_tokens_are_unescaped() {
        assert_eq!(query_token("x=1&token=a%2Eb"), Some("a.b".into()));
        assert_eq!(query_token("token=plain"), Some("plain".into()));
        assert_eq!(query_token("tokens=x"), None);
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

    #[test]
    fn an_event_s_decoded_token_parameter_counts_after_the_header() {
        let mut h = HeaderMap::new();
        assert_eq!(
            find_in_event(&h, Some("q%2E")),
            Some("q%2E".into()),
            "not decoded twice"
        );
        h.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("mcp, mcp.auth.sub"),
        );
        assert_eq!(find_in_event(&h, None), Some("sub".into()));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer hdr"));
        assert_eq!(find_in_event(&h, Some("q")), Some("hdr".into()));
    }
}
