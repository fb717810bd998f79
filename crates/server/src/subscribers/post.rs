//! One signed delivery: the catalog event JSON POSTed to the subscriber with
//! `X-Mcp-Prompts-Signature: sha256=<hex HMAC-SHA256 of the body>` and a
//! delivery id that stays the same across retries (`<subscriber>:<position>`),
//! so a receiver can verify the sender and drop repeats. Blocking (ureq, on
//! the blocking pool), bounded in time and in what it reads back.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// A delivery waits this long for the receiver, at most.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of a refusal's body kept for the status.
const ERROR_BODY: u64 = 512;

pub const SIGNATURE_HEADER: &str = "X-Mcp-Prompts-Signature";
pub const DELIVERY_HEADER: &str = "X-Mcp-Prompts-Delivery";
pub const EVENT_HEADER: &str = "X-Mcp-Prompts-Event";

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs `body`; `Err` says why it was not acknowledged with a 2xx.
pub fn deliver(url: &str, secret: &str, delivery: &str, body: &str) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        // A redirect would re-send the event somewhere nobody registered.
        .max_redirects(0)
        .build()
        .into();
    let response = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header(SIGNATURE_HEADER, signature(secret, body.as_bytes()))
        .header(DELIVERY_HEADER, delivery)
        .header(EVENT_HEADER, "catalog.changed")
        .header(
            "User-Agent",
            concat!("mcp-prompts/", env!("CARGO_PKG_VERSION")),
        )
        .send(body)
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let mut response = response;
    let said = response
        .body_mut()
        .with_config()
        .limit(ERROR_BODY)
        .read_to_string()
        .unwrap_or_default();
    Err(format!(
        "POST {url}: HTTP {} {}",
        status.as_u16(),
        said.trim()
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
