//! Where a subscriber URL may point. A registered URL makes the hub send
//! requests on the caller's behalf, so by default it must not reach the hub's
//! own network: loopback, private, link-local (cloud metadata at
//! 169.254.169.254), shared and unspecified addresses are refused, by literal
//! and by what the host name resolves to at registration
//! (`--subscriber-allow-private` lifts this, e.g. for a receiver on the same
//! machine). A name that resolves elsewhere later (DNS rebinding) is not
//! caught: put the hub behind an egress policy if editors are not trusted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// Refuses a URL whose host is, or resolves to, an internal address.
pub async fn check_public(host: &str, port: u16) -> Result<(), String> {
    if host == "localhost" || host.ends_with(".localhost") {
        return Err(format!(
            "'{host}' is this machine: refused (see --subscriber-allow-private)"
        ));
    }
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("cannot resolve '{host}': {e}"))?
            .map(|a| a.ip())
            .collect(),
    };
    match addrs.into_iter().find(|ip| is_internal(*ip)) {
        Some(ip) => Err(format!(
            "'{host}' is an internal address ({ip}): refused (see --subscriber-allow-private)"
        )),
        None => Ok(()),
    }
}

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
