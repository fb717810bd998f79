//! The engine: one JSON-RPC message in, the frames to send back out. It knows
//! nothing of sockets, HTTP or Lambda events, so every edge calls this same code.

use std::sync::Arc;

use serde_json::Value;
use serde_json::value::RawValue;
use tracing::Instrument;

use super::catalog::Catalog;
use super::jsonrpc::{self, Incoming, Reply, RpcError};
use super::methods;
use super::modern;
use super::session::{Phase, Session};
use super::static_resources::StaticServer;
use crate::domain::static_resource::StaticResources;
use crate::ports::SessionStore;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Default page size of `prompts/list`, `resources/list` and `list_prompts`.
    pub page_size: usize,
    /// Largest message accepted; bigger ones are refused with a JSON-RPC error.
    pub max_message_bytes: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            page_size: 50,
            max_message_bytes: 1024 * 1024,
        }
    }
}

pub struct Engine {
    pub catalog: Arc<Catalog>,
    pub config: EngineConfig,
    /// Where sessions wait between connections; without one, every `initialize`
    /// starts a fresh session.
    pub sessions: Option<Arc<dyn SessionStore>>,
    /// Read-only resources served beside the prompts (`--resources FILE`).
    pub static_resources: StaticServer,
    /// Requests, renders and fan-outs, counted for `/metrics`.
    pub metrics: crate::metrics::EngineMetrics,
    /// Bulk import jobs (`import_catalog`), when this deployment runs them.
    jobs: std::sync::OnceLock<Arc<dyn crate::jobs::BulkJobs>>,
    /// Signed webhooks to catalog subscribers, when this deployment delivers them.
    subscriptions: std::sync::OnceLock<Arc<dyn crate::ports::Subscriptions>>,
}

/// What handling one message produced: notifications that must reach the client
/// before the reply (log messages, for instance), the reply itself, and what the
/// session host must act on. Typed, so no edge parses the engine's output again.
#[derive(Default)]
pub struct Outbox {
    /// Notifications to send before the reply.
    pub notices: Vec<String>,
    /// The reply (a response, or for a 2025-03-26 batch the array of them);
    /// `None` for notifications, responses and `subscriptions/listen`.
    pub reply: Option<String>,
    /// A resumed session's previous connection, which the transport must close.
    pub takeover: Option<String>,
    /// The message may have changed what the session remembers (phase,
    /// subscriptions, filters, log level, listeners): persist it and refresh its
    /// interest. Plain reads leave it `false`, keeping the hot path cheap.
    pub session_changed: bool,
    /// Where notifications go while the request is still running (progress),
    /// when the door can write them before the reply.
    pub live: Option<Live>,
}

/// A running request's way to its connection: frames pushed here are written
/// before the reply (`notifications/progress` of a bulk import).
#[derive(Clone)]
pub struct Live {
    pub pusher: Arc<dyn crate::ports::Pusher>,
    pub connection_id: String,
}

impl Live {
    pub async fn send(&self, frame: String) {
        self.pusher
            .push(&self.connection_id, bytes::Bytes::from(frame))
            .await;
    }
}

/// Methods and notifications after which session state may differ.
fn changes_session(method: &str) -> bool {
    matches!(
        method,
        "initialize"
            | "notifications/initialized"
            | "notifications/cancelled"
            | "resources/subscribe"
            | "resources/unsubscribe"
            | "logging/setLevel"
            | "catalog/subscribe"
            | "catalog/unsubscribe"
            | "subscriptions/listen"
    )
}

impl Outbox {
    pub fn notify(&mut self, method: &str, params: &Value) {
        self.notices.push(jsonrpc::notification(method, params));
    }

    /// Every frame in the order to send them: the notices, then the reply.
    pub fn into_frames(self) -> Vec<String> {
        let mut frames = self.notices;
        frames.extend(self.reply);
        frames
    }
}

/// Per-request context handed to method handlers.
pub struct Ctx<'a> {
    pub engine: &'a Engine,
    pub session: &'a mut Session,
    pub out: &'a mut Outbox,
}

impl Engine {
    pub fn new(catalog: Arc<Catalog>, config: EngineConfig) -> Self {
        Self {
            catalog,
            config,
            sessions: None,
            static_resources: StaticServer::default(),
            metrics: Default::default(),
            jobs: Default::default(),
            subscriptions: Default::default(),
        }
    }

    /// Runs bulk import jobs (`import_catalog`, `POST /imports`) with `jobs`;
    /// set once, after the session host they report through exists.
    pub fn attach_jobs(&self, jobs: Arc<dyn crate::jobs::BulkJobs>) {
        if self.jobs.set(jobs).is_err() {
            tracing::warn!("import jobs were already attached; keeping the first");
        }
    }

    pub fn jobs(&self) -> Option<&Arc<dyn crate::jobs::BulkJobs>> {
        self.jobs.get()
    }

