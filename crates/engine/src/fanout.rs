//! Fan-out planning: which notifications a batch of committed changes produces,
//! and which of them each session gets. Deployment-independent: the local gateway
//! hands the frames to its connection queues, the AWS consumer posts them with
//! `PostToConnection`.
//!
//! Frames are serialized once per batch and shared (`Bytes` clones are reference
//! counts), so notifying N sessions costs N queue pushes, not N serializations.
//! A batch is the coalescing unit: however many changes it holds, a session gets
//! one `list_changed` pair and one `resources/updated` per subscribed prompt,
//! while catalog events are never coalesced: every change, in log order.
//!
//! API Gateway carries WebSocket frames of at most 32 KB: a catalog event
//! whose frame would be larger (a prompt with a huge tag list) is planned as the
//! prompt's `resources/updated` instead, which makes the client fetch it.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::json;

use super::jsonrpc;
use super::methods::resources::latest_uri;
use super::modern::META_SUBSCRIPTION_ID;
use super::session::{Interest, Listener};
use crate::domain::{ChangeEvent, PromptId};
use crate::ports::Topic;

/// The largest frame a fan-out sends (API Gateway's WebSocket frame size).
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

/// `prompts/list_changed` then `resources/list_changed`, announcing `position`.
fn list_changed_frames(position: u64) -> (u64, [Bytes; 2]) {
    let params = json!({ "_meta": { "position": position } });
    let frames = [
        Bytes::from(jsonrpc::notification(
            "notifications/prompts/list_changed",
            &params,
        )),
        Bytes::from(jsonrpc::notification(
            "notifications/resources/list_changed",
            &params,
        )),
    ];
    (position, frames)
}

/// The frames one batch of changes produces.
#[derive(Debug, Default)]
pub struct Delivery {
    /// `prompts/list_changed` then `resources/list_changed`, if the listing changed.
    list_changed: Option<(u64, [Bytes; 2])>,
    /// One `resources/updated` per changed prompt.
    updated: BTreeMap<PromptId, (u64, Bytes)>,
    /// One `catalog/changed` per change, in order, with what filters look at.
    events: Vec<(ChangeEvent, Bytes)>,
    /// Position of the newest change in the batch.
    pub position: u64,
}

impl Delivery {
    pub fn plan(changes: &[ChangeEvent]) -> Self {
        let listing = changes
            .iter()
            .rev()
            .find(|c| c.kind.changes_listing())
            .map(|c| c.position);
        Self::plan_announcing(changes, listing)
    }

    /// Like `plan`, with the listing notifications announcing `listing` (or
    /// none): a bulk job's changes hold them back until its end.
    pub fn plan_announcing(changes: &[ChangeEvent], listing: Option<u64>) -> Self {
        let Some(last) = changes.last() else {
            return Self::listing_only(listing);
        };
        let meta = |position: u64| json!({ "position": position });
        let list_changed = listing.map(list_changed_frames);
        let mut newest: BTreeMap<&PromptId, u64> = BTreeMap::new();
        for c in changes {
            newest.insert(&c.id, c.position);
        }
        let updated = newest
            .into_iter()
            .map(|(id, position)| {
                let params = json!({ "uri": latest_uri(id), "_meta": meta(position) });
                (
                    id.clone(),
                    (
                        position,
                        Bytes::from(jsonrpc::notification(
                            "notifications/resources/updated",
                            &params,
                        )),
                    ),
                )
            })
            .collect();
        let events = changes
            .iter()
            .map(|c| {
                let mut params = serde_json::to_value(c).unwrap_or_default();
                params["uri"] = json!(latest_uri(&c.id));
                params["_meta"] = meta(c.position);
                let mut frame = jsonrpc::notification("notifications/catalog/changed", &params);
                if frame.len() > MAX_FRAME_BYTES {
                    let params = json!({ "uri": latest_uri(&c.id), "_meta": meta(c.position) });
                    frame = jsonrpc::notification("notifications/resources/updated", &params);
                }
                (c.clone(), Bytes::from(frame))
            })
            .collect();
        Self {
            list_changed,
            updated,
            events,
            position: last.position.max(listing.unwrap_or(0)),
        }
    }

