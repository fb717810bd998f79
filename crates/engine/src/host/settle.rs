//! Settling a message that changed the session: the resume, the takeover, the
//! interest index, the replay and the save, in the one order that loses
//! nothing. The interest is indexed (and live frames held back, where the
//! connection store delivers in-process) before the replay is read, so a change
//! committed meanwhile is replayed or fanned out, maybe both, never neither; the
//! held frames the replay already covered are dropped, so none arrives twice.

use bytes::Bytes;

use super::{Attachment, SessionHost, TAKEN_OVER_CODE, TAKEN_OVER_REASON};
use crate::domain::Phase;
use crate::ports::{ConnectionRecord, SessionRecord};

impl SessionHost {
    /// Returns the frames to send after the reply (the replay and what was held).
    pub(super) async fn settle(
        &self,
        a: &mut Attachment,
        takeover: Option<String>,
        changed: bool,
    ) -> Vec<Bytes> {
        let now = self.now();
        let id = a.connection_id.clone();
        let resumed = a.session.id != a.bound_session;
        if resumed {
            self.rebind(a, now).await;
        }
        if let Some(old) = takeover.filter(|old| *old != id) {
            self.pusher
                .disconnect(&old, TAKEN_OVER_CODE, TAKEN_OVER_REASON)
                .await;
            let _ = self.connections.delete(&old).await;
        }
        let pending = a
            .session
            .replay_from
            .filter(|_| a.session.phase == Phase::Ready);
        if pending.is_some() {
            self.connections.begin_catch_up(&id);
        }
        self.index_interest(a, now).await;
        let mut after = Vec::new();
        if let Some(from) = pending {
            a.session.replay_from = None;
            let mut upto = from;
            match self.engine.replay(&a.session, from).await {
                Ok(r) => {
                    after.extend(r.frames.into_iter().map(|(_, f)| f));
                    upto = r.upto;
                }
                Err(e) => tracing::warn!(error = %e, session = %a.session.id, "replay failed"),
            }
            after.extend(self.connections.finish_catch_up(&id, upto));
            a.last_position = a.last_position.max(upto);
        }
        let handshake = a.session.phase == Phase::Initializing && !self.settings.save_handshake;
        if a.session.is_initialized()
            && !handshake
            && (changed || resumed || pending.is_some() || !a.saved)
        {
            self.save(a, now).await;
        }
        after
    }

    /// The connection now speaks for the session `initialize` resumed.
    async fn rebind(&self, a: &mut Attachment, now: u64) {
        let record = ConnectionRecord {
            connection_id: a.connection_id.clone(),
            session_id: a.session.id.clone(),
            connected_at: now,
            expires_at: now + self.settings.connection_ttl_secs,
        };
        if let Err(e) = self.connections.put(&record).await {
            tracing::error!(connection = %a.connection_id, error = %e, "could not point the connection at its resumed session");
        }
        // The fresh session it had was never used past `initialize`.
        let _ = self.sessions.delete(&a.bound_session).await;
        a.bound_session = a.session.id.clone();
        a.indexed = None;
        a.saved = false;
    }

    /// Records what the fan-out should send this connection, if it changed.
    pub(super) async fn index_interest(&self, a: &mut Attachment, now: u64) {
        let interest = a.session.interest();
        let digest = super::digest(&interest);
        if a.indexed == Some(digest) {
            return;
        }
        let expires = now + self.settings.connection_ttl_secs;
        match self
            .connections
            .set_interest(&a.connection_id, &interest, expires)
            .await
        {
            Ok(()) => a.indexed = Some(digest),
            Err(e) => {
                tracing::error!(connection = %a.connection_id, error = %e, "could not record the connection's interest")
            }
        }
    }

    /// Saves the session as attached to this connection. A position never
    /// learned (a door that does not track what it sent) starts at the head:
    /// a later resume without `lastPosition` then repeats a change rather than
    /// missing one.
    async fn save(&self, a: &mut Attachment, now: u64) {
        let mut position = self.position_of(a);
        if position == 0 {
            position = self
                .engine
                .catalog
                .store()
                .head_position()
                .await
                .unwrap_or(0);
        }
        a.last_position = position;
        let record = SessionRecord {
            session: a.session.clone(),
            connection_id: Some(a.connection_id.clone()),
            last_position: position,
            // Attached: as long as the connection may live, plus the grace period
            // (`disconnect` shortens it to the grace period alone).
            expires_at: now + self.settings.connection_ttl_secs + self.settings.session_grace_secs,
        };
        match self.sessions.save(&record).await {
            Ok(()) => a.saved = true,
            Err(e) => {
                tracing::error!(session = %record.session.id, error = %e, "could not save the session")
            }
        }
    }
}
