//! Replaying what a reconnecting session missed: the frames the fan-out would
//! have sent it for every change after a position, in log order.

use bytes::Bytes;

use super::dispatch::Engine;
use super::fanout::Delivery;
use super::session::Session;
use crate::ports::StoreResult;

/// At most this many changes are replayed in one go; a session further behind
/// is told its replay was truncated by the bounded history anyway.
const MAX_REPLAY: usize = 100_000;
const PAGE: usize = 5_000;

/// The frames to send and the position they cover up to.
pub struct Replay {
    pub frames: Vec<(u64, Bytes)>,
    pub upto: u64,
}

impl Engine {
    /// Everything `session` wants to hear about changes after `from`: one
    /// `list_changed` pair if the listing changed, `resources/updated` per
    /// subscribed prompt that changed, then every matching catalog event in order.
    pub async fn replay(&self, session: &Session, from: u64) -> StoreResult<Replay> {
        let store = self.catalog.store();
        let mut changes = Vec::new();
        let mut upto = from;
        while changes.len() < MAX_REPLAY {
            let page = store.changes_since(upto, PAGE).await?;
            let Some(last) = page.last() else { break };
            upto = last.position;
            let full = page.len() == PAGE;
            changes.extend(page);
            if !full {
                break;
            }
        }
        let mut interest = session.interest();
        interest.initialized = true;
        let delivery = Delivery::plan(&changes);
        let frames = delivery
            .positioned_frames_for(&interest)
            .map(|(p, f)| (p, f.clone()))
            .collect();
        Ok(Replay { frames, upto })
    }
}