    /// Only the listing notifications at `position` (a bulk job's end, once the
    /// fan-out has published its changes); nothing when `None`.
    pub fn listing_only(position: Option<u64>) -> Self {
        Self {
            list_changed: position.map(list_changed_frames),
            position: position.unwrap_or(0),
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.list_changed.is_none()
    }

    /// The changes this delivery was planned from, in log order.
    pub fn changes(&self) -> impl Iterator<Item = &ChangeEvent> {
        self.events.iter().map(|(c, _)| c)
    }

    /// Every frame a connection with `interest` is posted, in order: its
    /// session's, then each `subscriptions/listen` stream's.
    pub fn frames_to_post(&self, interest: &Interest) -> Vec<Bytes> {
        let mut frames: Vec<Bytes> = self.frames_for(interest).cloned().collect();
        for listener in &interest.listeners {
            self.listener_frames(listener, |f| frames.push(f));
        }
        frames
    }

    /// `interest` cut down to what this delivery can reach (subscriptions to
    /// the prompts it touches only), with the same frames: what a shard of
    /// the fan-out carries per connection, small whatever the session holds.
    pub fn narrow(&self, interest: &Interest) -> Interest {
        let touched = |ids: &std::collections::BTreeSet<PromptId>| {
            ids.iter()
                .filter(|id| self.updated.contains_key(*id))
                .cloned()
                .collect()
        };
        Interest {
            initialized: interest.initialized,
            list_changed: interest.list_changed,
            subscriptions: touched(&interest.subscriptions),
            catalog_events: interest.catalog_events.clone(),
            listeners: interest
                .listeners
                .iter()
                .map(|l| Listener {
                    resource_subscriptions: touched(&l.resource_subscriptions),
                    ..l.clone()
                })
                .collect(),
        }
    }

    /// The index topics this delivery can reach: a superset of who gets frames;
    /// `frames_for` makes the exact choice per connection.
    pub fn topics(&self) -> Vec<Topic> {
        let mut topics = Vec::new();
        if !self.events.is_empty() {
            topics.push(Topic::CatalogEvents);
        }
        if self.list_changed.is_some() {
            topics.push(Topic::ListChanged);
        }
        topics.extend(self.updated.keys().cloned().map(Topic::Prompt));
        topics
    }

    /// The frames `interest` should receive, in the order to send them.
    pub fn frames_for<'a>(
        &'a self,
        interest: &'a Interest,
    ) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.positioned_frames_for(interest).map(|(_, frame)| frame)
    }

    /// Like `frames_for`, with the change-log position each frame announces (a
    /// reconnecting session uses it to skip what its replay already sent).
    pub fn positioned_frames_for<'a>(
        &'a self,
        interest: &'a Interest,
    ) -> impl Iterator<Item = (u64, &'a Bytes)> + 'a {
        let active = interest.initialized;
        let lists = self
            .list_changed
            .iter()
            .filter(move |_| active && interest.list_changed)
            .flat_map(|(p, pair)| pair.iter().map(move |f| (*p, f)));
        let updates = self
            .updated
            .iter()
            .filter(move |(id, _)| active && interest.subscriptions.contains(*id))
            .map(|(_, (p, frame))| (*p, frame));
        let events = self
            .events
            .iter()
            .filter(move |(c, _)| {
                active
                    && interest
                        .catalog_events
                        .as_ref()
                        .is_some_and(|f| f.matches(c.category.as_deref(), &c.tags))
            })
            .map(|(c, frame)| (c.position, frame));
        lists.chain(updates).chain(events)
    }

    /// The frames of one `subscriptions/listen` stream, tagged with its id. The
    /// shared frames all start their params with `"_meta":{`, so tagging is a
    /// splice, not a re-serialization.
    pub fn listener_frames(&self, listener: &Listener, mut emit: impl FnMut(Bytes)) {
        let tag = |frame: &Bytes| splice_subscription_id(frame, &listener.id);
        if let Some((_, [prompts, resources])) = &self.list_changed {
            if listener.prompts_list_changed {
                emit(tag(prompts));
            }
            if listener.resources_list_changed {
                emit(tag(resources));
            }
        }
        for (id, (_, frame)) in &self.updated {
            if listener.resource_subscriptions.contains(id) {
                emit(tag(frame));
            }
        }
        if let Some(filter) = &listener.catalog_events {
            for (c, frame) in &self.events {
                if filter.matches(c.category.as_deref(), &c.tags) {
                    emit(tag(frame));
                }
            }
        }
    }
}

const META_OPEN: &[u8] = b"\"_meta\":{";

