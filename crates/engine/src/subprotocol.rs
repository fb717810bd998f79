//! WebSocket subprotocol negotiation: `mcp` (TypeScript and Python SDKs) or
//! tower-mcp's `mcp.version.<revision>` with an optional `mcp.auth.<token>`.

use crate::protocol::SUPPORTED_VERSIONS;

/// The accepted subprotocols, for the 400 answer to a client offering none of them.
pub const ACCEPTED: &str =
    "mcp, mcp.version.<revision> (revisions: 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The entry echoed in `Sec-WebSocket-Protocol`.
    pub echo: String,
    /// A revision chosen by `mcp.version.<revision>`.
    pub revision: Option<&'static str>,
    /// A bearer token from `mcp.auth.<token>`; never echoed.
    pub token: Option<String>,
}

/// Picks the subprotocol from the comma-separated `Sec-WebSocket-Protocol` offers.
pub fn negotiate(header: &str) -> Option<Negotiated> {
    let offers: Vec<&str> = header
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let token = offers
        .iter()
        .find_map(|o| o.strip_prefix("mcp.auth."))
        .map(str::to_string);
    if offers.contains(&"mcp") {
        return Some(Negotiated {
            echo: "mcp".into(),
            revision: None,
            token,
        });
    }
    offers.iter().find_map(|o| {
        let wanted = o.strip_prefix("mcp.version.")?;
        let revision = SUPPORTED_VERSIONS.iter().find(|v| **v == wanted)?;
        Some(Negotiated {
            echo: (*o).to_string(),
            revision: Some(revision),
            token: token.clone(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_mcp_is_echoed() {
        assert_eq!(negotiate("mcp").unwrap().echo, "mcp");
        assert_eq!(negotiate("chat, mcp").unwrap().echo, "mcp");
    }

    #[test]
    fn tower_mcp_versions_and_tokens() {
        let n = negotiate("mcp.version.2025-06-18, mcp.auth.secret").unwrap();
        assert_eq!(n.echo, "mcp.version.2025-06-18");
        assert_eq!(n.revision, Some("2025-06-18"));
        assert_eq!(n.token.as_deref(), Some("secret"));
    }

    #[test]
    fn unsupported_offers_are_refused() {
        assert_eq!(negotiate(""), None);
        assert_eq!(negotiate("graphql-ws"), None);
        assert_eq!(negotiate("mcp.version.1999-01-01"), None);
        assert_eq!(negotiate("mcp.auth.only-a-token"), None);
    }
}
