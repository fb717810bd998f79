//! Where a subscriber URL may point. A registered URL makes the hub send
//! requests on the caller's behalf, so by default it must not reach the hub's
//! own network: loopback, private, link-local (cloud metadata at
//! 169.254.169.254), shared and unspecified addresses are refused, by literal
//! and by what the host name resolves to at registration
//! (`--subscriber-allow-private` lifts this, e.g. for a receiver on the same
//! machine). The name is checked at registration and again at every delivery:
//! `resolve_checked` resolves once, refuses the delivery when any answer is
//! internal, and the POST connects only to those checked addresses (`post`
//! pins them in ureq's resolver), so a name that answers public first and
//! 127.0.0.1 later (DNS rebinding) is refused, not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// Turns a host name into addresses: the system resolver, or one a test
/// controls. Blocking (called on the blocking pool).
pub trait Resolve: Send + Sync + 'static {
    fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>>;
}

/// `getaddrinfo`, through the standard library.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok((host, port).to_socket_addrs()?.collect())
    }
}

/// The host and port of an `http(s)://` URL; `Err` says what is wrong.
pub fn host_port(url: &str) -> Result<(String, u16), String> {
    let (rest, port) = if let Some(r) = url.strip_prefix("https://") {
        (r, 443)
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, 80)
    } else {
        return Err("must be an http:// or https:// URL".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not carry credentials (user@host): sign with the secret instead".into());
    }
    let (host, explicit) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (h, after) = v6
                .split_once(']')
                .ok_or("an IPv6 host needs its closing ]")?;
            (h, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("names no host".into());
    }
    let port = match explicit {
        Some(p) => p
            .parse()
            .map_err(|_| format!("port '{p}' is not a number up to 65535"))?,
        None => port,
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// Whether `ip` is in the hub's own network rather than the internet.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || (a == 100 && (64..128).contains(&b)) // shared (carrier-grade NAT)
        || a == 0
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
}

/// The addresses to connect to for `host:port`, resolved once: a literal IP
/// is itself, a name is looked up through `resolver`. Unless `allow_private`,
/// a name of this machine (`localhost`) or any internal answer refuses the
/// whole lookup (one bad answer among good ones is still refused: the
/// connection could land on it). `Err` says why.
pub fn resolve_checked(
    resolver: &dyn Resolve,
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    if !allow_private && (host == "localhost" || host.ends_with(".localhost")) {
        return Err(format!(
            "'{host}' is this machine: refused (see --subscriber-allow-private)"
        ));
    }
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => resolver
            .resolve(host, port)
            .map_err(|e| format!("cannot resolve '{host}': {e}"))?,
    };
    if addrs.is_empty() {
        return Err(format!("cannot resolve '{host}': no address"));
    }
    if !allow_private && let Some(a) = addrs.iter().find(|a| is_internal(a.ip())) {
        return Err(format!(
            "'{host}' is an internal address ({}): refused (see --subscriber-allow-private)",
            a.ip()
        ));
    }
    Ok(addrs)
}

/// Refuses a URL whose host is, or resolves to, an internal address (the
/// check at registration; every delivery checks again).
pub async fn check_public(
    resolver: std::sync::Arc<dyn Resolve>,
    host: &str,
    port: u16,
) -> Result<(), String> {
    let host = host.to_string();
    tokio::task::spawn_blocking(move || resolve_checked(resolver.as_ref(), &host, port, false))
        .await
        .map_err(|e| format!("the address check failed: {e}"))?
        .map(|_| ())
}

pub use mcp_prompts_engine::ports::redacted_url as redacted;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports_are_read_from_the_url() {
        assert_eq!(
            host_port("https://Hooks.Example.com/x?y").unwrap(),
            ("hooks.example.com".into(), 443)
        );
        assert_eq!(
            host_port("http://10.1.2.3:8080").unwrap(),
            ("10.1.2.3".into(), 8080)
        );
        assert_eq!(host_port("http://[::1]:9/x").unwrap(), ("::1".into(), 9));
        assert!(host_port("http://user:pw@example.com/").is_err());
        assert!(host_port("http://:80/").is_err());
        assert!(host_port("http://example.com:99999/").is_err());
        assert!(host_port("gopher://example.com/").is_err());
    }

    /// Answers from a list, one per lookup: a name that rebinds.
    struct Answers(std::sync::Mutex<Vec<&'static str>>);

    impl Resolve for Answers {
        fn resolve(&self, _host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
            let ip = self.0.lock().unwrap().remove(0);
            Ok(vec![SocketAddr::new(ip.parse().unwrap(), port)])
        }
    }

    #[test]
    fn every_lookup_is_checked_and_a_rebound_answer_is_refused() {
        let r = Answers(std::sync::Mutex::new(vec![
            "93.184.216.34",
            "127.0.0.1",
            "127.0.0.1",
        ]));
        assert_eq!(
            resolve_checked(&r, "rebind.example", 80, false).unwrap(),
            vec!["93.184.216.34:80".parse().unwrap()]
        );
        let e = resolve_checked(&r, "rebind.example", 80, false).unwrap_err();
        assert!(e.contains("internal address (127.0.0.1)"), "{e}");
        assert!(resolve_checked(&r, "rebind.example", 80, true).is_ok());
        assert!(resolve_checked(&SystemResolver, "localhost", 80, false).is_err());
        assert!(resolve_checked(&SystemResolver, "10.0.0.1", 80, false).is_err());
    }

    #[test]
    fn internal_addresses_are_recognized() {
        for ip in [
            "127.0.0.1",
            "10.0.0.7",
            "172.16.3.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
