//! The session host: what every door (the local WebSocket gateway, the Lambda
//! WebSocket routes behind API Gateway, Streamable HTTP, stdio) does with MCP
//! sessions, written once over the ports.
//!
//! A session outlives its connection. `connect` negotiates the subprotocol and
//! binds a connection id to a fresh session id; `message` runs one frame through
//! the engine and returns a typed [`Turn`] (notices before the reply, the reply,
//! frames after it), settling what the message changed ([`settle`]): a resume
//! re-points the connection at the stored session and takes it over from its old
//! connection (closed with 1000 and a reason), the connection's interest is
//! indexed for the fan-out, missed changes are replayed with the live frames
//! held back meanwhile (in order, none twice), and a changed session is saved
//! with an expiry of the connection's lifetime plus the grace period.
//! `disconnect` detaches the session for the grace period (a conditional write,
//! so a late disconnect never undoes a resume elsewhere), and `fan_out` plans a
//! batch of changes once and hands it to the audience.
//!
//! Doors keep the [`Attachment`] of a connection between its messages where they
//! can (a WebSocket task, an HTTP session, stdio); a Lambda loads it per message
//! ([`SessionHost::attachment`]).

mod indexed;
mod pace;
mod post;
mod rate;
mod settle;

use std::sync::Arc;

use bytes::Bytes;

use crate::Engine;
use crate::domain::{ChangeEvent, Interest, Principal, Session};
use crate::fanout::Delivery;
use crate::jsonrpc::{self, RpcError};
use crate::ports::{
    Audience, ConnectionRecord, ConnectionStore, DeliveryReport, Pusher, SessionRecord,
    SessionStore,
};
use crate::subprotocol::{self, ACCEPTED, Negotiated};

pub use indexed::IndexedAudience;
pub use pace::Pace;
pub use post::{PostSettings, Posted, Poster, Target, jittered};
pub use rate::{Over, RateLimiter, RateSettings};

/// Close reason for a connection whose session was resumed on another one.
pub const TAKEN_OVER_REASON: &str = "MCP session reconnected on another connection";
/// The close code that goes with it (normal closure: nothing went wrong).
pub const TAKEN_OVER_CODE: u16 = 1000;

/// How long sessions and connections live, per deployment.
#[derive(Debug, Clone)]
pub struct HostSettings {
    /// How long a detached session waits to be resumed, in seconds.
    pub session_grace_secs: u64,
    /// How long a connection may live, in seconds (API Gateway: 2 h); an
    /// attached session's record expires this long after its last save plus the
    /// grace period, so a process that dies leaves nothing behind for long.
    pub connection_ttl_secs: u64,
    /// Save the session between `initialize` and `notifications/initialized`
    /// too. Doors that load the session per message (Lambda) must; doors that
    /// keep the attachment need not, which halves the writes of a burst of
    /// new sessions (a session that never finished its handshake is not
    /// resumable anyway).
    pub save_handshake: bool,
    /// Requests per second of each connection the door keeps an attachment
    /// for (`None`: unlimited, as for stdio and Lambda).
    pub rate: Option<RateSettings>,
}

impl Default for HostSettings {
    fn default() -> Self {
        Self {
            session_grace_secs: 600,
            connection_ttl_secs: 2 * 3600 + 600,
            save_handshake: true,
            rate: None,
        }
    }
}

/// The ports a host works over.
pub struct HostPorts {
    pub sessions: Arc<dyn SessionStore>,
    pub connections: Arc<dyn ConnectionStore>,
    pub pusher: Arc<dyn Pusher>,
    pub audience: Arc<dyn Audience>,
}

pub struct SessionHost {
    pub engine: Arc<Engine>,
    pub sessions: Arc<dyn SessionStore>,
    pub connections: Arc<dyn ConnectionStore>,
    pub pusher: Arc<dyn Pusher>,
    pub audience: Arc<dyn Audience>,
    pub settings: HostSettings,
}