    /// Manages webhook subscribers (`POST /subscriptions`, `subscribe_webhook`).
    pub fn attach_subscriptions(&self, subscriptions: Arc<dyn crate::ports::Subscriptions>) {
        if self.subscriptions.set(subscriptions).is_err() {
            tracing::warn!("subscriptions were already attached; keeping the first");
        }
    }

    pub fn subscriptions(&self) -> Option<&Arc<dyn crate::ports::Subscriptions>> {
        self.subscriptions.get()
    }

    /// Serves `set` beside the prompts in the resources methods.
    pub fn with_static_resources(mut self, set: StaticResources) -> Self {
        self.static_resources = StaticServer::new(set);
        self
    }

    /// Lets sessions outlive connections: `initialize` with `mcpSessionId`
    /// resumes a stored session.
    pub fn with_sessions(mut self, sessions: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(sessions);
        self
    }

    /// Handles one text frame: the notices, the reply, and what the session host
    /// acts on (a takeover, a changed session).
    pub async fn handle_text_with_effects(&self, session: &mut Session, text: &str) -> Outbox {
        self.handle_text_live(session, text, None).await
    }

    /// `handle_text_with_effects` for a door that writes pushed frames while the
    /// request runs (`live`), so long requests can report progress.
    pub async fn handle_text_live(
        &self,
        session: &mut Session,
        text: &str,
        live: Option<Live>,
    ) -> Outbox {
        let mut out = Outbox {
            live,
            ..Outbox::default()
        };
        self.handle_into(session, text, &mut out).await;
        out
    }

    /// Handles one text frame (a message or, for 2025-03-26 clients, a batch) and
    /// returns the frames to send, in order.
    pub async fn handle_text(&self, session: &mut Session, text: &str) -> Vec<String> {
        let mut out = Outbox::default();
        self.handle_into(session, text, &mut out).await;
        out.into_frames()
    }

    async fn handle_into(&self, session: &mut Session, text: &str, out: &mut Outbox) {
        if text.len() > self.config.max_message_bytes {
            let err = RpcError::new(
                jsonrpc::INVALID_REQUEST,
                format!(
                    "message of {} bytes exceeds the limit of {} bytes",
                    text.len(),
                    self.config.max_message_bytes
                ),
            );
            out.reply = Some(jsonrpc::failure(None, &err));
            return;
        }
        let trimmed = jsonrpc::trim_json_whitespace(text);
        let batches_refused = session.is_initialized() && session.protocol_version != "2025-03-26";
        if trimmed.starts_with('[')
            && batches_refused
            && serde_json::from_str::<serde::de::IgnoredAny>(trimmed).is_err()
        {
            // Not JSON at all: a parse error, whatever revision (found by fuzzing).
            let err = RpcError::new(jsonrpc::PARSE_ERROR, "parse error: not a JSON text");
            out.reply = Some(jsonrpc::failure(None, &err));
        } else if trimmed.starts_with('[') && batches_refused {
            let err = RpcError::new(
                jsonrpc::INVALID_REQUEST,
                format!(
                    "JSON-RPC batches are not supported in revision {} (only 2025-03-26 had them)",
                    session.protocol_version
                ),
            );
            out.reply = Some(jsonrpc::failure(None, &err));
        } else if trimmed.starts_with('[') {
            self.handle_batch(session, trimmed, out).await;
        } else {
            out.reply = self.handle_one(session, trimmed, out).await;
        }
    }

    async fn handle_batch(&self, session: &mut Session, text: &str, out: &mut Outbox) {
        let items: Vec<&RawValue> = match serde_json::from_str(text) {
            Ok(items) => items,
            Err(e) => {
                let err = RpcError::new(jsonrpc::PARSE_ERROR, format!("parse error: {e}"));
                out.reply = Some(jsonrpc::failure(None, &err));
                return;
            }
        };
        if items.is_empty() {
            let err = RpcError::new(jsonrpc::INVALID_REQUEST, "empty batch");
            out.reply = Some(jsonrpc::failure(None, &err));
            return;
        }
        let mut replies = Vec::with_capacity(items.len());
        for item in items {
            if let Some(reply) = Box::pin(self.handle_one(session, item.get(), out)).await {
                replies.push(reply);
            }
        }
        if !replies.is_empty() {
            out.reply = Some(format!("[{}]", replies.join(",")));
        }
    }

