//! JSON-RPC 2.0 framing: parse one incoming message, build replies.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// MCP: the requested resource does not exist.
pub const RESOURCE_NOT_FOUND: i64 = -32002;
/// Server-error range: a caller over one of its budgets (README, "Limits").
/// Requests per second of one connection or session.
pub const RATE_LIMITED: i64 = -32029;
/// Requests of one session in flight at once.
pub const TOO_MANY_PENDING: i64 = -32030;
/// Sessions (or connections) of one principal.
pub const TOO_MANY_SESSIONS: i64 = -32031;

/// A JSON-RPC error as the engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(INTERNAL_ERROR, message)
    }
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// One incoming message. Borrowing the raw `id` and `params` avoids building a
/// `Value` tree for fields we only echo or decode into a typed struct.
#[derive(Deserialize)]
pub struct Incoming<'a> {
    #[serde(default, borrow)]
    pub jsonrpc: Option<&'a RawValue>,
    /// `Some` whenever the member is present, even as `null` (which is then
    /// refused as an id instead of being mistaken for a notification).
    #[serde(default, borrow, deserialize_with = "present")]
    pub id: Option<&'a RawValue>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default, borrow)]
    pub params: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub error: Option<&'a RawValue>,
}

impl Incoming<'_> {
    pub fn is_version_2(&self) -> bool {
        self.jsonrpc.is_some_and(|v| v.get() == "\"2.0\"")
    }

    /// A JSON-RPC id must be a string or a number (MCP forbids null).
    pub fn valid_id(&self) -> bool {
        self.id.is_some_and(|id| {
            let s = id.get();
            s.starts_with('"') || s.starts_with('-') || s.as_bytes()[0].is_ascii_digit()
        })
    }
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Strips leading JSON whitespace only (RFC 8259: space, tab, LF, CR). `str::trim_start`
/// would also strip Unicode spaces such as U+000B, turning the invalid text "\u{b}0" into
/// the valid "0" (found by fuzzing).
pub fn trim_json_whitespace(text: &str) -> &str {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
}

/// Decodes a method's params into `T`, naming the problem on failure.
pub fn decode_params<'a, T: Deserialize<'a>>(
    method: &str,
    params: Option<&'a RawValue>,
) -> Result<T, RpcError> {
    let raw = params.map(RawValue::get).unwrap_or("{}");
    if !raw.trim_start().starts_with('{') {
        return Err(RpcError::invalid_params(format!(
            "invalid params for {method}: params must be an object"
        )));
    }
    serde_json::from_str(raw)
        .map_err(|e| RpcError::invalid_params(format!("invalid params for {method}: {e}")))
}

/// What a method answers: a value, or a result object already written as JSON
/// (`prompts/get`, whose rendered text is escaped while it is rendered).
#[derive(Debug)]
pub enum Reply {
    Value(Value),
    /// A JSON object with at least one member.
    Written(String),
}

/// The reply to request `id` with a result already written as JSON.
pub fn success_written(id: &RawValue, result: &str) -> String {
    let mut out = result_head(id, result.len() + id.get().len() + 32);
    out.push_str(result);
    out.push('}');
    out
}

/// A success reply, written in one buffer (see `json_write`: replies are the
/// hot path of every transport).
pub fn success(id: &RawValue, result: &Value) -> String {
    let mut out = result_head(id, 256);
    super::json_write::write_value(&mut out, result);
    out.push('}');
    out
}

/// A success reply up to its result.
fn result_head(id: &RawValue, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    out.push_str("{\"jsonrpc\":\"2.0\",\"id\":");
    out.push_str(id.get());
    out.push_str(",\"result\":");
    out
}

/// An error reply; `id` is `null` when the request's id could not be read.
pub fn failure(id: Option<&RawValue>, err: &RpcError) -> String {
    let mut error = json!({"code": err.code, "message": err.message});
    if let Some(data) = &err.data {
        error["data"] = data.clone();
    }
    let id = id.map(RawValue::get).unwrap_or("null");
    format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{error}}}")
}

pub fn notification(method: &str, params: &Value) -> String {
    json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string()
}

#[cfg(test)]
mod tests {
    use super::trim_json_whitespace;

    #[test]
    fn only_json_whitespace_is_trimmed() {
        assert_eq!(trim_json_whitespace(" \t\r\n{}"), "{}");
        assert_eq!(trim_json_whitespace("\u{b}0"), "\u{b}0");
        assert_eq!(trim_json_whitespace("\u{a0}[]"), "\u{a0}[]");
    }
}