/// A connection and the session it speaks for, as its door keeps it between
/// messages.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub connection_id: String,
    pub session: Session,
    /// The session id the connection record points at (changes on a resume).
    bound_session: String,
    /// The newest change position the session is known to have been sent.
    last_position: u64,
    /// Whether the session record has been saved since it was attached.
    saved: bool,
    /// A digest of the interest last written to the connection store's index
    /// (a digest, not a copy: an idle connection keeps it for its lifetime).
    indexed: Option<u64>,
    /// The connection's request budget, if the host limits the rate.
    rate: Option<RateLimiter>,
}

impl Attachment {
    fn fresh(connection_id: String, session: Session) -> Self {
        Self {
            rate: None,
            connection_id,
            bound_session: session.id.clone(),
            session,
            last_position: 0,
            saved: false,
            indexed: None,
        }
    }

    fn stored(connection_id: String, record: SessionRecord) -> Self {
        Self {
            connection_id,
            bound_session: record.session.id.clone(),
            indexed: Some(digest(&record.session.interest())),
            session: record.session,
            last_position: record.last_position,
            saved: true,
            rate: None,
        }
    }
}

/// What one message produced, in the order a door sends it.
#[derive(Debug, Default)]
pub struct Turn {
    /// Notifications that go before the reply (log messages).
    pub before: Vec<String>,
    /// The reply; `None` for notifications and responses.
    pub reply: Option<String>,
    /// Frames that follow the reply: a replay of missed changes, then the live
    /// frames held back while it was read.
    pub after: Vec<Bytes>,
    /// Set when the message was over the connection's rate limit: it was not
    /// run, `reply` (for a request) is the -32029 error, and this is how long
    /// until the next message would be admitted.
    pub retry_after: Option<std::time::Duration>,
}

/// A refused `connect`.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported WebSocket subprotocol '{offered}'; accepted: {ACCEPTED}")]
    Subprotocol { offered: String },
    #[error("could not register the connection: {0}")]
    Store(String),
}

/// An accepted connection.
pub struct Connected {
    pub negotiated: Negotiated,
    pub attachment: Attachment,
}

impl SessionHost {
    pub fn new(engine: Arc<Engine>, ports: HostPorts, settings: HostSettings) -> Self {
        Self {
            engine,
            sessions: ports.sessions,
            connections: ports.connections,
            pusher: ports.pusher,
            audience: ports.audience,
            settings,
        }
    }

    fn now(&self) -> u64 {
        self.engine.catalog.clock().now_unix()
    }

    /// Whether a WebSocket offering `offered` (the comma-joined
    /// `Sec-WebSocket-Protocol` values) would be accepted, and how.
    pub fn negotiate(offered: &str) -> Result<Negotiated, ConnectError> {
        subprotocol::negotiate(offered).ok_or_else(|| ConnectError::Subprotocol {
            offered: offered.to_string(),
        })
    }

    /// Opens `connection_id` with a fresh session (created lazily: `initialize`
    /// may resume a stored one instead). `offered` is what the client offered as
    /// subprotocols; doors without subprotocols pass `"mcp"`.
    pub async fn connect(
        &self,
        connection_id: &str,
        offered: &str,
    ) -> Result<Connected, ConnectError> {
        self.connect_as(connection_id, offered, None).await
    }

    /// `connect` for an authenticated caller: the session is `principal`'s, so
    /// only it can resume the session and its role bounds what it may call.
    pub async fn connect_as(
        &self,
        connection_id: &str,
        offered: &str,
        principal: Option<Principal>,
    ) -> Result<Connected, ConnectError> {
        let negotiated = Self::negotiate(offered)?;
        let now = self.now();
        let mut session = Session::new(uuid::Uuid::new_v4().to_string());
        session.principal = principal;
        let record = ConnectionRecord {
            connection_id: connection_id.to_string(),
            session_id: session.id.clone(),
            connected_at: now,
            expires_at: now + self.settings.connection_ttl_secs,
        };
        self.connections
            .put(&record)
            .await
            .map_err(|e| ConnectError::Store(e.to_string()))?;
        let mut attachment = Attachment::fresh(connection_id.to_string(), session);
        attachment.rate = self.rate_limiter();
        Ok(Connected {
            negotiated,
            attachment,
        })
    }

