//! Writes a `serde_json::Value` as compact JSON, byte for byte what
//! `serde_json::to_string` writes, but escaping strings a 16-byte block at a
//! time. Replies are mostly one long rendered prompt; serde_json's escaper looks
//! at one byte per step, and that was the largest single cost of a pipelined
//! `prompts/get` over stdio.

use serde_json::Value;

/// Appends `value` to `out` as compact JSON.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            use std::fmt::Write;
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// Appends `s` as a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    write_str_contents(out, s);
    out.push('"');
}

/// Appends `s` escaped for the inside of a JSON string literal (no quotes).
pub fn write_str_contents(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut escape = |out: &mut String, at: usize, b: u8| {
        // Escapes are ASCII, so `start..at` ends on a char boundary.
        out.push_str(&s[start..at]);
        push_escape(out, b);
        start = at + 1;
    };
    // A 16-byte block with nothing to escape (most of them) is one SIMD test;
    // only a block that has something is looked at byte by byte.
    let blocks = bytes.len() / 16 * 16;
    for i in (0..blocks).step_by(16) {
        let block: &[u8; 16] = bytes[i..i + 16].try_into().expect("16 bytes");
        if block.iter().fold(false, |any, &b| any | needs_escape(b)) {
            for (j, &b) in block.iter().enumerate() {
                if needs_escape(b) {
                    escape(out, i + j, b);
                }
            }
        }
    }
    for (j, &b) in bytes[blocks..].iter().enumerate() {
        if needs_escape(b) {
            escape(out, blocks + j, b);
        }
    }
    out.push_str(&s[start..]);
}

#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

fn push_escape(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.push_str("\\\""),
        b'\\' => out.push_str("\\\\"),
        b'\n' => out.push_str("\\n"),
        b'\r' => out.push_str("\\r"),
        b'\t' => out.push_str("\\t"),
        0x08 => out.push_str("\\b"),
        0x0c => out.push_str("\\f"),
        _ => {
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn same_as_serde(v: &Value) {
        let mut out = String::new();
        write_value(&mut out, v);
        assert_eq!(out, serde_json::to_string(v).unwrap());
    }

    #[test]
    fn output_is_byte_for_byte_serde_json() {
        let mut tricky = String::new();
        for c in 0u8..0x80 {
            tricky.push(c as char);
        }
        tricky.push_str("é ünïcödé 🚀 \u{2028} tail that is longer than one block");
        same_as_serde(&json!({
            "a": null, "b": [true, false, 0, -1, 1.5, 1e300, u64::MAX, i64::MIN],
            "text": tricky, "nested": {"x": [{}, [], ""], "\"k\"\n": "v"},
            "long": "x".repeat(100) + "\"" + &"y".repeat(33),
        }));
        for n in 0..40 {
            same_as_serde(&json!("ab\"c\\d\u{1}".repeat(n)));
        }
    }
}
