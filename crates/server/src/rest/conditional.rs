//! HTTP conditional requests over prompt versions: the `ETag` of a prompt is its
//! version (`"3"`); `If-Match` names the version a write expects, `If-None-Match`
//! the one a reader already has.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::problem::Problem;

pub fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header value")
}

/// The version `If-Match` names: `None` without the header (or with `*`).
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = raw.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    parse_tag(text).map(Some).ok_or_else(|| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-precondition",
            format!("If-Match must be a version ETag such as \"3\", got '{text}'"),
        )
        .field("If-Match")
    })
}

/// Whether `If-None-Match` already names `version` (or `*`).
pub fn none_match(headers: &HeaderMap, version: u64) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || parse_tag(t) == Some(version))
        })
}

/// `"3"`, `W/"3"` or a bare `3`.
fn parse_tag(text: &str) -> Option<u64> {
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.trim_matches('"').parse().ok()
}

pub fn not_modified(version: u64) -> Response {
    let mut r = StatusCode::NOT_MODIFIED.into_response();
    r.headers_mut().insert(header::ETAG, etag(version));
    r
}

/// A stale `If-Match` is 412 (the precondition failed), not 409.
pub fn precondition_failed(p: Problem) -> Problem {
    if p.kind == "version-conflict" {
        Problem {
            status: StatusCode::PRECONDITION_FAILED,
            kind: "precondition-failed",
            ..p
        }
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_in_every_form() {
        assert_eq!(parse_tag("\"3\""), Some(3));
        assert_eq!(parse_tag("W/\"12\""), Some(12));
        assert_eq!(parse_tag("7"), Some(7));
        assert_eq!(parse_tag("\"x\""), None);
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"1\", \"4\""),
        );
        assert!(none_match(&h, 4));
        assert!(!none_match(&h, 5));
    }
}