    /// The attachment of a connection whose door keeps nothing between
    /// messages (a Lambda): its record and its session from the stores. An
    /// unknown session gives a fresh one of `principal` (the caller the door's
    /// authorizer admitted; the client must initialize); an unknown connection,
    /// or a stored session of another principal, is an error reply to send back.
    pub async fn attachment(
        &self,
        connection_id: &str,
        principal: Option<&Principal>,
    ) -> Result<Attachment, String> {
        let mut a = self.load_attachment(connection_id).await?;
        if a.session.is_initialized() {
            if a.session.principal.as_ref() != principal {
                let err = RpcError::new(
                    jsonrpc::INVALID_REQUEST,
                    "this connection's session belongs to another principal",
                );
                return Err(jsonrpc::failure(None, &err));
            }
        } else {
            a.session.principal = principal.cloned();
        }
        Ok(a)
    }

    async fn load_attachment(&self, connection_id: &str) -> Result<Attachment, String> {
        let now = self.now();
        let unknown = |detail: String| {
            let err = RpcError::internal(format!("connection {connection_id}: {detail}"));
            jsonrpc::failure(None, &err)
        };
        let conn = match self.connections.get(connection_id, now).await {
            Ok(Some(c)) => c,
            Ok(None) => return Err(unknown("not registered (reconnect)".into())),
            Err(e) => return Err(unknown(e.to_string())),
        };
        match self.sessions.load(&conn.session_id, now).await {
            Ok(Some(r)) => Ok(Attachment::stored(connection_id.to_string(), r)),
            Ok(None) => Ok(Attachment::fresh(
                connection_id.to_string(),
                Session::new(conn.session_id),
            )),
            Err(e) => Err(unknown(e.to_string())),
        }
    }

    /// Attaches `connection_id` to the stored session `session_id`, as when a
    /// Streamable HTTP client comes back after the hub restarted: its missed
    /// changes are replayed (`Turn::after`). `None` if the session is unknown,
    /// expired, was never initialized, or is another principal's (nothing is
    /// touched then: its live connection, if any, stays).
    pub async fn reattach(
        &self,
        connection_id: &str,
        session_id: &str,
        principal: Option<&Principal>,
    ) -> Option<(Attachment, Vec<Bytes>)> {
        let now = self.now();
        let record = self.sessions.load(session_id, now).await.ok()??;
        if !record.session.is_initialized() || record.session.principal.as_ref() != principal {
            return None;
        }
        let conn = ConnectionRecord {
            connection_id: connection_id.to_string(),
            session_id: session_id.to_string(),
            connected_at: now,
            expires_at: now + self.settings.connection_ttl_secs,
        };
        self.connections.put(&conn).await.ok()?;
        let takeover = record.connection_id.clone();
        let mut attachment = Attachment::stored(connection_id.to_string(), record);
        attachment.rate = self.rate_limiter();
        attachment.session.replay_from = Some(attachment.last_position);
        attachment.indexed = None;
        let after = self.settle(&mut attachment, takeover, true).await;
        Some((attachment, after))
    }

    /// Moves the session to a new connection of the same door (stdio registers
    /// again after the registry dropped it for not reading).
    pub async fn transfer(&self, a: &mut Attachment, connection_id: &str) {
        let now = self.now();
        let record = ConnectionRecord {
            connection_id: connection_id.to_string(),
            session_id: a.bound_session.clone(),
            connected_at: now,
            expires_at: now + self.settings.connection_ttl_secs,
        };
        if let Err(e) = self.connections.put(&record).await {
            tracing::warn!(error = %e, "could not register the connection");
        }
        a.connection_id = connection_id.to_string();
        a.indexed = None;
        self.index_interest(a, now).await;
    }

