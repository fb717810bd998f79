//! Services registered to receive every committed change by HTTP POST (signed
//! webhooks to catalog subscribers), and the hub's way to manage them from a
//! door (REST, an MCP tool) without knowing how they are delivered.

use async_trait::async_trait;
use serde::Serialize;

use super::StoreResult;
use crate::session::CatalogFilter;

/// A registered receiver. The secret signs each delivery and is never shown
/// again after registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscriber {
    pub id: String,
    pub url: String,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub secret: String,
    pub filter: CatalogFilter,
    pub created_at: String,
    /// Changes after this change-log position are delivered (the head when
    /// it registered: a new subscriber does not get the whole history).
    pub start_after: u64,
}

/// The change-log consumer (`ChangeCursor`) of a subscriber's deliveries: the
/// newest position it acknowledged.
pub fn subscriber_cursor(id: &str) -> String {
    format!("subscriber:{id}")
}

#[async_trait]
pub trait SubscriberStore: Send + Sync + 'static {
    async fn add_subscriber(&self, subscriber: &Subscriber) -> StoreResult<()>;
    async fn subscribers(&self) -> StoreResult<Vec<Subscriber>>;
    /// Removes it (and where its deliveries stood); whether it existed.
    async fn remove_subscriber(&self, id: &str) -> StoreResult<bool>;
}

/// A subscriber and how its deliveries stand, as doors show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriberStatus {
    #[serde(flatten)]
    pub subscriber: Subscriber,
    /// The newest change-log position delivered (acknowledged with a 2xx).
    pub delivered: u64,
    /// Failed attempts at the change being delivered now.
    pub failed_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl SubscriberStatus {
    /// The status as `caller` may see it. A URL can carry a token (in its
    /// query string, or as `user@`), so it is shown whole only to a caller who
    /// may manage subscribers (editor or admin, or anyone when the hub runs
    /// without credentials: `subscribe_webhook` and `POST /subscriptions` need
    /// that role, so whoever registered a subscriber holds it); a reader sees
    /// it `redacted_url`.
    pub fn seen_by(mut self, caller: Option<&crate::domain::Principal>) -> Self {
        if caller.is_some_and(|p| !p.role.can_write()) {
            self.subscriber.url = redacted_url(&self.subscriber.url);
        }
        self
    }
}

/// `url` without what may be a credential: its query string and fragment
/// become `?redacted` / `#redacted` and any `user@` becomes `redacted@`;
/// scheme, host, port and path stay (a URL with no `scheme://` is all
/// `redacted`).
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "redacted".to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("redacted@{host}"),
        None => authority.to_string(),
    };
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let (path, after) = tail.split_at(path_end);
    let after = match after.chars().next() {
        Some('?') => "?redacted",
        Some(_) => "#redacted",
        None => "",
    };
    format!("{scheme}://{authority}{path}{after}")
}

/// What a door asks of the subscriber deliveries.
#[async_trait]
pub trait Subscriptions: Send + Sync + 'static {
    /// Registers `url`; `Err` names what is wrong with the request.
    async fn register(
        &self,
        url: &str,
        secret: &str,
        filter: CatalogFilter,
    ) -> Result<Subscriber, SubscribeError>;
    async fn list(&self) -> Result<Vec<SubscriberStatus>, SubscribeError>;
    async fn remove(&self, id: &str) -> Result<bool, SubscribeError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// The request names a bad field: (field, why).
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    #[error("{0} subscribers are registered, the limit: remove one first")]
    Full(usize),
    #[error("store: {0}")]
    Store(#[from] super::StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Principal, Role};

    #[test]
    fn a_redacted_url_keeps_scheme_host_port_and_path_only() {
        assert_eq!(
            redacted_url("https://hooks.example.com:8443/a/b?token=s3cret&x=1#frag"),
            "https://hooks.example.com:8443/a/b?redacted"
        );
        assert_eq!(
            redacted_url("http://user:pw@example.com/hook"),
            "http://redacted@example.com/hook"
        );
        assert_eq!(
            redacted_url("http://example.com#t=1"),
            "http://example.com#redacted"
        );
        assert_eq!(redacted_url("http://[::1]:9/x"), "http://[::1]:9/x");
        assert_eq!(redacted_url("no scheme?token=1"), "redacted");
    }

    #[test]
    fn only_a_reader_sees_the_url_redacted() {
        let status = SubscriberStatus {
            subscriber: Subscriber {
                id: "s".into(),
                url: "https://h.example/x?token=t".into(),
                secret: "a-long-enough-secret".into(),
                filter: CatalogFilter::default(),
                created_at: "2026-12-04T00:00:00Z".into(),
                start_after: 0,
            },
            delivered: 0,
            failed_attempts: 0,
            last_error: None,
        };
        let who = |role| Principal {
            name: "k".into(),
            role,
        };
        let url = |caller: Option<&Principal>| status.clone().seen_by(caller).subscriber.url;
        assert_eq!(
            url(Some(&who(Role::Reader))),
            "https://h.example/x?redacted"
        );
        assert_eq!(url(Some(&who(Role::Editor))), "https://h.example/x?token=t");
        assert_eq!(url(Some(&who(Role::Admin))), "https://h.example/x?token=t");
        assert_eq!(url(None), "https://h.example/x?token=t");
    }
}