fn splice_subscription_id(frame: &Bytes, id_json: &str) -> Bytes {
    let Some(at) = frame.windows(META_OPEN.len()).position(|w| w == META_OPEN) else {
        return frame.clone();
    };
    let at = at + META_OPEN.len();
    let key = format!("\"{META_SUBSCRIPTION_ID}\":{id_json},");
    let mut out = Vec::with_capacity(frame.len() + key.len());
    out.extend_from_slice(&frame[..at]);
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&frame[at..]);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChangeKind;
    use crate::session::CatalogFilter;

    fn change(position: u64, id: &str, kind: ChangeKind, category: &str) -> ChangeEvent {
        ChangeEvent {
            position,
            id: PromptId::parse(id).unwrap(),
            version: position,
            kind,
            category: Some(category.into()),
            tags: vec![],
            actor: "s".into(),
            timestamp: "t".into(),
            label: None,
            partial: None,
        }
    }

    fn methods(d: &Delivery, i: &Interest) -> Vec<String> {
        d.frames_for(i)
            .map(|f| {
                let v: serde_json::Value = serde_json::from_slice(f).unwrap();
                format!(
                    "{}@{}",
                    v["method"].as_str().unwrap(),
                    v["params"]["_meta"]["position"]
                )
            })
            .collect()
    }

    #[test]
    fn a_burst_is_coalesced_but_events_are_not() {
        let batch: Vec<_> = (1..=5)
            .map(|p| change(p, "a", ChangeKind::Updated, "dev"))
            .collect();
        let d = Delivery::plan(&batch);
        let everything = Interest {
            initialized: true,
            list_changed: true,
            subscriptions: [PromptId::parse("a").unwrap()].into(),
            catalog_events: Some(CatalogFilter::default()),
            listeners: Vec::new(),
        };
        let got = methods(&d, &everything);
        assert_eq!(
            got[..3],
            [
                "notifications/prompts/list_changed@5".to_string(),
                "notifications/resources/list_changed@5".to_string(),
                "notifications/resources/updated@5".to_string(),
            ]
        );
        let events: Vec<_> = got[3..].to_vec();
        assert_eq!(
            events,
            (1..=5)
                .map(|p| format!("notifications/catalog/changed@{p}"))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn sessions_get_only_what_they_asked_for() {
        let d = Delivery::plan(&[
            change(1, "a", ChangeKind::Created, "dev"),
            change(2, "b", ChangeKind::Updated, "data"),
        ]);
        let uninitialized = Interest {
            list_changed: true,
            ..Default::default()
        };
        assert!(methods(&d, &uninitialized).is_empty());
        let opted_out = Interest {
            initialized: true,
            ..Default::default()
        };
        assert!(methods(&d, &opted_out).is_empty());
        let data_events = Interest {
            initialized: true,
            subscriptions: [PromptId::parse("b").unwrap()].into(),
            catalog_events: Some(CatalogFilter {
                category: Some("data".into()),
                tag: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            methods(&d, &data_events),
            vec![
                "notifications/resources/updated@2",
                "notifications/catalog/changed@2"
            ]
        );
    }

    #[test]
    fn listener_frames_carry_the_subscription_id() {
        let d = Delivery::plan(&[change(3, "a", ChangeKind::Updated, "dev")]);
        let listener = Listener {
            id: "\"sub-1\"".into(),
            prompts_list_changed: true,
            resources_list_changed: false,
            resource_subscriptions: [PromptId::parse("a").unwrap()].into(),
            catalog_events: None,
        };
        let mut frames = Vec::new();
        d.listener_frames(&listener, |f| frames.push(f));
        let parsed: Vec<serde_json::Value> = frames
            .iter()
            .map(|f| serde_json::from_slice(f).unwrap())
            .collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0]["method"], "notifications/prompts/list_changed");
        assert_eq!(parsed[1]["params"]["uri"], "prompt://a");
        for p in &parsed {
            assert_eq!(
                p["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
                "sub-1"
            );
            assert_eq!(p["params"]["_meta"]["position"], 3);
        }
    }

    #[test]
    fn an_event_over_the_frame_limit_becomes_a_fetch_hint() {
        let mut big = change(4, "a", ChangeKind::Updated, "dev");
        big.tags = (0..4000).map(|i| format!("tag-{i}")).collect();
        let d = Delivery::plan(&[big, change(5, "b", ChangeKind::Updated, "dev")]);
        let events = Interest {
            initialized: true,
            catalog_events: Some(CatalogFilter::default()),
            ..Default::default()
        };
        let frames = d.frames_to_post(&events);
        assert!(frames.iter().all(|f| f.len() <= MAX_FRAME_BYTES));
        assert_eq!(
            methods(&d, &events),
            vec![
                "notifications/resources/updated@4",
                "notifications/catalog/changed@5"
            ]
        );
        let hint: serde_json::Value = serde_json::from_slice(&frames[0]).unwrap();
        assert_eq!(hint["params"]["uri"], "prompt://a");
    }

    #[test]
    fn a_narrowed_interest_gets_the_same_frames() {
        let d = Delivery::plan(&[change(2, "b", ChangeKind::Updated, "data")]);
        let wide = Interest {
            initialized: true,
            list_changed: true,
            subscriptions: ["a", "b", "c"]
                .iter()
                .map(|i| PromptId::parse(i).unwrap())
                .collect(),
            catalog_events: None,
            listeners: vec![Listener {
                id: "7".into(),
                prompts_list_changed: false,
                resources_list_changed: false,
                resource_subscriptions: [
                    PromptId::parse("b").unwrap(),
                    PromptId::parse("z").unwrap(),
                ]
                .into(),
                catalog_events: None,
            }],
        };
        let narrow = d.narrow(&wide);
        assert_eq!(narrow.subscriptions.len(), 1);
        assert_eq!(narrow.listeners[0].resource_subscriptions.len(), 1);
        assert_eq!(d.frames_to_post(&wide), d.frames_to_post(&narrow));
        assert_eq!(
            d.frames_to_post(&wide).len(),
            4,
            "the pair, the updated, the listener's updated"
        );
    }

    #[test]
    fn label_moves_do_not_change_the_listing() {
        let d = Delivery::plan(&[change(7, "a", ChangeKind::Labelled, "dev")]);
        let i = Interest {
            initialized: true,
            list_changed: true,
            subscriptions: [PromptId::parse("a").unwrap()].into(),
            ..Default::default()
        };
        assert_eq!(methods(&d, &i), vec!["notifications/resources/updated@7"]);
    }
}