    /// Runs one text frame (a message, or a 2025-03-26 batch) for the session.
    pub async fn message(&self, attachment: &mut Attachment, text: &str) -> Turn {
        if let Some(rate) = attachment.rate.as_mut() {
            let now = std::time::Instant::now();
            if let Err(wait) = rate.admit(now) {
                let turn = throttled(text, wait);
                rate.count(turn.reply.is_some());
                if let Some(over) = rate.report(now) {
                    tracing::warn!(
                        connection = %attachment.connection_id,
                        refused = over.refused,
                        dropped = over.dropped,
                        "over the rate limit: requests refused, notifications dropped"
                    );
                }
                return turn;
            }
        }
        let live = crate::dispatch::Live {
            pusher: self.pusher.clone(),
            connection_id: attachment.connection_id.clone(),
        };
        let out = self
            .engine
            .handle_text_live(&mut attachment.session, text, Some(live))
            .await;
        let mut turn = Turn {
            before: out.notices,
            reply: out.reply,
            ..Turn::default()
        };
        let resumed = attachment.session.id != attachment.bound_session;
        if out.session_changed || resumed || out.takeover.is_some() {
            turn.after = self
                .settle(attachment, out.takeover, out.session_changed)
                .await;
        }
        turn
    }

    /// A 2026-07-28 request that carries its own envelope: run on a throw-away
    /// session, nothing loaded or saved (a Lambda skips the session reads).
    pub async fn stateless(&self, text: &str, principal: Option<Principal>) -> Turn {
        let mut session = Session::new("stateless");
        // Each request stands alone, but still as its caller: the role applies.
        session.principal = principal;
        let out = self
            .engine
            .handle_text_with_effects(&mut session, text)
            .await;
        Turn {
            before: out.notices,
            reply: out.reply,
            ..Turn::default()
        }
    }

    fn rate_limiter(&self) -> Option<RateLimiter> {
        let settings = self.settings.rate?;
        Some(RateLimiter::new(settings, std::time::Instant::now()))
    }

    /// The connection went away: its session waits the grace period to be
    /// resumed (unless another connection already resumed it), and the
    /// connection is forgotten. Doors that keep the attachment pass it; others
    /// have it loaded.
    pub async fn disconnect(&self, connection_id: &str, attachment: Option<Attachment>) {
        let now = self.now();
        let attachment = match attachment {
            Some(a) => Some(a),
            None => self.load_attachment(connection_id).await.ok(),
        };
        if let Some(a) = attachment.filter(|a| a.session.is_initialized()) {
            let record = SessionRecord {
                last_position: self.position_of(&a),
                session: a.session,
                connection_id: None,
                expires_at: now + self.settings.session_grace_secs,
            };
            // Conditional: a resume on another connection may have got there first.
            if let Err(e) = self.sessions.detach(&record, connection_id, now).await {
                tracing::warn!(error = %e, session = %record.session.id, "could not detach the session");
            }
        }
        if let Err(e) = self.connections.delete(connection_id).await {
            tracing::warn!(connection = connection_id, error = %e, "could not forget the connection");
        }
    }

    /// Ends the session for good (Streamable HTTP `DELETE`, an idle HTTP
    /// session) and forgets the connection.
    pub async fn end(&self, attachment: &Attachment) {
        if let Err(e) = self.sessions.delete(&attachment.session.id).await {
            tracing::warn!(error = %e, session = %attachment.session.id, "could not delete the session");
        }
        let _ = self.connections.delete(&attachment.connection_id).await;
    }

    /// Fans a batch of committed changes out: every cached copy of a changed
    /// prompt is dropped, the batch is planned once (frames serialized once,
    /// coalesced per session) and handed to the audience.
    pub async fn fan_out(&self, changes: &[ChangeEvent]) -> DeliveryReport {
        if changes.is_empty() {
            return DeliveryReport::default();
        }
        for c in changes {
            self.engine.catalog.invalidate(&c.id);
        }
        let started = std::time::Instant::now();
        // A changed partial changes what its includers render: they are
        // announced too (`dependency-changed`), right after it.
        let changes = &self.engine.catalog.with_dependency_events(changes).await[..];
        let delivery = match self.engine.jobs() {
            Some(jobs) => Delivery::plan_announcing(changes, jobs.listing(changes)),
            None => Delivery::plan(changes),
        };
        let report = self.audience.deliver(&delivery).await;
        self.engine.metrics.fanned_out(started, report.connections);
        report
    }

