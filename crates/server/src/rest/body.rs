//! Reading a JSON request body within its budget: the wrong content type is 415,
//! too many bytes 413, and JSON that does not fit the expected shape 400 naming
//! the field (`tags[1]`, `variables`), each as a problem body.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::problem::Problem;

pub async fn json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<T, Problem> {
    parse(&bytes(headers, body, limit).await?)
}

/// The body's bytes: JSON by its content type, within `limit`.
pub async fn bytes(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Problem> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if !media.is_some_and(|m| m.eq_ignore_ascii_case("application/json")) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!(
                "Content-Type must be application/json, got {}",
                media.unwrap_or("nothing")
            ),
        ));
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("the body exceeds the limit of {limit} bytes"),
        )
    })
}

/// `bytes` as a `T`; a value of the wrong shape is a 400 naming the field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                format!("the body is not valid JSON: {inner}"),
            )
        } else {
            let field = if field == "." {
                missing_field(&inner.to_string()).unwrap_or(field)
            } else {
                field
            };
            Problem::bad_field(field, inner.to_string())
        }
    })?;
    de.end().map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    Ok(value)
}

/// serde names a missing field only in its message (`missing field `name``).
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}