    /// Returns the reply to a request, or `None` for notifications and responses.
    async fn handle_one(
        &self,
        session: &mut Session,
        text: &str,
        out: &mut Outbox,
    ) -> Option<String> {
        let msg: Incoming<'_> = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                let code = if serde_json::from_str::<&RawValue>(text).is_ok() {
                    jsonrpc::INVALID_REQUEST
                } else {
                    jsonrpc::PARSE_ERROR
                };
                let err = RpcError::new(code, format!("invalid JSON-RPC message: {e}"));
                return Some(jsonrpc::failure(None, &err));
            }
        };
        if !msg.is_version_2() {
            let err = RpcError::new(jsonrpc::INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"");
            return Some(jsonrpc::failure(msg.id, &err));
        }
        let Some(method) = msg.method.as_deref() else {
            if msg.id.is_some() && (msg.result.is_some() || msg.error.is_some()) {
                return None; // A response to one of our pings.
            }
            let err = RpcError::new(jsonrpc::INVALID_REQUEST, "message has no \"method\"");
            return Some(jsonrpc::failure(msg.id, &err));
        };
        out.session_changed |= changes_session(method);
        let Some(id) = msg.id else {
            let span = tracing::info_span!("rpc", method, session = %session.id);
            span.in_scope(|| methods::notification(self, session, method, msg.params, out));
            return None;
        };
        if !msg.valid_id() {
            let err = RpcError::new(
                jsonrpc::INVALID_REQUEST,
                "request id must be a string or a number",
            );
            return Some(jsonrpc::failure(None, &err));
        }
        // What a request logs (and any OpenTelemetry layer exports) carries
        // its JSON-RPC id and method, and the session it ran in.
        let span = tracing::info_span!("rpc", method, id = id.get(), session = %session.id);
        let (reply, ok) = self
            .request(session, method, id, msg.params, out)
            .instrument(span)
            .await;
        self.metrics.request(method, ok);
        reply
    }

    /// A request with a valid id: its reply, and whether it is a result (`ok`)
    /// rather than an error (for the request counter).
    async fn request(
        &self,
        session: &mut Session,
        method: &str,
        id: &RawValue,
        params: Option<&RawValue>,
        out: &mut Outbox,
    ) -> (Option<String>, bool) {
        let fail = |err: &RpcError| (Some(jsonrpc::failure(Some(id), err)), false);
        if let Some(envelope) = modern::envelope(params) {
            return self
                .handle_modern(session, method, id, params, envelope, out)
                .await;
        }
        if method == "server/discover" {
            return (Some(jsonrpc::success(id, &modern::discover())), true);
        }
        if method == "initialize" && session.is_initialized() {
            return fail(&RpcError::new(
                jsonrpc::INVALID_REQUEST,
                "session already initialized: open a new connection to start another",
            ));
        }
        if session.phase == Phase::New && method != "initialize" && method != "ping" {
            return fail(&RpcError::new(
                jsonrpc::INVALID_REQUEST,
                format!("session not initialized: send \"initialize\" before \"{method}\""),
            ));
        }
        let mut ctx = Ctx {
            engine: self,
            session,
            out,
        };
        match methods::request(&mut ctx, method, params).await {
            Ok(Reply::Value(result)) => (Some(jsonrpc::success(id, &result)), true),
            Ok(Reply::Written(result)) => (Some(jsonrpc::success_written(id, &result)), true),
            Err(err) => fail(&err),
        }
    }

    /// A stateless (2026-07-28) request: it carries its own version, capabilities
    /// and log level, and needs no `initialize`. Only `subscriptions/listen` touches
    /// the connection's session, to attach its stream.
    async fn handle_modern(
        &self,
        session: &mut Session,
        method: &str,
        id: &RawValue,
        params: Option<&RawValue>,
        envelope: modern::Envelope,
        out: &mut Outbox,
    ) -> (Option<String>, bool) {
        if envelope.protocol_version != modern::MODERN_VERSION {
            return (
                Some(jsonrpc::failure(
                    Some(id),
                    &modern::unsupported_version(&envelope.protocol_version),
                )),
                false,
            );
        }
        if method == "subscriptions/listen" {
            session.protocol_version = envelope.protocol_version;
            return match methods::subscriptions::listen(session, id, params, out) {
                // The response comes only when the stream ends.
                Ok(()) => (None, true),
                Err(err) => (Some(jsonrpc::failure(Some(id), &err)), false),
            };
        }
        if modern::removed_in_modern(method) || method == "initialize" {
            let err = RpcError::new(
                jsonrpc::METHOD_NOT_FOUND,
                format!(
                    "method not found in revision {}: {method}",
                    modern::MODERN_VERSION
                ),
            );
            return (Some(jsonrpc::failure(Some(id), &err)), false);
        }
        let mut stateless = Session::stateless(
            &envelope.protocol_version,
            envelope.log_level,
            envelope.client_capabilities,
        );
        // No session state carries over, but the caller does: its role applies.
        stateless.principal = session.principal.clone();
        let result = if method == "server/discover" {
            Ok(Reply::Value(modern::discover()))
        } else {
            let mut ctx = Ctx {
                engine: self,
                session: &mut stateless,
                out,
            };
            methods::request(&mut ctx, method, params).await
        };
        let ok = result.is_ok();
        let reply = match result {
            Ok(Reply::Value(mut result)) => {
                modern::decorate(method, &mut result);
                jsonrpc::success(id, &result)
            }
            Ok(Reply::Written(result)) => {
                jsonrpc::success_written(id, &modern::decorate_written(method, &result))
            }
            Err(err) => jsonrpc::failure(Some(id), &err),
        };
        (Some(reply), ok)
    }
}
