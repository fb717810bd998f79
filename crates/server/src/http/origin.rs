//! DNS-rebinding and cross-site protection for `/mcp` and `/ws` (browsers apply
//! no CORS to WebSockets: without this check any web page could drive the hub).
//!
//! A web page on another site can make a browser send requests to a local
//! server by pointing its own host name at 127.0.0.1. Such requests come from a
//! loopback peer but carry the attacker's `Host` (and `Origin`), so a request
//! from a loopback peer must name a loopback host and, if it has an `Origin`, a
//! loopback origin; otherwise it gets 403. Requests from other peers (a
//! non-loopback bind) cannot be judged by host name: for them a present
//! `Origin` must be loopback or the request's own host (same-origin).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::reject;
use mcp_prompts_engine::jsonrpc;

pub async fn guard(request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    match check(peer, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            tracing::debug!(?peer, reason, path = %request.uri().path(), "refused a browser request");
            reject(StatusCode::FORBIDDEN, jsonrpc::INVALID_REQUEST, reason)
        }
    }
}

/// `peer` is `None` when the server was not started with connect info (router
/// tests); that is treated as loopback, the strict case.
fn check(peer: Option<IpAddr>, headers: &HeaderMap) -> Result<(), &'static str> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("invalid"));
    if peer.is_none_or(|ip| ip.is_loopback()) {
        if !host.is_empty() && !is_loopback_host(host) {
            return Err(
                "forbidden: the Host header must name localhost (DNS rebinding protection)",
            );
        }
        if origin.is_some_and(|o| !is_loopback_origin(o)) {
            return Err("forbidden: Origin is not a localhost origin (DNS rebinding protection)");
        }
        return Ok(());
    }
    match origin {
        Some(o) if !is_loopback_origin(o) && origin_authority(o) != Some(host) => {
            Err("forbidden: cross-origin request (Origin does not match Host)")
        }
        _ => Ok(()),
    }
}

/// `localhost`, `127.x.x.x` or `[::1]`, with or without a port.
fn is_loopback_host(authority: &str) -> bool {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inner, port)) if port.is_empty() || port.starts_with(':') => inner,
            _ => return false,
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => authority,
        }
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The `host[:port]` of an `http(s)://` origin.
fn origin_authority(origin: &str) -> Option<&str> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))?;
    Some(rest.trim_end_matches('/'))
}

fn is_loopback_origin(origin: &str) -> bool {
    origin_authority(origin).is_some_and(is_loopback_host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(host: &'static str, origin: Option<&'static str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_static(o));
        }
        h
    }

    const LOCAL: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[test]
    fn loopback_hosts_and_origins_pass() {
        for host in [
            "127.0.0.1:8787",
            "localhost",
            "LOCALHOST:1",
            "[::1]:80",
            "[::1]",
            "127.1.2.3",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example.com",
            "evil.example.com:8787",
            "10.0.0.1:80",
            "[::2]:1",
            "localhost.evil.com",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
        assert!(
            check(
                LOCAL,
                &headers("127.0.0.1:9", Some("http://localhost:6274"))
            )
            .is_ok()
        );
        assert!(check(LOCAL, &headers("localhost:9", None)).is_ok());
        assert!(check(None, &headers("[::1]:9", Some("https://127.0.0.1"))).is_ok());
    }

    #[test]
    fn rebinding_attempts_are_refused() {
        assert!(check(LOCAL, &headers("evil.example.com", None)).is_err());
        assert!(
            check(
                LOCAL,
                &headers("127.0.0.1:9", Some("http://evil.example.com"))
            )
            .is_err()
        );
        assert!(check(LOCAL, &headers("127.0.0.1:9", Some("null"))).is_err());
    }

    #[test]
    fn remote_peers_need_a_same_origin_or_loopback_origin() {
        let lan = Some("192.168.1.5".parse().unwrap());
        assert!(check(lan, &headers("hub.lan:8787", None)).is_ok());
        assert!(check(lan, &headers("hub.lan:8787", Some("http://hub.lan:8787"))).is_ok());
        assert!(
            check(
                lan,
                &headers("hub.lan:8787", Some("http://evil.example.com"))
            )
            .is_err()
        );
    }
}
