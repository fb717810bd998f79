//! One signed delivery: the catalog event JSON POSTed to the subscriber with
//! `X-Mcp-Prompts-Signature: sha256=<hex HMAC-SHA256 of the body>` and a
//! delivery id that stays the same across retries (`<subscriber>:<position>`),
//! so a receiver can verify the sender and drop repeats. Blocking (ureq, on
//! the blocking pool), bounded in time and in what it reads back.
//!
//! Each delivery resolves the host once (`address::resolve_checked`, which
//! refuses internal answers unless allowed) and connects only to those
//! addresses: ureq's resolver is replaced by one that hands back exactly
//! them, while the request line, `Host` and TLS SNI stay the URL's host. No
//! proxy from the environment (it would resolve the name itself) and no
//! redirects (a 3xx is a failed delivery, never followed elsewhere).

use std::net::SocketAddr;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::address::{self, Resolve};

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

/// ureq's resolver for one delivery: the addresses already checked.
#[derive(Debug)]
struct Pinned(Vec<SocketAddr>);

impl ureq::unversioned::resolver::Resolver for Pinned {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let mut out = self.empty();
        for a in self.0.iter().take(16) {
            out.push(*a);
        }
        Ok(out)
    }
}

/// How a delivery finds its receiver: the resolver, and whether internal
/// addresses are allowed (`--subscriber-allow-private`).
#[derive(Clone)]
pub struct Route {
    pub resolver: std::sync::Arc<dyn Resolve>,
    pub allow_private: bool,
}

/// POSTs `body`; `Err` says why it was not acknowledged with a 2xx (naming
/// the URL redacted: errors are shown to every reader of the status).
pub fn deliver(
    route: &Route,
    url: &str,
    secret: &str,
    delivery: &str,
    body: &str,
) -> Result<(), String> {
    let shown = address::redacted(url);
    let (host, port) = address::host_port(url).map_err(|e| format!("POST {shown}: {e}"))?;
    let addrs = address::resolve_checked(route.resolver.as_ref(), &host, port, route.allow_private)
        .map_err(|e| format!("POST {shown}: {e}"))?;
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        // A redirect would re-send the event somewhere nobody registered.
        .max_redirects(0)
        // A proxy would resolve the name again, unchecked.
        .proxy(None)
        .build();
    let agent = ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        Pinned(addrs),
    );
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
        .map_err(|e| format!("POST {shown}: {e}"))?;
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
        "POST {shown}: HTTP {} {}",
        status.as_u16(),
        said.trim()
    ))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener};
    use std::sync::Arc;

    use super::{Route, deliver};
    use crate::subscribers::address::Resolve;

    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// Every name resolves to `0` (a name the system resolver cannot answer:
    /// `.test` is reserved), so a delivery that arrives went there.
    struct To(SocketAddr);

    impl Resolve for To {
        fn resolve(&self, _host: &str, _port: u16) -> std::io::Result<Vec<SocketAddr>> {
            Ok(vec![self.0])
        }
    }

    fn route(to: SocketAddr, allow_private: bool) -> Route {
        Route {
            resolver: Arc::new(To(to)),
            allow_private,
        }
    }

    /// Accepts one connection, reads one request, answers `reply`; the request.
    fn answer_once(listener: TcpListener, reply: &'static str) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = s.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            s.write_all(reply.as_bytes()).unwrap();
            String::from_utf8_lossy(&got).to_string()
        })
    }

    fn no_connection(listener: &TcpListener) -> bool {
        listener.set_nonblocking(true).unwrap();
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }

    #[test]
    fn a_name_answering_loopback_is_refused_before_connecting() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = listener.local_addr().unwrap();
        let url = format!("http://hooks.example.test:{}/hook?token=s3cret", to.port());
        let e = deliver(&route(to, false), &url, "a-long-enough-secret", "d:1", "{}").unwrap_err();
        assert!(e.contains("internal address (127.0.0.1)"), "{e}");
        assert!(
            !e.contains("s3cret"),
            "the error shows the URL redacted: {e}"
        );
        assert!(
            no_connection(&listener),
            "nothing connected to the loopback receiver"
        );
    }

    #[test]
    fn an_allowed_receiver_is_reached_at_the_checked_address_with_the_urls_host() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = listener.local_addr().unwrap();
        let got = answer_once(
            listener,
            "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
        );
        let url = format!("http://hooks.example.test:{}/hook?x=1", to.port());
        deliver(
            &route(to, true),
            &url,
            "a-long-enough-secret",
            "d:1",
            "{\"a\":1}",
        )
        .unwrap();
        let request = got.join().unwrap();
        assert!(
            request.starts_with("POST /hook?x=1 HTTP/1.1\r\n"),
            "{request}"
        );
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.contains(&format!("\r\nhost: hooks.example.test:{}\r\n", to.port())),
            "{request}"
        );
        assert!(
            lower.contains("x-mcp-prompts-signature: sha256="),
            "{request}"
        );
        assert!(request.ends_with("{\"a\":1}"), "{request}");
    }

    #[test]
    fn a_redirect_is_a_failed_delivery_not_followed() {
        let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
        let reply: &'static str = Box::leak(
            format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{}/stolen\r\nContent-Length: 0\r\n\r\n",
                elsewhere.local_addr().unwrap()
            )
            .into_boxed_str(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = listener.local_addr().unwrap();
        let got = answer_once(listener, reply);
        let url = format!("http://127.0.0.1:{}/hook", to.port());
        let e = deliver(&route(to, true), &url, "a-long-enough-secret", "d:1", "{}").unwrap_err();
        got.join().unwrap();
        assert!(e.contains("HTTP 307"), "{e}");
        assert!(no_connection(&elsewhere), "the redirect was not followed");
    }
}
