//! `GET /mcp`: the session's standalone SSE stream, where `list_changed`,
//! `resources/updated` and catalog events arrive.
//!
//! The stream reads the session's replay buffer from a cursor, so a client that
//! reconnects with `Last-Event-ID` gets what it missed, and a client that reads
//! slowly only falls behind in its own buffer. If the events it missed were
//! already evicted it gets a `list_changed` pair instead, so it refetches rather
//! than silently missing a change. A session has one stream at a time: a new GET
//! ends the previous one.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde_json::json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::headers;
use super::session::{AttachedStream, HttpSession};
use super::{HttpEdge, reject};
use mcp_prompts_engine::jsonrpc;

pub async fn handle(
    State(edge): State<Arc<HttpEdge>>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let principal = crate::auth::Caller::principal(caller);
    if let Err(response) = headers::check_protocol_version(&headers) {
        return *response;
    }
    if !headers::accepts(&headers).sse {
        return reject(
            StatusCode::NOT_ACCEPTABLE,
            jsonrpc::INVALID_REQUEST,
            "Accept must include text/event-stream",
        );
    }
    let Some(id) = headers::session_id(&headers) else {
        return reject(
            StatusCode::BAD_REQUEST,
            jsonrpc::INVALID_REQUEST,
            "Bad Request: Mcp-Session-Id header is required",
        );
    };
    let session = match edge
        .session(id, principal.as_ref(), peer, "Session not found")
        .await
    {
        Ok(session) => session,
        Err(refused) => return refused,
    };
    let attached = session.attach_stream();
    let events = session.watch_events(); // Before reading the buffer: no lost wake-up.
    // An id this log never issued comes from a stream that predates it (the
    // hub restarted and the session was attached again, with what it missed in
    // the log): such a client gets the whole log.
    let last = session.last_event_id();
    let cursor = headers::last_event_id(&headers)
        .map(|id| if id > last { 0 } else { id })
        .unwrap_or(last);
    tracing::debug!(session = %session.id, cursor, "SSE stream opened");
    let priming = Event::default()
        .id(cursor.to_string())
        .retry(edge.config.retry)
        .data("");
    let state = StreamState {
        session,
        attached,
        events,
        cursor,
        pending: VecDeque::from([priming]),
        shutdown: edge.gw.shutdown.clone(),
    };
    Sse::new(events_of(state))
        .keep_alive(
            KeepAlive::new()
                .interval(edge.config.keep_alive)
                .text("keep-alive"),
        )
        .into_response()
}

struct StreamState {
    session: Arc<HttpSession>,
    attached: AttachedStream,
    events: watch::Receiver<u64>,
    /// Id of the last event sent (or replayed past).
    cursor: u64,
    pending: VecDeque<Event>,
    shutdown: CancellationToken,
}

impl Drop for StreamState {
    fn drop(&mut self) {
        self.session.detach_stream(&self.attached);
        tracing::debug!(session = %self.session.id, "SSE stream closed");
    }
}

fn events_of(state: StreamState) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(state, |mut st| async move {
        loop {
            if let Some(event) = st.pending.pop_front() {
                return Some((Ok(event), st));
            }
            if st.fill() {
                continue;
            }
            tokio::select! {
                changed = st.events.changed() => if changed.is_err() { return None },
                _ = st.attached.ended.cancelled() => return None,
                _ = st.shutdown.cancelled() => return None,
            }
        }
    })
}

impl StreamState {
    /// Queues the events after the cursor; `false` when there are none.
    fn fill(&mut self) -> bool {
        let replay = self.session.events_after(self.cursor);
        if replay.events.is_empty() {
            return false;
        }
        if replay.gap {
            tracing::debug!(session = %self.session.id, "SSE client missed evicted events");
            for method in [
                "notifications/prompts/list_changed",
                "notifications/resources/list_changed",
            ] {
                let frame = jsonrpc::notification(method, &json!({}));
                self.pending.push_back(Event::default().data(frame));
            }
        }
        for (id, frame) in replay.events {
            self.cursor = id;
            let data = String::from_utf8_lossy(&frame);
            self.pending
                .push_back(Event::default().id(id.to_string()).data(data));
        }
        true
    }
}