    /// Announces the listing at `position` alone: a bulk job's end whose
    /// changes the fan-out has already published.
    pub async fn announce_listing(&self, position: u64) -> DeliveryReport {
        self.audience
            .deliver(&Delivery::listing_only(Some(position)))
            .await
    }

    /// The newest position the attachment's session has been sent.
    fn position_of(&self, a: &Attachment) -> u64 {
        self.connections
            .seen(&a.connection_id)
            .map_or(a.last_position, |seen| seen.max(a.last_position))
    }
}

/// The turn of a message over the rate limit: a request gets -32029 with
/// `data.retryAfterMs` (a frame that is not one JSON-RPC message, e.g. a
/// batch, gets it with id `null`); a notification or response is dropped.
fn throttled(text: &str, wait: std::time::Duration) -> Turn {
    use crate::modern::RequestProbe;
    let text = jsonrpc::trim_json_whitespace(text);
    // serde would read a batch's elements as the probe's fields.
    let probe = if text.starts_with('[') {
        None
    } else {
        serde_json::from_str::<RequestProbe<'_>>(text).ok()
    };
    let id = match probe {
        Some(probe) => match probe.id.filter(|id| id.get() != "null") {
            Some(id) if probe.method.is_some() => Some(id),
            _ => {
                return Turn {
                    retry_after: Some(wait),
                    ..Turn::default()
                };
            }
        },
        None => None,
    };
    let retry_ms = u64::try_from(wait.as_micros().div_ceil(1000).max(1)).unwrap_or(u64::MAX);
    let error = RpcError::new(jsonrpc::RATE_LIMITED, "rate limit exceeded")
        .with_data(serde_json::json!({"retryAfterMs": retry_ms}));
    Turn {
        reply: Some(jsonrpc::failure(id, &error)),
        retry_after: Some(wait),
        ..Turn::default()
    }
}

/// A digest of an interest, to tell whether the index needs rewriting.
pub(super) fn digest(interest: &Interest) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    interest.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn error_of(turn: &Turn) -> serde_json::Value {
        serde_json::from_str(turn.reply.as_deref().expect("a reply")).unwrap()
    }

    #[test]
    fn a_throttled_request_gets_32029_with_its_id_and_the_wait() {
        let turn = throttled(
            r#"{"jsonrpc":"2.0","id":"a7","method":"ping"}"#,
            Duration::from_millis(250),
        );
        let reply = error_of(&turn);
        assert_eq!(reply["id"], "a7");
        assert_eq!(reply["error"]["code"], jsonrpc::RATE_LIMITED);
        assert_eq!(reply["error"]["message"], "rate limit exceeded");
        assert_eq!(reply["error"]["data"]["retryAfterMs"], 250);
        assert_eq!(turn.retry_after, Some(Duration::from_millis(250)));
        assert!(turn.before.is_empty() && turn.after.is_empty());
    }

    #[test]
    fn throttled_notifications_and_responses_are_dropped() {
        let wait = Duration::from_millis(5);
        for text in [
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":{}}"#,
        ] {
            let turn = throttled(text, wait);
            assert!(turn.reply.is_none(), "{text}");
            assert_eq!(turn.retry_after, Some(wait));
        }
    }

    #[test]
    fn a_throttled_frame_that_is_not_one_message_gets_the_error_with_a_null_id() {
        for text in [
            "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
            "{nope",
        ] {
            let reply = error_of(&throttled(text, Duration::from_millis(1)));
            assert_eq!(reply["id"], serde_json::Value::Null, "{text}");
            assert_eq!(reply["error"]["code"], jsonrpc::RATE_LIMITED);
        }
    }
}
